"""Issue 13, points 3, 5 and 6: files colleagues can read (the umask's mode, not mkstemp's
0600), Pillow's decompression-bomb guard kept on outside `read_image`, and writes in a safe
order (new weights, then the card, then the old weights go; fsync before every rename)."""

from __future__ import annotations

import csv
import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorstudio.cli import main
from colorstudio.core import imageio
from colorstudio.core.cards import card_to_toml, load_card, weights_files
from colorstudio.core.hints import HintPoint, HintSet, save_hints
from colorstudio.core.imageio import (atomic_write_bytes, atomic_write_text, read_image,
                                      write_image)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture
def umask():
    """Run a test under a chosen umask; the old one comes back afterwards."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def _grey_png(path: Path, w: int = 40, h: int = 30) -> Path:
    yy, xx = np.mgrid[0:h, 0:w]
    Image.fromarray((40 + 3 * xx + 2 * yy).clip(0, 255).astype(np.uint8)).save(path)
    return path


# --------------------------------------------------------------------------- point 3: modes

@posix_only
@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002], ids=["022", "027", "002"])
def test_written_files_get_the_mode_of_the_umask(tmp_path: Path, umask, mask: int,
                                                 tiny_cards) -> None:
    umask(mask)
    rgb = np.full((8, 10, 3), 0.5, np.float32)
    written = {
        "output": tmp_path / "a_colorized.png",
        "tiff": tmp_path / "a_colorized.tif",
        "card": tmp_path / "mine.toml",
        "sidecar": tmp_path / "a.hints.json",
        "report": tmp_path / "report.json",
    }
    write_image(written["output"], rgb)
    write_image(written["tiff"], rgb, np.uint16, compression="lzw")
    atomic_write_text(written["card"], card_to_toml(tiny_cards["tiny_mane2021_cnn"]))
    save_hints(HintSet(points=(HintPoint(3, 4, 2, (200, 30, 30)),)), written["sidecar"])
    atomic_write_bytes(written["report"], b"{}")
    for what, p in written.items():
        assert _mode(p) == 0o666 & ~mask, (what, oct(_mode(p)))  # was 0o600 (mkstemp)


@posix_only
def test_cli_outputs_and_report_are_readable_by_colleagues(tmp_path: Path, umask,
                                                           tiny_models: Path) -> None:
    umask(0o022)
    src = _grey_png(tmp_path / "scan.png")
    report = tmp_path / "report.csv"
    assert main(["--models-dir", str(tiny_models), "colorize", str(src), "--model",
                 "tiny_mane2021_cnn", "--report", str(report)]) == 0
    out = tmp_path / "scan_colorized.png"
    assert _mode(out) == 0o644 and _mode(report) == 0o644
    assert list(csv.DictReader(report.open()))[0]["status"] == "ok"


@posix_only
def test_exported_model_card_is_readable(tmp_path: Path, umask) -> None:
    from colorstudio.engine.tiny import write_tiny_models

    umask(0o022)
    write_tiny_models(tmp_path, ["mane2021_cnn"])
    assert _mode(tmp_path / "tiny_mane2021_cnn.toml") == 0o644
    assert _mode(weights_files(tmp_path, "tiny_mane2021_cnn")[0]) == 0o644


# ------------------------------------------------------------ point 5: the bomb guard stays on

def test_pillow_guard_stays_on_after_read_image(tmp_path: Path, monkeypatch) -> None:
    # A low Pillow limit makes a 100x100 image a "bomb" for Pillow (10,000 > 2 x 1,000 px).
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    f = _grey_png(tmp_path / "p.png", 100, 100)
    assert read_image(f).size == (100, 100)  # the one reader with its own limit reads it
    assert Image.MAX_IMAGE_PIXELS == 1000  # ... without switching the guard off for all
    with pytest.raises(Image.DecompressionBombError):
        Image.open(f)  # the wizard's scan, training and eval keep Pillow's guard


def test_read_image_keeps_its_own_limit_with_a_clear_message(tmp_path: Path,
                                                             monkeypatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    f = _grey_png(tmp_path / "p.png", 100, 100)
    with pytest.raises(imageio.ImageReadError, match=r"p\.png: 100x100 = 0 MP is over the limit"):
        read_image(f, max_pixels=5000)


def test_the_raised_limit_is_scoped_to_its_thread(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    f = _grey_png(tmp_path / "p.png", 100, 100)
    seen: list[str] = []

    def other_thread() -> None:
        try:
            Image.open(f)
            seen.append("opened")
        except Image.DecompressionBombError:
            seen.append("refused")

    with imageio.own_pixel_limit(10**9):
        Image.open(f)  # this thread: the caller's own limit applies
        t = threading.Thread(target=other_thread)
        t.start()
        t.join()
    assert seen == ["refused"]
    with pytest.raises(Image.DecompressionBombError):
        Image.open(f)  # and afterwards here too


def test_eval_skips_a_bomb_instead_of_crashing(tmp_path: Path, monkeypatch) -> None:
    from colorstudio.engine.evaluate import load_eval_images

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    d = tmp_path / "val"
    d.mkdir()
    _grey_png(d / "small.png", 20, 20)
    _grey_png(d / "bomb.png", 100, 100)
    read_image(d / "bomb.png")  # a read by the app before must not lift the guard for eval
    assert [name for name, _ in load_eval_images(d)] == ["small.png"]


# ------------------------------------------------------------ point 6: safe order, fsync

def _tiny_net(seed: int):
    import torch

    from colorstudio.engine.tiny import TINY_CONFIGS
    from colorstudio.nets import build

    torch.manual_seed(seed)
    return build("mane2021_cnn", TINY_CONFIGS["mane2021_cnn"]).eval()


def _export(net, models: Path):
    from colorstudio.engine.tiny import TINY_CONFIGS
    from colorstudio.train.config import TrainConfig
    from colorstudio.train.export import write_model

    meta = {"id": "mine", "name": "Mine", "paper": "test", "normalisation": "lab_l50_ab128",
            "training_data": "my own photos", "licence": "mine"}
    cfg = TrainConfig(arch="mane2021_cnn", config=TINY_CONFIGS["mane2021_cnn"],
                      normalisation="lab_l50_ab128")
    return write_model(net, meta, cfg, models, half=False)


def test_a_crash_while_re_exporting_leaves_a_working_model(tmp_path: Path, monkeypatch) -> None:
    from colorstudio.train import export

    first = _export(_tiny_net(0), tmp_path)
    assert first.training_data == "my own photos" and first.licence == "mine"  # meta wins
    old_weights = first.weights_path

    def power_cut(card) -> None:  # noqa: ANN001
        raise RuntimeError("power cut while writing the card")

    monkeypatch.setattr(export, "_write_card", power_cut)
    with pytest.raises(RuntimeError, match="power cut"):
        _export(_tiny_net(1), tmp_path)
    card = load_card(tmp_path / "mine.toml")
    assert card.weights_path == old_weights and card.verify()  # the old card still works
    assert weights_files(tmp_path, "mine") == [old_weights]  # and nothing half-switched stays
    monkeypatch.undo()
    second = _export(_tiny_net(1), tmp_path)
    assert second.sha256 != first.sha256 and load_card(tmp_path / "mine.toml").verify()
    assert weights_files(tmp_path, "mine") == [second.weights_path]  # old weights gone now
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_re_exporting_the_same_weights_keeps_their_file(tmp_path: Path) -> None:
    """New metrics for unchanged weights must not add a weights file (the repository bundles
    them): the header of a file written by another safetensors version may order its
    metadata otherwise, so the file is matched by its tensors, not its bytes."""
    from safetensors.numpy import load_file, save_file

    first = _export(_tiny_net(0), tmp_path)
    path = first.weights_path
    tensors = load_file(str(path))
    save_file(tensors, str(path), metadata={"id": "mine", "arch": "mane2021_cnn"})  # reordered
    again = _export(_tiny_net(0), tmp_path)
    assert again.weights_path == path and weights_files(tmp_path, "mine") == [path]
    assert again.verify()  # its sha256 is the file's as it is now
    changed = _export(_tiny_net(1), tmp_path)
    assert changed.weights_path != path
    assert weights_files(tmp_path, "mine") == [changed.weights_path]


def test_old_weights_go_only_after_the_new_card_is_written(tmp_path: Path,
                                                            monkeypatch) -> None:
    from colorstudio.train import export

    first = _export(_tiny_net(0), tmp_path)
    events: list[tuple[str, str]] = []
    real_write_card, real_unlink = export._write_card, Path.unlink

    def write_card(card) -> None:  # noqa: ANN001
        events.append(("card", card.weights))
        real_write_card(card)

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.suffix == ".safetensors" and not self.name.startswith("."):
            events.append(("delete", self.name))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(export, "_write_card", write_card)
    monkeypatch.setattr(Path, "unlink", unlink)
    second = _export(_tiny_net(1), tmp_path)
    assert events == [("card", second.weights), ("delete", first.weights)]


def _fsync_spy(monkeypatch) -> list[tuple[str, str]]:
    """Record fsync (of which file) and rename (to where), in order."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst) -> None:  # noqa: ANN001
        events.append(("rename", f"{src} -> {dst}"))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("what", ["output", "card", "sidecar", "weights"])
def test_data_reaches_the_disk_before_the_rename(tmp_path: Path, monkeypatch, what: str,
                                                 tiny_cards) -> None:
    target = tmp_path / {"output": "a.tif", "card": "m.toml", "sidecar": "a.hints.json",
                         "weights": "m-00000000.safetensors"}[what]
    events = _fsync_spy(monkeypatch)
    if what == "output":
        write_image(target, np.full((8, 10, 3), 0.5, np.float32), np.uint16)
    elif what == "card":
        atomic_write_text(target, card_to_toml(tiny_cards["tiny_mane2021_cnn"]))
    elif what == "sidecar":
        save_hints(HintSet(points=(HintPoint(3, 4, 2, (200, 30, 30)),)), target)
    else:
        from colorstudio.engine.weights import save_weights

        save_weights(_tiny_net(0), target)
    renames = [i for i, (kind, arg) in enumerate(events)
               if kind == "rename" and arg.endswith(f"-> {target}")]
    assert len(renames) == 1, events
    tmp = events[renames[0]][1].split(" -> ")[0]
    synced = [i for i, (kind, arg) in enumerate(events) if kind == "fsync" and arg == tmp]
    assert synced and synced[0] < renames[0], events  # the temp file's data, then the rename
    # ... and the folder afterwards, so the rename itself survives a power cut.
    assert any(kind == "fsync" and arg == str(tmp_path) for kind, arg in events[renames[0]:])
