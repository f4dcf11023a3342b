"""Colourising files: one photo (`colorize_file`) or many (`plan_batch` + `run_batch`).

Used by the CLI and the GUI export alike. Originals are never written; outputs are written
atomically (temp name + fsync + rename) with their provenance already embedded, so a file
with an output's name is always complete; every failure is one clear line in
`FileOutcome.error`. Batches mirror the input folder tree, skip outputs that are already
complete (resume after an interruption) and write a CSV or JSON report.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..core.cards import ModelCard, sha256_file
from ..core.color import l_to_grey
from ..core.compose import lab_to_rgb_fast
from ..core.errors import CancelledError, ColorStudioError, ImageWriteError
from ..core.hints import (DEFAULT_SPREAD, DEFAULT_STRENGTH, HintSet, load_sidecar,
                          sidecar_path)
from ..core.imageio import (DEFAULT_MAX_PIXELS, READ_FORMATS, TEMP_PREFIX, WRITE_FORMATS,
                            LoadedImage, add_badge, atomic_write_bytes, exif_without_orientation,
                            output_depth, read_image, srgb_profile, write_image)
from ..core.jobs import ColorizeRequest, scaled_hints
from ..core.jobs import ColorizeResult as JobResult
from ..core.metadata import (MetadataError, Provenance, build_xmp, embed, hints_digest,
                             read_file_metadata, read_original_metadata)
from ..core.reference import read_reference, reference_hints
from ..core.preprocess import (GEOMETRIC, Geometry, Step, apply_geometry, apply_steps,
                               describe, steps_to_json)
from .device import pick_device
from .models import LoadedModel, ModelStore
from .pipeline import ColorizeResult, colorize_l

log = logging.getLogger(__name__)

SUFFIX = "_colorized"
COMPARE_SUFFIX = "_compare"
PROVENANCE_FORMATS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".webp")
REPORT_FIELDS = ("input", "output", "model", "status", "error", "seconds")


@dataclass
class FileOutcome:
    input: Path
    output: Path | None = None
    status: str = "ok"  # ok | failed | skipped | planned (dry run)
    error: str = ""
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)
    model: str = ""
    reused: bool = False  # written from a precomputed result (the model did not run)

    def row(self) -> dict[str, str]:
        return {"input": str(self.input), "output": str(self.output or ""), "model": self.model,
                "status": self.status, "error": self.error, "seconds": f"{self.seconds:.3f}"}


def iter_inputs(paths: list[Path]) -> Iterator[tuple[Path, Path]]:
    """Yield (file, root) for files and, recursively, for image files in folders (not our own
    outputs and comparison images)."""
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if (f.is_file() and f.suffix.lower() in READ_FORMATS
                        and not f.stem.endswith((SUFFIX, COMPARE_SUFFIX))
                        and not f.name.startswith(".~")):
                    yield f, p
        else:
            yield p, p.parent


def output_path(src: Path, root: Path, out_dir: Path | None, fmt: str) -> Path:
    """Where `src` goes: beside it, or under `out_dir` mirroring its place below `root`."""
    ext = src.suffix.lower() if fmt == "same" else WRITE_FORMATS[fmt]
    if ext in (".gif", ".bmp"):  # GIF: 256 colours; BMP: no place for provenance metadata
        ext = ".png"
    if ext not in WRITE_FORMATS.values():
        ext = ".png"
    inside = out_dir is not None and src.is_relative_to(root)
    rel = src.parent.relative_to(root) if inside else Path()
    base = (out_dir / rel) if out_dir is not None else src.parent
    return base / f"{src.stem}{SUFFIX}{ext}"


# --------------------------------------------------------------------------- completeness

def _structurally_complete(path: Path) -> bool:
    """Cheap check that a file is not cut short: its format's end marker or sizes fit."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(16)
            fh.seek(max(0, size - 16))
            tail = fh.read(16)
    except OSError:
        return False
    if size < 16:
        return False
    if head.startswith(b"\x89PNG"):
        return tail.endswith(b"IEND\xaeB`\x82")
    if head.startswith(b"\xff\xd8"):
        return tail.rstrip(b"\x00").endswith(b"\xff\xd9")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return int.from_bytes(head[4:8], "little") + 8 <= size
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        try:
            import tifffile

            with tifffile.TiffFile(path) as tf:
                page = tf.pages.first
                ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts)]
                return bool(ends) and max(ends) <= size
        except Exception:  # noqa: BLE001 - unreadable: not complete
            return False
    if head.startswith(b"BM"):
        return int.from_bytes(head[2:6], "little") <= size
    return False


def output_is_complete(dst: Path, src_sha256: str) -> bool:
    """True when `dst` is a whole ColorStudio output made from the original with this hash."""
    if not dst.is_file() or not _structurally_complete(dst):
        return False
    try:
        meta = read_file_metadata(dst)
    except MetadataError:
        return False
    return (meta.is_colorstudio_output
            and meta.provenance.get("SourceSHA256") == src_sha256)


def clean_stale_temps(folder: Path) -> int:
    """Remove the temp files (`.~cs-*`) that a killed run left in a folder; returns how many.

    Only ColorStudio's own prefix is touched. (Two ColorStudio batches writing into the same
    folder at the same moment are not supported: one would remove the other's temp file.)
    """
    n = 0
    if not folder.is_dir():
        return 0
    for f in folder.glob(TEMP_PREFIX + "*"):
        try:
            if f.is_file():
                f.unlink()
                n += 1
        except OSError:
            pass
    return n


# --------------------------------------------------------------------------- one file

class Colorizer:
    """Owns the model store and the device; turns photos into colourised arrays and files."""

    def __init__(self, store: ModelStore | None = None, device: str = "auto") -> None:
        self.store = store or ModelStore()
        self.device = pick_device(device)
        self._on_cpu: set[str] = set()  # model ids that ran out of GPU memory in this job
        self._lock = threading.Lock()
        self._references: dict[tuple, HintSet] = {}  # see reference_hints

    def model(self, model_id: str | None) -> LoadedModel:
        return self.store.load(model_id, self.device)

    def start_job(self) -> None:
        """A new job begins: forget which models ran out of GPU memory in the last one."""
        self._on_cpu.clear()

    def reference_hints(self, path: Path, l_star: np.ndarray) -> HintSet:
        """The hints a reference photo gives `l_star` (Welsh et al. matching), remembered for
        the last few (photo, reference) pairs: live previews ask again at every stroke."""
        path = Path(path)
        try:
            stat = path.stat()
        except OSError as exc:
            raise ColorStudioError(f"{path.name}: reference photo not found") from exc
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, l_star.shape,
               hashlib.blake2b(np.ascontiguousarray(l_star).tobytes(), digest_size=16).digest())
        with self._lock:
            if key in self._references:
                return self._references[key]
        found = reference_hints(l_star, read_reference(path))
        with self._lock:
            self._references[key] = found
            while len(self._references) > 4:
                self._references.pop(next(iter(self._references)))
        return found

    def _run(self, img: LoadedImage, model_id: str | None, hints: HintSet | None,
             size: int | None, progress: Callable[[float, str], None] | None,
             cancel: Callable[[], bool] | None, strength: float = DEFAULT_STRENGTH,
             reference: Path | None = None, solve_size: int | None = None
             ) -> tuple[np.ndarray, ColorizeResult, LoadedModel]:
        """GPU out of memory is handled once per job: after the first fallback the model runs
        on the CPU for the rest of the job (`start_job` begins a new one). `reference`: a
        colour photo whose matched colours join the hints, beneath the user's own."""
        card = self.store.card(model_id)
        fallback = None
        if self.device.type != "cpu" and card.id in self._on_cpu:
            model = self.store.load(card.id, torch.device("cpu"))
        else:
            model = self.model(card.id)
            if model.device.type != "cpu":
                def fallback() -> LoadedModel:
                    return self.store.load(card.id, torch.device("cpu"))
        under = None
        if reference is not None and card.hints:
            if progress is not None:
                progress(0.05, f"matching the colours of {Path(reference).name}")
            under = self.reference_hints(reference, img.l_star)
        res = colorize_l(model, img.l_star, hints, size, progress, cancel, fallback,
                         strength=strength, under=under, solve_size=solve_size)
        if res.device == "cpu" and model.device.type != "cpu":
            self._on_cpu.add(card.id)  # the next images of this job go to the CPU directly
            note = res.messages.pop() if res.messages else "GPU out of memory"
            res.messages.append(f"{note} (and for the rest of this job)")
        return lab_to_rgb_fast(img.l_star, res.ab), res, model

    def colorize_image(self, img: LoadedImage, model_id: str | None = None,
                       hints: HintSet | None = None, size: int | None = None,
                       progress: Callable[[float, str], None] | None = None,
                       cancel: Callable[[], bool] | None = None) -> tuple[np.ndarray, list[str]]:
        """-> (RGB float32 (H, W, 3) in [0, 1] with the original L*, messages)."""
        rgb, res, _ = self._run(img, model_id, hints, size, progress, cancel)
        return rgb, res.messages

    def colorize_request(self, req: ColorizeRequest,
                         progress: Callable[[float, str], None] | None = None,
                         cancel: Callable[[], bool] | None = None) -> JobResult:
        """One GUI request (already in memory): its preprocessed L* (computed once per step
        list when the request carries the photo's `PreprocessedL`) through the model."""
        l_star = req.processed_l()
        if cancel is not None and cancel():
            raise CancelledError("cancelled")
        hints = scaled_hints(req.hints, req.scale)
        rgb, res, model = self._run(LoadedImage(l_star, np.dtype(np.uint8)), req.model_id,
                                    hints, req.size, progress, cancel, req.strength,
                                    req.reference, req.solve_size)
        rgb8 = np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)
        display = req.display(rgb8) if req.display is not None else None
        return JobResult(rgb, rgb8, l_star, model.card.id, list(res.messages), display,
                         res.working_size, res.device, req.hints, req.size, req.strength,
                         req.reference, res.distribution, res.influence)

    def colorize_file(self, src: Path, dst: Path, model_id: str | None = None,
                      hints: HintSet | None = None, size: int | None = None,
                      max_pixels: int = DEFAULT_MAX_PIXELS, quality: int = 95,
                      depth: int | None = None, *, compression: str = "deflate",
                      badge: bool = False, provenance: bool = True,
                      hints_path: Path | None = None, steps: tuple[Step, ...] = (),
                      compare: Path | None = None,
                      progress: Callable[[float, str], None] | None = None,
                      cancel: Callable[[], bool] | None = None,
                      precomputed: JobResult | None = None,
                      strength: float | None = None,
                      reference: Path | None = None,
                      spread: float | None = None) -> FileOutcome:
        """Colourise `src` into `dst` (format from its suffix). Never raises for bad input.

        The one export path: the CLI, the GUI's single and batch exports and comparisons all
        come here, so every file written carries the same provenance.

        `depth` 8/16 overrides the input's bit depth (16 only for PNG/TIFF). `provenance`
        embeds the XMP record (on by default; off only for throwaway previews). `hints_path`
        names the file `hints` came from, for the record; without `hints`, a sidecar
        `<stem>.hints.json` beside `src` is used. `badge` draws a visible corner mark.
        `steps` (preprocessing) run on the L* first, recorded in the provenance and, as JSON, in
        `<dst name>.json`. `hints` (like a sidecar's) are in the original photo's coordinates:
        they are mapped through the geometric steps here, the one place that does it for
        every export. `compare` also writes a side-by-side image (the grey photo the
        model saw | the result), with the same provenance plus a line saying what it is.
        `strength` (0 cautious .. 1 vivid) and `reference` (a colour photo guiding the
        colours) default to the sidecar's when the sidecar gives the hints, else to the
        model's own colours and no reference. `spread` (0 local .. 1 wide) overrides the
        hints' own spread; the one used is recorded.
        Cancelling (`cancel()` true) raises `CancelledError`. `precomputed`: the result of
        these very inputs already in memory (the GUI's on-screen result, made at full size by
        `colorize_request`): it is written as it is instead of running the model again
        (ignored when its size or model does not match).
        """
        src, dst = Path(src), Path(dst)
        compare = Path(compare) if compare is not None else None
        t0 = time.perf_counter()
        out = FileOutcome(src, dst)
        try:
            for target in (dst, compare):
                if target is None:
                    continue
                if target.exists() and target.resolve() == src.resolve():
                    raise ImageWriteError(f"{src.name}: refusing to overwrite the original")
                if provenance and target.suffix.lower() not in PROVENANCE_FORMATS:
                    raise ImageWriteError(f"{target.name}: {target.suffix} files cannot carry "
                                          "provenance metadata; write PNG, TIFF, JPEG or WebP")
            if compare is not None and compare.resolve() == dst.resolve():
                raise ImageWriteError(f"{dst.name}: the comparison cannot have the output's name")
            img = read_image(src, max_pixels)
            out.messages += img.warnings
            if hints is None and sidecar_path(src).is_file():
                hints_path = sidecar_path(src)
                side = load_sidecar(hints_path)
                hints = side.hints
                strength = side.strength if strength is None else strength
                reference = side.reference_path(src) if reference is None else reference
                out.messages.append(f"{src.name}: using {len(hints)} hints from "
                                    f"{hints_path.name}")
            strength = DEFAULT_STRENGTH if strength is None else float(strength)
            if spread is not None and hints:
                hints = dataclasses.replace(hints, spread=float(spread))
            seen = hints  # what the model is given: the hints where the steps moved them
            if steps:
                if hints:
                    seen = hints.to_view(Geometry.of(*img.l_star.shape, tuple(steps)))
                img = _preprocessed(img, tuple(steps))
            if _reusable(precomputed, img, model_id, size, seen, strength, reference):
                assert precomputed is not None
                card = self.store.card(model_id)
                rgb = precomputed.rgb
                res = ColorizeResult(np.zeros((0, 0, 2), np.float32), precomputed.working_size,
                                     precomputed.device, [])
                out.reused = True
            else:
                rgb, res, model = self._run(img, model_id, seen, size, progress, cancel,
                                            strength, reference)
                card = model.card
                out.messages += res.messages
            out.model = card.id
            dtype = {8: np.uint8, 16: np.uint16}.get(depth or 0, img.dtype)
            written = output_depth(dst.suffix, dtype)
            if written != np.dtype(dtype):
                out.messages.append(f"{src.name}: {dst.suffix.lstrip('.').upper()} holds 8 bits "
                                    "per sample; writing 8-bit")
            if badge:
                rgb = add_badge(rgb)
            finish = compare_finish = None
            if provenance:
                prov = self._provenance(src, img, res, card, hints, hints_path, written, badge,
                                        bool(steps), strength, reference)
                finish = self._finisher(src, dst, prov, out.messages)
                if compare is not None:
                    cprov = dataclasses.replace(
                        prov, steps=prov.steps + (COMPARISON_STEP,),
                        document_id=f"xmp.did:{uuid.uuid4()}",
                        instance_id=f"xmp.iid:{uuid.uuid4()}")
                    compare_finish = self._finisher(src, compare, cprov, [])
            if cancel is not None and cancel():
                raise CancelledError("cancelled")
            exif = exif_without_orientation(img.exif)
            dst.parent.mkdir(parents=True, exist_ok=True)
            write_image(dst, rgb, dtype, img.alpha, quality=quality,
                        icc_profile=srgb_profile(), exif=exif,
                        compression=compression, finish=finish)
            if steps:
                record = {"source": src.name, "model": card.id,
                          "hints": len(hints) if hints else 0,
                          "preprocessing": steps_to_json(tuple(steps))}
                atomic_write_bytes(record_path(dst), json.dumps(record, indent=1).encode())
            if compare is not None:
                compare.parent.mkdir(parents=True, exist_ok=True)
                write_image(compare, side_by_side(img.l_star, rgb), dtype, quality=quality,
                            icc_profile=srgb_profile(), exif=exif, compression=compression,
                            finish=compare_finish)
        except CancelledError:
            raise
        except ColorStudioError as exc:
            out.status, out.error, out.output = "failed", _named(src, str(exc)), None
        except OSError as exc:
            out.status, out.output = "failed", None
            out.error = f"{src.name}: {exc.strerror or exc}"
        except MemoryError:
            out.status, out.output = "failed", None
            out.error = f"{src.name}: not enough memory for this image"
        except Exception as exc:  # noqa: BLE001 - one odd file must not end an overnight batch
            log.debug("unexpected error on %s", src, exc_info=True)
            out.status, out.output = "failed", None
            detail = " ".join(str(exc).split())[:300]  # one line, whatever the library said
            out.error = f"{src.name}: unexpected error ({type(exc).__name__}: {detail})"
        out.seconds = time.perf_counter() - t0
        return out

    @staticmethod
    def _provenance(src: Path, img: LoadedImage, res: ColorizeResult, card: ModelCard,
                    hints: HintSet | None, hints_path: Path | None, written: np.dtype,
                    badge: bool, preprocessed: bool = False,
                    strength: float = DEFAULT_STRENGTH, reference: Path | None = None
                    ) -> Provenance:
        steps = list(img.steps)
        w, h = res.working_size
        steps.append(f"chroma (a*, b*) predicted by {card.id} at {w}x{h} on {res.device}, "
                     f"colour strength {strength:.2f} (0 cautious, 0.5 the model's own, 1 vivid)")
        if reference is not None:
            steps.append(f"colours matched from the reference photo {Path(reference).name} "
                         "(Welsh et al. 2002) added as hints beneath the user's")
        steps.append("chroma fitted to the sRGB gamut and upsampled guided by full-resolution L*")
        steps.append("preprocessed L* kept: lightness is that of the preprocessing above"
                     if preprocessed else "original L* kept: lightness is unchanged")
        steps.append(f"written as {8 * written.itemsize}-bit sRGB with an embedded sRGB profile")
        if badge:
            steps.append("visible 'AI colourised' badge drawn in the bottom-right corner")
        n_hints = len(hints) if hints else 0
        hints_sha = hints_src = ""
        if hints:
            if hints_path is not None and Path(hints_path).is_file():
                hints_sha, hints_src = sha256_file(Path(hints_path)), Path(hints_path).name
            else:
                hints_sha, hints_src = hints_digest(hints.to_json()), "in-app"
        return Provenance(
            source_name=src.name, source_sha256=sha256_file(src), model_id=card.id,
            model_version=card.version, weights_sha256=card.sha256, steps=tuple(steps),
            hints_count=n_hints, hints_sha256=hints_sha, hints_source=hints_src, badge=badge,
            strength=strength, hint_spread=hints.spread if hints else DEFAULT_SPREAD,
            reference_name=Path(reference).name if reference is not None else "",
            reference_sha256=sha256_file(Path(reference)) if reference is not None else "")

    @staticmethod
    def _finisher(src: Path, dst: Path, prov: Provenance, messages: list[str]
                  ) -> Callable[[bytes], bytes]:
        original = read_original_metadata(src.read_bytes(), src.name)
        messages += original.notes
        if original.document_id:
            prov = dataclasses.replace(prov, source_document_id=original.document_id)
        xmp = build_xmp(prov, original.xmp)

        def finish(data: bytes) -> bytes:
            return embed(data, xmp, original, name=dst.name)

        return finish


COMPARISON_STEP = ("side-by-side comparison image (derived, colourised): left the grey photo "
                   "the model saw, right the colourised result")


def _reusable(result: JobResult | None, img: LoadedImage, model_id: str | None,
              size: int | None, hints: HintSet | None, strength: float = DEFAULT_STRENGTH,
              reference: Path | None = None) -> bool:
    """A precomputed result fits this export: same model, working size, hints, strength,
    reference and pixels."""
    return (result is not None and result.model_id == model_id and result.size == size
            and (result.hints or None) == (hints or None)
            and result.strength == strength and result.reference == reference
            and result.rgb.shape[:2] == img.l_star.shape
            and result.l_star.shape == img.l_star.shape
            and bool(np.array_equal(result.l_star, img.l_star)))


def record_path(dst: Path) -> Path:
    """Where the preprocessing record of an output goes: `<output name>.json`."""
    return dst.with_name(dst.name + ".json")


def _preprocessed(img: LoadedImage, steps: tuple[Step, ...]) -> LoadedImage:
    """The photo after the preprocessing `steps` (alpha follows the geometry), recorded."""
    l_star = apply_steps(img.l_star, steps)
    alpha = apply_geometry(img.alpha, steps) if img.alpha is not None else None
    done = [f"preprocessing: {describe((s,))}" for s in steps if not s.is_identity()]
    if any(s.op in GEOMETRIC and not s.is_identity() for s in steps):
        done.append(f"preprocessed size {l_star.shape[1]}x{l_star.shape[0]}")
    return dataclasses.replace(img, l_star=l_star, alpha=alpha, steps=[*img.steps, *done])


def side_by_side(l_star: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """The comparison image: the grey of `l_star` | a white gap | `rgb` (float [0, 1])."""
    grey = np.repeat(l_to_grey(l_star)[..., None], 3, axis=2).astype(np.float32)
    gap = np.ones((rgb.shape[0], max(4, rgb.shape[1] // 100), 3), np.float32)
    return np.concatenate([grey, gap, np.asarray(rgb, np.float32)], axis=1)


def _named(src: Path, err: str) -> str:
    """Every error line names the input file."""
    return err if err.startswith(src.name) else f"{src.name}: {err}"


# --------------------------------------------------------------------------- batches

@dataclass
class BatchJob:
    src: Path
    dst: Path
    src_sha256: str = ""
    action: str = "colorize"  # colorize | skip | fail
    reason: str = ""


def plan_batch(inputs: list[Path], out_dir: Path | None, fmt: str = "same",
               resume: bool = True) -> list[BatchJob]:
    """Decide, for every input, its output and whether it must be (re)done.

    An existing output is skipped only if it is complete (whole file, our provenance, made from
    an original with the same SHA-256); anything else is redone. Two inputs that would write
    the same output (a.png and a.jpg with --format png) are reported, not overwritten.
    """
    jobs: list[BatchJob] = []
    claimed: dict[Path, Path] = {}
    for src, root in iter_inputs(inputs):
        dst = output_path(src, root, out_dir, fmt)
        job = BatchJob(src, dst)
        if not src.is_file():
            job.action, job.reason = "fail", f"{src}: no such file"
        elif dst in claimed:
            job.action = "fail"
            job.reason = (f"{src.name}: its output {dst.name} would overwrite the output of "
                          f"{claimed[dst].name}; use a separate run with -o")
        else:
            claimed[dst] = src
            if resume and dst.exists():
                try:
                    job.src_sha256 = sha256_file(src)
                except OSError:
                    job.src_sha256 = ""
                if job.src_sha256 and output_is_complete(dst, job.src_sha256):
                    job.action, job.reason = "skip", "complete output exists"
        jobs.append(job)
    return jobs


def write_report(path: Path, outcomes: list[FileOutcome]) -> None:
    """CSV (default) or JSON (by suffix) with input, output, model, status, error, seconds."""
    path = Path(path)
    rows = [o.row() for o in outcomes]
    if path.suffix.lower() == ".json":
        data = json.dumps({"files": rows, "summary": _summary(outcomes)}, indent=1,
                          ensure_ascii=False).encode("utf-8")
    else:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=REPORT_FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        data = buf.getvalue().encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


def _summary(outcomes: list[FileOutcome]) -> dict[str, int]:
    s = {"ok": 0, "failed": 0, "skipped": 0, "planned": 0}
    for o in outcomes:
        s[o.status] = s.get(o.status, 0) + 1
    return s


def run_batch(colorizer: Colorizer, jobs: list[BatchJob], *, model_id: str | None = None,
              report: Path | None = None, dry_run: bool = False,
              on_outcome: Callable[[int, int, FileOutcome], None] | None = None,
              cancel: Callable[[], bool] | None = None, **file_kwargs: object
              ) -> list[FileOutcome]:
    """Run planned jobs in order; never stops on a bad file. The report is rewritten as it goes
    (so an interrupted run still leaves one) and once more at the end."""
    outcomes: list[FileOutcome] = []
    every = max(1, len(jobs) // 100)
    folders = {j.dst.parent for j in jobs} | ({Path(report).parent} if report else set())
    for folder in folders:
        if not dry_run:
            removed = clean_stale_temps(folder)
            if removed:
                log.info("removed %d stale temp files in %s", removed, folder)
    try:
        for i, job in enumerate(jobs, 1):
            if cancel is not None and cancel():
                break
            if job.action == "skip":
                res = FileOutcome(job.src, job.dst, "skipped", job.reason)
            elif job.action == "fail":
                res = FileOutcome(job.src, None, "failed", job.reason)
            elif dry_run:
                res = FileOutcome(job.src, job.dst, "planned")
            else:
                res = colorizer.colorize_file(job.src, job.dst, model_id,
                                              **file_kwargs)  # type: ignore[arg-type]
            if not res.model and job.action != "fail":
                res.model = model_id or ""
            outcomes.append(res)
            if on_outcome is not None:
                on_outcome(i, len(jobs), res)
            if report is not None and not dry_run and i % every == 0:
                _try_report(report, outcomes)
    finally:
        if report is not None and not dry_run:
            _try_report(report, outcomes)
    return outcomes


def _try_report(path: Path, outcomes: list[FileOutcome]) -> None:
    try:
        write_report(path, outcomes)
    except OSError as exc:
        log.warning("cannot write the report %s: %s", path, exc.strerror or exc)


__all__ = ["Colorizer", "FileOutcome", "BatchJob", "iter_inputs", "output_path", "plan_batch",
           "run_batch", "write_report", "output_is_complete", "clean_stale_temps", "record_path",
           "side_by_side", "SUFFIX", "COMPARE_SUFFIX", "COMPARISON_STEP"]
