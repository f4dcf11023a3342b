"""Weights on disk: safetensors only (never pickles), sha256-verified against the card.

`import_pth` converts a user's `.pth` state dict with `torch.load(weights_only=True)`, which
refuses pickled code.
"""

from __future__ import annotations

import os
import pickle
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
        # Bundled and shared models must be readable by every user of an installation, even
        # when they were exported under a strict umask (077).
        os.chmod(tmp, 0o644)

    atomic_write(path, write, durable=True)  # fsync before the rename: weights survive a crash


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


def read_pth(path: Path) -> dict[str, torch.Tensor]:
    """A `.pth` state dict of tensors, read with `torch.load(weights_only=True)`: pickled code
    is refused, never run. Accepts `{"state_dict": ...}` / `{"model": ...}` wrappers and the
    `module.` prefix of DataParallel checkpoints. Errors: one-line `ModelError`."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path.name}: no such file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc).lower():  # no refused object: not a PyTorch file at all
            raise ModelError(f"{path.name}: cannot import (not a PyTorch .pth file, or "
                             "damaged)") from exc
        # weights_only refused an object that is not plain data
        raise ModelError(f"{path.name}: cannot import (it holds Python objects besides "
                         "tensors, and ColorStudio never runs code from a model file; save "
                         "the weights with torch.save(net.state_dict(), path))") from exc
    except Exception as exc:  # noqa: BLE001 - any other refusal is reported as one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path.name}: cannot import ({first})") from exc
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if (not isinstance(state, dict) or not state
            or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                       for k, v in state.items())):
        raise ModelError(f"{path.name}: not a plain state dict of tensors")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return {k: v.contiguous() for k, v in state.items()}


def same_tensors(a: Path, b: Path) -> bool:
    """Whether two safetensors files hold the same tensors (names, dtypes, shapes, bytes),
    whatever their metadata and its order in the header."""
    from safetensors.numpy import load_file

    ta, tb = load_file(str(a)), load_file(str(b))
    return ta.keys() == tb.keys() and all(
        ta[k].dtype == tb[k].dtype and ta[k].shape == tb[k].shape
        and ta[k].tobytes() == tb[k].tobytes() for k in ta)


def write_safetensors(path: Path, state: dict[str, torch.Tensor],
                      metadata: dict[str, str] | None = None) -> None:
    """Write a state dict as safetensors, atomically and flushed to disk."""
    _write_safetensors(Path(path), {k: v.detach().cpu().contiguous() for k, v in state.items()},
                       metadata)


def import_pth(path: Path, out: Path) -> None:
    """Convert a `.pth` state dict to safetensors without executing pickled code."""
    write_safetensors(Path(out), read_pth(path))
