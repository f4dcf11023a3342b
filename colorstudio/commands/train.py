"""`colorstudio train --data DIR [--base ID] [--name NAME] [--minutes M | --epochs E] [--size N]
[--device ...] [--resume] [--unpaired-grey DIR]`: fine-tune a model on your own colour photos.

A held-out part of DIR (fixed seed) measures the base model before and the new model after;
the new model (weights + card) goes into the per-user models folder, where the app and
`colorstudio models` find it. Ctrl-C stops cleanly, keeps a checkpoint (`--resume` continues)
and writes no model.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("train", help="fine-tune a model on a folder of your own colour photos")
    p.add_argument("--data", type=Path, required=True, metavar="DIR",
                   help="folder of colour photos (searched recursively)")
    p.add_argument("--base", metavar="ID", help="model to start from (default: the default model)")
    p.add_argument("--name", default="",
                   help="name of the new model (default: '<base> on <DIR>', numbered "
                   "'... 2', '... 3' past existing models; a taken --name is refused)")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="time budget (default 10)")
    budget.add_argument("--epochs", type=float, help="passes over the training photos")
    budget.add_argument("--steps", type=int, help=argparse.SUPPRESS)  # exact steps (tests)
    p.add_argument("--size", type=int, default=128, help="training crop in pixels (default 128)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=0.0, help="learning rate (default: per model)")
    p.add_argument("--no-augment", action="store_true", help="no rotations or zoom")
    p.add_argument("--holdout", type=int, default=0,
                   help="photos held out for the before/after numbers (default 15%%, 2..100)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run of the same --data/--name")
    p.add_argument("--unpaired-grey", type=Path, metavar="DIR",
                   help="adapt to genuine black-and-white scans in DIR (CycleGAN, unpaired)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the user model of that name (without --name: of the default "
                   "name)")
    return p


class _Progress:
    """One status line on stderr: bar, step, loss, images/s, ETA."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.tty = self.stream.isatty()
        self.last_print = 0.0
        self.shown_step = -1  # the step of the last progress line printed
        self.ips = 0.0

    def __call__(self, e) -> None:  # e: colorstudio.train.fit.TrainEvent
        if e.kind == "phase":
            self._line(e.message + " ...", end=True)
        elif e.kind == "baseline":
            self._line(f"base model on the held-out photos: PSNR {e.losses['psnr']:.2f} dB, "
                       f"SSIM {e.losses['ssim']:.4f}", end=True)
        elif e.kind == "start":
            self.start = time.perf_counter()
            self._line(e.message, end=True)
        elif e.kind == "step":
            self.ips = e.images_per_s
            now = time.perf_counter()
            if self.tty or now - self.last_print > 10:
                self.last_print = now
                self._line(self._bar(e, e.images_per_s, e.eta_s), end=not self.tty)
                self.shown_step = e.step
        elif e.kind in ("done", "cancelled"):
            # The loop logs every few steps and stops at any: end on the step it stopped at,
            # never "step 15" just above "cancelled at step 17".
            if e.step and e.step != self.shown_step:
                self._line(self._bar(e, self.ips, 0.0), end=True)
                self.shown_step = e.step
            self._line(f"{e.kind} at step {e.step}", end=True)

    def _bar(self, e, ips: float, eta_s: float) -> str:
        done = e.step / e.total if e.total else 0.0
        elapsed = time.perf_counter() - self.start
        if eta_s > 0:
            done = max(done, elapsed / (elapsed + eta_s))
        if e.kind == "done":
            done = 1.0
        bar = "#" * round(24 * done)
        loss = e.losses.get("loss", next(iter(e.losses.values()), 0.0)) if e.losses else 0.0
        eta = f"{int(eta_s // 60)}:{int(eta_s % 60):02d}"
        return (f"[{bar:<24}] {100 * done:3.0f}% step {e.step} loss {loss:.4f} "
                f"{ips:.0f} img/s ETA {eta}")

    def _line(self, text: str, end: bool) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + ("\n" if end else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from ..core.errors import ColorStudioError
    from ..engine.models import ModelStore
    from ..train.finetune import FineTuneJob, FineTuneOptions
    from ..train.finetune_archs import model_id_for

    if not args.data.is_dir():
        raise ColorStudioError(f"{args.data} is not a folder")
    if args.unpaired_grey is not None and not args.unpaired_grey.is_dir():
        raise ColorStudioError(f"{args.unpaired_grey} is not a folder")
    for name in ("minutes", "epochs", "steps"):
        v = getattr(args, name)
        if v is not None and v <= 0:
            raise ColorStudioError(f"--{name} must be positive")
    if args.size < 16 or args.batch < 2:
        raise ColorStudioError("--size must be at least 16 and --batch at least 2")
    opts = FineTuneOptions(
        data=args.data, base=args.base, name=args.name, minutes=args.minutes or 0.0,
        epochs=args.epochs or 0.0, steps=args.steps or 0, size=args.size, batch=args.batch,
        lr=args.lr, augment=not args.no_augment, device=args.device, holdout=args.holdout,
        unpaired_grey=args.unpaired_grey, threads=args.threads)
    # No --name: a free "<base> on <DIR> N"; with --overwrite, the plain default name.
    job = FineTuneJob(opts, ModelStore(args.models_dir), number_name=not args.overwrite)
    job.check_name(args.overwrite)
    if not args.name and job.name != job.default_name:
        print(f"note: a model '{model_id_for(job.default_name)}' already exists; this one "
              f"will be saved as '{job.model_id}' (use --name to choose)", file=sys.stderr)
    if not args.resume and job.can_resume():
        print(f"note: an interrupted run of '{job.model_id}' exists; starting again "
              "(use --resume to continue it)", file=sys.stderr)

    # First Ctrl-C: stop at the next step, keep the checkpoint. Second: abort at once.
    stop = {"requested": False}

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True
        print("\nstopping after this step (Ctrl-C again to abort) ...", file=sys.stderr)

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        from ..train.finetune import scan_folder

        scan = scan_folder(args.data)
        print(f"{args.data}: {scan.summary()}")
        if not scan.enough:
            raise ColorStudioError(f"{args.data}: {scan.warning()}")
        if scan.warning():
            print(f"warning: {scan.warning()}", file=sys.stderr)
        result = job.run(_Progress(), lambda: stop["requested"], resume=args.resume, scan=scan)
    finally:
        signal.signal(signal.SIGINT, old)
    if result.cancelled:
        print(f"stopped at step {result.steps}; no model was written. Continue with:\n  "
              f"{result.command} --resume", file=sys.stderr)
        return 130
    b, a = result.before, result.after
    assert b is not None and a is not None
    print(f"held-out photos: {result.held_count} (training on {result.train_count}); "
          f"{result.steps} steps in {result.seconds / 60:.1f} min on {result.device}")
    print(f"  base   {b.model:<28} PSNR {b.psnr:6.2f} dB  SSIM {b.ssim:.4f}  "
          f"CIEDE2000 {b.ciede2000:5.2f}  colourfulness {b.colourfulness:5.1f}")
    print(f"  tuned  {job.model_id:<28} PSNR {a.psnr:6.2f} dB  SSIM {a.ssim:.4f}  "
          f"CIEDE2000 {a.ciede2000:5.2f}  colourfulness {a.colourfulness:5.1f}")
    print(f"  gain   {result.gain_db:+.2f} dB   (grey baseline {a.grey_psnr:.2f} dB)")
    card = job.save(result, overwrite=args.overwrite)
    print(f"saved model '{card.id}' to {card.path}")
    return 0
