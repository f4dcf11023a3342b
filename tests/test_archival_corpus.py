"""Issue 6: the corpus of bad and awkward inputs, processed by the real CLI in a subprocess.

Each file gets either a correct output of the same size (with provenance and an sRGB profile)
or exactly one clear line naming the file and the reason; never a traceback, never a partial
file, and no original changes (hashes before and after).
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

HERE = Path(__file__).parent


def load_corpus_module():
    spec = importlib.util.spec_from_file_location("make_corpus", HERE / "corpus" / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["make_corpus"] = mod
    spec.loader.exec_module(mod)
    return mod


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def run_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "colorstudio", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def pixels(path: Path) -> np.ndarray:
    """Decoded output (H, W, C) in its stored dtype."""
    if path.suffix == ".tif":
        a = tifffile.imread(path)
    elif path.suffix == ".png":
        a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    else:
        a = np.asarray(Image.open(path))
    return a if a.ndim == 3 else a[..., None]


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory: pytest.TempPathFactory, tiny_models: Path):
    mod = load_corpus_module()
    root = tmp_path_factory.mktemp("corpus")
    src, out = root / "in", root / "out"
    expect = mod.make_corpus(src)
    before = {p: sha(p) for p in src.rglob("*") if p.is_file()}
    proc = run_cli("--models-dir", str(tiny_models), "colorize", str(src), "-o", str(out),
                   "--model", "tiny_guided_unet")
    after = {p: sha(p) for p in src.rglob("*") if p.is_file()}
    return expect, src, out, proc, before, after


def test_corpus_never_a_traceback_and_originals_unchanged(corpus_run) -> None:
    expect, src, out, proc, before, after = corpus_run
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.returncode == 1  # some inputs failed, by design
    assert before == after  # no original touched, no file added to the input tree
    assert not [p for p in out.rglob("*") if p.name.startswith(".~")]  # no temp left


def test_corpus_each_file_outcome_exact(corpus_run) -> None:
    from colorstudio.core.metadata import DIGITAL_SOURCE_TYPE, read_file_metadata

    expect, src, out, proc, before, after = corpus_run
    errors = [ln for ln in proc.stderr.splitlines() if ln and not ln.startswith("note:")]
    for name, e in expect.items():
        rel = Path(name)
        dst = out / rel.parent / f"{rel.stem}_colorized{e.out_ext or rel.suffix}"
        if not e.ok:
            lines = [ln for ln in errors if rel.name in ln]
            assert len(lines) == 1, (name, errors)
            assert e.reason in lines[0], (name, lines[0])
            assert not list(out.rglob(f"{rel.stem}_colorized*")), name
            continue
        assert dst.is_file(), (name, proc.stdout, proc.stderr)
        a = pixels(dst)
        assert (a.shape[1], a.shape[0]) == e.size, name
        assert a.dtype == (np.uint16 if e.bits == 16 else np.uint8), name
        assert a.shape[2] == (4 if e.alpha else 3), name
        meta = read_file_metadata(dst)
        assert meta.provenance["DigitalSourceType"] == DIGITAL_SOURCE_TYPE, name
        assert meta.provenance["SourceSHA256"] == before[src / rel], name
        assert meta.provenance["DerivedFrom"]["filePath"] == rel.name, name
        assert int(meta.provenance["HintsCount"]) == e.hints, name
        assert "sRGB" in meta.icc, name
        if e.hints:
            assert meta.provenance["HintsSHA256"] == sha(src / (rel.stem + ".hints.json"))


def test_corpus_report_lists_every_file(corpus_run) -> None:
    expect, src, out, proc, before, after = corpus_run
    with open(out / "colorstudio-report.csv", encoding="utf-8") as fh:
        rows = {Path(r["input"]).relative_to(src).as_posix(): r for r in csv.DictReader(fh)}
    assert set(rows) == set(expect)
    for name, e in expect.items():
        r = rows[name]
        assert r["status"] == ("ok" if e.ok else "failed"), (name, r)
        assert r["model"] == "tiny_guided_unet"
        assert float(r["seconds"]) >= 0
        assert (r["error"] == "") == e.ok
        assert bool(r["output"]) == e.ok


def test_corpus_orientation_and_colour_notes(corpus_run) -> None:
    from colorstudio.core.metadata import read_file_metadata

    expect, src, out, proc, before, after = corpus_run
    steps = read_file_metadata(out / "exif_rotated_colorized.jpg").provenance["Preprocessing"]
    assert any("EXIF orientation 6 applied" in s for s in steps)
    meta = read_file_metadata(out / "exif_rotated_colorized.jpg")
    assert meta.exif.get("Exif.Image.Artist") == "Rotated Photographer"
    assert "Exif.Image.Orientation" not in meta.exif  # pixels are upright now
    assert "colour photo" in proc.stderr and "animated" in proc.stderr
    steps = read_file_metadata(out / "animated_colorized.png").provenance["Preprocessing"]
    assert any("first of 3 frames" in s for s in steps)


def test_decompression_bomb_limit_is_configurable(tmp_path: Path, tiny_models: Path) -> None:
    Image.fromarray(np.full((300, 400), 90, np.uint8)).save(tmp_path / "big.png")
    proc = run_cli("--models-dir", str(tiny_models), "colorize", str(tmp_path / "big.png"),
                   "-o", str(tmp_path / "o"), "--max-pixels", "100000")
    assert proc.returncode == 1
    assert "big.png: 400x300" in proc.stderr and "over the limit" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o" / "big_colorized.png").exists()
    proc = run_cli("--models-dir", str(tiny_models), "colorize", str(tmp_path / "big.png"),
                   "-o", str(tmp_path / "o"), "--max-pixels", "200000")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "big_colorized.png").is_file()
