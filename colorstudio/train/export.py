"""Export a trained recipe: fp16 safetensors `models/<id>-<sha8>.safetensors` + `models/<id>.toml`.

The card gets params, sha256, bytes, training time, hardware and the metrics measured by the
same code as `colorstudio eval --data ../shared/data/val` (0 hints; 10 and 100 for hint models).
`python -m colorstudio.train.export RECIPE.toml [--eval-data DIR]`
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
from pathlib import Path

import torch

from ..core.cards import Metrics, ModelCard, bundled_models_dir
from ..engine.device import pick_device
from ..engine.evaluate import PROTOCOL, evaluate, load_eval_images
from ..engine.model_files import write_card, write_model_files
from ..engine.models import ModelStore
from ..engine.weights import load_weights
from ..nets import build
from .config import TrainConfig, load_recipe


def hardware_string(device: str = "cpu") -> str:
    if device == "cuda" and torch.cuda.is_available():
        return f"1x {torch.cuda.get_device_name(0)}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU cores ({cpu})"


def write_model(net: torch.nn.Module, meta: dict, cfg: TrainConfig, models_dir: Path,
                extra: dict | None = None, half: bool = True) -> ModelCard:
    """Weights then card (see `engine.model_files.write_model_files`: crash-safe order)."""
    return write_model_files(net, meta, cfg.arch, cfg.config, cfg.normalisation, models_dir,
                             extra, half, card_writer=lambda card: _write_card(card))


def _write_card(card: ModelCard) -> None:
    write_card(card)


def measure(card: ModelCard, eval_data: Path, device: str = "auto") -> Metrics:
    """The card's metrics, by the code behind `colorstudio eval`."""
    store = ModelStore([card.path.parent])  # type: ignore[union-attr]
    store.add_card(card)
    model = store.load(card.id, pick_device(device))
    images = load_eval_images(eval_data)
    r0 = evaluate(model, eval_data, 0, images=images)
    kw = {}
    cmd = f"colorstudio eval --data {eval_data} --model {card.id}"
    if card.hints:
        kw["psnr_hints10"] = evaluate(model, eval_data, 10, images=images).psnr
        kw["psnr_hints100"] = evaluate(model, eval_data, 100, images=images).psnr
        cmd += " [--hints 10 | --hints 100]"
    return Metrics(dataset=str(eval_data), protocol=PROTOCOL, images=r0.images, psnr=r0.psnr,
                   ssim=r0.ssim, colourfulness=r0.colourfulness,
                   truth_colourfulness=r0.truth_colourfulness, ciede2000=r0.ciede2000,
                   grey_psnr=r0.grey_psnr, command=cmd, **kw)


def _length(stage: TrainConfig) -> str:
    if stage.minutes:
        return f"{stage.minutes} min"
    if stage.stop_at:
        return f"{stage.stop_at} of {stage.steps} steps"
    return f"{stage.steps} steps"


def export_recipe(recipe: Path, eval_data: Path = Path("../shared/data/val"),
                  models_dir: Path | None = None) -> ModelCard:
    meta, stages = load_recipe(recipe)
    last = stages[-1]
    weights = Path(last.out) / "weights.safetensors"
    net = build(last.arch, last.config)
    load_weights(net, weights)
    seconds = sum(float((Path(s.out) / "seconds.txt").read_text())
                  for s in stages if (Path(s.out) / "seconds.txt").is_file())
    sched = "; ".join(f"stage {i}: {s.size}px, batch {s.batch}, {_length(s)}, losses {s.losses}"
                      for i, s in enumerate(stages))
    extra = {
        "recipe": f"python -m colorstudio.train {recipe.as_posix()} --export  ({sched})",
        "hardware": hardware_string(),
        "training_time": f"{seconds / 60:.1f} min",
    }
    card = write_model(net, meta, last, models_dir or bundled_models_dir(), extra)
    card = dataclasses.replace(card, metrics=measure(card, eval_data, "cpu"))
    _write_card(card)
    return card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m colorstudio.train.export")
    ap.add_argument("recipes", nargs="+", type=Path)
    ap.add_argument("--eval-data", type=Path, default=Path("../shared/data/val"))
    args = ap.parse_args(argv)
    for r in args.recipes:
        card = export_recipe(r, args.eval_data)
        m = card.metrics
        print(f"{card.id}: {card.params} params, {card.bytes / 1e6:.1f} MB, PSNR {m.psnr} "
              f"(grey {m.grey_psnr}), colourfulness {m.colourfulness}, "
              f"hints10 {m.psnr_hints10}, hints100 {m.psnr_hints100}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
