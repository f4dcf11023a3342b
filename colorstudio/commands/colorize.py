"""`colorstudio colorize INPUT... [-o OUTDIR] [--model ID] [--hints FILE] ...`

Folders are processed recursively; with `-o` the folder tree is mirrored under OUTDIR.
Outputs that already exist and are complete are skipped, so an interrupted overnight batch is
resumed by running the same command again. Every output carries its provenance (XMP).

Hints files (`--hints`, or the `<stem>.hints.json` sidecars the desktop app writes) hold the
hints in the original photo's coordinates, so they land on the objects they were painted on.
A sidecar may also record the preprocessing they were painted with (turns, straightening,
crops); the command line colourises the photo as it is and says so.

`--cluster ADDRESS` (or `--cluster local`) runs the same batch on Ray workers
(`pip install colorstudio[cluster]`; see docs/CLUSTER.md). Ray is imported only then.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ..core.errors import ColorStudioError
from ..core.hints import GEOMETRIC_OPS, HintsFile, load_sidecar, sidecar_path
from ..core.imageio import DEFAULT_MAX_PIXELS, TIFF_COMPRESSIONS, WRITE_FORMATS

REPORT_NAME = "colorstudio-report.csv"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("colorize", help="colourise photos or folders (recursive)")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT")
    p.add_argument("-o", "--output", type=Path, help="output folder; folder inputs have their "
                                                     "tree mirrored there (default: beside "
                                                     "each input)")
    p.add_argument("--model", help="model id (default: the default model)")
    p.add_argument("--hints", type=Path, help="hints JSON (default: <stem>.hints.json beside "
                                               "each input, when present)")
    p.add_argument("--strength", type=float, metavar="S",
                   help="colour strength from 0 (cautious) to 1 (vivid); 0.5 is the model's own "
                        "(default: the hints file's, else 0.5)")
    p.add_argument("--spread", type=float, metavar="S",
                   help="how far the hints reach, from 0 (near where they were painted) to 1 "
                        "(wide: as far as no strong edge stops them); 0.5 is the default "
                        "(default: the hints file's, else 0.5)")
    p.add_argument("--reference", type=Path, metavar="FILE",
                   help="a colour photo of the same scene, street, room or uniform: its colours "
                        "guide the result (default: the hints file's reference, if any)")
    p.add_argument("--size", type=int, help="working size (longer side) for the network")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--format", default="same",
                   choices=["same", *sorted(f for f in WRITE_FORMATS if f != "bmp")],
                   help="output format (default: the input's; GIF and BMP become PNG)")
    p.add_argument("--depth", type=int, choices=[8, 16],
                   help="output bit depth (default: the input's; 16 only for PNG and TIFF)")
    p.add_argument("--compression", default="deflate", choices=TIFF_COMPRESSIONS,
                   help="TIFF compression (default: deflate)")
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help="refuse images with more pixels (decompression-bomb guard)")
    p.add_argument("--badge", action="store_true",
                   help="draw a small visible 'AI colourised' mark (for publication copies)")
    p.add_argument("--overwrite", action="store_true",
                   help="redo outputs that already exist and are complete (default: skip them)")
    p.add_argument("--report", type=Path, help="write a report here (.csv or .json; default: "
                                                f"{REPORT_NAME} in the -o folder)")
    p.add_argument("--dry-run", action="store_true", help="list what would be done; write nothing")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run the batch on a Ray cluster: HOST:PORT of its head, ray://HOST:PORT, "
                        "'auto' (the cluster this node belongs to) or 'local' (start one here); "
                        "paths must be ones every node sees (pip install colorstudio[cluster])")
    p.add_argument("--workers", type=int,
                   help="with --cluster: how many workers (default: one per GPU, or per CPU)")
    return p


def _err(msg: str) -> int:
    print(f"colorstudio: error: {msg}", file=sys.stderr)
    return 2


def _recipe_note(name: str, f: HintsFile) -> str | None:
    """A note when a hints file records preprocessing that moves pixels."""
    from ..core.preprocess import describe

    geo = [s for s in f.steps if s.op in GEOMETRIC_OPS and not s.is_identity()]
    if not geo:
        return None
    return (f"{name} records preprocessing ({describe(geo)}); the photo is colourised as it "
            "is, with the hints on the objects they were painted on")


def _sidecar_notes(jobs: list) -> list[str]:
    notes = []
    for job in jobs:
        side = sidecar_path(job.src)
        if job.action != "colorize" or not side.is_file():
            continue
        try:
            note = _recipe_note(side.name, load_sidecar(side))
        except ColorStudioError:
            continue  # reported for that photo by the batch itself
        if note:
            notes.append(note)
    return notes


def run(args: argparse.Namespace) -> int:
    from ..engine.batch import Colorizer, FileOutcome, plan_batch, run_batch
    from ..engine.models import ModelStore

    if args.size is not None and not 16 <= args.size <= 4096:
        return _err("--size must be between 16 and 4096")
    if args.max_pixels < 1:
        return _err("--max-pixels must be positive")
    if args.depth == 16 and args.format not in ("same", "png", "tif", "tiff"):
        return _err(f"--depth 16 needs PNG or TIFF output, not {args.format.upper()}")
    if not 1 <= args.quality <= 100:
        return _err("--quality must be between 1 and 100")
    cluster = getattr(args, "cluster", None)
    if getattr(args, "workers", None) is not None:
        if cluster is None:
            return _err("--workers needs --cluster")
        if args.workers < 1:
            return _err("--workers must be at least 1")
    if args.strength is not None and not 0.0 <= args.strength <= 1.0:
        return _err("--strength must be between 0 (cautious) and 1 (vivid)")
    if args.spread is not None and not 0.0 <= args.spread <= 1.0:
        return _err("--spread must be between 0 (local) and 1 (wide)")
    hints = None
    strength, reference = args.strength, args.reference
    notes: list[str] = []
    if args.hints:
        hints_file = load_sidecar(args.hints)
        hints = hints_file.hints
        strength = hints_file.strength if strength is None else strength
        if reference is None:
            reference = hints_file.reference_path(args.hints)
        note = _recipe_note(args.hints.name, hints_file)
        notes += [note] if note else []
    if reference is not None:
        from ..core.reference import read_reference

        read_reference(reference)  # a missing or unreadable reference: one line, before any work
    # On a cluster the workers pick their own device; here the weights are only checked.
    colorizer = Colorizer(ModelStore(args.models_dir),
                          "cpu" if cluster and not args.dry_run else args.device)
    card = colorizer.store.card(args.model)  # unknown model: a usage error, before any work
    if args.dry_run:
        if not card.has_weights:
            return _err(f"model '{card.id}' has no weights")
    else:
        colorizer.model(card.id)  # missing or tampered weights fail here, once
    jobs = plan_batch(args.inputs, args.output, args.format, resume=not args.overwrite)
    if not jobs:
        return _err("no images found in the given inputs")
    if not args.hints:
        notes += _sidecar_notes(jobs)
    for note in notes[:5]:
        print(f"note: {note}", file=sys.stderr)
    if len(notes) > 5:
        print(f"note: ... and {len(notes) - 5} more hints files that record preprocessing",
              file=sys.stderr)
    report = args.report
    if report is None and args.output is not None:
        report = args.output / REPORT_NAME

    def show(i: int, n: int, res: FileOutcome) -> None:
        for m in res.messages:
            print(f"note: {m}", file=sys.stderr)
        prefix = f"[{i}/{n}] " if n > 1 else ""
        if res.status == "ok":
            print(f"{prefix}{res.input} -> {res.output} ({res.seconds:.2f} s)", flush=True)
        elif res.status == "skipped":
            print(f"{prefix}{res.input}: skipped ({res.error}: {res.output})", flush=True)
        elif res.status == "planned":
            print(f"{prefix}would colourise {res.input} -> {res.output}", flush=True)
        else:
            print(f"{prefix}{res.error}", file=sys.stderr, flush=True)

    if args.output is not None and not args.dry_run:
        try:
            args.output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return _err(f"cannot create the output folder {args.output} "
                        f"({exc.strerror or exc})")
    file_kwargs = {"hints": hints, "size": args.size, "max_pixels": args.max_pixels,
                   "quality": args.quality, "depth": args.depth,
                   "compression": args.compression, "badge": args.badge,
                   "hints_path": args.hints, "strength": strength, "reference": reference,
                   "spread": args.spread}
    if cluster and not args.dry_run:
        outcomes = _run_on_cluster(cluster, args, jobs, card.id, report, show, file_kwargs)
    else:
        outcomes = run_batch(colorizer, jobs, model_id=card.id, report=report,
                             dry_run=args.dry_run, on_outcome=show, **file_kwargs)
    counts = {s: sum(o.status == s for o in outcomes)
              for s in ("ok", "skipped", "failed", "planned")}
    if len(outcomes) > 1 or args.dry_run:
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        print(f"done: {summary}" + (f"; report: {report}" if report and not args.dry_run
                                     else ""))
    return 1 if counts["failed"] else 0


def _run_on_cluster(address: str, args: argparse.Namespace, jobs: list, model_id: str,
                    report: Path | None, show: Callable, file_kwargs: dict) -> list:
    """The same batch on Ray: per-file lines as on one machine, plus a progress bar with ETA."""
    from ..engine import cluster as cl

    ray = cl.connect(address)  # ClusterError: one line, from the CLI's handler
    try:
        work = {j.src for j in jobs if j.action == "colorize"}
        bar = cl.Progress(len(jobs), sum(j.action == "colorize" for j in jobs))

        def on_outcome(i: int, n: int, res) -> None:
            bar.clear()
            show(i, n, res)
            bar.advance(worked=res.input in work)

        def on_note(msg: str) -> None:
            bar.clear()
            print(f"note: {msg}", file=sys.stderr, flush=True)

        outcomes = cl.run_cluster_batch(ray, jobs, models_dirs=args.models_dir,
                                        model_id=model_id, device=args.device,
                                        workers=args.workers, report=report,
                                        on_outcome=on_outcome, on_note=on_note,
                                        on_workers=lambda infos: bar.started(), **file_kwargs)
        bar.finish()
    finally:
        cl.disconnect()
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(f"failed ({len(failed)}):", file=sys.stderr)
        for o in failed:
            print(f"  {o.input}", file=sys.stderr)
    return outcomes


__all__ = ["ColorStudioError", "add_parser", "run"]
