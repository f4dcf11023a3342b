"""`colorstudio bench [--model ID] [--json]`"""

from __future__ import annotations

import argparse
import json


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("bench", help="speed and memory benchmarks on a synthetic grey test image "
                                     "(CPU, and GPU when present)")
    p.add_argument("--model")
    p.add_argument("--no-memory", action="store_true", help="skip the 50-MP TIFF memory run")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: a 0.75-MP JPEG instead of 12 MP, fewer repeats "
                        "(numbers not comparable with full runs)")
    p.add_argument("--json", action="store_true")
    return p


def run(args: argparse.Namespace) -> int:
    from ..engine.bench import run_bench

    res = run_bench(args.model, args.models_dir, memory=not args.no_memory, quick=args.quick)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"Measured on a {res['input']}.")
    for r in res["runs"]:
        print(f"[{r['device']}] model {r['model']} ({r['params'] / 1e6:.2f} M params)")
        print(f"  {r['jpeg_megapixels']:g}-MP synthetic JPEG, full resolution: "
              f"cold {r['jpeg_12mp_cold_s']:.2f} s, warm {r['jpeg_12mp_warm_s']:.2f} s")
        print(f"  hint-to-preview (network at {r['preview_network_px']} px): "
              f"{r['hint_preview_ms']} ms;  forward: {r['forward_ms']} ms")
    if "memory" in res:
        mem = res["memory"]
        if "error" in mem and "tiff_50mp_16bit_peak_rss_mb" not in mem:
            print(f"  50-MP synthetic 16-bit TIFF: failed ({mem['error']})")
        else:
            print(f"  50-MP synthetic 16-bit TIFF: peak memory "
                  f"{mem['tiff_50mp_16bit_peak_rss_mb']:.0f} MB, "
                  f"{mem['tiff_50mp_16bit_seconds']:.1f} s ({mem['status']})")
    return 0
