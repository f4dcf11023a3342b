"""Preprocessing of a photo's lightness before colourisation (NumPy/OpenCV; no Qt, no torch).

A recipe is an ordered, serialisable tuple of `Step`s; `apply_steps(l_star, steps)` runs them
on L* (H, W) float32 in [0, 100] and returns a new array (the input is never modified).
Geometric steps (90-degree rotation, fine rotation, crop) also apply to the alpha channel
through `apply_geometry`, so transparency stays aligned. Steps are recorded with the output
as JSON (`steps_to_json`), and parsed defensively (`steps_from_json`: one-line errors).
`Geometry` maps coordinates (colour hints) between the original photo and the preprocessed one.

Ops and parameters:
    rotate90   k: int (quarter turns counter-clockwise, any integer)
    rotate     angle: float degrees (-45..45, counter-clockwise), then cropped to the largest
               centred rectangle of the same aspect ratio with no empty corners (straighten)
    crop       left, top, right, bottom: float fractions of the size removed from each side
    stretch    low, high: float percentiles (0..100) mapped to L* 0 and 100
    equalize   (global histogram equalisation of L*)
    clahe      clip: float (1..40), tiles: int (2..32)
    denoise    strength: float (0..30, L* units; edge-preserving bilateral filter)
    tone       brightness: float (-50..50 L* units), gamma: float (0.2..5; >1 brightens)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .errors import ColorStudioError

GEOMETRIC = ("rotate90", "rotate", "crop")

# op -> {param: (default, low, high, type)}
SCHEMA: dict[str, dict[str, tuple[float, float, float, type]]] = {
    "rotate90": {"k": (1, -1e6, 1e6, int)},
    "rotate": {"angle": (0.0, -45.0, 45.0, float)},
    "crop": {"left": (0.0, 0.0, 0.95, float), "top": (0.0, 0.0, 0.95, float),
             "right": (0.0, 0.0, 0.95, float), "bottom": (0.0, 0.0, 0.95, float)},
    "stretch": {"low": (0.5, 0.0, 100.0, float), "high": (99.5, 0.0, 100.0, float)},
    "equalize": {},
    "clahe": {"clip": (2.0, 1.0, 40.0, float), "tiles": (8, 2, 32, int)},
    "denoise": {"strength": (5.0, 0.0, 30.0, float)},
    "tone": {"brightness": (0.0, -50.0, 50.0, float), "gamma": (1.0, 0.2, 5.0, float)},
}
MAX_STEPS = 64


class PreprocessError(ColorStudioError):
    """A preprocessing recipe is malformed or cannot be applied."""


@dataclass(frozen=True)
class Step:
    """One preprocessing operation; `params` holds every parameter of `SCHEMA[op]`."""

    op: str
    params: dict[str, float] = field(default_factory=dict)

    @classmethod
    def make(cls, op: str, **params: float) -> Step:
        """A validated step, with defaults filled in for parameters not given."""
        if op not in SCHEMA:
            raise PreprocessError(f"unknown preprocessing step '{op}' "
                                  f"(one of {', '.join(SCHEMA)})")
        unknown = set(params) - set(SCHEMA[op])
        if unknown:
            raise PreprocessError(f"step '{op}' has no parameter {', '.join(sorted(unknown))}")
        full: dict[str, float] = {}
        for name, (default, low, high, kind) in SCHEMA[op].items():
            v = params.get(name, default)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise PreprocessError(f"step '{op}': '{name}' must be a number, got {v!r}")
            if not low <= v <= high:
                raise PreprocessError(f"step '{op}': '{name}' = {v} is outside {low}..{high}")
            full[name] = kind(v)
        if op == "stretch" and full["low"] >= full["high"]:
            raise PreprocessError("step 'stretch': 'low' must be below 'high'")
        if op == "crop" and (full["left"] + full["right"] >= 0.95
                             or full["top"] + full["bottom"] >= 0.95):
            raise PreprocessError("step 'crop': the crop removes (almost) the whole photo")
        return cls(op, full)

    def is_identity(self) -> bool:
        p = self.params
        return ((self.op == "rotate90" and int(p["k"]) % 4 == 0)
                or (self.op == "rotate" and p["angle"] == 0)
                or (self.op == "crop" and not any(p.values()))
                or (self.op == "denoise" and p["strength"] == 0)
                or (self.op == "tone" and p["brightness"] == 0 and p["gamma"] == 1))

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, **self.params}


def steps_to_json(steps: tuple[Step, ...] | list[Step]) -> list[dict[str, Any]]:
    return [s.to_json() for s in steps]


def steps_from_json(data: Any) -> tuple[Step, ...]:
    if not isinstance(data, list):
        raise PreprocessError("preprocessing must be a list of steps")
    if len(data) > MAX_STEPS:
        raise PreprocessError(f"too many preprocessing steps (more than {MAX_STEPS})")
    steps = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("op"), str):
            raise PreprocessError(f"malformed preprocessing step {item!r}")
        params = {k: v for k, v in item.items() if k != "op"}
        steps.append(Step.make(item["op"], **params))
    return tuple(steps)


def output_shape(height: int, width: int, steps: tuple[Step, ...] | list[Step]
                 ) -> tuple[int, int]:
    """(height, width) after the geometric steps, without touching pixels."""
    for s in steps:
        if s.op == "rotate90" and int(s.params["k"]) % 2:
            height, width = width, height
        elif s.op == "crop":
            height, width = _crop_box(height, width, s.params)[2:]
        elif s.op == "rotate":
            height, width = _straighten_box(height, width, s.params["angle"])[2:]
    return height, width


def _straighten_box(h: int, w: int, angle: float) -> tuple[int, int, int, int]:
    """-> (y0, x0, height, width): the largest centred w:h rectangle inside the photo rotated
    by `angle` (so a straightened photo has no empty or mirrored corners)."""
    if angle == 0:
        return 0, 0, h, w
    t = math.radians(abs(angle))
    c, s = math.cos(t), math.sin(t)
    k = min(w / (w * c + h * s), h / (w * s + h * c))
    nw, nh = max(1, int(w * k)), max(1, int(h * k))
    return (h - nh) // 2, (w - nw) // 2, nh, nw


def _crop_box(h: int, w: int, p: dict[str, float]) -> tuple[int, int, int, int]:
    """-> (y0, x0, height, width) of the kept area (at least 1x1)."""
    x0 = int(round(w * p["left"]))
    y0 = int(round(h * p["top"]))
    x1 = max(x0 + 1, int(round(w * (1 - p["right"]))))
    y1 = max(y0 + 1, int(round(h * (1 - p["bottom"]))))
    return y0, x0, y1 - y0, x1 - x0


def _geometry(a: np.ndarray, s: Step) -> np.ndarray:
    p = s.params
    if s.op == "rotate90":
        return np.ascontiguousarray(np.rot90(a, int(p["k"]) % 4))
    if s.op == "rotate":
        if p["angle"] == 0:
            return a
        h, w = a.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), p["angle"], 1.0)
        src = a if a.dtype in (np.float32, np.uint8, np.uint16) else a.astype(np.float32)
        out = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        y0, x0, nh, nw = _straighten_box(h, w, p["angle"])
        return np.ascontiguousarray(out[y0:y0 + nh, x0:x0 + nw]).astype(a.dtype, copy=False)
    if s.op == "crop":
        y0, x0, h, w = _crop_box(a.shape[0], a.shape[1], p)
        return np.ascontiguousarray(a[y0:y0 + h, x0:x0 + w])
    return a


@dataclass(frozen=True, eq=True)
class Geometry:
    """Where the geometric steps move the points of an original photo of height x width pixels.

    Coordinates are continuous pixel coordinates: the photo covers [0, width] x [0, height] and
    pixel (row i, column j) spans j..j+1, i..i+1. Every geometric step is rigid (quarter turns,
    a rotation about the centre, crops; no scaling), so lengths - brush widths, radii,
    distances - are the same in both frames. `to_view` maps original -> preprocessed,
    `to_original` the way back; both take and return (N, 2) arrays of (x, y).
    """

    height: int
    width: int
    steps: tuple[Step, ...] = ()

    @classmethod
    def of(cls, height: int, width: int, steps: tuple[Step, ...] | list[Step] = ()) -> Geometry:
        """The geometry of `steps` (non-geometric and no-op steps are dropped)."""
        return cls(int(height), int(width),
                   tuple(s for s in steps if s.op in GEOMETRIC and not s.is_identity()))

    @property
    def is_identity(self) -> bool:
        return not self.steps

    @property
    def view_shape(self) -> tuple[int, int]:
        """(height, width) of the preprocessed photo."""
        return output_shape(self.height, self.width, self.steps)

    def _shapes(self) -> list[tuple[int, int]]:
        """(height, width) before each step."""
        shapes, h, w = [], self.height, self.width
        for s in self.steps:
            shapes.append((h, w))
            h, w = output_shape(h, w, (s,))
        return shapes

    def to_view(self, xy: np.ndarray) -> np.ndarray:
        out = np.array(xy, np.float64, copy=True).reshape(-1, 2)
        for s, (h, w) in zip(self.steps, self._shapes()):
            out = _map_step(out, s, h, w, inverse=False)
        return out

    def to_original(self, xy: np.ndarray) -> np.ndarray:
        out = np.array(xy, np.float64, copy=True).reshape(-1, 2)
        for s, (h, w) in reversed(list(zip(self.steps, self._shapes()))):
            out = _map_step(out, s, h, w, inverse=True)
        return out


def _map_step(xy: np.ndarray, s: Step, h: int, w: int, inverse: bool) -> np.ndarray:
    """One geometric step on (N, 2) points of an h x w image (or its inverse)."""
    x, y = xy[:, 0], xy[:, 1]
    p = s.params
    if s.op == "rotate90":
        k = int(p["k"]) % 4
        if inverse:  # undo a k-turn with a (4 - k)-turn of the turned image
            if k % 2:
                h, w = w, h
            k = (4 - k) % 4
        if k == 1:  # counter-clockwise, as np.rot90
            return np.stack([y, w - x], 1)
        if k == 2:
            return np.stack([w - x, h - y], 1)
        if k == 3:
            return np.stack([h - y, x], 1)
        return xy
    if s.op == "rotate":
        y0, x0, _, _ = _straighten_box(h, w, p["angle"])
        t = math.radians(p["angle"])
        c, sn = math.cos(t), math.sin(t)
        cx, cy = w / 2, h / 2
        if inverse:
            dx, dy = x + x0 - cx, y + y0 - cy
            return np.stack([c * dx - sn * dy + cx, sn * dx + c * dy + cy], 1)
        dx, dy = x - cx, y - cy  # cv2.getRotationMatrix2D: counter-clockwise on screen
        return np.stack([c * dx + sn * dy + cx - x0, -sn * dx + c * dy + cy - y0], 1)
    if s.op == "crop":
        y0, x0, _, _ = _crop_box(h, w, p)
        return xy + np.array([x0, y0]) if inverse else xy - np.array([x0, y0])
    return xy


def apply_geometry(a: np.ndarray, steps: tuple[Step, ...] | list[Step]) -> np.ndarray:
    """Only the geometric steps, on any (H, W) array (alpha, masks)."""
    for s in steps:
        if s.op in GEOMETRIC:
            a = _geometry(a, s)
    return a


def apply_steps(l_star: np.ndarray, steps: tuple[Step, ...] | list[Step]) -> np.ndarray:
    """L* (H, W) float32 [0, 100] -> preprocessed L* (H', W') float32 [0, 100]; a new array."""
    out = np.array(l_star, dtype=np.float32, copy=True)
    if out.ndim != 2:
        raise PreprocessError("preprocessing works on a single-channel L* image")
    for s in steps:
        out = _apply(out, s)
    return np.clip(out, 0.0, 100.0, out=out)


def _apply(lum: np.ndarray, s: Step) -> np.ndarray:
    p = s.params
    if s.op in GEOMETRIC:
        return _geometry(lum, s)
    if s.op == "stretch":
        lo, hi = np.percentile(_sample(lum), [p["low"], p["high"]])
        if hi - lo < 1e-3:
            return lum
        return (lum - np.float32(lo)) * np.float32(100.0 / (hi - lo))
    if s.op == "equalize":
        return _equalize(lum)
    if s.op == "clahe":
        u16 = np.clip(lum * 655.35, 0, 65535).astype(np.uint16)
        tiles = int(p["tiles"])
        clahe = cv2.createCLAHE(clipLimit=float(p["clip"]), tileGridSize=(tiles, tiles))
        return clahe.apply(u16).astype(np.float32) / np.float32(655.35)
    if s.op == "denoise":
        if p["strength"] <= 0:
            return lum
        sigma = float(p["strength"])
        diameter = 5 if max(lum.shape) < 2000 else 7
        return cv2.bilateralFilter(np.ascontiguousarray(lum), diameter, sigma * 2, diameter)
    if s.op == "tone":
        out = lum
        if p["gamma"] != 1:
            out = 100.0 * np.power(np.clip(out, 0, 100) / 100.0, 1.0 / p["gamma"])
        return (out + np.float32(p["brightness"])).astype(np.float32)
    raise PreprocessError(f"unknown preprocessing step '{s.op}'")  # pragma: no cover


def _sample(lum: np.ndarray, limit: int = 1_000_000) -> np.ndarray:
    """A strided subsample for statistics: percentiles of 50 MP need not read every pixel."""
    step = max(1, int(math.sqrt(lum.size / limit)))
    return lum[::step, ::step]


def _equalize(lum: np.ndarray, bins: int = 4096) -> np.ndarray:
    """Global histogram equalisation in float (no 8-bit quantisation of a 16-bit scan)."""
    hist, edges = np.histogram(_sample(lum), bins=bins, range=(0.0, 100.0))
    cdf = np.cumsum(hist).astype(np.float64)
    if cdf[-1] == 0:
        return lum
    cdf = (cdf - cdf[0]) / max(cdf[-1] - cdf[0], 1.0) * 100.0
    return np.interp(lum, edges[1:], cdf).astype(np.float32)


def describe(steps: tuple[Step, ...] | list[Step]) -> str:
    """A short human summary, e.g. 'rotate90(k=1), clahe(clip=2, tiles=8)'."""
    if not steps:
        return "none"
    parts = []
    for s in steps:
        args = ", ".join(f"{k}={v:g}" for k, v in s.params.items())
        parts.append(f"{s.op}({args})" if args else s.op)
    return ", ".join(parts)
