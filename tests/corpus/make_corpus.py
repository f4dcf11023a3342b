"""Generate the corpus of bad and awkward inputs (issue 6), with the expected outcome of each.

Nothing binary is committed: `make_corpus(folder)` writes every file and returns
{relative name: Expect}. Run as a script to look at the files:
    python tests/corpus/make_corpus.py /tmp/corpus
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image


@dataclass(frozen=True)
class Expect:
    what: str  # the row of the closing table
    ok: bool
    size: tuple[int, int] | None = None  # (width, height) of the output
    out_ext: str = ""  # output suffix
    bits: int = 8
    alpha: bool = False
    reason: str = ""  # a fragment of the one-line error
    hints: int = 0


def _grey(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = 0.2 + 0.6 * (xx / max(w - 1, 1)) * (0.6 + 0.4 * np.cos(yy / 7.0))
    return np.clip(g + rng.normal(0, 0.02, g.shape), 0, 1).astype(np.float32)


def _colour(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.clip(np.stack([0.5 + 0.45 * np.sin(xx / 5), 0.5 + 0.45 * np.cos(yy / 7),
                             0.5 + 0.45 * np.sin((xx + yy) / 11)], -1), 0, 1)


def _u8(a: np.ndarray) -> np.ndarray:
    return (a * 255 + 0.5).astype(np.uint8)


def _u16(a: np.ndarray) -> np.ndarray:
    return (a * 65535 + 0.5).astype(np.uint16)


def _png_bomb(w: int, h: int) -> bytes:
    """A PNG whose header claims w x h grey pixels; the data is a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def make_corpus(root: Path) -> dict[str, Expect]:
    root = Path(root)
    (root / "nested" / "deeper").mkdir(parents=True, exist_ok=True)
    ex: dict[str, Expect] = {}

    def save_pil(name: str, im: Image.Image, expect: Expect, **kw: object) -> None:
        im.save(root / name, **kw)
        ex[name] = expect

    (root / "zero_byte.png").write_bytes(b"")
    ex["zero_byte.png"] = Expect("zero-byte file", False, reason="empty (0 bytes)")

    buf = io.BytesIO()
    Image.fromarray(_u8(_grey(200, 300))).save(buf, "JPEG", quality=90)
    (root / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    ex["truncated.jpg"] = Expect("truncated JPEG", False, reason="truncated")

    buf = io.BytesIO()
    Image.fromarray(_u8(_grey(120, 160))).save(buf, "PNG")
    (root / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    ex["truncated.png"] = Expect("truncated PNG", False, reason="truncated")

    (root / "not_an_image.jpg").write_text("This is a shopping list, not a photograph.\n" * 20)
    ex["not_an_image.jpg"] = Expect("text file named .jpg", False, reason="not an image")

    (root / "bomb.png").write_bytes(_png_bomb(60000, 60000))
    ex["bomb.png"] = Expect("decompression bomb (60000x60000 claimed, 1 KB)", False,
                            reason="over the limit")

    cmyk = Image.fromarray(_u8(_colour(90, 130))).convert("CMYK")
    save_pil("cmyk.jpg", cmyk, Expect("CMYK JPEG", True, (130, 90), ".jpg"), quality=92)

    pal = Image.fromarray(_u8(_grey(64, 96))).convert("P", palette=Image.Palette.ADAPTIVE,
                                                      colors=16)
    pal.info["transparency"] = 0
    save_pil("palette_transparency.png", pal,
             Expect("palette + transparency PNG", True, (96, 64), ".png", alpha=True),
             transparency=0)

    frames = [Image.fromarray(_u8(_grey(50, 70, seed=i))).convert("P") for i in range(3)]
    frames[0].save(root / "animated.gif", save_all=True, append_images=frames[1:], duration=100,
                   loop=0)
    ex["animated.gif"] = Expect("animated GIF (3 frames)", True, (70, 50), ".png")

    import cv2

    cv2.imwrite(str(root / "grey16.png"), _u16(_grey(80, 120)))
    ex["grey16.png"] = Expect("16-bit grey PNG", True, (120, 80), ".png", bits=16)

    tifffile.imwrite(root / "grey16.tif", _u16(_grey(90, 110)), compression="zlib")
    ex["grey16.tif"] = Expect("16-bit grey TIFF (deflate)", True, (110, 90), ".tif", bits=16)

    rgba16 = np.dstack([np.repeat(_u16(_grey(40, 60))[..., None], 3, 2),
                        np.full((40, 60), 40000, np.uint16)])
    tifffile.imwrite(root / "rgba16.tif", rgba16, photometric="rgb", extrasamples=("unassalpha",))
    ex["rgba16.tif"] = Expect("16-bit RGBA TIFF", True, (60, 40), ".tif", bits=16, alpha=True)

    g = _u8(_grey(70, 90))
    rgba = np.dstack([g, g, g, np.linspace(0, 255, 90, dtype=np.uint8)[None].repeat(70, 0)])
    save_pil("rgba.png", Image.fromarray(rgba, "RGBA"),
             Expect("RGBA PNG", True, (90, 70), ".png", alpha=True))

    la = Image.fromarray(np.dstack([g, np.full_like(g, 200)]), "LA")
    save_pil("grey_alpha.png", la, Expect("grey + alpha PNG", True, (90, 70), ".png", alpha=True))

    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    exif[0x013B] = "Rotated Photographer"
    save_pil("exif_rotated.jpg", Image.fromarray(_u8(_grey(60, 100))),
             Expect("EXIF orientation 6 (stored 100x60)", True, (60, 100), ".jpg"),
             exif=exif.tobytes())

    save_pil("one_pixel.png", Image.fromarray(np.array([[128]], np.uint8)),
             Expect("1x1 pixel", True, (1, 1), ".png"))

    save_pil("extreme_5000x20.png", Image.fromarray(_u8(_grey(20, 5000))),
             Expect("extreme aspect 5000x20", True, (5000, 20), ".png"))

    save_pil("colour_photo.jpg", Image.fromarray(_u8(_colour(80, 120))),
             Expect("colour photo (colour discarded)", True, (120, 80), ".jpg"), quality=92)

    save_pil("grey.webp", Image.fromarray(_u8(_grey(64, 64))),
             Expect("WebP", True, (64, 64), ".webp"), lossless=True)
    save_pil("grey.bmp", Image.fromarray(_u8(_grey(30, 40))),
             Expect("BMP (written as PNG)", True, (40, 30), ".png"))

    save_pil("nested/deeper/unicode ü 名前 with spaces.png", Image.fromarray(_u8(_grey(48, 64))),
             Expect("unicode + spaces in name, 2 folders deep", True, (64, 48), ".png"))

    save_pil("with_hints.png", Image.fromarray(_u8(_grey(64, 80))),
             Expect("valid hints sidecar (2 hints)", True, (80, 64), ".png", hints=2))
    (root / "with_hints.hints.json").write_text(json.dumps({
        "points": [{"x": 10, "y": 10, "radius": 3, "rgb": [200, 40, 40]}],
        "strokes": [{"points": [[20, 30], [60, 30]], "width": 4, "rgb": [40, 60, 200]}]}))

    save_pil("hostile_hints.png", Image.fromarray(_u8(_grey(40, 40))),
             Expect("hostile hints sidecar (malformed)", False, reason="hostile_hints.hints.json"))
    (root / "hostile_hints.hints.json").write_text(json.dumps(
        {"points": [{"x": float("1e308"), "y": "0", "rgb": [1, 2]}], "evil": True}))

    save_pil("huge_hints.png", Image.fromarray(_u8(_grey(40, 40))),
             Expect("hints sidecar over 4 MB", False, reason="larger than"))
    (root / "huge_hints.hints.json").write_text(" " * (5 * 1024 * 1024))

    save_pil("deep_hints.png", Image.fromarray(_u8(_grey(40, 40))),
             Expect("hints sidecar nested 100000 deep", False, reason="deep_hints.hints.json"))
    (root / "deep_hints.hints.json").write_text("[" * 100_000)
    return ex


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus")
    for name, e in make_corpus(out).items():
        print(f"{name}\t{e.what}\t{'ok' if e.ok else 'fails: ' + e.reason}")
