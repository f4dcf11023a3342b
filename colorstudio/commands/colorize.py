"""`colorstudio colorize INPUT... [-o OUTDIR] [--model ID] [--hints FILE] ...`"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import ColorStudioError
from ..core.hints import load_hints
from ..core.imageio import DEFAULT_MAX_PIXELS, WRITE_FORMATS


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("colorize", help="colourise photos or folders (recursive)")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    p.add_argument("-o", "--output", type=Path, help="output folder (default: beside each input)")
    p.add_argument("--model", help="model id (default: the default model)")
    p.add_argument("--hints", type=Path, help="hints JSON (default: <stem>.hints.json beside "
                                               "each input, when present)")
    p.add_argument("--size", type=int, help="working size (longer side) for the network")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--format", default="same", choices=["same", *sorted(WRITE_FORMATS)])
    p.add_argument("--depth", type=int, choices=[8, 16], help="output bit depth (default: input's)")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help="refuse images with more pixels (decompression-bomb guard)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..engine.batch import Colorizer, iter_inputs, output_path
    from ..engine.models import ModelStore

    if args.size is not None and not 16 <= args.size <= 4096:
        print("colorstudio: error: --size must be between 16 and 4096", file=sys.stderr)
        return 2
    hints = load_hints(args.hints) if args.hints else None
    colorizer = Colorizer(ModelStore(args.models_dir), args.device)
    colorizer.model(args.model)  # fail early (unknown model, missing weights) as a usage error
    jobs = []
    for src, root in iter_inputs(args.inputs):
        jobs.append((src, output_path(src, root, args.output, args.format)))
    if not jobs:
        print("colorstudio: error: no images found in the given inputs", file=sys.stderr)
        return 2
    failed = 0
    for i, (src, dst) in enumerate(jobs, 1):
        if not src.exists():
            print(f"{src}: no such file", file=sys.stderr)
            failed += 1
            continue
        res = colorizer.colorize_file(src, dst, args.model, hints, args.size, args.max_pixels,
                                      args.quality, args.depth)
        for m in res.messages:
            print(f"note: {m}", file=sys.stderr)
        prefix = f"[{i}/{len(jobs)}] " if len(jobs) > 1 else ""
        if res.status == "ok":
            print(f"{prefix}{src} -> {res.output} ({res.seconds:.2f} s)")
        else:
            failed += 1
            print(f"{prefix}{res.error}", file=sys.stderr)
    return 1 if failed else 0


__all__ = ["add_parser", "run", "ColorStudioError"]
