"""Colour hints as data (ideepcolor style): points and strokes that render themselves.

Hints are kept in the pixel coordinates of the *original* photo (x right, y down; the photo
covers [0, width] x [0, height]), whatever preprocessing is applied: `HintSet.to_view` and
`HintSet.to_original` map them through the geometric steps (`core.preprocess.Geometry`:
quarter turns, straightening, crops) for display and inference.

Sidecar `<stem>.hints.json`, version 4 (what `save_sidecar` writes; version 3 when the hints
have the default spread, so older versions read it):
    {"format": "colorstudio-hints", "version": 4, "coordinates": "original",
     "image": {"width": 4000, "height": 3000},          # the photo they were painted on
     "preprocessing": [{"op": "rotate90", "k": 1}, ...], # the recipe they were painted with
     "points": [{"x": 10, "y": 20, "radius": 2, "rgb": [r, g, b]}],
     "strokes": [{"points": [[x, y], ...], "width": 6, "rgb": [r, g, b]}],
     "spread": 0.5,                                      # how far hints reach, 0 local .. 1 wide
     "strength": 0.5,                                    # colour strength, 0 cautious .. 1 vivid
     "reference": "street-1952.jpg"}                     # a colour photo guiding the colours
"image", "preprocessing", "spread", "strength" and "reference" (relative to the photo's
folder, or absolute) are optional; version 3 is the same without "spread", version 2 without
the last three. Version 1 (ColorStudio before format versions) is the bare
{"points": [...], "strokes": [...]} object, also in original-image coordinates, with no
recipe; it is still read. A newer version is refused with a one-line message.

Only the chroma (a*, b*) of a picked colour is used; lightness always comes from the photo.
Undo, redo and erase are list operations on an immutable `HintSet`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .color import rgb_to_lab
from .errors import ColorStudioError, HintsError
from .imageio import atomic_write_text
from .preprocess import GEOMETRIC, Geometry, Step, describe, steps_from_json, steps_to_json

GEOMETRIC_OPS = GEOMETRIC  # the steps that move pixels (and so hints)
SIDECAR_FORMAT = "colorstudio-hints"
SIDECAR_VERSION = 4
# Colour strength: 0 cautious .. 0.5 the model's own decoding .. 1 vivid (`ColorNet.run`).
DEFAULT_STRENGTH = 0.5
# Hint spread: 0 local .. 0.5 the measured default .. 1 wide (`reach_scale`).
DEFAULT_SPREAD = 0.5
MAX_HINTS_BYTES = 4 * 1024 * 1024
MAX_ITEMS = 10_000
MAX_STROKE_POINTS = 100_000


def reach_scale(spread: float) -> float:
    """How much faster a hint's reach fades than by default: 1000x at spread 0 (a stroke
    colours the area around it), 1 at 0.5, 1/1000 at 1 (it floods whatever no strong edge
    bounds). In a low-contrast photo the default reach crosses the soft edges between, say,
    a road and the cars on it; a lower spread keeps a hint near where it was painted."""
    return 1000.0 ** (1.0 - 2.0 * min(max(float(spread), 0.0), 1.0))


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
    spread: float = DEFAULT_SPREAD  # how far the hints reach (`reach_scale`)

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

    def mapped(self, fn: Callable[[np.ndarray], np.ndarray]) -> HintSet:
        """Every coordinate through `fn` ((N, 2) array of (x, y) -> (N, 2)); sizes kept."""
        if not self:
            return self
        xy = [np.array([[p.x, p.y] for p in self.points], np.float64).reshape(-1, 2)]
        xy += [np.array(st.points, np.float64).reshape(-1, 2) for st in self.strokes]
        sizes = [len(a) for a in xy]
        out = np.asarray(fn(np.concatenate(xy)), np.float64)
        parts = np.split(out, np.cumsum(sizes)[:-1])
        points = tuple(replace(p, x=float(q[0]), y=float(q[1]))
                       for p, q in zip(self.points, parts[0]))
        strokes = tuple(replace(st, points=tuple((float(a), float(b)) for a, b in q))
                        for st, q in zip(self.strokes, parts[1:]))
        return replace(self, points=points, strokes=strokes)

    def to_view(self, geometry: Geometry) -> HintSet:
        """Original-photo coordinates -> those of the preprocessed photo."""
        return self if geometry.is_identity else self.mapped(geometry.to_view)

    def to_original(self, geometry: Geometry) -> HintSet:
        """Preprocessed-photo coordinates -> those of the original photo."""
        return self if geometry.is_identity else self.mapped(geometry.to_original)

    def erased(self, x: float, y: float, radius: float) -> HintSet:
        """What is left after an eraser disc of `radius` at (x, y): points it touches go;
        strokes lose only the part under it (a stroke crossed in the middle becomes two).

        A stroke is cut where its centre line comes within `radius` + half its width, so the
        round ends of what is left just touch the eraser's edge: nothing stays under it."""
        points = tuple(p for p in self.points if math.hypot(p.x - x, p.y - y) > radius + p.radius)
        strokes: list[HintStroke] = []
        for st in self.strokes:
            strokes += _cut_stroke(st, x, y, radius + st.width / 2)
        new = replace(self, points=points, strokes=tuple(strokes))
        return self if new == self else new

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
        doc: dict[str, Any] = {
            "points": [{"x": p.x, "y": p.y, "radius": p.radius, "rgb": list(p.rgb)}
                       for p in self.points],
            "strokes": [{"points": [list(q) for q in s.points], "width": s.width,
                         "rgb": list(s.rgb)} for s in self.strokes],
        }
        if self.spread != DEFAULT_SPREAD:
            doc["spread"] = round(float(self.spread), 4)
        return doc

    @classmethod
    def from_json(cls, data: Any) -> HintSet:
        """Parse defensively: schema, types and sizes checked; errors are `HintsError`."""
        if not isinstance(data, dict) or set(data) - {"points", "strokes", "spread"}:
            raise HintsError("hints must be an object with 'points' and/or 'strokes'")
        spread = _fraction(data, "spread", DEFAULT_SPREAD)
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
        return cls(points, tuple(strokes), spread)


def _fraction(data: dict[str, Any], key: str, default: float) -> float:
    """`data[key]`, a number from 0 to 1 (`default` when absent)."""
    v = data.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
        raise HintsError(f"'{key}' must be a number from 0 to 1, got {v!r}")
    return float(v)


def _cut_stroke(st: HintStroke, cx: float, cy: float, r: float) -> list[HintStroke]:
    """The pieces of `st` whose centre line stays at least `r` from (cx, cy)."""
    pts = st.points

    def outside(q: tuple[float, float]) -> bool:
        return math.hypot(q[0] - cx, q[1] - cy) >= r

    if len(pts) == 1:
        return [st] if outside(pts[0]) else []
    pieces: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] | None = [pts[0]] if outside(pts[0]) else None
    touched = False
    for a, b in zip(pts, pts[1:]):
        dx, dy = b[0] - a[0], b[1] - a[1]
        fx, fy = a[0] - cx, a[1] - cy
        qa, qb, qc = dx * dx + dy * dy, 2 * (fx * dx + fy * dy), fx * fx + fy * fy - r * r
        disc = qb * qb - 4 * qa * qc
        t1 = t2 = None
        if qa > 0 and disc > 0:
            sq = math.sqrt(disc)
            t1, t2 = (-qb - sq) / (2 * qa), (-qb + sq) / (2 * qa)
        if (t1 is None or t2 is None or t2 <= 0 or t1 >= 1  # this segment stays outside
                or (min(t2, 1.0) - max(t1, 0.0)) * math.sqrt(qa) < 1e-9):  # or grazes it
            if cur is None:  # (a zero-length segment inside: nothing to add)
                if outside(b):
                    cur = [b]
            else:
                cur.append(b)
            continue
        touched = True
        if t1 > 0 and cur is not None:
            cur.append((a[0] + t1 * dx, a[1] + t1 * dy))
            pieces.append(cur)
        cur = [(a[0] + t2 * dx, a[1] + t2 * dy), b] if t2 < 1 else None
    if not touched:
        return [st]
    if cur is not None:
        pieces.append(cur)
    out = []
    for piece in pieces:
        length = sum(math.hypot(q[0] - p[0], q[1] - p[1]) for p, q in zip(piece, piece[1:]))
        if len(piece) >= 2 and length > 1e-6:
            out.append(HintStroke(tuple(piece), st.width, st.rgb))
    return out


def _num(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        raise HintsError(f"expected a finite number, got {v!r}")
    if abs(v) > 1e7:
        raise HintsError(f"coordinate out of range: {v!r}")
    return float(v)


def _rgb(v: Any) -> tuple[int, int, int]:
    if (not isinstance(v, (list, tuple)) or len(v) != 3
            or not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 255
                       for c in v)):
        raise HintsError(f"'rgb' must be three integers 0-255, got {v!r}")
    return int(v[0]), int(v[1]), int(v[2])


def sidecar_path(image_path: Path) -> Path:
    return Path(image_path).with_name(Path(image_path).stem + ".hints.json")


@dataclass(frozen=True)
class HintsFile:
    """A parsed sidecar: hints in original-photo coordinates and what they were painted with."""

    hints: HintSet
    steps: tuple[Step, ...] = ()  # the preprocessing recipe (all steps, not only geometry)
    image_size: tuple[int, int] | None = None  # (width, height) of the photo, if recorded
    version: int = SIDECAR_VERSION
    strength: float = DEFAULT_STRENGTH
    reference: str = ""  # a colour photo guiding the colours, as written in the file

    def reference_path(self, photo: Path) -> Path | None:
        """The reference photo's path, relative ones taken from the photo's folder."""
        return Path(photo).parent / self.reference if self.reference else None

    def for_image(self, height: int, width: int) -> tuple[HintSet, str | None]:
        """The hints for a photo of this size, and a note when they were painted on one of
        another size (then they are scaled, so they stay on the same objects)."""
        if self.image_size is None or self.image_size == (width, height):
            return self.hints, None
        w0, h0 = self.image_size
        sx, sy = width / w0, height / h0
        k = math.sqrt(sx * sy)
        scaled = self.hints.mapped(lambda xy: xy * np.array([sx, sy]))
        scaled = replace(scaled, points=tuple(replace(p, radius=p.radius * k)
                                              for p in scaled.points),
                         strokes=tuple(replace(st, width=st.width * k) for st in scaled.strokes))
        return scaled, (f"the hints were painted on a {w0} × {h0} version of this photo; "
                        f"they were scaled to {width} × {height}")

    def to_json(self) -> dict[str, Any]:
        # The oldest version that holds what is written, so older ColorStudios read it.
        version = SIDECAR_VERSION if self.hints.spread != DEFAULT_SPREAD else 3
        doc: dict[str, Any] = {"format": SIDECAR_FORMAT, "version": version,
                               "coordinates": "original"}
        if self.image_size is not None:
            doc["image"] = {"width": int(self.image_size[0]), "height": int(self.image_size[1])}
        doc["preprocessing"] = steps_to_json(self.steps)
        doc.update(self.hints.to_json())
        if self.strength != DEFAULT_STRENGTH:
            doc["strength"] = round(float(self.strength), 4)
        if self.reference:
            doc["reference"] = self.reference
        return doc

    @classmethod
    def from_json(cls, data: Any) -> HintsFile:
        """Version 1 (bare points/strokes) to 4; errors are one-line `HintsError`s."""
        if not isinstance(data, dict) or "version" not in data:
            return cls(HintSet.from_json(data), version=1)
        version = data["version"]
        if isinstance(version, bool) or not isinstance(version, int):
            raise HintsError(f"'version' must be an integer, got {version!r}")
        if version > SIDECAR_VERSION:
            raise HintsError(f"written by a newer ColorStudio (hints format version {version}; "
                             f"this version reads up to {SIDECAR_VERSION}): update ColorStudio")
        if version < 1:
            raise HintsError(f"unknown hints format version {version}")
        if data.get("format", SIDECAR_FORMAT) != SIDECAR_FORMAT:
            raise HintsError(f"not a ColorStudio hints file (format {data.get('format')!r})")
        known = {"format", "version", "points", "strokes"}
        if version >= 2:
            known |= {"coordinates", "image", "preprocessing"}
        if version >= 3:
            known |= {"strength", "reference"}
        if version >= 4:
            known |= {"spread"}
        unknown = set(data) - known
        if unknown:
            raise HintsError(f"unknown entries {', '.join(sorted(map(str, unknown)))} in a "
                             f"version {version} hints file")
        if data.get("coordinates", "original") != "original":
            raise HintsError(f"'coordinates' must be 'original', got {data['coordinates']!r}")
        size = None
        if "image" in data:
            img = data["image"]
            if (not isinstance(img, dict) or set(img) != {"width", "height"}
                    or not all(isinstance(img[k], int) and not isinstance(img[k], bool)
                               and 0 < img[k] <= 10**7 for k in ("width", "height"))):
                raise HintsError("'image' must be {\"width\": W, \"height\": H} with positive "
                                 "integers")
            size = (img["width"], img["height"])
        try:
            steps = steps_from_json(data.get("preprocessing", []))
        except ColorStudioError as exc:
            raise HintsError(f"preprocessing: {exc}") from exc
        strength = _fraction(data, "strength", DEFAULT_STRENGTH)
        reference = data.get("reference", "")
        if not isinstance(reference, str) or len(reference) > 4096 or "\0" in reference:
            raise HintsError("'reference' must be a file name or path")
        hints = HintSet.from_json({k: data[k] for k in ("points", "strokes", "spread")
                                   if k in data})
        return cls(hints, steps, size, version, strength, reference)

    def describe(self) -> str:
        """e.g. '3 hints (painted with rotate90(k=1), crop(...))'."""
        n = len(self.hints)
        geo = [s for s in self.steps if s.op in GEOMETRIC and not s.is_identity()]
        return (f"{n} hint{'s' if n != 1 else ''}"
                + (f" (painted with {describe(geo)})" if geo else ""))


def load_sidecar(path: Path) -> HintsFile:
    """Read a hints file (any version up to 4); every problem is a one-line `HintsError` that
    starts with the file's name."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_HINTS_BYTES:
            raise HintsError(f"{path.name}: hints file is larger than {MAX_HINTS_BYTES} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError: JSONDecodeError and over-long integers; RecursionError: nesting bombs.
        raise HintsError(f"{path.name}: cannot read hints ({str(exc)[:200]})") from exc
    try:
        return HintsFile.from_json(data)
    except HintsError as exc:
        raise HintsError(f"{path.name}: {exc}") from exc


def load_hints(path: Path) -> HintSet:
    """The hints of a hints file, in original-photo coordinates (any version)."""
    return load_sidecar(path).hints


def save_sidecar(path: Path, hints: HintSet, steps: tuple[Step, ...] | list[Step] = (),
                 image_size: tuple[int, int] | None = None,
                 strength: float = DEFAULT_STRENGTH, reference: str = "") -> None:
    """Write a hints file atomically (temp name, then rename). `steps` is the recipe the
    hints were painted with, `image_size` the photo's (width, height); `strength` and
    `reference` as in `HintsFile`."""
    doc = HintsFile(hints, tuple(steps), image_size, strength=strength,
                    reference=reference).to_json()
    atomic_write_text(Path(path), json.dumps(doc, indent=1))


def save_hints(hints: HintSet, path: Path, steps: tuple[Step, ...] | list[Step] = (),
               image_size: tuple[int, int] | None = None) -> None:
    """`save_sidecar` with the arguments in the older order."""
    save_sidecar(path, hints, steps, image_size)
