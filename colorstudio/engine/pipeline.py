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

import hashlib
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..core.color import NORMALISATIONS
from ..core.compose import HintSolve, fit_chroma_to_gamut, guided_upsample, resize
from ..core.errors import CancelledError
from ..core.hints import DEFAULT_SPREAD, DEFAULT_STRENGTH, HintSet, reach_scale
from ..core.uncertainty import Distribution
from .models import LoadedModel
from .torch_color import relit_ab, rgb_to_lab

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

# Hints are followed (`core.compose.HintSolve`) on chroma at least this many pixels a side, or
# at the working size if larger; the live preview asks for its own smaller size.
SOLVE_SIZE = 256


@dataclass
class ColorizeResult:
    ab: np.ndarray  # (H, W, 2) float32, Lab chroma at full resolution
    working_size: tuple[int, int]  # (w, h) the network saw
    device: str
    messages: list[str] = field(default_factory=list)
    # The model's own ab distribution without hints (nets with an ab-bin head), and how much
    # the hints decide each pixel (at the solve's grid; None without hints).
    distribution: Distribution | None = None
    influence: np.ndarray | None = None


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


def _render(hints: HintSet | None, under: HintSet | None, height: int, width: int,
            scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Hint ab (2, h, w) and mask (h, w) of `hints` drawn over `under` (e.g. a reference
    photo's matches: the user's own hints win where both fall)."""
    ab = np.zeros((2, height, width), np.float32)
    mask = np.zeros((height, width), np.float32)
    for layer in (under, hints):
        if layer:
            lab, lmask = layer.render(height, width, scale)
            sel = lmask > 0
            ab[:, sel] = lab[:, sel]
            mask = np.maximum(mask, lmask)
    return ab, mask


def predict_ab(model: LoadedModel, l_small: np.ndarray, hints: HintSet | None, scale: float,
               pad: tuple[int, int], strength: float = DEFAULT_STRENGTH,
               under: HintSet | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """l_small (h, w) L* -> (ab (h', w', 2) Lab units at the network's output resolution, the
    ab-bin probabilities (h'', w'', Q) float16 at the class head's, or None)."""
    card, net, device = model.card, model.net, model.device
    norm = NORMALISATIONS[card.normalisation]
    h, w = l_small.shape
    pw, ph = pad
    x = torch.from_numpy(norm.l_to_net(l_small))[None, None].to(device)
    if (ph, pw) != (h, w):
        mode = "reflect" if ph - h < h and pw - w < w else "replicate"
        x = F.pad(x, (0, pw - w, 0, ph - h), mode=mode)
    hint_ab = hint_mask = None
    if card.hints and (hints or under):
        ab_np, mask_np = _render(hints, under, ph, pw, scale)
        hint_ab = torch.from_numpy(ab_np / norm.ab_scale)[None].to(device)
        hint_mask = torch.from_numpy(mask_np)[None, None].to(device)
    use_amp = device.type == "cuda" and card.autocast
    with torch.inference_mode(), torch.autocast(device.type, enabled=use_amp):
        if hasattr(net, "run"):  # every ColorNet; a bare module (e.g. an import) predicts only
            out, probs = net.run(x, hint_ab, hint_mask, strength)
        else:
            out, probs = net.predict(x, hint_ab, hint_mask) if card.hints else net.predict(x), None
        out = out.float()
        if out.shape[1] == 3:  # RGB model: keep only its chroma
            out = F.interpolate(out, size=(ph, pw), mode="bilinear", align_corners=False)
            if getattr(net, "chromaticity_only", False):  # read at the photo's own L*
                ab = relit_ab((out + 1) / 2, (x.float() + norm.l_shift) * norm.l_scale)
            else:
                ab = rgb_to_lab((out + 1) / 2)[:, 1:]
        else:
            ab = out * norm.ab_scale
    if not getattr(net, "native_strength", False):
        ab = ab * (0.5 + min(max(strength, 0.0), 1.0))  # 0.5x (cautious) .. 1.5x (vivid)

    def crop(t: torch.Tensor) -> np.ndarray:  # the padding away, in t's own resolution
        th, tw = t.shape[-2:]
        t = t[..., : max(1, round(h * th / ph)), : max(1, round(w * tw / pw))]
        return t[0].permute(1, 2, 0).cpu().numpy()

    return crop(ab).astype(np.float32), None if probs is None else crop(probs).astype(np.float16)


# Per network (weakly: a network that is gone takes its entries with it): the last few
# hint-free predictions, keyed by the input and the weights' version (in-place training
# bumps it, so a network trained between two calls is never answered from the cache).
_FREE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FREE_LOCK = threading.Lock()


def _predict_free(model: LoadedModel, l_small: np.ndarray, scale: float, pad: tuple[int, int],
                  strength: float) -> tuple[np.ndarray, np.ndarray | None]:
    """`predict_ab` without hints, remembered for the last few inputs: while the user paints,
    the photo's hint-free prediction is computed once, not at every stroke."""
    net = model.net
    key = (str(model.device), model.card.id, float(strength), pad, l_small.shape,
           sum(p._version for p in net.parameters()),
           hashlib.blake2b(np.ascontiguousarray(l_small).tobytes(), digest_size=16).digest())
    with _FREE_LOCK:
        cache = _FREE_CACHE.setdefault(net, OrderedDict())
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    out = predict_ab(model, l_small, None, scale, pad, strength)
    with _FREE_LOCK:
        cache[key] = out
        while len(cache) > 4:
            cache.popitem(last=False)
    return out


def forget_predictions() -> None:
    """Drop the remembered hint-free predictions (tests that count network runs)."""
    with _FREE_LOCK:
        _FREE_CACHE.clear()


def _radius(l_low: np.ndarray) -> int:
    """Guided-filter radius for upsampling chroma from `l_low`'s resolution."""
    return max(1, round(min(l_low.shape) / 128))


# The hint solve (`core.compose.HintSolve`), per pixel of a 128-px grid (scaled with the
# pixel count, so preview and export agree): how far a hint's influence reaches (it fades
# with edge-aware distance at REACH_DECAY), and how strongly a hinted region takes the hint's
# colour over the network's own variation within it (FILL_PRIOR: small = the hint's colour
# fills the region, as in Levin et al.; large = the network's detail stays). Chosen on the
# dev split (training/NOTES.md, fifth session): of the settings that beat the previous solve
# with ground-truth hints at 1, 10 and 100 hints on both dev sets, the most local on a real
# photo (one stroke on a poncho changes the street beside it by 1.7 a*b* units, not 13.7).
# The fill has its own, narrower lightness scale (FILL_SIGMA, `HintSolve`'s sigma; the reach
# keeps 2): two hints of different colours each keep to their own side of a moderate edge
# (8 L*) instead of mixing. The reach's affinity comes from L* blurred by a Gaussian of
# REACH_SMOOTH pixels of a 256-px grid (scaled with the grid, like the decays, so the preview
# agrees): fine texture (knit, foliage, brick) no longer stops a hint within its object; an
# object's edge still does. FILL_PRIOR and FILL_SIGMA were chosen in the eighth session by
# the same rule (better at 1, 10 and 100 ground-truth hints on every dev split measured, the
# locality tests unchanged), and REACH_SMOOTH with them. The twelfth session found that the
# 1-px blur turns a 20-L* edge (issue 14's "strong edge") into steps the reach crosses (the
# other region moved by 4.9 CIEDE2000, bar 2): a raw step of more than REACH_STEP L* now
# stops the reach as it would unblurred, while texture's smaller steps still do not.
REACH_DECAY = 1e-5
FILL_PRIOR = 3e-5
FILL_SIGMA = 1.25
REACH_SMOOTH = 1.0
REACH_STEP = 12.0


def solve_grid(l_star: np.ndarray, hints: HintSet | None, under: HintSet | None,
               solve_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The hint solve's grid: L* at (at most) `solve_size` px, the hints rendered on it (ab
    (h, w, 2) and mask (h, w)), and the solve's per-pixel scale (1 on a 128-px grid)."""
    height, width = l_star.shape
    scale = min(1.0, solve_size / max(height, width))
    mw, mh = max(1, round(width * scale)), max(1, round(height * scale))
    l_mid = l_star if scale == 1.0 else resize(l_star, mw, mh)
    hint_ab, hint_mask = _render(hints, under, mh, mw, mw / width)
    return l_mid, hint_ab.transpose(1, 2, 0), hint_mask, (128 / max(mh, mw)) ** 2


def _follow_hints(ab_low: np.ndarray, free_low: np.ndarray, l_low: np.ndarray,
                  l_star: np.ndarray, hints: HintSet | None, under: HintSet | None,
                  solve_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At (at most) `solve_size` px: the hints made local. The network's response to them
    (`ab_low` - `free_low`, which a network trained on random ground-truth hints spreads over
    the whole photo) is kept only within their edge-aware reach; there the hints' colours are
    spread along the photo's edges (kept exactly at the hints); beyond it the hint-free
    prediction stands -> (ab, its L*, the hints' influence). The user's hint spread scales
    how fast the reach fades (`core.hints.reach_scale`)."""
    l_mid, hint_ab, hint_mask, per_pixel = solve_grid(l_star, hints, under, solve_size)
    radius = _radius(l_low)
    free = guided_upsample(free_low, l_low, l_mid, radius=radius)
    guided = guided_upsample(ab_low, l_low, l_mid, radius=radius)
    fade = reach_scale(hints.spread if hints is not None else DEFAULT_SPREAD)
    reach = HintSolve(l_mid, hint_mask, decay=REACH_DECAY * per_pixel * fade, weight=1e4,
                      smooth=REACH_SMOOTH * max(l_mid.shape) / 256,
                      step=REACH_STEP).influence()[..., None]
    local = free + reach * (guided - free)
    filled = HintSolve(l_mid, hint_mask, sigma=FILL_SIGMA,
                       decay=FILL_PRIOR * per_pixel).solve(hint_ab, local)
    ab_mid = free + reach * (filled - free)
    return fit_chroma_to_gamut(l_mid, ab_mid), l_mid, reach[..., 0]


def colorize_l(
    model: LoadedModel,
    l_star: np.ndarray,
    hints: HintSet | None = None,
    size: int | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    fallback: Callable[[], LoadedModel] | None = None,
    strength: float = DEFAULT_STRENGTH,
    under: HintSet | None = None,
    solve_size: int | None = None,
) -> ColorizeResult:
    """Predict full-resolution chroma for L* (H, W). `fallback()` gives the CPU copy on GPU OOM.

    `strength` 0..1 (0.5: the model's own decoding); `under`: hints drawn beneath the user's
    (a reference photo's matches); the hints are solved at `solve_size` px (default: the
    larger of `SOLVE_SIZE` and the working size; the live preview asks for less)."""
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
    guided = card.hints and bool(hints or under)

    def predictions(m: LoadedModel) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        say(0.3, f"running {card.id} on {m.device.type}")
        free, probs = _predict_free(m, l_small, w / width, (pw, ph), strength)
        if not guided:
            return free, free, probs
        ab, _ = predict_ab(m, l_small, hints, w / width, (pw, ph), strength, under)
        return ab, free, probs

    out_of_memory = False
    try:
        ab_low, free_low, probs = predictions(model)
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
        ab_low, free_low, probs = predictions(model)
    if stop():
        raise CancelledError("cancelled")
    say(0.7, "upsampling colour to full resolution")
    lh, lw = ab_low.shape[:2]
    l_low = resize(l_star, lw, lh)
    ab_low = fit_chroma_to_gamut(l_low, ab_low)
    influence = None
    if guided:
        say(0.6, "following the hints")
        ab_low, l_low, influence = _follow_hints(
            ab_low, fit_chroma_to_gamut(l_low, free_low), l_low, l_star, hints, under,
            solve_size or max(SOLVE_SIZE, size))
    if guided and l_low.shape == l_star.shape:
        ab = ab_low  # corrected at full resolution already: keep the hints' exact colours
    else:
        ab = guided_upsample(ab_low, l_low, l_star, radius=_radius(l_low))
    dist = None
    if probs is not None:
        bins = getattr(model.net, "bins", None)
        if bins is not None:
            dist = Distribution(probs, bins.float().cpu().numpy() * 110.0,
                                float(getattr(model.net.cfg, "bin_step", 10)))
    say(1.0, "done")
    return ColorizeResult(ab, (w, h), model.device.type, messages, dist, influence)
