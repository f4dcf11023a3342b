"""The full-resolution colourisation pipeline.

L* (full size) -> working size (keep aspect, pad to the model's multiple) -> network -> ab at
the network's resolution -> gamut fit -> (with hints: the hints' corrections spread along the
photo's edges, at most 128 px a side) -> edge-aware upsampling against full-resolution L* ->
recombined with the ORIGINAL L*. The result has the input's exact size; its lightness is
the original's. RGB-predicting models have their output converted to Lab and only the chroma
is used. Runs under `torch.inference_mode`, with autocast on GPU where the card allows; GPU
out of memory moves the job to the CPU copy of the model (same working size), with a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..core.color import NORMALISATIONS
from ..core.compose import fit_chroma_to_gamut, guided_upsample, propagate_hints, resize
from ..core.errors import CancelledError
from ..core.hints import HintSet
from .models import LoadedModel
from .torch_color import rgb_to_lab

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

# Hints are followed (`core.compose.propagate_hints`) on chroma at most this many pixels a side.
HINT_SIZE = 128


@dataclass
class ColorizeResult:
    ab: np.ndarray  # (H, W, 2) float32, Lab chroma at full resolution
    working_size: tuple[int, int]  # (w, h) the network saw
    device: str
    messages: list[str] = field(default_factory=list)


def _oom_types() -> tuple[type[BaseException], ...]:
    """torch's out-of-memory exception classes. `torch.OutOfMemoryError` is new in torch 2.5;
    `torch.cuda.OutOfMemoryError` exists from 1.13 and is the same class from 2.5 on."""
    return tuple({getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError),
                  torch.cuda.OutOfMemoryError})


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a device out-of-memory error of any torch >= 2.4 (MPS and older code paths
    raise a plain RuntimeError whose message says so)."""
    return isinstance(exc, _oom_types()) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def working_shape(width: int, height: int, size: int, multiple: int) -> tuple[int, int, int, int]:
    """-> (w, h) scaled so the longer side is `size`, and (pw, ph) padded up to `multiple`."""
    scale = size / max(width, height)
    w = max(1, round(width * scale))
    h = max(1, round(height * scale))
    pw = -(-w // multiple) * multiple
    ph = -(-h // multiple) * multiple
    return w, h, pw, ph


def predict_ab(model: LoadedModel, l_small: np.ndarray, hints: HintSet | None, scale: float,
               pad: tuple[int, int]) -> np.ndarray:
    """l_small (h, w) L* -> ab (h', w', 2) Lab units at the network's output resolution."""
    card, net, device = model.card, model.net, model.device
    norm = NORMALISATIONS[card.normalisation]
    h, w = l_small.shape
    pw, ph = pad
    x = torch.from_numpy(norm.l_to_net(l_small))[None, None].to(device)
    if (ph, pw) != (h, w):
        mode = "reflect" if ph - h < h and pw - w < w else "replicate"
        x = F.pad(x, (0, pw - w, 0, ph - h), mode=mode)
    hint_ab = hint_mask = None
    if card.hints and hints:
        ab_np, mask_np = hints.render(ph, pw, scale)
        hint_ab = torch.from_numpy(ab_np / norm.ab_scale)[None].to(device)
        hint_mask = torch.from_numpy(mask_np)[None, None].to(device)
    use_amp = device.type == "cuda" and card.autocast
    with torch.inference_mode(), torch.autocast(device.type, enabled=use_amp):
        if card.hints:
            out = net.predict(x, hint_ab, hint_mask)
        else:
            out = net.predict(x)
        out = out.float()
        if out.shape[1] == 3:  # RGB model: keep only its chroma
            out = F.interpolate(out, size=(ph, pw), mode="bilinear", align_corners=False)
            ab = rgb_to_lab((out + 1) / 2)[:, 1:]
        else:
            ab = out * norm.ab_scale
    oh, ow = ab.shape[-2:]
    # Crop the padding away, in the output's own resolution.
    ab = ab[..., : max(1, round(h * oh / ph)), : max(1, round(w * ow / pw))]
    return ab[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)


def _radius(l_low: np.ndarray) -> int:
    """Guided-filter radius for upsampling chroma from `l_low`'s resolution."""
    return max(1, round(min(l_low.shape) / 128))


def _follow_hints(ab_low: np.ndarray, l_low: np.ndarray, l_star: np.ndarray, hints: HintSet
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Chroma at (at most) HINT_SIZE px corrected to agree with the hints -> (ab, its L*)."""
    height, width = l_star.shape
    scale = min(1.0, HINT_SIZE / max(height, width))
    mw, mh = max(1, round(width * scale)), max(1, round(height * scale))
    l_mid = l_star if scale == 1.0 else resize(l_star, mw, mh)
    ab_mid = guided_upsample(ab_low, l_low, l_mid, radius=_radius(l_low))
    hint_ab, hint_mask = hints.render(mh, mw, mw / width)
    ab_mid = propagate_hints(l_mid, ab_mid, hint_ab.transpose(1, 2, 0), hint_mask)
    return fit_chroma_to_gamut(l_mid, ab_mid), l_mid


def colorize_l(
    model: LoadedModel,
    l_star: np.ndarray,
    hints: HintSet | None = None,
    size: int | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    fallback: Callable[[], LoadedModel] | None = None,
) -> ColorizeResult:
    """Predict full-resolution chroma for L* (H, W). `fallback()` gives the CPU copy on GPU OOM."""
    say = progress or (lambda f, m: None)
    stop = cancel or (lambda: False)
    card = model.card
    height, width = l_star.shape
    size = size or card.working_size
    messages: list[str] = []
    w, h, pw, ph = working_shape(width, height, size, card.multiple)
    if card.output_space == "rgb" and card.working_size <= 64:
        # Models trained on tiny inputs (paper 000 works at 32x32) see a square input.
        w = h = pw = ph = card.working_size
    say(0.1, f"resizing to {w}x{h}")
    l_small = resize(l_star, w, h)
    if stop():
        raise CancelledError("cancelled")
    say(0.3, f"running {card.id} on {model.device.type}")
    out_of_memory = False
    try:
        ab_low = predict_ab(model, l_small, hints, w / width, (pw, ph))
    except RuntimeError as exc:  # torch's OOM error is a RuntimeError (MPS: a plain one)
        if not is_out_of_memory(exc) or fallback is None or model.device.type == "cpu":
            raise
        out_of_memory = True
    if out_of_memory:  # outside the handler: its traceback no longer holds GPU tensors
        if model.device.type == "cuda":
            torch.cuda.empty_cache()
        # Once, to the CPU copy, at the same working size: the bundled cards work at
        # 32-256 px already, and a smaller size would cost colour quality.
        model = fallback()  # type: ignore[misc]
        messages.append("GPU out of memory: running on the CPU instead")
        say(0.3, f"running {card.id} on {model.device.type}")
        ab_low = predict_ab(model, l_small, hints, w / width, (pw, ph))
    if stop():
        raise CancelledError("cancelled")
    say(0.7, "upsampling colour to full resolution")
    lh, lw = ab_low.shape[:2]
    l_low = resize(l_star, lw, lh)
    ab_low = fit_chroma_to_gamut(l_low, ab_low)
    follow = bool(hints) and card.hints
    if follow:
        say(0.6, "following the hints")
        ab_low, l_low = _follow_hints(ab_low, l_low, l_star, hints)
    if follow and l_low.shape == l_star.shape:
        ab = ab_low  # corrected at full resolution already: keep the hints' exact colours
    else:
        ab = guided_upsample(ab_low, l_low, l_star, radius=_radius(l_low))
    say(1.0, "done")
    return ColorizeResult(ab, (w, h), model.device.type, messages)
