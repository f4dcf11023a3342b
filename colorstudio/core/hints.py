"""Colour hints as data (ideepcolor style): points and strokes that render themselves.

JSON format (original-image pixel coordinates):
    {"points": [{"x": 10, "y": 20, "radius": 2, "rgb": [r, g, b]}],
     "strokes": [{"points": [[x, y], ...], "width": 6, "rgb": [r, g, b]}]}
Only the chroma (a*, b*) of a picked colour is used; lightness always comes from the photo.
Undo, redo and erase are list operations on an immutable `HintSet`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .color import rgb_to_lab
from .errors import HintsError
from .imageio import atomic_write_text

MAX_HINTS_BYTES = 4 * 1024 * 1024
MAX_ITEMS = 10_000
MAX_STROKE_POINTS = 100_000


def rgb_chroma(rgb: tuple[int, int, int]) -> tuple[float, float]:
    """8-bit sRGB colour -> its (a*, b*)."""
    lab = rgb_to_lab(np.array(rgb, np.float32).reshape(1, 3) / 255.0)[0]
    return float(lab[1]), float(lab[2])


@dataclass(frozen=True)
class HintPoint:
    x: float
    y: float
    radius: float
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class HintStroke:
    points: tuple[tuple[float, float], ...]
    width: float
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class HintSet:
    points: tuple[HintPoint, ...] = ()
    strokes: tuple[HintStroke, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.points) + len(self.strokes)

    def __bool__(self) -> bool:
        return len(self) > 0

    def with_point(self, p: HintPoint) -> HintSet:
        return replace(self, points=self.points + (p,))

    def with_stroke(self, s: HintStroke) -> HintSet:
        return replace(self, strokes=self.strokes + (s,))

    def without_point(self, index: int) -> HintSet:
        return replace(self, points=self.points[:index] + self.points[index + 1:])

    def without_stroke(self, index: int) -> HintSet:
        return replace(self, strokes=self.strokes[:index] + self.strokes[index + 1:])

    def moved_point(self, index: int, x: float, y: float) -> HintSet:
        pts = list(self.points)
        pts[index] = replace(pts[index], x=x, y=y)
        return replace(self, points=tuple(pts))

    def nearest_point(self, x: float, y: float, max_dist: float) -> int | None:
        """Index of the closest point within `max_dist` (or inside its own radius), or None."""
        best, best_d = None, float("inf")
        for i, p in enumerate(self.points):
            d = float(np.hypot(p.x - x, p.y - y))
            if d <= max(max_dist, p.radius) and d < best_d:
                best, best_d = i, d
        return best

    def render(self, height: int, width: int, scale: float = 1.0
               ) -> tuple[np.ndarray, np.ndarray]:
        """-> (ab (2, height, width) float32 in Lab units, mask (height, width) float32 0/1).

        `scale` maps original coordinates to the target grid (target = original * scale);
        every hint covers at least one pixel, so a hint never vanishes at small sizes.
        """
        ab = np.zeros((2, height, width), np.float32)
        mask = np.zeros((height, width), np.uint8)
        for item in self.strokes + self.points:  # points last: they win where they overlap
            layer = np.zeros((height, width), np.uint8)
            if isinstance(item, HintPoint):
                r = max(int(round(item.radius * scale)), 0)
                cx, cy = int(round(item.x * scale)), int(round(item.y * scale))
                if not (-r <= cx < width + r and -r <= cy < height + r):
                    continue
                x0, x1 = max(cx - r, 0), min(cx + r + 1, width)
                y0, y1 = max(cy - r, 0), min(cy + r + 1, height)
                layer[y0:y1, x0:x1] = 1
            else:
                pts = np.round(np.array(item.points, np.float64) * scale).astype(np.int32)
                # OpenCV caps line thickness; wider than the image is the same as the cap.
                thick = min(max(int(round(item.width * scale)), 1), 2 * max(height, width), 32000)
                if len(pts) == 1:
                    cv2.circle(layer, tuple(int(v) for v in pts[0]), max(thick // 2, 0), 1, -1)
                else:
                    cv2.polylines(layer, [pts.reshape(-1, 1, 2)], False, 1, thick)
            sel = layer.astype(bool)
            a, b = rgb_chroma(item.rgb)
            ab[0][sel], ab[1][sel] = a, b
            mask |= layer
        return ab, mask.astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "points": [{"x": p.x, "y": p.y, "radius": p.radius, "rgb": list(p.rgb)}
                       for p in self.points],
            "strokes": [{"points": [list(q) for q in s.points], "width": s.width,
                         "rgb": list(s.rgb)} for s in self.strokes],
        }

    @classmethod
    def from_json(cls, data: Any) -> HintSet:
        """Parse defensively: schema, types and sizes checked; errors are `HintsError`."""
        if not isinstance(data, dict) or set(data) - {"points", "strokes"}:
            raise HintsError("hints must be an object with 'points' and/or 'strokes'")
        raw_pts, raw_strokes = data.get("points", []), data.get("strokes", [])
        if not isinstance(raw_pts, list) or not isinstance(raw_strokes, list):
            raise HintsError("'points' and 'strokes' must be lists")
        if len(raw_pts) + len(raw_strokes) > MAX_ITEMS:
            raise HintsError(f"too many hints (more than {MAX_ITEMS})")
        try:
            points = tuple(HintPoint(_num(p["x"]), _num(p["y"]), _num(p.get("radius", 2)),
                                     _rgb(p["rgb"])) for p in raw_pts)
            strokes = []
            total = 0
            for s in raw_strokes:
                pts = s["points"]
                total += len(pts)
                if not pts or total > MAX_STROKE_POINTS:
                    raise HintsError("a stroke has no points, or strokes have too many points")
                strokes.append(HintStroke(tuple((_num(q[0]), _num(q[1])) for q in pts),
                                          _num(s.get("width", 6)), _rgb(s["rgb"])))
        except (KeyError, TypeError, IndexError) as exc:
            raise HintsError(f"malformed hint entry ({exc!r})") from exc
        return cls(points, tuple(strokes))


def _num(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        raise HintsError(f"expected a finite number, got {v!r}")
    if abs(v) > 1e7:
        raise HintsError(f"coordinate out of range: {v!r}")
    return float(v)


def _rgb(v: Any) -> tuple[int, int, int]:
    if (not isinstance(v, (list, tuple)) or len(v) != 3
            or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255 for c in v)):
        raise HintsError(f"'rgb' must be three integers 0-255, got {v!r}")
    return int(v[0]), int(v[1]), int(v[2])


def sidecar_path(image_path: Path) -> Path:
    return Path(image_path).with_name(Path(image_path).stem + ".hints.json")


def load_hints(path: Path) -> HintSet:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_HINTS_BYTES:
            raise HintsError(f"{path.name}: hints file is larger than {MAX_HINTS_BYTES} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: JSONDecodeError and over-long integers; RecursionError: nesting bombs.
        raise HintsError(f"{path.name}: cannot read hints ({str(exc)[:200]})") from exc
    try:
        return HintSet.from_json(data)
    except HintsError as exc:
        raise HintsError(f"{path.name}: {exc}") from exc


def save_hints(hints: HintSet, path: Path) -> None:
    """Atomic write (temp name, then rename)."""
    atomic_write_text(Path(path), json.dumps(hints.to_json(), indent=1))
