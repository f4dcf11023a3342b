"""Colour hints from a reference photo: Welsh, Ashikhmin and Mueller (SIGGRAPH 2002,
"Transferring Color to Greyscale Images"), used to place point hints instead of colouring.

Both photos are shrunk to at most `work` px on the longer side. The reference's L* is
remapped linearly to the target's mean and standard deviation (luminance remapping, as in
Welsh et al. and Hertzmann et al. 2001), then every pixel of both gets a descriptor of its
lightness and texture: L*, the local mean and standard deviation over 5x5 and 11x11 windows,
and a Gaussian-weighted, mean-subtracted 5x5 patch of L* projected on its main components
(PCA of the reference's patches). A k-d tree gives each target pixel its k nearest
reference pixels. A match is kept only when it is confident: its descriptor distance is
small AND the neighbours agree on chroma: the RMS spread of the a*b* of all the neighbours
of the 3x3 target pixels around it is small, and the best match's a*b* lies near their mean.
Of the confident pixels, the best one per cell of a grid of about `max_points` cells becomes
a hint, coloured with its match's work pixel (an area mean over the reference's pixels, so
a real, in-gamut colour; neutral ones included). Pure NumPy / OpenCV / SciPy.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .color import rgb_to_lab, to_unit_float
from .compose import resize
from .errors import ColorStudioError
from .hints import HintPoint, HintSet
from .imageio import DEFAULT_MAX_PIXELS, own_pixel_limit

REFERENCE_SIDE = 1024  # a reference is read at most this large (it is matched at `work` px)

K_NEIGHBOURS = 8
PATCH_COMPONENTS = 6
MIN_CHROMA = 3.0  # a reference whose most colourful pixel is below this is greyscale
MAX_DISTANCE = 6.0  # descriptor distance (L* units) of a confident match
MIN_VOTES = 9  # neighbours within reach (over a 3x3 window) needed to judge agreement
MAX_SPREAD = 5.0  # RMS spread of the neighbours' a*b* (Lab units) of a confident match
# Descriptor weights: L*, local means (5, 11), local stds (5, 11); then the patch components.
_SCALAR_W = np.array([1.0, 0.5, 0.5, 1.5, 1.0], np.float32)
_COMPONENT_W = 1.0
_GAUSS = np.exp(-((np.arange(5) - 2.0) ** 2) / (2 * 1.5**2))
_PATCH_W = np.outer(_GAUSS, _GAUSS).reshape(-1).astype(np.float32)


def reference_hints(l_star: np.ndarray, reference_rgb: np.ndarray, max_points: int = 300,
                    work: int = 128) -> HintSet:
    """Point hints for the grey photo `l_star` ((H, W) L* in [0, 100]) from the colour photo
    `reference_rgb` ((h, w, 3) sRGB in [0, 1], any size) of the same scene.

    Hints are in l_star's pixel coordinates; at most `max_points` of them, only where the
    match is confident (so an unrelated reference gives few or none). Raises
    `ColorStudioError` for a greyscale reference and for malformed images.
    """
    from scipy.spatial import cKDTree

    target = _checked(l_star, 2, "the grey photo")
    ref = _checked(reference_rgb, 3, "the reference photo")  # integers: scaled by their max
    if ref.shape[2] != 3:
        raise ColorStudioError(f"the reference photo must have 3 colour channels, "
                               f"not {ref.shape[2]}")
    max_points, work = int(max_points), int(work)
    if max_points < 0 or work < 8:
        raise ColorStudioError(f"max_points must be >= 0 and work >= 8 (got {max_points}, "
                               f"{work})")
    height, width = target.shape
    tl = _shrink(target, work)
    rgb = np.clip(_shrink(ref, work), 0.0, 1.0)
    lab = rgb_to_lab(rgb)
    if not has_colour(lab):
        raise ColorStudioError("the reference photo has no colour (it is greyscale)")
    if max_points == 0:
        return HintSet()

    rl = lab[..., 0]  # luminance remapping: the reference's L* onto the target's statistics
    r_std, t_std = float(rl.std()), float(tl.std())
    rl = (rl - rl.mean()) * (t_std / r_std if r_std > 1e-3 else 1.0) + float(tl.mean())
    t_scal, t_patch = _describe(tl)
    r_scal, r_patch = _describe(rl.astype(np.float32))
    basis = _patch_basis(r_patch) * np.float32(_COMPONENT_W)
    t_desc = np.hstack([t_scal * _SCALAR_W, np.einsum("nj,jc->nc", t_patch, basis)])
    r_desc = np.hstack([r_scal * _SCALAR_W, np.einsum("nj,jc->nc", r_patch, basis)])

    colours = rgb.reshape(-1, 3)  # work pixels: area means of the reference, in gamut
    ref_ab = lab[..., 1:].reshape(-1, 2)
    k = min(K_NEIGHBOURS, len(r_desc))
    # Bounded, approximate search: far matches are rejected anyway, and an unrelated
    # reference would otherwise make the k-d tree visit most of its leaves.
    dist, idx = cKDTree(r_desc).query(t_desc, k=k, eps=0.5,
                                      distance_upper_bound=1.5 * MAX_DISTANCE)
    dist, idx = dist.reshape(len(t_desc), k), idx.reshape(len(t_desc), k)
    found = np.isfinite(dist)  # neighbours within the bound (missing ones have index n)
    nab = ref_ab[np.minimum(idx, len(ref_ab) - 1)] * found[..., None]  # (N, k, 2)
    th, tw = tl.shape
    # Agreement is judged over the neighbours of a 3x3 window of target pixels (k * 9
    # votes): a lone pixel whose few neighbours agree by chance is not enough.
    moments = np.concatenate([nab.sum(1), (nab * nab).sum((1, 2))[:, None],
                              found.sum(1)[:, None]], axis=1).reshape(th, tw, 4)
    moments = cv2.boxFilter(moments.astype(np.float32), -1, (3, 3), normalize=False,
                            borderType=cv2.BORDER_REFLECT).reshape(-1, 4)
    votes = np.maximum(moments[:, 3], 1.0)
    mean_ab = moments[:, :2] / votes[:, None]
    spread = np.sqrt(np.maximum(moments[:, 2] / votes - (mean_ab**2).sum(1), 0.0))
    off = np.hypot(*(ref_ab[np.minimum(idx[:, 0], len(ref_ab) - 1)] - mean_ab).T)
    score = dist[:, 0] / MAX_DISTANCE + spread / MAX_SPREAD
    good = np.flatnonzero((dist[:, 0] <= MAX_DISTANCE) & (spread <= MAX_SPREAD)
                          & (off <= MAX_SPREAD) & (moments[:, 3] >= MIN_VOTES))
    if not len(good):
        return HintSet()

    # the best confident pixel per grid cell, about max_points cells
    cell = max(math.sqrt(th * tw / max_points), 1.0)
    rows, cols = good // tw, good % tw
    cell_id = (rows / cell).astype(np.int64) * (int(tw / cell) + 1) + (cols / cell).astype(
        np.int64)
    order = np.lexsort((score[good], cell_id))
    _, first = np.unique(cell_id[order], return_index=True)
    chosen = order[first]
    chosen = chosen[np.argsort(score[good][chosen], kind="stable")][:max_points]
    pix = good[chosen]

    sx, sy = width / tw, height / th
    radius = max(1.0, round(math.sqrt(sx * sy), 2))
    colours = np.clip(np.rint(colours[idx[pix, 0]] * 255), 0, 255).astype(np.int64)
    points = tuple(HintPoint(float((c + 0.5) * sx), float((r + 0.5) * sy), radius,
                             (int(v[0]), int(v[1]), int(v[2])))
                   for r, c, v in zip(pix // tw, pix % tw, colours))
    return HintSet(points)


def has_colour(lab: np.ndarray) -> bool:
    """Whether a photo's Lab pixels (..., 3) hold any colour (some chroma >= MIN_CHROMA)."""
    return float(np.hypot(lab[..., 1], lab[..., 2]).max()) >= MIN_CHROMA


def read_reference(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """A reference photo as sRGB (h, w, 3) float32 in [0, 1], EXIF orientation applied, at
    most `REFERENCE_SIDE` px a side. Errors: one-line `ColorStudioError`s."""
    path = Path(path)
    try:
        with own_pixel_limit(max_pixels), Image.open(path) as im:
            im.draft("RGB", (REFERENCE_SIDE, REFERENCE_SIDE))  # JPEG: decode at reduced size
            im = ImageOps.exif_transpose(im).convert("RGB")
            im.thumbnail((REFERENCE_SIDE, REFERENCE_SIDE), Image.Resampling.BOX)
            return np.asarray(im, np.float32) / 255.0
    except FileNotFoundError as exc:
        raise ColorStudioError(f"{path.name}: reference photo not found") from exc
    except UnidentifiedImageError as exc:
        raise ColorStudioError(f"{path.name}: the reference is not an image ColorStudio "
                               "can read") from exc
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        detail = " ".join(str(getattr(exc, "strerror", None) or exc).split())[:200]
        raise ColorStudioError(f"{path.name}: cannot read the reference photo ({detail})") from exc


def _checked(img: np.ndarray, ndim: int, what: str) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim != ndim:
        shape = "(H, W)" if ndim == 2 else "(H, W, 3)"
        raise ColorStudioError(f"{what} must be a {shape} array, got shape {arr.shape}")
    if arr.size == 0 or min(arr.shape[:2]) < 1:
        raise ColorStudioError(f"{what} is empty (shape {arr.shape})")
    if arr.dtype.kind not in "fiu":
        raise ColorStudioError(f"{what} must hold numbers, not {arr.dtype}")
    arr = to_unit_float(arr) if ndim == 3 else arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise ColorStudioError(f"{what} contains NaN or infinite values")
    return arr


def _shrink(img: np.ndarray, work: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = min(1.0, work / max(h, w))
    if s >= 1.0:
        return np.ascontiguousarray(img)
    return resize(img, max(1, round(w * s)), max(1, round(h * s)))


def _describe(l: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """-> (scalar features (N, 5): L*, mean5, mean11, std5, std11; patches (N, 25))."""
    h, w = l.shape

    def box(x: np.ndarray, size: int) -> np.ndarray:
        return cv2.boxFilter(x, -1, (size, size), borderType=cv2.BORDER_REFLECT)

    m5, m11 = box(l, 5), box(l, 11)
    s5 = np.sqrt(np.maximum(box(l * l, 5) - m5 * m5, 0.0))
    s11 = np.sqrt(np.maximum(box(l * l, 11) - m11 * m11, 0.0))
    pad = np.pad(l, 2, mode="symmetric")
    win = np.lib.stride_tricks.sliding_window_view(pad, (5, 5)).reshape(h * w, 25)
    patch = (win - m5.reshape(-1, 1)) * _PATCH_W
    return np.stack([l, m5, m11, s5, s11], -1).reshape(-1, 5), patch.astype(np.float32)


def _patch_basis(patches: np.ndarray) -> np.ndarray:
    """The main components (25, c) of the reference's patches (PCA, not centred: the
    patches are mean-subtracted already, so a flat patch stays at the origin)."""
    # einsum, not BLAS: a multi-threaded BLAS crawls on a busy machine for this little work
    cov = np.einsum("ni,nj->ij", patches, patches).astype(np.float64) / max(len(patches), 1)
    vals, vecs = np.linalg.eigh(cov)
    return vecs[:, ::-1][:, :PATCH_COMPONENTS].astype(np.float32)

