"""Issue 6, security: weights only through safetensors and verified by sha256 before use; hints
sidecars, model cards and an original's XMP parsed defensively - hostile files give one line,
never a crash, a hang or executed code. Driven through the CLI as a user would meet them."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from colorstudio.cli import main
from colorstudio.core.cards import discover_cards, load_card, sha256_file
from colorstudio.core.errors import ModelError
from colorstudio.core.metadata import read_file_metadata


class Boom:
    """A pickle that would create a marker file if it were ever unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


@pytest.fixture
def models_copy(tmp_path: Path, tiny_models: Path) -> Path:
    d = tmp_path / "models"
    d.mkdir()
    for f in tiny_models.iterdir():
        if f.name.startswith("tiny_guided_unet"):
            shutil.copy(f, d / f.name)
    return d


@pytest.fixture
def photo(tmp_path: Path, make_grey) -> Path:
    p = tmp_path / "photo.png"
    Image.fromarray((make_grey(32, 48) * 255).astype(np.uint8)).save(p)
    return p


def one_error_line(capsys) -> str:
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln and not ln.startswith("note:")]
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


def test_tampered_weights_are_refused_before_use(models_copy: Path, photo: Path, tmp_path,
                                                 capsys) -> None:
    card = discover_cards([models_copy])["tiny_guided_unet"]
    w = card.weights_path
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    w.write_bytes(bytes(data))
    rc = main(["--models-dir", str(models_copy), "colorize", str(photo), "-o", str(tmp_path / "o")])
    assert rc == 2  # the model is unusable: a usage error, before any file is touched
    assert "sha256 does not match the model card" in one_error_line(capsys)
    assert not (tmp_path / "o").exists()


def test_pickle_disguised_as_safetensors_is_never_unpickled(models_copy: Path, photo: Path,
                                                            tmp_path: Path, capsys) -> None:
    marker = tmp_path / "pwned"
    card = discover_cards([models_copy])["tiny_guided_unet"]
    w = card.weights_path
    w.write_bytes(pickle.dumps(Boom(marker)))
    toml = card.path.read_text(encoding="utf-8").replace(card.sha256, sha256_file(w))
    card.path.write_text(toml, encoding="utf-8")  # the attacker also fixed up the card's hash
    rc = main(["--models-dir", str(models_copy), "colorize", str(photo), "-o", str(tmp_path / "o")])
    assert rc == 2
    assert "not a valid safetensors file" in one_error_line(capsys)
    assert not marker.exists()


def test_import_pth_refuses_pickled_code(tmp_path: Path) -> None:
    import torch

    from colorstudio.engine.weights import import_pth

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"w": Boom(marker)}, evil)
    with pytest.raises(ModelError, match="evil.pth: cannot import"):
        import_pth(evil, tmp_path / "out.safetensors")
    assert not marker.exists() and not (tmp_path / "out.safetensors").exists()


@pytest.mark.parametrize("text", [
    "a = " + "[" * 100_000,  # nesting bomb
    'id = "x"\nname = "x"\nversion = "1"\narch = "guided_unet"\npaper = "p"\n'
    "config = { a = " + "{ b = " * 20_000,
    "x" * (300 * 1024),  # over the size limit
    'id = "../../etc"\nname = "x"\nversion = "1"\narch = "guided_unet"\npaper = "p"\n',
    'id = "x"\nname = 5\nversion = "1"\narch = "guided_unet"\npaper = "p"\n',
    "\xff\xfe binary \x00",
])
def test_hostile_model_cards_are_skipped_not_fatal(models_copy: Path, photo: Path, tmp_path,
                                                   text: str) -> None:
    bad = models_copy / "hostile.toml"
    bad.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ModelError):
        load_card(bad)
    assert set(discover_cards([models_copy])) == {"tiny_guided_unet"}
    assert main(["--models-dir", str(models_copy), "models"]) == 0
    if text.startswith("a = "):  # and the good model still colourises (once is enough)
        assert main(["--models-dir", str(models_copy), "colorize", str(photo),
                     "-o", str(tmp_path / "o")]) == 0


@pytest.mark.parametrize("content,fragment", [
    ("[" * 200_000, "cannot read hints"),
    (" " * (5 * 1024 * 1024), "larger than"),
    (json.dumps({"points": [{"x": 1, "y": 1, "rgb": [1, 2, 3, 4]}]}), "'rgb' must be"),
    (json.dumps({"points": [{"x": float("nan"), "y": 1, "rgb": [1, 2, 3]}]}), "finite number"),
    (json.dumps({"strokes": [{"points": [[0, 0]] * 100_001, "rgb": [1, 2, 3]}]}),
     "too many points"),
    (json.dumps({"points": "x" * 100}), "must be lists"),
    ("\ud800", "cannot read hints"),
])
def test_hostile_hints_file_is_one_line(tiny_models: Path, photo: Path, tmp_path: Path, capsys,
                                        content: str, fragment: str) -> None:
    h = tmp_path / "evil.hints.json"
    h.write_bytes(content.encode("utf-8", "surrogatepass"))
    rc = main(["--models-dir", str(tiny_models), "colorize", str(photo), "--hints", str(h),
               "-o", str(tmp_path / "o")])
    assert rc == 2  # a bad --hints file is a usage error
    line = one_error_line(capsys)
    assert "evil.hints.json" in line and fragment in line
    assert not (tmp_path / "o").exists()


def test_extreme_but_valid_hints_finish_quickly_or_fail_in_one_line(
        tiny_models: Path, photo: Path, tmp_path: Path, capsys) -> None:
    h = tmp_path / "photo.hints.json"  # a sidecar, picked up automatically
    h.write_text(json.dumps({
        "points": [{"x": 1e7, "y": -1e7, "radius": 1e7, "rgb": [255, 0, 0]}],
        "strokes": [{"points": [[0, 0], [1e7, 1e7]], "width": 1e7, "rgb": [0, 0, 255]}]}))
    rc = main(["--models-dir", str(tiny_models), "colorize", str(photo),
               "-o", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if rc == 0:
        meta = read_file_metadata(tmp_path / "o" / "photo_colorized.png")
        assert meta.provenance["HintsCount"] == "2"
        assert meta.provenance["HintsSHA256"] == hashlib.sha256(h.read_bytes()).hexdigest()
    else:
        errs = [ln for ln in captured.err.splitlines() if not ln.startswith("note:")]
        assert len(errs) == 1 and "photo.png" in errs[0]


def test_hostile_xmp_in_an_original_is_not_carried_and_cannot_hang(
        tiny_models: Path, tmp_path: Path, make_grey) -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                        for i in range(1, 10))
              + ']><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf='
              '"http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
              'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>&lol9;</dc:format>'
              "</rdf:Description></rdf:RDF></x:xmpmeta>")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", laughs)
    src = tmp_path / "laughs.png"
    Image.fromarray((make_grey(20, 30) * 255).astype(np.uint8)).save(src, pnginfo=info)
    assert main(["--models-dir", str(tiny_models), "colorize", str(src),
                 "-o", str(tmp_path / "o")]) == 0
    meta = read_file_metadata(tmp_path / "o" / "laughs_colorized.png")
    assert meta.is_colorstudio_output
    assert "dc:format" not in meta.descriptive
