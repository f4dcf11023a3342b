"""Network architectures, one module each, registered by id (see `registry.py`).

Every network is a `ColorNet`: it takes normalised L (B, 1, H, W) plus, for hint-conditioned
models, hint ab (B, 2, H, W) and a mask (B, 1, H, W), and `predict()` returns the chroma in
the card's normalisation (B, 2, h, w) or RGB in [-1, 1] (B, 3, h, w) for RGB models; h, w may
be smaller than H, W (the engine upsamples chroma edge-aware against full-resolution L).
"""

from __future__ import annotations

import importlib

from .registry import ARCHS, ArchSpec, build, count_params, get_spec, register_arch

_MODULES = (
    "mathur2023_gan",
    "mahajan2022_cyclegan",
    "roshana2023_pix2pix",
    "roshana2023_resnet18_unet",
    "dehghan2023_autoencoder",
    "mane2021_cnn",
    "guided_unet",
    "guided_mobilenet",
)


def load_all() -> None:
    for name in _MODULES:
        importlib.import_module(f"{__name__}.{name}")


__all__ = ["ARCHS", "ArchSpec", "build", "count_params", "get_spec", "register_arch", "load_all"]
