"""`colorstudio models [--json] [--verify]`: every registered variant and its card."""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("models", help="list models, their cards and whether weights are present")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--verify", action="store_true", help="check every weights file's sha256")
    return p


def run(args: argparse.Namespace) -> int:
    from ..core.cards import discover_cards, default_model_id

    cards = discover_cards(args.models_dir)
    default = default_model_id(cards)
    rows = []
    for card in cards.values():
        d = card.summary_dict()
        d["is_default"] = card.id == default
        if args.verify:
            d["verified"] = card.verify()
        rows.append(d)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for d in rows:
        mark = "*" if d["is_default"] else " "
        weights = "weights ok" if d["weights_present"] else "no weights"
        if args.verify:
            weights = "verified" if d["verified"] else "sha256 MISMATCH or missing"
        m = d["metrics"]
        psnr = f"{m['psnr']:.2f} dB" if m.get("psnr") is not None else "-"
        print(f"{mark} {d['id']:<28} {d['params'] / 1e6:6.2f} M  {psnr:>9}  {weights:<10}  "
              f"{d['name']}")
    print("(* = default)")
    return 0
