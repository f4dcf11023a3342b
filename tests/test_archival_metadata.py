"""Issue 6: provenance and carried-over metadata round trips, bit depth, ICC, TIFF compression."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pyexiv2
import pytest
import tifffile
from PIL import Image

from colorstudio.cli import main
from colorstudio.core.hints import HintPoint, HintSet
from colorstudio.core.imageio import add_badge
from colorstudio.core.metadata import (DIGITAL_SOURCE_TYPE, Provenance, build_xmp,
                                       read_file_metadata)
from colorstudio.engine.batch import Colorizer

OLD_HISTORY_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
  xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
  xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
  xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
  photoshop:DateCreated="1923-05-17" xmpMM:DocumentID="xmp.did:original-scan-42"
  tiff:Orientation="1">
 <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour, 1923</rdf:li></rdf:Alt></dc:title>
 <dc:creator><rdf:Seq><rdf:li>Jane Photographer</rdf:li></rdf:Seq></dc:creator>
 <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">Public domain</rdf:li></rdf:Alt></dc:rights>
 <xmpMM:History><rdf:Seq><rdf:li rdf:parseType="Resource">
  <stEvt:action>created</stEvt:action><stEvt:softwareAgent>ScanStation 3</stEvt:softwareAgent>
  <stEvt:when>2019-01-02T03:04:05Z</stEvt:when></rdf:li></rdf:Seq></xmpMM:History>
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def make_original(path: Path, make_grey, bits: int = 8) -> None:
    """A grey original with EXIF (artist, copyright, caption, date), IPTC and XMP."""
    g = make_grey(48, 64)
    if path.suffix == ".tif":
        arr = (g * (65535 if bits == 16 else 255)).astype(np.uint16 if bits == 16 else np.uint8)
        tifffile.imwrite(path, arr, metadata=None)
    elif bits == 16:
        cv2.imwrite(str(path), (g * 65535).astype(np.uint16))
    else:
        Image.fromarray((g * 255).astype(np.uint8)).save(path)
    with pyexiv2.Image(str(path)) as im:
        im.modify_exif({"Exif.Image.Artist": "Jane Photographer",
                        "Exif.Image.Copyright": "Public domain",
                        "Exif.Image.ImageDescription": "Harbour with steamships",
                        "Exif.Photo.DateTimeOriginal": "1923:05:17 10:00:00"})
        if path.suffix != ".webp":
            im.modify_iptc({"Iptc.Application2.Caption": "Harbour with steamships",
                            "Iptc.Application2.Byline": ["Jane Photographer"]})
        im.modify_raw_xmp(OLD_HISTORY_XMP)


@pytest.fixture
def colorizer(tiny_store) -> Colorizer:
    return Colorizer(tiny_store, "cpu")


@pytest.mark.parametrize("ext", [".png", ".tif", ".jpg", ".webp"])
def test_metadata_round_trip(tmp_path: Path, make_grey, colorizer: Colorizer, tiny_cards,
                             ext: str) -> None:
    src = tmp_path / f"harbour ü{ext}"
    make_original(src, make_grey)
    h0 = sha(src)
    hints = HintSet((HintPoint(5, 5, 2, (200, 30, 30)),))
    dst = tmp_path / "out" / f"harbour_colorized{ext}"
    res = colorizer.colorize_file(src, dst, "tiny_guided_unet", hints)
    assert res.status == "ok", res.error
    assert sha(src) == h0  # the original is never modified

    meta = read_file_metadata(dst)
    p = meta.provenance
    card = tiny_cards["tiny_guided_unet"]
    assert meta.is_colorstudio_output
    assert p["DigitalSourceType"] == DIGITAL_SOURCE_TYPE
    assert p["DerivedFrom"]["filePath"] == src.name
    assert p["DerivedFrom"]["SHA256"] == h0 == p["SourceSHA256"]
    assert p["DerivedFrom"]["documentID"] == "xmp.did:original-scan-42"
    assert (p["ModelID"], p["ModelVersion"], p["WeightsSHA256"]) == (
        card.id, card.version, card.sha256)
    assert p["HintsCount"] == "1" and p["HintsSource"] == "in-app" and len(p["HintsSHA256"]) == 64
    assert any("predicted by tiny_guided_unet" in s for s in p["Preprocessing"])
    # The original's history is kept and ours appended: action, agent with version, time.
    assert [e["action"] for e in p["History"]] == ["created", "derived"]
    from colorstudio import __version__

    assert p["History"][-1]["softwareAgent"] == f"ColorStudio {__version__}"
    assert p["History"][-1]["when"][:2] == "20"
    # Carried over: XMP dc/photoshop, EXIF, IPTC (WebP has no IPTC block in exiv2).
    d = meta.descriptive
    assert d["dc:title"] == "Harbour, 1923" and d["dc:creator"] == ["Jane Photographer"]
    assert d["dc:rights"] == "Public domain" and d["photoshop:DateCreated"] == "1923-05-17"
    assert meta.exif["Exif.Image.Artist"] == "Jane Photographer"
    assert meta.exif["Exif.Image.Copyright"] == "Public domain"
    assert meta.exif["Exif.Photo.DateTimeOriginal"] == "1923:05:17 10:00:00"
    if ext != ".webp":
        assert meta.iptc["Iptc.Application2.Caption"] == "Harbour with steamships"
    assert "sRGB" in meta.icc
    # Pillow sees the same XMP and ICC (interoperability, not just exiv2 reading itself).
    with Image.open(dst) as im:
        assert DIGITAL_SOURCE_TYPE.encode() in (im.info.get("xmp") or b"") or ext == ".tif"
        assert im.info.get("icc_profile") or ext == ".tif"


def test_info_command_prints_provenance(tmp_path: Path, make_grey, colorizer, capsys) -> None:
    src = tmp_path / "scan.tif"
    make_original(src, make_grey, bits=16)
    dst = tmp_path / "scan_colorized.tif"
    assert colorizer.colorize_file(src, dst, "tiny_guided_unet").status == "ok"
    assert main(["info", str(dst)]) == 0
    text = capsys.readouterr().out
    for frag in ("colourised by ColorStudio", DIGITAL_SOURCE_TYPE, "Derived from: scan.tif",
                 sha(src), "Model: tiny_guided_unet version", "Preprocessing:",
                 "History: derived by ColorStudio", "Jane Photographer", "Colour profile: sRGB"):
        assert frag in text, frag
    assert main(["info", "--json", str(dst)]) == 0
    assert '"colorstudio_output": true' in capsys.readouterr().out
    # An original has no provenance; a non-image is one clear line, exit 1.
    assert main(["info", str(src)]) == 0
    assert "none recorded" in capsys.readouterr().out
    (tmp_path / "x.png").write_text("nope")
    assert main(["info", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "x.png" in err[0]


@pytest.mark.parametrize("ext,bits,depth,want_bits", [
    (".png", 16, None, 16), (".tif", 16, None, 16), (".png", 8, None, 8), (".tif", 8, None, 8),
    (".png", 8, 16, 16), (".tif", 16, 8, 8)])
def test_bit_depth_rules(tmp_path: Path, make_grey, colorizer, ext, bits, depth,
                         want_bits) -> None:
    src = tmp_path / f"in{ext}"
    make_original(src, make_grey, bits=bits)
    dst = tmp_path / f"out{ext}"
    assert colorizer.colorize_file(src, dst, "tiny_guided_unet", depth=depth).status == "ok"
    a = tifffile.imread(dst) if ext == ".tif" else cv2.imread(str(dst), cv2.IMREAD_UNCHANGED)
    assert a.dtype == (np.uint16 if want_bits == 16 else np.uint8)
    assert a.shape == (48, 64, 3)
    if want_bits == 16:  # real 16-bit data, not 8-bit values scaled up
        assert np.any(a % 257 != 0)


def test_16_bit_to_jpeg_is_8_bit_with_a_note_and_cli_refuses_depth_16_jpeg(
        tmp_path: Path, make_grey, colorizer, tiny_models, capsys) -> None:
    src = tmp_path / "in.tif"
    make_original(src, make_grey, bits=16)
    res = colorizer.colorize_file(src, tmp_path / "o.jpg", "tiny_guided_unet")
    assert res.status == "ok" and any("holds 8 bits" in m for m in res.messages)
    rc = main(["--models-dir", str(tiny_models), "colorize", str(src), "--format", "jpg",
               "--depth", "16", "-o", str(tmp_path / "x")])
    assert rc == 2 and "--depth 16 needs PNG or TIFF" in capsys.readouterr().err


@pytest.mark.parametrize("compression,tag", [("none", 1), ("lzw", 5), ("deflate", 8)])
def test_tiff_compression(tmp_path: Path, make_grey, tiny_models, compression, tag) -> None:
    src = tmp_path / "in.tif"
    make_original(src, make_grey, bits=16)
    out = tmp_path / "o"
    assert main(["--models-dir", str(tiny_models), "colorize", str(src), "-o", str(out),
                 "--compression", compression]) == 0
    dst = out / "in_colorized.tif"
    with tifffile.TiffFile(dst) as tf:
        page = tf.pages.first
        assert int(page.compression) == tag
        assert page.dtype == np.uint16
        assert 34675 in page.tags  # ICC profile
        assert 700 in page.tags  # XMP
    assert read_file_metadata(dst).is_colorstudio_output


def test_16_bit_png_carries_icc_in_iccp(tmp_path: Path, make_grey, colorizer) -> None:
    src = tmp_path / "in.png"
    make_original(src, make_grey, bits=16)
    dst = tmp_path / "o.png"
    assert colorizer.colorize_file(src, dst, "tiny_guided_unet").status == "ok"
    data = dst.read_bytes()
    assert b"iCCP" in data and b"iTXt" in data
    with Image.open(dst) as im:
        assert im.info.get("icc_profile")


def test_badge_is_off_by_default_and_visible_when_asked(tmp_path: Path, make_grey,
                                                        colorizer) -> None:
    src = tmp_path / "in.png"
    Image.fromarray((make_grey(300, 400) * 255).astype(np.uint8)).save(src)
    plain, marked = tmp_path / "a.png", tmp_path / "b.png"
    assert colorizer.colorize_file(src, plain, "tiny_guided_unet").status == "ok"
    assert colorizer.colorize_file(src, marked, "tiny_guided_unet", badge=True).status == "ok"
    a, b = np.asarray(Image.open(plain)), np.asarray(Image.open(marked))
    diff = np.any(a != b, axis=2)
    ys, xs = np.nonzero(diff)
    assert diff.sum() > 100 and ys.min() > 300 * 0.75 and xs.min() > 400 * 0.5  # corner only
    assert read_file_metadata(marked).provenance["VisibleBadge"] == "True"
    assert read_file_metadata(plain).provenance["VisibleBadge"] == "False"
    tiny = np.zeros((4, 4, 3), np.float32)
    assert np.array_equal(add_badge(tiny), tiny)  # too small for legible text: untouched


def test_build_xmp_escapes_and_ignores_hostile_original_xmp() -> None:
    prov = Provenance("a<b>&\"c\".png", "0" * 64, "m", "1", "f" * 64, ("step <1>",))
    hostile = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
               '<x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>')
    from colorstudio.core.metadata import _parse_xmp

    for original in (hostile, "<x:xmpmeta>" * 10, "\x00\xff garbage", "a" * (5 << 20)):
        xmp = build_xmp(prov, original)
        root = _parse_xmp(xmp)
        assert root is not None
        assert "a&lt;b&gt;&amp;" in xmp
