"""Reading photos into full-resolution L* and writing colourised results.

Reading keeps what an archive needs: the bit depth (8 or 16), alpha, the ICC profile and
EXIF/XMP, and applies the EXIF orientation. Formats: JPEG, PNG, TIFF, WebP, BMP (and what
Pillow reads besides). Palette, CMYK, LA, I;16 are converted correctly; animated images use
the first frame (with a warning); a pixel limit guards against decompression bombs.
Writing is atomic (temp name in the same folder, flushed to disk, then renamed): never a partial
file. New files get the usual mode under the process umask (0644 under umask 022), as `cp` or
an image editor would make them.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image, ImageCms, UnidentifiedImageError

from .color import grey_int_to_l, rgb_int_to_l, to_unit_float
from .errors import ImageReadError, ImageWriteError

DEFAULT_MAX_PIXELS = 300_000_000  # 300 MP: larger than any archival scan we expect
READ_FORMATS = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif")
WRITE_FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "tif": ".tif", "tiff": ".tif",
                 "webp": ".webp", "bmp": ".bmp"}
_ORIENT = {2: "flip_lr", 3: "rot180", 4: "flip_ud", 5: "transpose", 6: "rot270",
           7: "transverse", 8: "rot90"}


@dataclass
class LoadedImage:
    """A photo ready for colourisation. `l_star` is (H, W) float32 in [0, 100], full size."""

    l_star: np.ndarray
    dtype: np.dtype  # bit depth of the original: uint8 or uint16
    alpha: np.ndarray | None = None  # (H, W) in `dtype`, re-attached on output
    was_colour: bool = False
    icc_profile: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    format: str = ""
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    # What was done to the pixels on the way in, recorded in every output's provenance.
    steps: list[str] = field(default_factory=list)
    bits: int = 8  # bits per sample of the original (8 or 16)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.l_star.shape[1], self.l_star.shape[0]


def _orient(a: np.ndarray, code: int) -> np.ndarray:
    op = _ORIENT.get(code)
    if op == "flip_lr":
        return a[:, ::-1]
    if op == "rot180":
        return a[::-1, ::-1]
    if op == "flip_ud":
        return a[::-1]
    if op == "transpose":
        return np.swapaxes(a, 0, 1)
    if op == "rot270":
        return np.rot90(a, -1)
    if op == "transverse":
        return np.rot90(np.swapaxes(a, 0, 1), 2)
    if op == "rot90":
        return np.rot90(a, 1)
    return a


def _is_srgb(icc: bytes | None) -> bool:
    if not icc:
        return True
    try:
        prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = ImageCms.getProfileDescription(prof).lower()
    except (OSError, ImageCms.PyCMSError):
        return True  # unreadable profile: treat as sRGB, warned by the caller
    return "srgb" in desc or "gray" in desc or "grey" in desc


def _icc_name(icc: bytes) -> str:
    try:
        prof = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.getProfileDescription(prof).strip() or "unnamed"
    except (OSError, ImageCms.PyCMSError):
        return "unreadable"


# Pillow's decompression-bomb guard (`Image.MAX_IMAGE_PIXELS`, about 89 MP, an error above
# twice that) stays on for the whole process: the training wizard's folder scan, training and
# eval read photos with Pillow directly and keep it. Only `read_image`, which has its own limit
# (`max_pixels`, 300 MP by default, adjustable with --max-pixels), replaces Pillow's limit by
# its own - in its own thread, for the duration of one read. Pillow checks every size it is
# about to allocate (the first frame, later GIF frames, crops) through
# `Image._decompression_bomb_check`; the wrapper below applies the scoped limit there.
_SCOPE = threading.local()


class _OverLimit(Image.DecompressionBombError):
    def __init__(self, size: tuple[int, int], limit: int) -> None:
        super().__init__(f"{size[0]}x{size[1]} is over the limit of {limit} pixels")
        self.size, self.limit = size, limit


_pillow_bomb_check = getattr(Image, "_decompression_bomb_check", None)
_pillow_bomb_check = getattr(_pillow_bomb_check, "_pillow_original", _pillow_bomb_check)


def _scoped_bomb_check(size: tuple[int, int], *args, **kwargs) -> None:  # noqa: ANN002, ANN003
    limit = getattr(_SCOPE, "max_pixels", None)
    if limit is None:
        assert _pillow_bomb_check is not None
        _pillow_bomb_check(size, *args, **kwargs)  # Pillow's own guard, unchanged
    elif max(1, size[0]) * max(1, size[1]) > limit:
        raise _OverLimit((size[0], size[1]), limit)


if _pillow_bomb_check is not None:
    _scoped_bomb_check._pillow_original = _pillow_bomb_check  # type: ignore[attr-defined]
    Image._decompression_bomb_check = _scoped_bomb_check  # type: ignore[attr-defined]


@contextlib.contextmanager
def own_pixel_limit(max_pixels: int) -> Iterator[None]:
    """Inside: Pillow's decompression-bomb limit is `max_pixels` in this thread only. Other
    threads, and this one afterwards, keep Pillow's guard (`Image.MAX_IMAGE_PIXELS`)."""
    previous = getattr(_SCOPE, "max_pixels", None)
    _SCOPE.max_pixels = int(max_pixels)
    try:
        yield
    finally:
        _SCOPE.max_pixels = previous


def _over_limit(name: str, w: int, h: int, max_pixels: int) -> ImageReadError:
    return ImageReadError(
        f"{name}: {w}x{h} = {w * h / 1e6:.0f} MP is over the limit of "
        f"{max_pixels / 1e6:.0f} MP (a decompression bomb guard; raise it with "
        "--max-pixels if the photo is genuine)")


def read_image(path: Path | str, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read any supported photo into L* at full resolution. Errors: `ImageReadError`."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageReadError(f"{name}: cannot open ({exc.strerror or exc})") from exc
    if size == 0:
        raise ImageReadError(f"{name}: the file is empty (0 bytes)")
    notes: list[str] = []
    try:
        with own_pixel_limit(max_pixels):  # our limit, with a clear message
            im = Image.open(path)
            w, h = im.size
            if w * h > max_pixels:
                raise _over_limit(name, w, h, max_pixels)
            fmt = (im.format or "").upper()
            if getattr(im, "n_frames", 1) > 1:
                notes.append(f"{name}: animated or multi-page image, using the first frame")
                im.seek(0)
            exif = im.info.get("exif")
            orientation = 1
            try:
                orientation = int(im.getexif().get(0x0112, 1))
            except Exception:  # noqa: BLE001 - a broken EXIF block must not stop the read
                notes.append(f"{name}: unreadable EXIF ignored")
            icc = im.info.get("icc_profile")
            xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
            if isinstance(xmp, str):
                xmp = xmp.encode("utf-8")
            mode, frames = im.mode, getattr(im, "n_frames", 1)
            arr, alpha, dtype, colour = _pixels(path, im, fmt, icc, notes)
    except ImageReadError:
        raise
    except _OverLimit as exc:
        raise _over_limit(name, *exc.size, max_pixels) from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{name}: not an image, or a format ColorStudio cannot read") from exc
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, Image.DecompressionBombError,
            tifffile.TiffFileError) as exc:
        raise ImageReadError(f"{name}: cannot decode (truncated or damaged file: {exc})") from exc
    arr = _orient(arr, orientation)
    if alpha is not None:
        alpha = np.ascontiguousarray(_orient(alpha, orientation))
    arr = np.ascontiguousarray(arr)
    bits = 16 if np.dtype(dtype) == np.uint16 else 8
    steps = [f"decoded {fmt or 'image'} ({mode}, {bits}-bit, {w}x{h})"]
    if frames > 1:
        steps.append(f"first of {frames} frames used")
    if mode == "CMYK":
        steps.append("CMYK converted to sRGB" + (" through its ICC profile" if icc else ""))
    elif icc and not _is_srgb(icc) and mode in ("RGB", "RGBA") and bits == 8:
        steps.append(f"converted from ICC profile '{_icc_name(icc)}' to sRGB")
    elif icc and not _is_srgb(icc) and bits == 16 and arr.ndim == 3:
        notes.append(f"{name}: 16-bit data in ICC profile '{_icc_name(icc)}' is read as sRGB")
        steps.append(f"ICC profile '{_icc_name(icc)}' not applied to 16-bit data (read as sRGB)")
    if mode == "P":
        steps.append("palette expanded")
    if orientation in _ORIENT:
        steps.append(f"EXIF orientation {orientation} applied ({_ORIENT[orientation]})")
    if alpha is not None:
        steps.append("alpha channel kept unchanged")
    if colour:
        notes.append(f"{name}: colour photo; its colour is discarded and only lightness is used")
        steps.append("colour discarded: only lightness (CIE L*) used")
        l_star = rgb_int_to_l(arr)
    else:
        l_star = grey_int_to_l(arr)
    steps.append(f"CIE L* at full resolution ({arr.shape[1]}x{arr.shape[0]})")
    return LoadedImage(np.ascontiguousarray(l_star, np.float32), np.dtype(dtype), alpha, colour,
                       icc, exif, xmp, fmt, path, notes, steps, bits)


def _pixels(path: Path, im: Image.Image, fmt: str, icc: bytes | None, notes: list[str]
            ) -> tuple[np.ndarray, np.ndarray | None, type, bool]:
    """-> (grey (H, W) or RGB (H, W, 3) array, alpha or None, uint8/uint16, is colour)."""
    mode = im.mode
    sixteen = mode.startswith("I;16") or mode in ("I", "F")
    if fmt == "TIFF":
        arr = tifffile.imread(path, key=0)
        if arr.dtype not in (np.uint8, np.uint16):
            if arr.dtype == np.bool_:
                arr = arr.astype(np.uint8) * 255
            else:
                arr = _rescale_to_u16(arr)
        return _split(arr, notes, path.name, im)
    if fmt == "PNG" and (sixteen or im.info.get("bits", 8) == 16 or _png_is_16(path)):
        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise ImageReadError(f"{path.name}: cannot decode PNG")
        if arr.ndim == 3:
            arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]] if arr.shape[2] == 4 else arr[..., ::-1]
        return _split(arr, notes, path.name, im)
    if sixteen:
        arr = np.asarray(im, dtype=np.int64)
        return np.clip(arr, 0, 65535).astype(np.uint16), None, np.uint16, False
    alpha = None
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        alpha = np.asarray(im.convert("RGBA"))[..., 3].copy()
    if mode == "CMYK" or (icc and not _is_srgb(icc) and mode in ("RGB", "RGBA")):
        im = _to_srgb(im, icc, notes, path.name)
    if mode in ("L", "LA", "1") or (mode == "P" and _palette_is_grey(im)):
        arr = np.asarray(im.convert("L"))
        return arr, alpha, np.uint8, False
    rgb = np.asarray(im.convert("RGB"))
    if _is_grey_rgb(rgb):
        return rgb[..., 0].copy(), alpha, np.uint8, False
    return rgb, alpha, np.uint8, True


def _split(arr: np.ndarray, notes: list[str], name: str, im: Image.Image
           ) -> tuple[np.ndarray, np.ndarray | None, type, bool]:
    dtype = np.uint16 if arr.dtype == np.uint16 else np.uint8
    if arr.ndim == 2:
        return arr, None, dtype, False
    if arr.ndim == 3 and arr.shape[2] == 1:
        return arr[..., 0], None, dtype, False
    if arr.ndim == 3 and arr.shape[2] == 2:
        return arr[..., 0], arr[..., 1].copy(), dtype, False
    if arr.ndim == 3 and arr.shape[2] >= 3:
        if arr.shape[2] == 4 and getattr(im, "mode", "") == "CMYK":
            rgb = np.asarray(im.convert("RGB"))
            return rgb, None, np.uint8, not _is_grey_rgb(rgb)
        alpha = arr[..., 3].copy() if arr.shape[2] >= 4 else None
        rgb = arr[..., :3]
        if _is_grey_rgb(rgb):
            return rgb[..., 0].copy(), alpha, dtype, False
        return rgb, alpha, dtype, True
    raise ImageReadError(f"{name}: unsupported pixel layout {arr.shape}")


def _rescale_to_u16(arr: np.ndarray) -> np.ndarray:
    a = arr.astype(np.float64)
    lo, hi = np.nanmin(a), np.nanmax(a)
    if arr.dtype.kind == "f" and lo >= 0 and hi <= 1:
        lo, hi = 0.0, 1.0
    return np.clip((a - lo) / max(hi - lo, 1e-12) * 65535, 0, 65535).astype(np.uint16)


def _png_is_16(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(26)
    return len(head) >= 25 and head[12:16] == b"IHDR" and head[24] == 16


def _palette_is_grey(im: Image.Image) -> bool:
    pal = im.getpalette() or []
    trip = np.array(pal[: len(pal) // 3 * 3]).reshape(-1, 3)
    return bool(len(trip)) and bool(np.all(trip[:, 0] == trip[:, 1])
                                    and np.all(trip[:, 1] == trip[:, 2]))


def _is_grey_rgb(rgb: np.ndarray, tol: int = 2) -> bool:
    """RGB with (near-)equal channels is a grey photo stored as RGB."""
    step = max(1, int(np.sqrt(rgb.shape[0] * rgb.shape[1] / 250_000)))
    s = rgb[::step, ::step].astype(np.int32)
    scale = 257 if rgb.dtype == np.uint16 else 1
    return bool(np.abs(s[..., 0] - s[..., 1]).max() <= tol * scale
                and np.abs(s[..., 1] - s[..., 2]).max() <= tol * scale)


def _to_srgb(im: Image.Image, icc: bytes | None, notes: list[str], name: str) -> Image.Image:
    if im.mode == "CMYK" and not icc:
        return im.convert("RGB")  # no profile: Pillow's naive CMYK -> RGB is all we know
    try:
        src = (ImageCms.ImageCmsProfile(io.BytesIO(icc)) if icc
               else ImageCms.createProfile("sRGB"))
        dst = ImageCms.createProfile("sRGB")
        mode_out = "RGBA" if im.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(im, src, dst, outputMode=mode_out)
    except (OSError, ImageCms.PyCMSError, ValueError):
        notes.append(f"{name}: colour profile could not be applied; assuming sRGB")
        return im.convert("RGB")


TEMP_PREFIX = ".~cs-"  # temporary files of atomic writes; never listed as inputs
TIFF_COMPRESSIONS = ("none", "lzw", "deflate")


_UMASK_LOCK = threading.Lock()


def process_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore (a file made meanwhile gets umask 022)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _new_temp(path: Path) -> Path:
    """An empty, new temp file beside `path` with the mode `cp` or an editor gives a new file:
    0666 less the process umask (0644 under umask 022), not mkstemp's owner-only 0600."""
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX + path.stem[:40] + ".", suffix=path.suffix,
                               dir=path.parent)
    try:
        mode = 0o666 & ~process_umask()
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        else:
            os.chmod(tmp, mode)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    return Path(tmp)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; a no-op where folders cannot be opened)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (network, FUSE) refuse fsync on a folder
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], object], *, durable: bool = True) -> None:
    """Call `write(tmp_path)` then rename over `path`; on any failure no file is left behind.

    `durable` (the default, for outputs, cards, weights, sidecars): the temp file's data is
    flushed to disk (fsync) before the rename, and the folder after it, so a power cut leaves
    the complete old file or the complete new one. Caches that can be rebuilt may pass False.
    The file gets the usual mode under the process umask (0644 under 022).
    """
    path = Path(path)
    tmp = _new_temp(path)
    try:
        write(tmp)
        if durable:
            _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if durable:
        _fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """`atomic_write` for UTF-8 text (cards, sidecars, JSON state files), flushed to disk."""
    atomic_write(Path(path), lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _write_bytes(fh: io.BufferedWriter, data: bytes) -> None:
    """Write all of `data` in 1 MiB blocks (a seam for tests that simulate a full disk)."""
    view = memoryview(data)
    for i in range(0, len(view), 1 << 20):
        fh.write(view[i:i + (1 << 20)])


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to a temp name beside `path`, flush it to disk, then rename over `path`.

    A crash, a kill or a full disk leaves either the complete old file or the complete new one,
    plus at most a hidden `.~cs-*` temp file that the next batch run removes.
    """
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            _write_bytes(fh, data)

    atomic_write(Path(path), write)


_SRGB_ICC: bytes | None = None


def srgb_profile() -> bytes:
    """The ICC profile embedded in every output: our pixels are sRGB."""
    global _SRGB_ICC
    if _SRGB_ICC is None:
        _SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _SRGB_ICC


def output_depth(ext: str, requested: np.dtype | type) -> np.dtype:
    """16-bit is kept only where the format holds it (PNG, TIFF); everything else is 8-bit."""
    if ext.lower() in (".png", ".tif", ".tiff"):
        return np.dtype(requested)
    return np.dtype(np.uint8)


def add_badge(rgb: np.ndarray, text: str = "AI colourised") -> np.ndarray:
    """A small visible mark in the bottom-right corner, for publication copies.

    rgb: (H, W, 3) float32 in [0, 1]; returns a copy. Scales with the image; images too small to
    hold legible text get no badge (the XMP still says what was done).
    """
    h, w = rgb.shape[:2]
    scale = max(min(w, h) / 900.0, 0.35)
    thick = max(1, round(scale * 1.5))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad = max(2, round(th * 0.4))
    bw, bh = tw + 2 * pad, th + base + 2 * pad
    if bw > w * 0.9 or bh > h * 0.5:
        return rgb.copy()
    out = np.ascontiguousarray(rgb, np.float32).copy()
    x0, y0 = w - bw - pad, h - bh - pad
    ink = np.zeros((bh, bw), np.uint8)  # OpenCV draws text on 8-bit images only
    cv2.putText(ink, text, (pad, pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick,
                cv2.LINE_AA)
    a = (ink.astype(np.float32) / 255.0)[..., None]
    box = out[y0:y0 + bh, x0:x0 + bw] * 0.35  # darkened box, white text
    out[y0:y0 + bh, x0:x0 + bw] = box * (1 - a) + a
    return np.clip(out, 0, 1)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (len(payload).to_bytes(4, "big") + kind + payload
            + zlib.crc32(kind + payload).to_bytes(4, "big"))


def _png_with_icc(data: bytes, icc: bytes) -> bytes:
    """Insert an iCCP chunk right after IHDR (cv2 cannot write one)."""
    ihdr_end = 8 + 8 + 13 + 4
    chunk = _png_chunk(b"iCCP", b"sRGB IEC61966-2.1\0\0" + zlib.compress(icc))
    return data[:ihdr_end] + chunk + data[ihdr_end:]


def encode_image(ext: str, rgb: np.ndarray, dtype: np.dtype | type = np.uint8,
                 alpha: np.ndarray | None = None, quality: int = 95,
                 icc_profile: bytes | None = None, exif: bytes | None = None,
                 compression: str = "deflate") -> bytes:
    """RGB float [0, 1] (H, W, 3) -> the encoded file's bytes, in memory.

    `dtype` uint16 is honoured for PNG and TIFF; other formats get 8-bit. Alpha (any depth) is
    re-attached where the format has it (PNG, TIFF, WebP). `compression` is for TIFF: none, lzw
    or deflate. Errors: `ImageWriteError`.
    """
    from .color import from_unit_float

    ext = ext.lower()
    if compression not in TIFF_COMPRESSIONS:
        raise ImageWriteError(f"unknown TIFF compression '{compression}' "
                              f"(choose {', '.join(TIFF_COMPRESSIONS)})")
    dtype = output_depth(ext, dtype)

    def quantise(img: np.ndarray) -> np.ndarray:
        q = from_unit_float(img, dtype)
        if q.shape != img.shape:  # cv2 fast paths read tiny arrays (1x1x3) as scalars
            q = np.rint(np.clip(img, 0, 1) * np.iinfo(dtype).max).astype(dtype)
        return q

    px = quantise(rgb)
    if alpha is not None and ext in (".png", ".tif", ".tiff", ".webp"):
        a = alpha
        if a.dtype != dtype:
            a = quantise(to_unit_float(a))
        px = np.concatenate([px, a[..., None]], axis=2)
    px = np.ascontiguousarray(px)
    buf = io.BytesIO()
    if ext in (".tif", ".tiff"):
        comp = {"none": None, "lzw": "lzw", "deflate": "zlib"}[compression]
        extratags = []
        if icc_profile:
            extratags.append((34675, 7, len(icc_profile), icc_profile, True))
        try:
            tifffile.imwrite(buf, px, photometric="rgb", compression=comp,
                             extrasamples=("unassalpha",) if px.shape[2] == 4 else None,
                             extratags=extratags, software="ColorStudio", metadata=None)
        except KeyError as exc:  # tifffile names the missing codec package
            raise ImageWriteError(f"TIFF {compression} compression is not available ({exc})"
                                  ) from exc
        return buf.getvalue()
    if ext == ".png" and dtype == np.uint16:
        bgr = px[..., [2, 1, 0, 3]] if px.shape[2] == 4 else px[..., ::-1]
        ok, enc = cv2.imencode(".png", np.ascontiguousarray(bgr))
        if not ok:
            raise ImageWriteError("PNG encoder failed")
        data = enc.tobytes()
        return _png_with_icc(data, icc_profile) if icc_profile else data
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP",
           ".bmp": "BMP"}.get(ext)
    if fmt is None:
        raise ImageWriteError(f"unsupported output format '{ext}'")
    mode = "RGBA" if px.shape[2] == 4 else "RGB"
    im = Image.fromarray(px, mode)
    kw: dict = {}
    if icc_profile and fmt != "BMP":
        kw["icc_profile"] = icc_profile
    if exif and fmt in ("JPEG", "WEBP", "PNG"):
        kw["exif"] = exif
    if fmt in ("JPEG", "WEBP"):
        kw["quality"] = quality
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def write_image(path: Path, rgb: np.ndarray, dtype: np.dtype | type = np.uint8,
                alpha: np.ndarray | None = None, quality: int = 95,
                icc_profile: bytes | None = None, exif: bytes | None = None,
                compression: str = "deflate", *,
                finish: Callable[[bytes], bytes] | None = None) -> None:
    """Write RGB float [0, 1] (H, W, 3) as `dtype` (uint8 / uint16) atomically.

    16-bit is written for PNG and TIFF; formats without 16-bit support get 8-bit. Alpha is
    re-attached where the format has it (PNG, TIFF, WebP). `finish(bytes) -> bytes` runs on the
    encoded file before it is written (provenance metadata is embedded there), so a file on disk
    is always complete, metadata included. Errors: `ImageWriteError`.
    """
    path = Path(path)
    try:
        data = encode_image(path.suffix, rgb, dtype, alpha, quality, icc_profile, exif,
                            compression)
    except ImageWriteError as exc:
        raise ImageWriteError(f"{path.name}: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise ImageWriteError(f"{path.name}: cannot encode ({exc})") from exc
    if finish is not None:
        data = finish(data)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ImageWriteError(f"{path.name}: cannot write ({exc.strerror or exc})") from exc


def exif_without_orientation(exif: bytes | None) -> bytes | None:
    """The original's EXIF with Orientation reset to 1 (pixels are already upright)."""
    if not exif:
        return None
    try:
        ex = Image.Exif()
        ex.load(exif)
        ex[0x0112] = 1
        return ex.tobytes()
    except Exception:  # noqa: BLE001 - unreadable EXIF is dropped, not fatal
        return None


__all__ = ["LoadedImage", "read_image", "write_image", "encode_image", "atomic_write",
           "atomic_write_bytes", "READ_FORMATS", "WRITE_FORMATS", "DEFAULT_MAX_PIXELS",
           "TIFF_COMPRESSIONS", "TEMP_PREFIX", "exif_without_orientation", "srgb_profile",
           "add_badge", "output_depth", "own_pixel_limit", "process_umask"]
