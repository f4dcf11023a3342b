"""Tiny random models of every architecture, for tests and the GUI's test runs.

They have real cards and real safetensors weights (random, seeded), so every code path -
discovery, sha256 verification, loading, inference - runs exactly as with trained models.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..core.cards import ModelCard
from ..nets import build
from .model_files import write_model_files

TINY_CONFIGS: dict[str, dict] = {
    "mathur2023_gan": {"base": 8, "max_ch": 32},
    "mahajan2022_cyclegan": {"ngf": 4, "n_blocks": 1, "ndf": 4},
    "roshana2023_pix2pix": {"ngf": 4, "num_downs": 5, "ndf": 4},
    "roshana2023_resnet18_unet": {"width": 4, "ndf": 4},
    "dehghan2023_autoencoder": {"base": 4},
    "mane2021_cnn": {"widths": [4, 8, 8]},
    "guided_unet": {"widths": [4, 8, 8, 16], "bottleneck_blocks": 1, "bin_step": 20},
    "guided_mobilenet": {"width_mult": 0.25, "decoder": [16, 8, 8, 8, 8], "hint_channels": 8,
                         "bin_step": 20},
}
_CARD_FIELDS = {
    "mathur2023_gan": dict(output_space="rgb", normalisation="rgb_tanh", working_size=32,
                           multiple=32),
    "mahajan2022_cyclegan": dict(output_space="rgb", normalisation="rgb_tanh", multiple=4),
    "roshana2023_pix2pix": dict(multiple=32),
    "roshana2023_resnet18_unet": dict(multiple=32),
    "dehghan2023_autoencoder": dict(multiple=8),
    "mane2021_cnn": dict(normalisation="lab_l50_ab128", multiple=8),
    "guided_unet": dict(hints=True, multiple=16, default=True),
    "guided_mobilenet": dict(hints=True, multiple=32),
}


def write_tiny_models(models_dir: Path, archs: list[str] | None = None, seed: int = 0
                      ) -> dict[str, ModelCard]:
    """Write `tiny_<arch>` models (weights + card) into `models_dir`; returns the cards."""
    cards = {}
    for arch in archs or list(TINY_CONFIGS):
        torch.manual_seed(seed)
        net = build(arch, TINY_CONFIGS[arch]).eval()
        fields = dict(_CARD_FIELDS[arch])
        meta = {"id": f"tiny_{arch}", "name": f"Tiny test model ({arch})",
                "paper": "test fixture", "working_size": fields.pop("working_size", 64),
                "hardware": "none (random weights)", "recipe": "colorstudio.engine.tiny",
                **fields}
        cards[arch] = write_model_files(net, meta, arch, TINY_CONFIGS[arch],
                                        meta.get("normalisation", "lab_l50_ab110"),
                                        Path(models_dir), half=False)
    return cards
