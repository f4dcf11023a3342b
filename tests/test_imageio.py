"""core/imageio.py, basic reading: formats, bit depths, EXIF orientation, alpha, palette/CMYK/LA,
animated first frame, the pixel limit, colour input. (The archival corpus - damaged files,
ICC, metadata round trips - is covered by tests/test_archival_*.py.)"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from colorstudio.core import color as C
from colorstudio.core.errors import ImageReadError
from colorstudio.core.imageio import read_image, write_image

H, W = 30, 40


@pytest.fixture
def g8() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return ((xx * 6 + yy * 3) % 256).astype(np.uint8)


@pytest.fixture
def g16() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return ((xx * 1601 + yy * 907) % 65536).astype(np.uint16)


@pytest.fixture
def rgb8(g8) -> np.ndarray:
    return np.dstack([g8, 255 - g8, g8 // 2])


def _exact_grey(img, grey: np.ndarray) -> None:
    assert img.l_star.dtype == np.float32 and img.l_star.shape == grey.shape
    assert np.abs(img.l_star - C.grey_int_to_l(grey)).max() < 1e-4
    assert not img.was_colour


@pytest.mark.parametrize("ext,kw", [(".png", {}), (".tif", {}), (".bmp", {}),
                                    (".webp", {"lossless": True})])
def test_8bit_grey_formats_read_exactly(tmp_path: Path, g8, ext, kw):
    f = tmp_path / f"g{ext}"
    Image.fromarray(g8).save(f, **kw)
    img = read_image(f)
    assert img.dtype == np.uint8 and img.size == (W, H)
    _exact_grey(img, g8)
    assert img.alpha is None and img.warnings == []


def test_8bit_grey_jpeg(tmp_path: Path, g8):
    f = tmp_path / "g.jpg"
    Image.fromarray(g8).save(f, quality=95)
    img = read_image(f)
    decoded = np.asarray(Image.open(f).convert("L"))
    assert img.dtype == np.uint8 and img.format == "JPEG"
    _exact_grey(img, decoded)


def test_grey_stored_as_rgb_is_grey(tmp_path: Path, g8):
    f = tmp_path / "grey_rgb.png"
    Image.fromarray(np.dstack([g8] * 3)).save(f)
    img = read_image(f)
    _exact_grey(img, g8)
    assert img.warnings == []  # not a colour photo: no note


@pytest.mark.parametrize("writer", ["png_cv2", "png_pil", "tif"])
def test_16bit_grey_keeps_its_depth(tmp_path: Path, g16, writer):
    f = tmp_path / ("g16.tif" if writer == "tif" else "g16.png")
    if writer == "png_cv2":
        cv2.imwrite(str(f), g16)
    elif writer == "png_pil":
        Image.fromarray(g16).save(f)
    else:
        tifffile.imwrite(f, g16)
    img = read_image(f)
    assert img.dtype == np.uint16
    _exact_grey(img, g16)


@pytest.mark.parametrize("ext", [".tif", ".png"])
def test_16bit_rgb_colour_input(tmp_path: Path, g16, ext):
    rgb = np.dstack([g16, 65535 - g16, g16 // 2])
    f = tmp_path / f"c16{ext}"
    if ext == ".tif":
        tifffile.imwrite(f, rgb, photometric="rgb")
    else:
        cv2.imwrite(str(f), np.ascontiguousarray(rgb[..., ::-1]))
    img = read_image(f)
    assert img.dtype == np.uint16 and img.was_colour
    assert np.abs(img.l_star - C.rgb_int_to_l(rgb)).max() < 1e-4


@pytest.mark.parametrize("ext,kw", [(".png", {}), (".bmp", {}), (".tif", {}),
                                    (".webp", {"lossless": True}), (".jpg", {"quality": 95})])
def test_colour_input_becomes_l_with_a_note(tmp_path: Path, rgb8, ext, kw):
    f = tmp_path / f"colour{ext}"
    Image.fromarray(rgb8).save(f, **kw)
    img = read_image(f)
    decoded = np.asarray(Image.open(f).convert("RGB"))
    assert img.was_colour and img.dtype == np.uint8
    assert np.abs(img.l_star - C.rgb_to_l(decoded / 255.0)).max() < 1e-3
    assert any("colour" in w and "lightness" in w for w in img.warnings)
    assert all("\n" not in w for w in img.warnings)


@pytest.mark.parametrize("code,op", [
    (1, lambda a: a), (2, np.fliplr), (3, lambda a: np.rot90(a, 2)), (4, np.flipud),
    (5, lambda a: a.T), (6, lambda a: np.rot90(a, -1)), (7, lambda a: np.rot90(a, 2).T),
    (8, lambda a: np.rot90(a, 1)),
])
def test_exif_orientation_is_applied(tmp_path: Path, code, op):
    stored = np.zeros((H, W), np.uint8)
    stored[:8, :8] = 255  # a bright block in the stored top-left corner
    stored[-8:, :8] = 128  # a mid-grey block bottom-left: every orientation is distinct
    exif = Image.Exif()
    exif[0x0112] = code
    f = tmp_path / f"o{code}.png"
    Image.fromarray(stored).save(f, exif=exif.tobytes())
    img = read_image(f)
    upright = op(stored)
    assert img.l_star.shape == upright.shape
    _exact_grey(img, upright)


def test_exif_rotated_jpeg(tmp_path: Path):
    stored = np.zeros((H, W), np.uint8)
    stored[:10, :10] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    f = tmp_path / "rot.jpg"
    Image.fromarray(stored).save(f, exif=exif.tobytes(), quality=100)
    img = read_image(f)
    assert img.l_star.shape == (W, H)
    assert img.l_star[:8, -8:].mean() > 95 and img.l_star[:8, :8].mean() < 5
    assert img.exif  # kept for the output (with the orientation reset there)


def test_alpha_is_kept_rgba_la_and_palette(tmp_path: Path, g8, rgb8):
    alpha = (255 - g8).astype(np.uint8)
    f = tmp_path / "rgba.png"
    Image.fromarray(np.dstack([rgb8, alpha]), "RGBA").save(f)
    img = read_image(f)
    assert img.was_colour and np.array_equal(img.alpha, alpha)

    f = tmp_path / "la.png"
    Image.merge("LA", [Image.fromarray(g8), Image.fromarray(alpha)]).save(f)
    img = read_image(f)
    _exact_grey(img, g8)
    assert np.array_equal(img.alpha, alpha)

    f = tmp_path / "pt.png"
    p = Image.fromarray(g8).convert("P")
    p.info["transparency"] = int(p.getpixel((0, 0)))
    p.save(f, transparency=int(p.getpixel((0, 0))))
    img = read_image(f)
    assert img.alpha is not None and img.alpha[0, 0] == 0 and img.alpha.max() == 255


def test_16bit_alpha_is_kept(tmp_path: Path, g16):
    alpha = (65535 - g16).astype(np.uint16)
    f = tmp_path / "ga16.png"
    cv2.imwrite(str(f), np.dstack([g16, g16, g16, alpha]))
    img = read_image(f)
    assert img.dtype == np.uint16 and img.alpha.dtype == np.uint16
    assert np.array_equal(img.alpha, alpha)
    _exact_grey(img, g16)


def test_palette_images(tmp_path: Path, g8, rgb8):
    f = tmp_path / "pgrey.png"
    Image.fromarray(g8).convert("P").save(f)
    assert Image.open(f).mode == "P"
    _exact_grey(read_image(f), g8)

    f = tmp_path / "pcolour.png"
    pal = Image.fromarray(rgb8).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    pal.save(f)
    img = read_image(f)
    assert img.was_colour
    expected = C.rgb_int_to_l(np.asarray(pal.convert("RGB")))
    assert np.abs(img.l_star - expected).max() < 1e-4


@pytest.mark.parametrize("ext", [".jpg", ".tif"])
def test_cmyk_is_converted(tmp_path: Path, rgb8, ext):
    f = tmp_path / f"cmyk{ext}"
    Image.fromarray(rgb8).convert("CMYK").save(f)
    img = read_image(f)
    expected = C.rgb_int_to_l(np.asarray(Image.open(f).convert("RGB")))
    assert img.l_star.shape == (H, W) and img.was_colour
    assert np.abs(img.l_star - expected).max() < 0.5


def test_cmyk_jpeg_without_profile_gives_no_profile_warning(tmp_path: Path, rgb8):
    f = tmp_path / "cmyk.jpg"
    Image.fromarray(rgb8).convert("CMYK").save(f)
    img = read_image(f)
    assert not any("profile" in w for w in img.warnings), img.warnings


@pytest.mark.parametrize("ext,kw", [(".gif", {}), (".webp", {"lossless": True}),
                                    (".tif", {}), (".png", {})])
def test_animated_or_multipage_uses_first_frame_with_warning(tmp_path: Path, g8, ext, kw):
    f = tmp_path / f"anim{ext}"
    frames = [Image.fromarray(g8), Image.fromarray(255 - g8)]
    frames[0].save(f, save_all=True, append_images=frames[1:], **kw)
    assert getattr(Image.open(f), "n_frames", 1) == 2
    img = read_image(f)
    first = np.asarray(Image.open(f).convert("L"))
    _exact_grey(img, first)
    assert np.abs(first.astype(int) - g8).max() <= 1
    assert any("first frame" in w for w in img.warnings)


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that claims width x height but carries no pixel data (a bomb's cheap header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_pixel_limit_refuses_decompression_bombs(tmp_path: Path):
    f = tmp_path / "bomb.png"
    _png_header_only(f, 40_000, 30_000)  # 1.2 gigapixels, a few bytes on disk
    with pytest.raises(ImageReadError) as err:
        read_image(f)
    msg = str(err.value)
    assert "bomb.png" in msg and "1200 MP" in msg and "limit" in msg and "\n" not in msg


def test_pixel_limit_is_adjustable(tmp_path: Path, g8):
    f = tmp_path / "big.png"
    big = np.tile(g8, (50, 50))  # 1500 x 2000 = 3 MP
    Image.fromarray(big).save(f)
    with pytest.raises(ImageReadError, match="3 MP is over the limit of 1 MP"):
        read_image(f, max_pixels=1_000_000)
    assert read_image(f, max_pixels=4_000_000).size == (2000, 1500)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\ntrunc"])
def test_unreadable_files_give_one_line(tmp_path: Path, content):
    f = tmp_path / "bad.png"
    f.write_bytes(content)
    with pytest.raises(ImageReadError) as err:
        read_image(f)
    assert str(err.value).startswith("bad.png") and "\n" not in str(err.value)
    with pytest.raises(ImageReadError, match="missing.jpg"):
        read_image(tmp_path / "missing.jpg")


@pytest.mark.parametrize("ext,dtype", [(".png", np.uint16), (".tif", np.uint16),
                                       (".png", np.uint8), (".jpg", np.uint8)])
def test_written_result_reads_back_with_depth_and_alpha(tmp_path: Path, ext, dtype, make_colour):
    rgb = make_colour(H, W)
    alpha = np.linspace(0, np.iinfo(dtype).max, H * W).reshape(H, W).astype(dtype)
    f = tmp_path / f"out{ext}"
    write_image(f, rgb, dtype, alpha if ext != ".jpg" else None)
    back = read_image(f)
    assert back.size == (W, H) and back.dtype == dtype and back.was_colour
    if ext != ".jpg":
        assert np.array_equal(back.alpha, alpha)
    assert [p.name for p in tmp_path.iterdir()] == [f.name]  # atomic: no temp file left
