"""Fine-tuning a model on the user's own colour photos: `colorstudio train` and the GUI wizard.

One job, three steps, no Qt:

1. `scan_folder(DIR)` counts usable colour photos, near-grey ones (skipped) and unreadable
   files, makes thumbnails and a content fingerprint of the photos it will train on.
2. `FineTuneJob.run()` splits a held-out set off with a fixed seed, measures the base model on
   it (`engine.evaluate.evaluate`, the protocol of `colorstudio eval`), trains with the ONE
   loop `train.fit.fit` starting from the base model's weights, and measures the new model on
   the same held-out photos. A cancelled run keeps `checkpoint.pt` in its work folder
   (`<user data>/finetune/<id>/`) and writes no model; `run(resume=True)` continues it.
3. `FineTuneJob.save(result, name)` writes the model (fp16 safetensors + card, with the base,
   the data folder's fingerprint, the photo count and the time) into the per-user models
   folder through `train.export.write_model`, atomically; `discard()` removes the work folder.
   Without a name a run is called "<base> on <folder>", numbered ("... 2") past the models
   that exist; a taken name is refused (`check_name`), never overwritten silently.

Unpaired adaptation (paper 001, CycleGAN): with `unpaired_grey=DIR` the base must be a CycleGAN
model; the grey domain is the folder of genuine black-and-white scans and the colour domain
the colour folder (`TrainConfig.grey_data`, objective "cycle").
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core import cards as card_io
from ..core.cards import ModelCard, bundled_models_dir, weights_files
from ..core.color import rgb_to_lab
from ..core.compose import lab_to_rgb_fast, resize
from ..core.errors import CancelledError, ColorStudioError, ModelError
from ..core.imageio import atomic_write_text
from ..engine.device import pick_device
from ..engine.evaluate import EVAL_SIZE, PROTOCOL, EvalReport, evaluate
from ..engine.models import LoadedModel, ModelStore
from ..engine.pipeline import colorize_l
from ..engine.weights import load_weights
from ..nets import build
from .config import TrainConfig
from .data import GREY_CHROMA, IMAGE_EXTS, ImageCache, Item, decode_square, mean_chroma, split_items
from .export import hardware_string, write_model
from .finetune_archs import (ARCH_DEFAULTS, UNPAIRED_ARCHS, can_resume, default_name,
                             model_id_for, proposed_name, work_dir_for)
from .fit import TrainEvent, fit, preview_rows

log = logging.getLogger(__name__)

MIN_PHOTOS = 4  # below this there is nothing to hold out and learn from
RECOMMENDED_PHOTOS = 50  # below this the wizard and the CLI warn
THUMB_SIZE = 96
MAX_THUMBS = 24
MAX_HOLDOUT = 100

# Card fields a fine-tuned model inherits from its base.
_INHERITED = ("paper", "summary", "good_at", "deviations", "input_space", "output_space",
              "normalisation", "working_size", "multiple", "hints", "autocast", "limitations",
              "intended_use")


# ----------------------------------------------------------------------------- scanning

@dataclass
class FolderScan:
    """What a folder holds for training. Paths are sorted; thumbnails are (T, T, 3) uint8."""

    folder: Path
    usable: list[Path] = field(default_factory=list)
    grey: list[Path] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)
    thumbnails: list[np.ndarray] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def enough(self) -> bool:
        return len(self.usable) >= MIN_PHOTOS

    def warning(self) -> str:
        """One line for the user, or "" when the folder is fine."""
        n = len(self.usable)
        if n < MIN_PHOTOS:
            return (f"Only {n} usable colour photo{'s' if n != 1 else ''}: at least "
                    f"{MIN_PHOTOS} are needed to train and to measure the result.")
        if n < RECOMMENDED_PHOTOS:
            return (f"Only {n} colour photos: fine-tuning works best with "
                    f"{RECOMMENDED_PHOTOS} or more; expect a small or no gain.")
        return ""

    def summary(self) -> str:
        return (f"{len(self.usable)} usable colour photos, {len(self.grey)} grey (skipped), "
                f"{len(self.unreadable)} unreadable")


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.suffix.lower() in IMAGE_EXTS and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def scan_folder(folder: Path, max_thumbs: int = MAX_THUMBS,
                progress: Callable[[int, int], None] | None = None,
                cancel: Callable[[], bool] | None = None) -> FolderScan:
    """Read every image file under `folder` once: classify, thumbnail, fingerprint."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ColorStudioError(f"{folder} is not a folder")
    files = _image_files(folder)
    scan = FolderScan(folder)
    digest = hashlib.sha256()
    for i, f in enumerate(files):
        if cancel and cancel():
            raise CancelledError("scan cancelled")
        try:
            data = f.read_bytes()
        except OSError:
            data = b""
        img = decode_square(data, THUMB_SIZE) if data else None
        if img is None:
            scan.unreadable.append(f)
        elif mean_chroma(img) < GREY_CHROMA:
            scan.grey.append(f)
        else:
            scan.usable.append(f)
            if len(scan.thumbnails) < max_thumbs:
                scan.thumbnails.append(img)
            rel = f.relative_to(folder).as_posix()
            digest.update(f"{rel}\t{hashlib.sha256(data).hexdigest()}\n".encode())
        if progress:
            progress(i + 1, len(files))
    scan.fingerprint = digest.hexdigest()[:16]
    return scan


def _eval_images(paths: list[Path]) -> list[tuple[str, np.ndarray]]:
    """The `colorstudio eval` protocol for a list of files: centre square, 256x256 area."""
    from PIL import Image

    out = []
    for f in paths:
        try:
            a = np.asarray(Image.open(f).convert("RGB"), np.float32) / 255
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        h, w = a.shape[:2]
        s = min(h, w)
        a = a[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        out.append((f.name, np.clip(resize(a, EVAL_SIZE, EVAL_SIZE), 0, 1)))
    return out


# ----------------------------------------------------------------------------- the job

@dataclass
class FineTuneOptions:
    data: Path
    base: str | None = None  # model id; None = the default (or the CycleGAN for unpaired)
    name: str = ""  # display name; "" = "<base> on <folder>"
    minutes: float = 0.0
    epochs: float = 0.0
    steps: int = 0  # exact step count (overrides minutes/epochs)
    size: int = 128  # training crop, pixels
    batch: int = 16
    lr: float = 0.0  # 0 = the architecture's fine-tuning default
    augment: bool = True  # rotations and zoom (flips always)
    device: str = "auto"
    holdout: int = 0  # held-out photos; 0 = 15% (2..100)
    unpaired_grey: Path | None = None
    seed: int = 0
    threads: int = 0
    preview_every: int = 0  # 0 = automatic
    log_every: int = 0


@dataclass
class FineTuneResult:
    model_id: str
    name: str
    base: ModelCard
    scan: FolderScan
    train_count: int
    held_count: int
    before: EvalReport | None
    after: EvalReport | None = None
    weights: Path | None = None  # fp32 candidate in the work folder; None when cancelled
    cancelled: bool = False
    steps: int = 0
    seconds: float = 0.0
    device: str = "cpu"
    comparison: list[np.ndarray] = field(default_factory=list)  # base | fine-tuned | original
    command: str = ""

    @property
    def gain_db(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after.psnr - self.before.psnr, 3)


class FineTuneJob:
    """A fine-tune of one base model on one folder, with a resumable work folder."""

    def __init__(self, opts: FineTuneOptions, store: ModelStore | None = None,
                 models_dir: Path | None = None, work_root: Path | None = None,
                 number_name: bool = True) -> None:
        """`number_name`: without `opts.name`, number the default name past existing models
        (False: keep "<base> on <folder>" as it is, for `colorstudio train --overwrite`)."""
        self.opts = opts
        self.store = store or ModelStore()
        self.models_dir = Path(models_dir) if models_dir else card_io.user_models_dir()
        self.base = self._pick_base()
        # No name given: "<base> on <folder>", numbered past existing models (a second run
        # on the same folder proposes "... 2", never the first run's name).
        self.default_name = default_name(self.base.id, opts.data)
        self.name = opts.name or (proposed_name(self.base.id, opts.data, self.models_dir,
                                                self._taken_ids())
                                  if number_name else self.default_name)
        self.model_id = model_id_for(self.name)
        self.work_dir = work_dir_for(self.models_dir, self.model_id, work_root)

    # -- checks made before anything runs -------------------------------------------------
    def _pick_base(self) -> ModelCard:
        o = self.opts
        if o.base:
            base = self.store.card(o.base)
        elif o.unpaired_grey is not None:
            cands = [c for c in self.store.cards().values() if c.arch in UNPAIRED_ARCHS
                     and c.has_weights]
            if not cands:
                raise ModelError("unpaired adaptation needs a CycleGAN model "
                                 "(mahajan2022_cyclegan) with weights; none is installed")
            base = cands[0]
        else:
            base = self.store.card(None)
        if base.arch not in ARCH_DEFAULTS:
            raise ModelError(f"model '{base.id}' ({base.arch}) cannot be fine-tuned")
        if o.unpaired_grey is not None and base.arch not in UNPAIRED_ARCHS:
            raise ModelError(f"unpaired adaptation needs a CycleGAN base model; '{base.id}' is "
                             f"{base.arch} (try --base mahajan2022_cyclegan)")
        if not base.has_weights:
            raise ModelError(f"model '{base.id}' has no weights to start from")
        return base

    def check_name(self, overwrite: bool = False) -> None:
        """Refuse ids of bundled models, and existing user models unless `overwrite`."""
        if (bundled_models_dir() / f"{self.model_id}.toml").is_file() or \
                self.model_id in self._bundled_ids():
            raise ColorStudioError(f"'{self.model_id}' is a bundled model's id; "
                                   "choose another name")
        if not overwrite and (self.models_dir / f"{self.model_id}.toml").is_file():
            raise ColorStudioError(f"a model '{self.model_id}' already exists in "
                                   f"{self.models_dir}; choose another name")

    def _taken_ids(self) -> set[str]:
        """Ids a new model may not take (see `check_name`); the user folder is read too."""
        bundled = bundled_models_dir()
        files = {p.stem for p in bundled.glob("*.toml")} if bundled.is_dir() else set()
        return set(self.store.cards()) | files

    def _bundled_ids(self) -> set[str]:
        return {c.id for c in self.store.cards().values()
                if c.path is not None and c.path.parent != self.models_dir}

    @property
    def checkpoint(self) -> Path:
        return self.work_dir / "checkpoint.pt"

    def can_resume(self) -> bool:
        return can_resume(self.work_dir)

    # -- training --------------------------------------------------------------------------
    def _config(self, scan: FolderScan, held: int) -> TrainConfig:
        o, base = self.opts, self.base
        d = ARCH_DEFAULTS[base.arch]
        n_train = len(scan.usable) - held
        if o.steps:
            steps, minutes = o.steps, 0.0
        elif o.epochs:
            steps, minutes = max(1, math.ceil(o.epochs * n_train / o.batch)), 0.0
        else:
            steps, minutes = 10_000_000, (o.minutes or 10.0)
        auto_preview = max(1, steps // 20) if not minutes else 25
        return TrainConfig(
            arch=base.arch, config=dict(base.config), objective=d["objective"],
            normalisation=base.normalisation, data=[str(p) for p in scan.usable],
            grey_data=[str(o.unpaired_grey)] if o.unpaired_grey else [],
            holdout=held, load_size=o.size + o.size // 8, size=o.size, batch=o.batch,
            steps=steps, minutes=minutes, lr=o.lr or d["lr"], betas=d.get("betas", (0.9, 0.999)),
            weight_decay=d.get("weight_decay", 0.0),
            rotate=10.0 if o.augment else 0.0, zoom=0.25 if o.augment else 0.0,
            losses=dict(d["losses"]), gan=d.get("gan", "vanilla"),
            rebalance=d.get("rebalance", 0.0), seed=o.seed,
            lr_scales=dict(d.get("lr_scales", {})), freeze_bn=list(d.get("freeze_bn", [])),
            channels_last=d.get("channels_last", False),
            cycle_stop_f=d.get("cycle_stop_f", False),
            init=str(base.weights_path), out=str(self.work_dir), device=o.device,
            threads=o.threads, checkpoint_every=100,
            preview_every=o.preview_every or auto_preview,
            log_every=o.log_every or (1 if steps <= 50 else 5), cache_dir="")

    def _holdout(self, n: int) -> int:
        k = self.opts.holdout or min(max(2, math.ceil(0.15 * n)), MAX_HOLDOUT)
        return min(k, n - 2)

    def run(self, on_event: Callable[[TrainEvent], None] | None = None,
            cancel: Callable[[], bool] | None = None, resume: bool = False,
            scan: FolderScan | None = None) -> FineTuneResult:
        """Scan, measure the base, train, measure the result. Writes no model (see `save`)."""
        emit = on_event or (lambda e: None)
        cancelled = cancel or (lambda: False)
        o = self.opts
        t0 = time.perf_counter()
        if resume and not self.can_resume():
            raise ColorStudioError(f"nothing to resume for '{self.model_id}' "
                                   f"(no checkpoint in {self.work_dir})")
        emit(TrainEvent("phase", message="Scanning photos"))
        if scan is None or scan.folder.resolve() != Path(o.data).resolve():
            scan = scan_folder(o.data, cancel=cancelled)
        if not scan.enough:
            raise ColorStudioError(f"{o.data}: {scan.warning()}")
        if o.unpaired_grey is not None:
            grey_files = _image_files(Path(o.unpaired_grey)) if Path(o.unpaired_grey).is_dir() \
                else None
            if not grey_files:
                raise ColorStudioError(f"{o.unpaired_grey}: no black-and-white scans found")
        held_n = self._holdout(len(scan.usable))
        job_file = self.work_dir / "job.json"
        if resume:
            saved = json.loads(job_file.read_text())
            if saved.get("fingerprint") != scan.fingerprint:
                raise ColorStudioError(f"the photos in {o.data} changed since the run was "
                                       "interrupted; start a new run instead of resuming")
            cfg = TrainConfig.from_dict(json.loads((self.work_dir / "config.json").read_text()))
            cfg = dataclasses.replace(cfg, device=o.device, threads=o.threads)
            held_n = cfg.holdout
        else:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir.mkdir(parents=True, exist_ok=True)
            cfg = self._config(scan, held_n)
            atomic_write_text(job_file, json.dumps(
                {"fingerprint": scan.fingerprint, "base": self.base.id, "name": self.name,
                 "data": str(Path(o.data).resolve()), "created": _now()}, indent=2))
        items = [Item(p) for p in cfg.data]
        train_items, held_items = split_items(items, cfg.holdout, cfg.seed)
        held_paths = [Path(i.path) for i in held_items]
        device = pick_device(o.device)
        result = FineTuneResult(self.model_id, self.name, self.base, scan, len(train_items),
                                len(held_items), None, device=device.type,
                                command=self.command())

        emit(TrainEvent("phase", message=f"Measuring {self.base.id} on "
                                         f"{len(held_items)} held-out photos"))
        held_eval = _eval_images(held_paths)
        base_model = self.store.load(self.base.id, device)
        result.before = evaluate(base_model, Path(o.data), 0, images=held_eval)
        held_small = _preview_batch(held_items, cfg, device)
        emit(TrainEvent("baseline", losses=_metric_dict(result.before),
                        preview=preview_rows(base_model.net, held_small, cfg.normalisation)
                        if held_small is not None else None,
                        message=f"base PSNR {result.before.psnr:.2f} dB"))
        if cancelled():
            result.cancelled = True
            return result

        emit(TrainEvent("phase", message=f"Training on {len(train_items)} photos"))
        try:
            fr = fit(cfg, emit, cancelled, resume=resume)
        except ValueError as exc:  # data problems the loop reports (e.g. an empty B&W folder)
            raise ColorStudioError(str(exc)) from exc
        result.steps, result.device = fr.steps, fr.device
        if fr.cancelled:
            result.cancelled = True
            result.seconds = time.perf_counter() - t0
            return result
        result.weights = fr.weights

        emit(TrainEvent("phase", message="Measuring the fine-tuned model"))
        new_model = self._candidate(fr.weights, device)
        result.after = evaluate(new_model, Path(o.data), 0, images=held_eval)
        result.comparison = [_side_by_side(base_model, new_model, rgb) for _, rgb in held_eval[:4]]
        result.seconds = time.perf_counter() - t0
        emit(TrainEvent("evaluated", losses=_metric_dict(result.after),
                        message=f"PSNR {result.before.psnr:.2f} -> {result.after.psnr:.2f} dB"))
        return result

    def _candidate(self, weights: Path, device: torch.device) -> LoadedModel:
        card = dataclasses.replace(self.base, id=self.model_id, name=self.name, default=False,
                                   base=self.base.id, path=None, weights="", sha256="")
        net = build(card.arch, card.config)
        load_weights(net, weights)
        return LoadedModel(card, net.eval().to(device), device)

    def command(self) -> str:
        o = self.opts
        parts = ["colorstudio train", f"--data {o.data}", f"--base {self.base.id}",
                 f"--name \"{self.name}\""]
        if o.steps:
            parts.append(f"--steps {o.steps}")
        elif o.epochs:
            parts.append(f"--epochs {o.epochs:g}")
        else:
            parts.append(f"--minutes {o.minutes or 10.0:g}")
        parts += [f"--size {o.size}", f"--batch {o.batch}"]
        if o.lr:
            parts.append(f"--lr {o.lr:g}")
        if not o.augment:
            parts.append("--no-augment")
        if o.unpaired_grey is not None:
            parts.append(f"--unpaired-grey {o.unpaired_grey}")
        return " ".join(parts)

    # -- the result ------------------------------------------------------------------------
    def save(self, result: FineTuneResult, name: str | None = None,
             overwrite: bool = False) -> ModelCard:
        """Write weights + card into the user's models folder; the work folder goes."""
        if result.weights is None or not result.weights.is_file():
            raise ColorStudioError("there is no finished training run to save")
        if name and name != self.name:
            self.name, self.model_id = name, model_id_for(name)
        self.check_name(overwrite)
        base = self.base
        net = build(base.arch, base.config)
        load_weights(net, result.weights)
        meta = {f: getattr(base, f) for f in _INHERITED}
        meta["deviations"] = list(meta["deviations"])
        meta.update(id=self.model_id, name=self.name, version="1.0", base=base.id,
                    default=False)
        after, scan = result.after, result.scan
        metrics = {}
        if after is not None:
            metrics = dict(
                dataset=f"{result.held_count} held-out photos of {scan.folder} (seed "
                        f"{self.opts.seed}); base {base.id}: PSNR {result.before.psnr:.2f} dB"
                        if result.before else f"{result.held_count} held-out photos",
                protocol=PROTOCOL, images=after.images, psnr=after.psnr, ssim=after.ssim,
                colourfulness=after.colourfulness, ciede2000=after.ciede2000,
                grey_psnr=after.grey_psnr, command=result.command)
        extra = {
            "summary": f"{base.name} fine-tuned on {len(scan.usable)} photos from "
                       f"{scan.folder.name}.",
            "training_data": f"{result.train_count} colour photos from {scan.folder} "
                             f"(+{result.held_count} held out); base model {base.id}: "
                             f"{base.training_data}",
            "data_fingerprint": scan.fingerprint, "data_count": len(scan.usable),
            "created": _now(), "recipe": result.command,
            "hardware": hardware_string(result.device),
            "training_time": f"{result.seconds / 60:.1f} min, {result.steps} steps",
            "licence": f"Derived from {base.id} ({base.licence or 'see its card'}) and the "
                       "user's own photos.",
            "metrics": metrics,
        }
        cfg = TrainConfig(arch=base.arch, config=dict(base.config),
                          normalisation=base.normalisation)
        try:
            card = write_model(net, meta, cfg, self.models_dir, extra)
        except BaseException:
            # write_model replaces the weights before the card: never leave one without the other
            for p in weights_files(self.models_dir, self.model_id):
                if not (self.models_dir / f"{self.model_id}.toml").is_file():
                    p.unlink(missing_ok=True)
            raise
        shutil.rmtree(self.work_dir, ignore_errors=True)
        if self.store.dirs is None or self.models_dir in self.store.dirs:
            self.store.cards(refresh=True)
        else:
            self.store.add_card(card)
        return card

    def discard(self) -> None:
        """Forget the run: checkpoint and candidate weights go; no model is written."""
        shutil.rmtree(self.work_dir, ignore_errors=True)


# ----------------------------------------------------------------------------- helpers

def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _metric_dict(rep: EvalReport) -> dict[str, float]:
    return {"psnr": rep.psnr, "ssim": rep.ssim, "ciede2000": rep.ciede2000,
            "colourfulness": rep.colourfulness, "grey_psnr": rep.grey_psnr}


def _preview_batch(held: list[Item], cfg: TrainConfig, device: torch.device
                   ) -> torch.Tensor | None:
    """The same four held-out photos, at the same size, as the loop's previews."""
    cache = ImageCache.build(held[:8], cfg.load_size)
    if not len(cache):
        return None
    x = torch.from_numpy(cache.images[:4]).permute(0, 3, 1, 2).float().to(device) / 255
    return F.interpolate(x, size=(cfg.size, cfg.size), mode="area")


def _side_by_side(base: LoadedModel, new: LoadedModel, rgb: np.ndarray) -> np.ndarray:
    """(256, 3*256, 3) uint8: the base model | the fine-tuned model | the original photo."""
    l_star = np.ascontiguousarray(rgb_to_lab(rgb)[..., 0])
    cols = [lab_to_rgb_fast(l_star, colorize_l(m, l_star, None, size=EVAL_SIZE).ab)
            for m in (base, new)]
    cols.append(rgb)
    return (np.clip(np.concatenate(cols, 1), 0, 1) * 255).round().astype(np.uint8)
