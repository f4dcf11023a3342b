"""Weights on disk: safetensors only (never pickles), sha256-verified against the card.

`import_pth` converts a user's `.pth` state dict with `torch.load(weights_only=True)`, which
refuses pickled code.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ..core.cards import sha256_file
from ..core.errors import ModelError
from ..core.imageio import atomic_write


def save_weights(net: nn.Module, path: Path, metadata: dict[str, str] | None = None,
                 half: bool = False) -> None:
    """Write the state dict atomically; `half` stores floating tensors as fp16."""
    state = {}
    for k, v in net.state_dict().items():
        v = v.detach().cpu().contiguous()
        if half and v.is_floating_point():
            v = v.half()
        state[k] = v
    _write_safetensors(Path(path), state, metadata)


def _write_safetensors(path: Path, state: dict[str, torch.Tensor],
                       metadata: dict[str, str] | None = None) -> None:
    def write(tmp: Path) -> None:
        save_file(state, str(tmp), metadata=metadata or {})
        # Temp files are owner-only (0600); bundled and shared models must be readable by
        # every user of an installation.
        os.chmod(tmp, 0o644)

    atomic_write(path, write)


def load_weights(net: nn.Module, path: Path, sha256: str | None = None,
                 strict: bool = True) -> None:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    if sha256 and sha256_file(path) != sha256:
        raise ModelError(f"{path.name}: sha256 does not match the model card; "
                         "the file is damaged or was replaced")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path.name}: not a valid safetensors file ({exc})") from exc
    own = net.state_dict()
    state = {k: v.to(own[k].dtype) if k in own else v for k, v in state.items()}
    try:
        net.load_state_dict(state, strict=strict)
    except RuntimeError as exc:
        raise ModelError(f"{path.name}: weights do not fit the architecture ({exc})") from exc


def import_pth(path: Path, out: Path) -> None:
    """Convert a `.pth` state dict to safetensors without executing pickled code."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any refusal is reported as one line
        raise ModelError(f"{Path(path).name}: cannot import ({exc})") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{Path(path).name}: not a plain state dict of tensors")
    _write_safetensors(Path(out), {k: v.contiguous() for k, v in state.items()})
