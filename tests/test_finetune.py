"""Fine-tuning on the user's photos (`train.finetune`, `colorstudio train`): tiny models, a
generated folder of small colour photos, a few training steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import colour_scene, grey_scene

from colorstudio.cli import main as cli_main
from colorstudio.core import cards as card_io
from colorstudio.core.cards import discover_cards, load_card
from colorstudio.core.errors import ColorStudioError, ModelError


def make_photo_folder(root: Path, n: int = 12, grey: int = 1, broken: int = 1) -> Path:
    """`n` colour JPEGs (varied sizes, one in a sub-folder), grey PNGs and broken files."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "more").mkdir(exist_ok=True)
    for i in range(n):
        h, w = 56 + 4 * (i % 3), 64 + 8 * (i % 4)
        rgb = (colour_scene(h, w, seed=i) * 255).round().astype(np.uint8)
        where = root / "more" if i == 0 else root
        Image.fromarray(rgb).save(where / f"photo_{i:02d}.jpg", quality=92)
    for i in range(grey):
        g = (grey_scene(48, 48, seed=i) * 255).round().astype(np.uint8)
        Image.fromarray(np.stack([g] * 3, -1)).save(root / f"scan_{i}.png")
    for i in range(broken):
        (root / f"broken_{i}.jpg").write_bytes(b"not a jpeg at all")
    (root / "notes.txt").write_text("ignored: not an image")
    return root


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return make_photo_folder(tmp_path / "photos")


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The per-user models folder, redirected into tmp (platformdirs never touched)."""
    d = tmp_path / "userdata" / "models"
    monkeypatch.setattr(card_io, "user_models_dir", lambda: d)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return d


def _job(tiny_models: Path, photos: Path, **kw):
    from colorstudio.engine.models import ModelStore
    from colorstudio.train.finetune import FineTuneJob, FineTuneOptions

    opts = dict(data=photos, base="tiny_guided_unet", steps=6, size=32, batch=4, device="cpu")
    opts.update(kw)
    return FineTuneJob(FineTuneOptions(**opts), ModelStore([tiny_models]))


def test_scan_counts_photos_and_fingerprints_content(photos: Path) -> None:
    from colorstudio.train.finetune import MIN_PHOTOS, scan_folder

    s = scan_folder(photos)
    assert (len(s.usable), len(s.grey), len(s.unreadable)) == (12, 1, 1)
    assert photos / "more" / "photo_00.jpg" in s.usable
    assert len(s.thumbnails) == 12 and s.thumbnails[0].dtype == np.uint8
    assert s.thumbnails[0].shape[2] == 3
    assert s.enough and "50" in s.warning()  # 12 photos: enough to run, with a warning
    assert scan_folder(photos).fingerprint == s.fingerprint  # stable
    rgb = (colour_scene(60, 60, seed=99) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(photos / "photo_05.jpg")  # same name, new content
    assert scan_folder(photos).fingerprint != s.fingerprint
    few = make_photo_folder(photos.parent / "few", n=MIN_PHOTOS - 1)
    assert not scan_folder(few).enough and "at least" in scan_folder(few).warning()
    with pytest.raises(ColorStudioError, match="not a folder"):
        scan_folder(photos / "missing")


def test_finetune_writes_a_loadable_model_and_card(tiny_models: Path, photos: Path,
                                                   user_dir: Path) -> None:
    from colorstudio.engine.device import pick_device
    from colorstudio.engine.models import ModelStore
    from colorstudio.engine.pipeline import colorize_l

    job = _job(tiny_models, photos, name="Harbour streets")
    kinds: list[str] = []
    result = job.run(lambda e: kinds.append(e.kind))
    assert not result.cancelled and result.steps == 6
    assert {"baseline", "start", "step", "preview", "done", "evaluated"} <= set(kinds)
    assert result.held_count == 2 and result.train_count == 10
    assert result.before.images == result.after.images == 2
    assert result.before.model == "tiny_guided_unet"
    assert [c.shape for c in result.comparison] == [(256, 768, 3)] * 2
    assert not any(user_dir.glob("*")) if user_dir.exists() else True  # nothing saved yet

    card = job.save(result)
    assert card.id == "harbour_streets" and card.path == user_dir / "harbour_streets.toml"
    files = sorted(p.name for p in user_dir.iterdir())
    assert files == ["harbour_streets-" + card.sha256[:8] + ".safetensors", "harbour_streets.toml"]
    disk = load_card(card.path)
    assert disk.base == "tiny_guided_unet" and not disk.default
    assert disk.data_count == 12 and disk.data_fingerprint == result.scan.fingerprint
    assert disk.created and disk.metrics.psnr == result.after.psnr
    assert "held-out" in disk.metrics.dataset and disk.verify()
    assert disk.hints and disk.arch == "guided_unet"
    assert not job.work_dir.exists()  # the checkpoint went with the save
    # The app and `colorstudio models` find it in the per-user folder ...
    assert "harbour_streets" in discover_cards()
    # ... and it loads and colourises.
    store = ModelStore([tiny_models, user_dir])
    model = store.load("harbour_streets", pick_device("cpu"))
    ab = colorize_l(model, np.full((40, 50), 60.0, np.float32), None).ab
    assert ab.shape == (40, 50, 2) and np.isfinite(ab).all()


def test_held_out_split_is_fixed_and_disjoint(tiny_models: Path, photos: Path,
                                              user_dir: Path) -> None:
    from colorstudio.train.data import Item, split_items
    from colorstudio.train.finetune import scan_folder

    scan = scan_folder(photos)
    items = [Item(str(p)) for p in scan.usable]
    a = split_items(items, 2, 0)
    b = split_items(items, 2, 0)
    assert a == b and not set(a[0]) & set(a[1]) and len(a[1]) == 2
    job = _job(tiny_models, photos, steps=1)
    r = job.run()
    assert sorted(n for n, _ in [(Path(i.path).name, 0) for i in a[1]]) == \
        sorted(job_name for job_name in _held_names(job))
    assert r.held_count == 2


def _held_names(job) -> list[str]:
    cfg = json.loads((job.work_dir / "config.json").read_text())
    from colorstudio.train.data import Item, split_items

    _, held = split_items([Item(p) for p in cfg["data"]], cfg["holdout"], cfg["seed"])
    return [Path(i.path).name for i in held]


def test_cancel_mid_run_keeps_checkpoint_no_model_and_resumes(tiny_models: Path, photos: Path,
                                                             user_dir: Path) -> None:
    import torch

    job = _job(tiny_models, photos, steps=12, name="resumable")
    steps_seen: list[int] = []

    def on_event(e) -> None:
        if e.kind == "step":
            steps_seen.append(e.step)

    def cancel() -> bool:  # stop once 5 steps are done
        return bool(steps_seen) and steps_seen[-1] >= 5

    r = job.run(on_event, cancel)
    assert r.cancelled and r.weights is None and r.steps == 5
    assert not user_dir.exists() or not any(user_dir.iterdir())  # no partial model
    assert job.can_resume()
    assert not (job.work_dir / "weights.safetensors").exists()
    assert torch.load(job.checkpoint, weights_only=True)["step"] == 5
    with pytest.raises(ColorStudioError, match="already exists|nothing"):
        _job(tiny_models, photos, steps=12, name="other").run(resume=True)

    messages: list[str] = []
    job2 = _job(tiny_models, photos, steps=12, name="resumable")
    r2 = job2.run(lambda e: messages.append(e.message) if e.kind == "start" else None,
                  resume=True)
    assert not r2.cancelled and r2.steps == 12
    assert any("resumed at step 5" in m for m in messages)
    card = job2.save(r2)
    assert card.verify() and card.id == "resumable"


def test_resume_refuses_a_changed_folder(tiny_models: Path, photos: Path, user_dir: Path) -> None:
    job = _job(tiny_models, photos, steps=50, name="changing")
    started: list[bool] = []
    job.run(lambda e: started.append(True) if e.kind == "start" else None,
            cancel=lambda: bool(started))  # stop as soon as the loop starts
    assert job.can_resume()
    rgb = (colour_scene(60, 60, seed=77) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(photos / "photo_new.jpg")
    with pytest.raises(ColorStudioError, match="changed"):
        _job(tiny_models, photos, steps=50, name="changing").run(resume=True)


def test_discard_removes_the_run(tiny_models: Path, photos: Path, user_dir: Path) -> None:
    job = _job(tiny_models, photos, steps=2)
    r = job.run()
    assert r.weights is not None and r.weights.is_file()
    job.discard()
    assert not job.work_dir.exists() and not user_dir.exists()
    with pytest.raises(ColorStudioError):
        job.save(r)


def test_names_that_clash_are_refused(tiny_models: Path, photos: Path, user_dir: Path) -> None:
    job = _job(tiny_models, photos, steps=1, name="tiny_guided_unet")
    with pytest.raises(ColorStudioError, match="bundled"):
        job.check_name()
    job = _job(tiny_models, photos, steps=1, name="mine")
    job.save(job.run())
    with pytest.raises(ColorStudioError, match="already exists"):
        _job(tiny_models, photos, steps=1, name="mine").check_name()


def test_unpaired_adaptation_uses_the_bw_folder_as_grey_domain(
        tiny_models: Path, photos: Path, user_dir: Path, tmp_path: Path) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    for i in range(5):  # genuine grey scans, one with a sepia cast
        g = (grey_scene(60, 60, seed=i) * 255).astype(np.uint8)
        rgb = np.stack([g, g, g], -1)
        if i == 0:
            rgb = np.clip(rgb * np.array([1.08, 1.0, 0.85]), 0, 255).astype(np.uint8)
        Image.fromarray(rgb).save(scans / f"scan_{i}.png")
    with pytest.raises(ModelError, match="CycleGAN"):
        _job(tiny_models, photos, unpaired_grey=scans)  # guided U-Net cannot do this
    job = _job(tiny_models, photos, base=None, unpaired_grey=scans, steps=3, name="adapted")
    assert job.base.arch == "mahajan2022_cyclegan"  # picked automatically
    r = job.run()
    cfg = json.loads((job.work_dir / "config.json").read_text())
    assert cfg["objective"] == "cycle" and cfg["grey_data"] == [str(scans)]
    assert cfg["cycle_stop_f"]  # as the bundle was trained: F cannot hide the colour for G
    card = job.save(r)
    assert card.base == "tiny_mahajan2022_cyclegan" and card.verify()


def test_fit_grey_domain_feeds_the_first_half_of_each_batch(tmp_path: Path) -> None:
    """The grey-domain batches come from `grey_data` (kept even though they are grey)."""
    from colorstudio.train.data import ImageCache, list_items

    scans = tmp_path / "scans"
    scans.mkdir()
    for i in range(3):
        g = (grey_scene(40, 40, seed=i) * 255).astype(np.uint8)
        Image.fromarray(g).save(scans / f"s{i}.png")
    items = list_items([str(scans)])
    assert len(ImageCache.build(items, 32)) == 0  # colour training skips grey photos ...
    assert len(ImageCache.build(items, 32, keep_grey=True)) == 3  # ... the grey domain keeps them


def test_cli_train_end_to_end(tiny_models: Path, photos: Path, user_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(["--models-dir", str(tiny_models), "train", "--data", str(photos),
                   "--steps", "4", "--size", "32", "--batch", "4", "--device", "cpu",
                   "--name", "From the CLI"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "12 usable colour photos, 1 grey (skipped), 1 unreadable" in out
    assert "base   tiny_guided_unet" in out and "tuned  from_the_cli" in out and "gain" in out
    assert "img/s" in err and "ETA" in err
    card = load_card(user_dir / "from_the_cli.toml")
    assert card.verify() and card.base == "tiny_guided_unet"
    # The same name again is refused before any training, with one line.
    rc = cli_main(["--models-dir", str(tiny_models), "train", "--data", str(photos),
                   "--steps", "4", "--name", "From the CLI"])
    out, err = capsys.readouterr()
    assert rc == 2 and err.strip().splitlines() == [
        f"colorstudio: error: a model 'from_the_cli' already exists in {user_dir}; "
        "choose another name"]


@pytest.mark.parametrize("args, message", [
    (["--data", "{missing}"], "is not a folder"),
    (["--data", "{few}"], "at least 4"),
    (["--data", "{photos}", "--base", "nope"], "unknown model 'nope'"),
    (["--data", "{photos}", "--minutes", "0"], "--minutes must be positive"),
    (["--data", "{photos}", "--base", "tiny_guided_unet", "--unpaired-grey", "{photos}"],
     "needs a CycleGAN"),
])
def test_cli_train_bad_input_is_one_line(tiny_models: Path, photos: Path, user_dir: Path,
                                         capsys: pytest.CaptureFixture[str], args: list[str],
                                         message: str) -> None:
    few = make_photo_folder(photos.parent / "few", n=2)
    subs = {"{missing}": str(photos / "missing"), "{few}": str(few), "{photos}": str(photos)}
    argv = ["--models-dir", str(tiny_models), "train", "--size", "32", "--batch", "4",
            "--device", "cpu"] + [subs.get(a, a) for a in args]
    rc = cli_main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("colorstudio: error:")]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err
    assert not user_dir.exists() or not any(user_dir.glob("*.safetensors"))


def test_ctrl_c_stops_cleanly_with_a_resumable_checkpoint(tiny_models: Path, photos: Path,
                                                          tmp_path: Path) -> None:
    """A real SIGINT to a real `colorstudio train`: exit 130, checkpoint kept, no model."""
    import signal

    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "colorstudio", "--models-dir", str(tiny_models), "train",
           "--data", str(photos), "--steps", "1000000", "--size", "32", "--batch", "4",
           "--device", "cpu", "--name", "interrupted", "--threads", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # wait for the first progress line: training is under way
            seen.append(line)
            if "img/s" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=600)
        err = "".join(seen) + err
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert "no model was written" in err and "--resume" in err and "Traceback" not in err
    data = tmp_path / "xdg" / "ColorStudio"
    assert (data / "finetune" / "interrupted" / "checkpoint.pt").is_file()
    assert not (data / "models").exists() or not any((data / "models").iterdir())


def test_finetuning_the_pretrained_default_keeps_its_encoder_gentle(
        tiny_models: Path, photos: Path, user_dir: Path) -> None:
    import torch

    from colorstudio.engine.weights import load_weights
    from colorstudio.nets import build

    job = _job(tiny_models, photos, base="tiny_guided_mobilenet", steps=3)
    res = job.run()
    assert not res.cancelled and res.weights is not None
    cfg = json.loads((job.work_dir / "config.json").read_text())
    assert cfg["lr_scales"] == {"encoder.": 0.1} and cfg["freeze_bn"] == ["encoder."]
    # Frozen BatchNorm statistics in the encoder: exactly the base model's after training.
    base, tuned = (build("guided_mobilenet", job.base.config) for _ in range(2))
    load_weights(base, job.base.weights_path)
    load_weights(tuned, res.weights)
    bn = [k for k in base.state_dict() if k.startswith("encoder.") and "running_mean" in k]
    assert bn and all(torch.equal(base.state_dict()[k], tuned.state_dict()[k]) for k in bn)
    assert not torch.equal(base.class_head.weight, tuned.class_head.weight)


def test_wizard_fine_tunes_adversarial_models_with_their_recipes_final_weighting():
    """Where a bundle's last stage is adversarial, its loss weights were chosen on dev: the
    wizard continues with those, never a stale copy of an earlier choice."""
    from colorstudio.train.config import load_recipe
    from colorstudio.train.finetune_archs import ARCH_DEFAULTS

    checked = []
    for recipe in sorted(Path("training/recipes").glob("*.toml")):
        _, stages = load_recipe(recipe)
        last = stages[-1]
        if "adv" in last.losses and last.arch in ARCH_DEFAULTS:
            wizard = ARCH_DEFAULTS[last.arch]
            assert (wizard["objective"], wizard["losses"]) == (last.objective, last.losses)
            assert wizard.get("cycle_stop_f", False) == last.cycle_stop_f
            assert wizard.get("lr_scales", {}) == last.lr_scales
            assert wizard.get("freeze_bn", []) == last.freeze_bn
            checked.append(last.arch)
    assert {"mathur2023_gan", "mahajan2022_cyclegan", "roshana2023_resnet18_unet"} <= set(checked)
