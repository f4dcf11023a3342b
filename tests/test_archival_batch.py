"""Issue 6: batches an archive can run overnight - mirrored tree, resume after a kill, atomic
writes, reports, dry runs, read-only folders and a full disk."""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorstudio.cli import main
from colorstudio.core import imageio
from colorstudio.core.metadata import read_file_metadata
from colorstudio.engine.batch import output_is_complete


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def outputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*_colorized.*") if not p.name.startswith(".~"))


def make_tree(root: Path, make_grey, n: int = 12, size: tuple[int, int] = (400, 600)) -> list[Path]:
    files = []
    for i in range(n):
        sub = root / ("roll A" if i % 2 else "roll B") / ("" if i % 3 else "box 1")
        sub.mkdir(parents=True, exist_ok=True)
        p = sub / f"scan {i:02d}.png"
        Image.fromarray((make_grey(*size, seed=i) * 255).astype(np.uint8)).save(p)
        files.append(p)
    return files


def test_interrupted_batch_resumes_without_duplicates(tmp_path: Path, make_grey,
                                                      tiny_models: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    files = make_tree(src, make_grey, 12, (900, 1400))
    hashes = {p: sha(p) for p in files}
    cmd = [sys.executable, "-m", "colorstudio", "--models-dir", str(tiny_models), "colorize",
           str(src), "-o", str(out), "--model", "tiny_guided_unet"]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 240
    try:
        while len(outputs(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # polling the file system for the kill moment, not a timing check
        proc.send_signal(signal.SIGKILL)  # the harshest interruption: no cleanup at all
    finally:
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
    done_before = {p: sha(p) for p in outputs(out)}
    assert 3 <= len(done_before) < 12, "the batch was not interrupted halfway"
    for p in done_before:  # whatever exists under an output name is complete
        rel = p.relative_to(out)
        orig = src / rel.parent / (p.name.replace("_colorized", ""))
        assert output_is_complete(p, hashes[orig])

    rerun = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    assert rerun.stdout.count("skipped (complete output exists") == len(done_before)
    final = outputs(out)
    assert len(final) == 12  # every input once, none duplicated
    assert not [p for p in out.rglob("*") if p.name.startswith(".~")]  # killed temps removed
    for p, h in done_before.items():
        assert sha(p) == h  # skipped, not redone
    for f in files:  # the tree is mirrored, each output complete and from its original
        dst = out / f.relative_to(src).parent / f"{f.stem}_colorized.png"
        assert dst in final and output_is_complete(dst, hashes[f])
        assert sha(f) == hashes[f]
    with open(out / "colorstudio-report.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12
    assert sorted(r["status"] for r in rows).count("skipped") == len(done_before)
    assert all(r["status"] in ("ok", "skipped") for r in rows)


def test_resume_redoes_incomplete_or_stale_outputs(tmp_path: Path, make_grey, tiny_models,
                                                   capsys) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    files = make_tree(src, make_grey, 3, (40, 60))
    base = ["--models-dir", str(tiny_models), "colorize", str(src), "-o", str(out)]
    assert main(base) == 0
    outs = outputs(out)
    # 1: cut short (e.g. copied by hand and interrupted); 2: its original changed since.
    outs[0].write_bytes(outs[0].read_bytes()[:-40])
    Image.fromarray((make_grey(40, 60, seed=99) * 255).astype(np.uint8)).save(files[2])
    capsys.readouterr()
    assert main(base) == 0
    text = capsys.readouterr().out
    assert text.count("skipped (") == 1 and text.count(" -> ") == 2
    for f in files:
        dst = out / f.relative_to(src).parent / f"{f.stem}_colorized.png"
        assert output_is_complete(dst, sha(f))
    assert main([*base, "--overwrite"]) == 0
    assert capsys.readouterr().out.count(" -> ") == 3


def test_dry_run_writes_nothing(tmp_path: Path, make_grey, tiny_models, capsys) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    make_tree(src, make_grey, 4, (20, 30))
    assert main(["--models-dir", str(tiny_models), "colorize", str(src), "-o", str(out),
                 "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert text.count("would colourise") == 4 and "4 planned" in text
    assert not out.exists()


def test_json_report_and_clash_of_outputs(tmp_path: Path, make_grey, tiny_models,
                                          capsys) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    g = Image.fromarray((make_grey(20, 30) * 255).astype(np.uint8))
    g.save(src / "a.png")
    g.save(src / "a.jpg")
    report = tmp_path / "r" / "report.json"
    rc = main(["--models-dir", str(tiny_models), "colorize", str(src), "-o", str(out),
               "--format", "png", "--report", str(report)])
    assert rc == 1
    err = capsys.readouterr().err
    assert "a.png: its output a_colorized.png would overwrite the output of a.jpg" in err
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["summary"]["ok"] == 1 and doc["summary"]["failed"] == 1
    assert set(doc["files"][0]) == {"input", "output", "model", "status", "error", "seconds"}


def test_read_only_output_folder(tmp_path: Path, make_grey, tiny_models, capsys,
                                 monkeypatch) -> None:
    src = tmp_path / "in"
    make_tree(src, make_grey, 2, (20, 30))
    out = tmp_path / "ro"
    for d in ("roll A", "roll B/box 1"):
        (out / d).mkdir(parents=True)
    if os.geteuid() == 0:  # root ignores permissions: make the folder refuse new files
        real = imageio.tempfile.mkstemp

        def refuse(*a, **kw):
            if str(kw.get("dir", "")).startswith(str(out)):
                raise PermissionError(errno.EACCES, "Permission denied")
            return real(*a, **kw)
        monkeypatch.setattr(imageio.tempfile, "mkstemp", refuse)
    else:
        for d in [out, *out.rglob("*")]:
            d.chmod(0o555)
    try:
        rc = main(["--models-dir", str(tiny_models), "colorize", str(src), "-o", str(out),
                   "--report", str(tmp_path / "report.csv")])
    finally:
        for d in [out, *out.rglob("*")]:
            d.chmod(0o755)
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("note:")]
    assert rc == 1 and len(err) == 2
    assert all("cannot write (Permission denied)" in ln and "scan" in ln for ln in err)
    assert outputs(out) == []


def test_full_disk_leaves_no_partial_file_and_keeps_the_old_output(
        tmp_path: Path, make_grey, tiny_models, capsys, monkeypatch) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    files = make_tree(src, make_grey, 2, (60, 90))
    base = ["--models-dir", str(tiny_models), "colorize", str(src), "-o", str(out)]
    assert main(base) == 0
    before = {p: sha(p) for p in outputs(out)}
    originals = {f: sha(f) for f in files}
    real = imageio._write_bytes

    def disk_full(fh, data: bytes) -> None:
        real(fh, data[: len(data) // 2])  # half the file reaches the disk, then it is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(imageio, "_write_bytes", disk_full)
    capsys.readouterr()
    assert main([*base, "--overwrite"]) == 1
    err = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("note:")]
    assert len(err) == 2 and all("No space left on device" in ln for ln in err)
    assert {p: sha(p) for p in outputs(out)} == before  # old outputs intact, no partial ones
    assert not [p for p in out.rglob("*") if p.name.startswith(".~")]
    assert {f: sha(f) for f in files} == originals
    for p in before:
        assert read_file_metadata(p).is_colorstudio_output


@pytest.mark.parametrize("name", ["scan.png", "ü 名前 space.tif"])
def test_beside_input_when_no_output_folder(tmp_path: Path, make_grey, tiny_models,
                                            name: str) -> None:
    p = tmp_path / name
    Image.fromarray((make_grey(30, 40) * 255).astype(np.uint8)).save(p)
    assert main(["--models-dir", str(tiny_models), "colorize", str(p)]) == 0
    dst = tmp_path / f"{p.stem}_colorized{p.suffix}"
    assert output_is_complete(dst, sha(p))
    assert not (tmp_path / "colorstudio-report.csv").exists()  # no report unless -o/--report
