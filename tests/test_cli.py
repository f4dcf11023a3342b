"""The `colorstudio` command line with tiny models: colorize (files, folders, sidecar hints,
never overwriting, bad files, exit codes 0/1/2), models --json, eval, bench."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorstudio.cli import main
from colorstudio.core.cards import card_to_toml, load_card
from colorstudio.core.hints import HintPoint, HintSet, save_hints, sidecar_path
from colorstudio.core.imageio import read_image

TINY_IDS = {"tiny_mathur2023_gan", "tiny_mahajan2022_cyclegan", "tiny_roshana2023_pix2pix",
            "tiny_roshana2023_resnet18_unet", "tiny_dehghan2023_autoencoder",
            "tiny_mane2021_cnn", "tiny_guided_unet", "tiny_guided_mobilenet"}


def _grey(path: Path, h: int = 48, w: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    g = (40 + 3 * xx + 2 * yy + rng.integers(0, 5, (h, w))).clip(0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(g).save(path)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_colorize_one_file_writes_beside_it(cli, tmp_path: Path):
    src = _grey(tmp_path / "photo.png")
    before = _digest(src)
    code, out, err = cli("colorize", src, "--model", "tiny_mane2021_cnn")
    assert code == 0, err
    dst = tmp_path / "photo_colorized.png"
    assert dst.is_file() and str(dst) in out
    img = read_image(dst)
    assert img.size == (64, 48) and img.was_colour
    assert _digest(src) == before


def test_colorize_folders_recursively_into_outdir(cli, tmp_path: Path):
    _grey(tmp_path / "in" / "a.png")
    _grey(tmp_path / "in" / "deep" / "er" / "b.jpg", seed=1)
    _grey(tmp_path / "in" / "deep" / "c.tif", seed=2)
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    code, out, err = cli("colorize", tmp_path / "in", "-o", tmp_path / "out",
                         "--model", "tiny_dehghan2023_autoencoder")
    assert code == 0, err
    made = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*")
                  if p.is_file() and "_colorized" in p.name)
    assert made == ["a_colorized.png", "deep/c_colorized.tif", "deep/er/b_colorized.jpg"]
    assert "[1/3]" in out and "[3/3]" in out  # progress for several files
    assert not list((tmp_path / "in").rglob("*_colorized*"))  # nothing written to the inputs


def test_format_size_and_depth_options(cli, tmp_path: Path):
    src = _grey(tmp_path / "p.png")
    code, _, err = cli("colorize", src, "--model", "tiny_mane2021_cnn", "--format", "tif",
                       "--depth", "16", "--size", "32", "-o", tmp_path / "o")
    assert code == 0, err
    img = read_image(tmp_path / "o" / "p_colorized.tif")
    assert img.dtype == np.uint16 and img.size == (64, 48)


def test_sidecar_hints_are_used_automatically(cli, tmp_path: Path):
    with_hints = _grey(tmp_path / "a" / "photo.png")
    without = tmp_path / "b" / "photo.png"
    without.parent.mkdir()
    shutil.copy(with_hints, without)
    save_hints(HintSet(points=(HintPoint(20, 20, 6, (30, 80, 220)),)), sidecar_path(with_hints))
    code, _, err = cli("colorize", with_hints, without, "--model", "tiny_guided_unet")
    assert code == 0, err
    assert "using 1 hints from photo.hints.json" in err
    a = read_image(tmp_path / "a" / "photo_colorized.png")
    b = read_image(tmp_path / "b" / "photo_colorized.png")
    ra = np.asarray(Image.open(tmp_path / "a" / "photo_colorized.png").convert("RGB"), float)
    rb = np.asarray(Image.open(tmp_path / "b" / "photo_colorized.png").convert("RGB"), float)
    assert a.size == b.size and np.abs(ra - rb).max() > 0  # the hint changed the colours


def test_explicit_hints_file_and_a_broken_one(cli, tmp_path: Path):
    src = _grey(tmp_path / "p.png")
    hints = tmp_path / "h.json"
    save_hints(HintSet(points=(HintPoint(5, 5, 2, (200, 30, 30)),)), hints)
    code, _, err = cli("colorize", src, "--model", "tiny_guided_unet", "--hints", hints)
    assert code == 0, err
    hints.write_text("{broken")
    code, _, err = cli("colorize", src, "--model", "tiny_guided_unet", "--hints", hints,
                       "--overwrite")
    assert code == 2 and err.count("\n") == 1 and "h.json" in err


def test_never_overwrites_an_input(cli, tmp_path: Path):
    # An input that already carries the suffix, colourised into its own folder.
    src = _grey(tmp_path / "old_colorized.png")
    before = _digest(src)
    code, _, err = cli("colorize", src, "-o", tmp_path, "--model", "tiny_mane2021_cnn")
    assert code == 0, err
    assert _digest(src) == before
    assert (tmp_path / "old_colorized_colorized.png").is_file()
    # Running again (resume) and with --overwrite never touches the input either.
    for extra in ([], ["--overwrite"]):
        code, _, err = cli("colorize", src, "-o", tmp_path, "--model", "tiny_mane2021_cnn",
                           *extra)
        assert code == 0, err
        assert _digest(src) == before


def test_bad_file_gives_one_line_and_the_batch_goes_on(cli, tmp_path: Path):
    folder = tmp_path / "in"
    _grey(folder / "a_good.png")
    (folder / "b_garbage.jpg").write_bytes(b"this is not a jpeg")
    (folder / "c_empty.png").write_bytes(b"")
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(folder / "d_trunc.png")
    data = (folder / "d_trunc.png").read_bytes()
    (folder / "d_trunc.png").write_bytes(data[: len(data) // 2])
    _grey(folder / "e_good.png", seed=3)
    code, out, err = cli("colorize", folder, "-o", tmp_path / "out", "--model",
                         "tiny_mane2021_cnn")
    assert code == 1
    bad_lines = [ln for ln in err.splitlines() if not ln.startswith("note:")]
    for name in ("b_garbage.jpg", "c_empty.png", "d_trunc.png"):
        assert sum(name in ln for ln in bad_lines) == 1, err
    assert (tmp_path / "out" / "a_colorized.png").exists() is False  # named by stem
    outs = sorted(p.name for p in (tmp_path / "out").iterdir() if p.suffix == ".png")
    assert outs == ["a_good_colorized.png", "e_good_colorized.png"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_usage_errors_exit_2(cli, tmp_path: Path, tiny_models: Path):
    src = _grey(tmp_path / "p.png")
    code, _, err = cli("colorize", src, "--model", "no_such_model")
    assert code == 2 and "no_such_model" in err and err.count("\n") == 1
    code, _, err = cli("colorize", tmp_path / "empty_dir_does_not_exist_either")
    assert code in (1, 2) and err.strip()
    (tmp_path / "empty").mkdir()
    code, _, err = cli("colorize", tmp_path / "empty")
    assert code == 2 and "no images" in err
    code, _, err = cli("colorize", src, "--size", "5")
    assert code == 2 and "--size" in err
    code, _, err = cli("colorize", src, "--device", "tpu")
    assert code == 2 and "tpu" in err
    code, _, err = cli("colorize", src, models=tmp_path / "no_models_here")
    assert code == 2 and "no models" in err
    with pytest.raises(SystemExit) as exc:
        main(["colorize"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["colorize", str(src), "--format", "gif"])
    assert exc.value.code == 2


def test_model_without_weights_fails_with_a_clear_message(cli, tmp_path: Path,
                                                          tiny_models: Path):
    models = tmp_path / "models"
    models.mkdir()
    card = load_card(tiny_models / "tiny_mane2021_cnn.toml")
    untrained = dataclasses.replace(card, id="untrained", weights="untrained-00000000.safetensors",
                                    sha256="", bytes=0, default=True)
    (models / "untrained.toml").write_text(card_to_toml(untrained))
    src = _grey(tmp_path / "p.png")
    code, out, err = cli("colorize", src, models=models)
    assert code == 2 and "untrained" in err and "no weights" in err
    assert err.count("\n") == 1 and not (tmp_path / "p_colorized.png").exists()
    code, out, _ = cli("models", "--json", models=models)
    assert code == 0 and json.loads(out)[0]["weights_present"] is False


def test_models_json_lists_every_model(cli, tiny_models: Path):
    code, out, _ = cli("models", "--json")
    assert code == 0
    rows = json.loads(out)
    assert {r["id"] for r in rows} == TINY_IDS
    assert {r["arch"] for r in rows} == {i.removeprefix("tiny_") for i in TINY_IDS}
    for r in rows:
        assert r["weights_present"] is True and r["params"] > 0
        assert {"name", "paper", "working_size", "hints", "sha256", "metrics"} <= set(r)
    assert [r["id"] for r in rows if r["is_default"]] == ["tiny_guided_unet"]
    code, out, _ = cli("models", "--verify")
    assert code == 0 and out.count("verified") == len(TINY_IDS) and "(* = default)" in out


def _colour_folder(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        yy, xx = np.mgrid[0:60, 0:80].astype(np.float32)
        rgb = np.stack([0.5 + 0.4 * np.sin(xx / (4 + i)), 0.5 + 0.4 * np.cos(yy / 6),
                        0.5 + 0.4 * np.sin((xx + yy) / 9)], -1)
        Image.fromarray((rgb * 255).astype(np.uint8)).save(folder / f"c{i}.png")
    return folder


def test_eval_prints_the_grey_baseline(cli, tmp_path: Path):
    data = _colour_folder(tmp_path / "val")
    code, out, err = cli("eval", "--data", data, "--model", "tiny_mane2021_cnn", "--device", "cpu")
    assert code == 0, err
    assert "grey baseline" in out and "PSNR" in out and "3 images" in out
    code, out, err = cli("eval", "--data", data, "--model", "tiny_guided_unet", "--hints", "5",
                         "--json", "--device", "cpu")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["images"] == 3 and rep["hints"] == 5 and rep["model"] == "tiny_guided_unet"
    for key in ("psnr", "ssim", "ciede2000", "colourfulness", "grey_psnr", "grey_ssim",
                "truth_colourfulness"):
        assert np.isfinite(rep[key]), key
    assert rep["truth_colourfulness"] > 10 and 5 < rep["grey_psnr"] < 60
    code, _, err = cli("eval", "--data", tmp_path / "missing")
    assert code == 2 and "missing" in err
    (tmp_path / "nothing").mkdir()
    code, _, err = cli("eval", "--data", tmp_path / "nothing", "--model", "tiny_mane2021_cnn")
    assert code == 2 and "no readable images" in err


def test_bench_json_has_the_documented_keys(cli, tiny_cards):
    # --quick: the same code and keys on a 0.75-MP JPEG (the 12-MP run takes tens of seconds
    # on 2 cores; its numbers belong in the README, not in a test).
    code, out, err = cli("bench", "--json", "--no-memory", "--quick", "--model",
                         "tiny_mane2021_cnn")
    assert code == 0, err
    res = json.loads(out)
    assert res["runs"][0]["jpeg_megapixels"] == 0.75
    assert "memory" not in res and res["torch_threads"] >= 1 and res["self_peak_rss_mb"] > 0
    run = res["runs"][0]
    assert run["device"] == "cpu" and run["model"] == "tiny_mane2021_cnn" and run["params"] > 0
    assert run["jpeg_12mp_cold_s"] > 0 and run["jpeg_12mp_warm_s"] > 0
    assert set(run["hint_preview_ms"]) == {"256", "384", "512"}
    # The preview runs the network as the app's live preview does (PREVIEW_SIZE, 128 px, or
    # the card's working size if smaller).
    assert run["preview_network_px"] == min(128, tiny_cards["tiny_mane2021_cnn"].working_size)
    assert set(run["forward_ms"]) == {"256", "512"}


def test_console_entry_points(tmp_path: Path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([sys.executable, "-m", "colorstudio", "--version"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("colorstudio ")
    exe = Path(sys.executable).with_name("colorstudio")
    if exe.exists():
        res = subprocess.run([str(exe), "colorize", str(tmp_path / "x.png"), "--size", "1"],
                             capture_output=True, text=True, env=env, timeout=120)
        assert res.returncode == 2 and "Traceback" not in res.stderr


def test_no_command_starts_the_gui_with_the_global_options(tmp_path: Path, monkeypatch):
    import colorstudio.commands.gui as gui

    seen = {}
    monkeypatch.setattr(gui, "run", lambda args: seen.setdefault("args", args) and 0)
    assert main(["--models-dir", str(tmp_path)]) == 0
    assert seen["args"].command == "gui" and seen["args"].models_dir == [tmp_path]
    seen.clear()
    monkeypatch.setattr(sys, "argv", ["colorstudio", "--models-dir", str(tmp_path), "-v"])
    assert main() == 0
    assert seen["args"].models_dir == [tmp_path] and seen["args"].verbose
