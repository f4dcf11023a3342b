"""`colorstudio info FILE...`: print the provenance and metadata an image carries.

Shows whether the file is a ColorStudio output (IPTC digital source type), what it was derived
from (name and SHA-256), the model (id, version, weights SHA-256), the preprocessing steps, the
hints, the history, the colour profile and the carried-over EXIF/IPTC/XMP.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("info", help="show an image's provenance and metadata")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def run(args: argparse.Namespace) -> int:
    from ..core.metadata import MetadataError, format_info, read_file_metadata

    failed = 0
    docs = []
    for i, f in enumerate(args.files):
        try:
            meta = read_file_metadata(f)
        except MetadataError as exc:
            print(f"colorstudio: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            docs.append({"file": str(f), "mime": meta.mime, "width": meta.width,
                         "height": meta.height, "icc": meta.icc,
                         "colorstudio_output": meta.is_colorstudio_output,
                         "provenance": meta.provenance, "xmp": meta.descriptive,
                         "exif": meta.exif, "iptc": meta.iptc})
        else:
            if i:
                print()
            print(format_info(meta))
    if args.json:
        print(json.dumps(docs if len(docs) != 1 else docs[0], indent=1, ensure_ascii=False))
    return 1 if failed else 0
