"""Writing a model into a models folder: weights (safetensors) first, then its card.

Here rather than in `train/` because the engine's tiny test models need it too and the engine
never imports `train` (tests/test_layers.py); `train.export.write_model` is a thin wrapper.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..core.cards import (ModelCard, card_from_dict, card_to_toml, sha256_file, weights_files,
                          weights_name)
from ..core.imageio import atomic_write_text
from ..nets import count_params
from .weights import same_tensors, save_weights

TRAINING_DATA = ("../shared/data/train: Tiny-ImageNet, Caltech-101, ImageNet samples, "
                 "BSDS500 (research datasets; non-commercial research terms)")
LICENCE = ("Code MIT; weights trained on research datasets under their original terms "
           "(generally non-commercial research use)")


def write_card(card: ModelCard) -> None:
    assert card.path is not None
    atomic_write_text(card.path, card_to_toml(card))


def write_model_files(net: torch.nn.Module, meta: dict[str, Any], arch: str,
                      config: dict[str, Any], normalisation: str, models_dir: Path,
                      extra: dict[str, Any] | None = None, half: bool = True,
                      card_writer: Callable[[ModelCard], None] = write_card) -> ModelCard:
    """Write weights (fp16 by default) and a card; older weight files of the same id go.

    The order keeps a model usable at every instant, crash or power cut included: the new
    weights are written (flushed to disk) under their own `<id>-<sha8>` name beside the old
    ones, then the card is switched to them (written atomically, flushed), and only then are
    the old weight files deleted. A crash before the switch leaves the old card with its old
    weights; a crash after it, the new card with the new weights (and a stale file at most).
    `meta` (and `extra`) override any default, `training_data` and `licence` included.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    model_id = meta["id"]
    tmp = models_dir / f".{model_id}.export.safetensors"
    try:
        save_weights(net, tmp, {"arch": arch, "id": model_id}, half=half)
        # The same weights again (the file's header may order its metadata otherwise): keep
        # the file the old card names, so a re-export (new metrics) adds no new weights file.
        same = next((p for p in weights_files(models_dir, model_id) if same_tensors(p, tmp)),
                    None)
        reused = same is not None
        digest = sha256_file(same or tmp)
        final = same or models_dir / weights_name(model_id, digest)
        if not reused:
            os.replace(tmp, final)  # a new name: the old card still points to its old weights
    finally:
        tmp.unlink(missing_ok=True)
    data = {
        "version": "1.0", "arch": arch, "config": dict(config),
        "normalisation": normalisation, "params": count_params(net),
        "weights": final.name, "sha256": digest, "bytes": final.stat().st_size,
        "precision": "fp16" if half else "fp32",
        "training_data": TRAINING_DATA, "licence": LICENCE,
        **meta, **(extra or {}),
    }
    try:
        card = card_from_dict(data, models_dir / f"{model_id}.toml")
        card_writer(card)  # the switch: from here on the card names the new weights
    except BaseException:
        if not reused:
            final.unlink(missing_ok=True)  # never switched to: the old model stays as it was
        raise
    for old in weights_files(models_dir, model_id):
        if old != final:
            old.unlink(missing_ok=True)
    return card
