"""Issue 13, point 9: honest texts. `colorstudio eval` prints the truth's colourfulness beside
the model's; `colorstudio bench` says it measures a synthetic image; `colorstudio
import-model FILE.pth --arch ID` exists (the .pth hint pointed to nothing); the model manager
shows cards in the users' words (papers by title and authors, no ../shared/data paths, no raw
loss dictionaries)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_cli import _colour_folder
from uihelpers import make_window, no_thread_leak  # noqa: F401 - autouse fixture

from colorstudio.cli import main
from colorstudio.core.cards import (Metrics, bundled_models_dir, card_to_toml, discover_cards,
                                    load_card)
from colorstudio.core.wording import PAPERS, paper_words, plain, recipe_words

PAPERS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "papers"


@pytest.fixture
def cli(tiny_models: Path, capsys):
    def run(*args: str, models: list[Path] | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        dirs = [a for d in (models or [tiny_models]) for a in ("--models-dir", str(d))]
        code = main([*dirs, *map(str, args)])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


# --------------------------------------------------------------------------- eval, bench

def test_eval_prints_the_truths_colourfulness_beside_the_models(cli, tmp_path: Path) -> None:
    data = _colour_folder(tmp_path / "val")
    code, out, err = cli("eval", "--data", data, "--model", "tiny_mane2021_cnn", "--device", "cpu")
    assert code == 0, err
    m = re.search(r"colourfulness ([\d.]+) \(ground truth ([\d.]+)\)", out)
    assert m, out
    code, js, _ = cli("eval", "--data", data, "--model", "tiny_mane2021_cnn", "--device", "cpu",
                      "--json")
    rep = json.loads(js)
    assert float(m.group(1)) == pytest.approx(rep["colourfulness"], abs=0.05)
    assert float(m.group(2)) == pytest.approx(rep["truth_colourfulness"], abs=0.05)


def test_bench_says_it_measures_a_synthetic_image(cli) -> None:
    code, out, err = cli("bench", "--no-memory", "--quick", "--model", "tiny_mane2021_cnn")
    assert code == 0, err
    assert "Measured on a synthetic grey test image" in out and "not a photograph" in out
    assert "0.75-MP synthetic JPEG" in out
    code, out, _ = cli("bench", "--json", "--no-memory", "--quick", "--model",
                       "tiny_mane2021_cnn")
    res = json.loads(out)
    assert "synthetic" in res["input"] and "synthetic" in res["runs"][0]["input"]


# --------------------------------------------------------------------------- import-model

def _state_pth(path: Path, arch: str = "mane2021_cnn", seed: int = 3, **extra) -> Path:
    import torch

    from colorstudio.engine.tiny import TINY_CONFIGS
    from colorstudio.nets import build

    torch.manual_seed(seed)
    net = build(arch, TINY_CONFIGS[arch])
    torch.save({"state_dict": net.state_dict(), **extra}, path)
    return path


def test_import_model_installs_a_pth_as_a_usable_model(cli, tmp_path: Path,
                                                       tiny_models: Path) -> None:
    pth = _state_pth(tmp_path / "My Archive CNN.pth")
    dest = tmp_path / "user_models"
    code, out, err = cli("import-model", pth, "--arch", "mane2021_cnn", "--name", "My CNN",
                         "--into", dest)
    assert code == 0, err
    assert "imported My Archive CNN.pth as 'my_archive_cnn' (My CNN)" in out
    card = load_card(dest / "my_archive_cnn.toml")
    assert card.verify() and card.weights.endswith(".safetensors")
    assert card.arch == "mane2021_cnn" and card.name == "My CNN" and card.precision == "fp32"
    # Settings come from the installed card of that architecture.
    tiny = load_card(tiny_models / "tiny_mane2021_cnn.toml")
    assert (card.config, card.normalisation, card.working_size) == (
        tiny.config, tiny.normalisation, tiny.working_size)
    assert not list(dest.glob("*.pth")) and not [p for p in dest.iterdir()
                                                 if p.name.startswith(".")]
    # It is a model like any other: listed, and it colourises.
    code, out, _ = cli("models", "--verify", models=[tiny_models, dest])
    assert code == 0 and re.search(r"my_archive_cnn .* verified", out)
    photo = tmp_path / "scan.png"
    Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 3, (48, 1))).save(photo)
    code, _, err = cli("colorize", photo, "--model", "my_archive_cnn", models=[tiny_models, dest])
    assert code == 0, err
    assert (tmp_path / "scan_colorized.png").is_file()
    # A second import of the same id is refused, not overwritten.
    code, _, err = cli("import-model", pth, "--arch", "mane2021_cnn", "--into", dest)
    assert code == 2 and "already installed" in err and "--id" in err


def test_import_model_errors_are_one_clear_line(cli, tmp_path: Path) -> None:
    import torch

    from test_archival_security import Boom

    dest = tmp_path / "user_models"
    pth = _state_pth(tmp_path / "cnn.pth")
    code, _, err = cli("import-model", pth, "--arch", "guided_unet", "--into", dest)
    assert code == 2 and "do not fit the 'guided_unet' architecture" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli("import-model", pth, "--arch", "no_such_net", "--into", dest)
    assert code == 2 and "unknown architecture 'no_such_net'" in err
    code, _, err = cli("import-model", tmp_path / "missing.pth", "--arch", "mane2021_cnn",
                       "--into", dest)
    assert code == 2 and "missing.pth: no such file" in err
    marker = tmp_path / "pwned"
    torch.save({"w": Boom(marker)}, tmp_path / "evil.pth")
    code, _, err = cli("import-model", tmp_path / "evil.pth", "--arch", "mane2021_cnn",
                       "--into", dest)
    assert code == 2 and "evil.pth: cannot import" in err and not marker.exists()
    assert "never runs code from a model file" in err
    (tmp_path / "junk.pth").write_bytes(b"not a zip at all")
    code, _, err = cli("import-model", tmp_path / "junk.pth", "--arch", "mane2021_cnn",
                       "--into", dest)
    assert code == 2 and "junk.pth: cannot import (not a PyTorch .pth file" in err
    assert not dest.exists() or not list(dest.iterdir())  # nothing half-written


# --------------------------------------------------------------------------- users' words

def test_the_paper_table_matches_the_papers() -> None:
    if not PAPERS_DIR.is_dir():
        pytest.skip("../shared/papers not present")
    for number, paper in PAPERS.items():
        (text_file,) = PAPERS_DIR.glob(f"{number}_*.txt")
        head = " ".join(text_file.read_text(encoding="utf-8")[:1500].split()).replace("**", "")
        assert paper.title.lower() in head.lower(), number
        for author in paper.authors:
            assert author in head, (number, author)


def test_paper_numbers_become_titles_and_authors() -> None:
    assert paper_words("Dehghan: Image Colorization Using Deep Neural Networks (2023) - paper "
                       "003") == "Dehghan: Image Colorization Using Deep Neural Networks (2023)"
    text = paper_words("Zhang et al. 2017 (cited by papers 000 [10] and 003 [2])")
    assert text == ("Zhang et al. 2017 (cited by Mathur, Dabas, Rana & Kumar: “Recoloring "
                    "Grayscale Images using GAN” and Dehghan: “Image Colorization Using Deep "
                    "Neural Networks”)")
    assert paper_words("CycleGAN, paper 001") == (
        "CycleGAN, Mahajan: “A comprehensive Analysis on Image Colorization using Generative "
        "Adversarial Networks (GANs)”")
    assert paper_words("the paper's network; paper 999") == "the paper's network; paper 999"


def test_recipes_and_data_paths_in_words() -> None:
    recipe = ("python -m colorstudio.train training/recipes/x.toml --export  (stage 0: 64px, "
              "batch 32, 30 min, losses {'class': 1.0, 'huber': 10.0}; stage 1: 128px, batch "
              "16, 20 min, losses {'class': 1.0, 'huber': 10.0}; stage 2: 128px, batch 16, 92 "
              "min, losses {'class': 1.0, 'huber': 10.0})")
    assert recipe_words(recipe) == (
        "3 stages: 64 px for 30 min (batch 32), then 128 px for 112 min in 2 stages (batch "
        "16); losses: colour-class cross-entropy ×1 + Huber ×10 (recipe training/recipes/x.toml)")
    assert (plain("../shared/data/train: Tiny-ImageNet")
            == "the project's training set: Tiny-ImageNet")
    assert plain("on ../shared/data/val") == "on the project's validation set"
    assert plain("weights {'l1': 100.0, 'adv': 1.0}") == "weights L1 ×100 + adversarial ×1"
    assert plain("a {set} of braces") == "a {set} of braces"


_JARGON = (re.compile(r"\bpapers? \d{3}"), re.compile(r"shared/data"), re.compile(r"\{'"))


@pytest.mark.parametrize("path", sorted(bundled_models_dir().glob("*.toml")),
                         ids=lambda p: p.stem)
def test_every_bundled_card_reads_in_the_users_words(path: Path) -> None:
    from colorstudio.ui.model_manager import card_html

    html = card_html(load_card(path), False, None)
    for pattern in _JARGON:
        assert not pattern.search(html), (pattern.pattern, path.name)


def _jargon_card(tiny_models: Path, dest: Path) -> str:
    """The tiny CNN's card, worded like the bundled ones (paper number, data paths, losses)."""
    card = load_card(tiny_models / "tiny_mane2021_cnn.toml")
    card = dataclasses.replace(
        card, id="worded_cnn", name="Worded CNN", path=None,
        paper="Mane, Shivam, Kumari, Sharma: Recolorisation of Images using Deep Neural "
              "Networks (2021) - paper 004 (cited by paper 003 [2])",
        training_data="../shared/data/train: Tiny-ImageNet, Caltech-101 (research datasets)",
        recipe="python -m colorstudio.train training/recipes/mane2021_cnn.toml --export  "
               "(stage 0: 64px, batch 32, 4 min, losses {'mse': 1.0}; stage 1: 64px, batch 32, "
               "25 min, losses {'mse': 1.0})",
        deviations=("Trained on ~40k photos in ../shared/data/train for 29 minutes.",),
        metrics=Metrics(dataset="../shared/data/val", images=183, psnr=22.1, grey_psnr=22.35,
                        colourfulness=18.2, truth_colourfulness=43.1, ssim=0.93))
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "worded_cnn.toml").write_text(card_to_toml(card), encoding="utf-8")
    for w in tiny_models.glob(f"{load_card(tiny_models / 'tiny_mane2021_cnn.toml').weights}"):
        (dest / w.name).write_bytes(w.read_bytes())
    return "worded_cnn"


def test_model_manager_shows_cards_in_the_users_words(qtbot, tiny_models: Path,
                                                      tmp_path: Path) -> None:
    user = tmp_path / "user_models"
    mid = _jargon_card(tiny_models, user)
    win, services = make_window(qtbot, [tiny_models, user], tmp_path / "s.ini")
    try:
        m = win.open_model_manager()
        m.select(mid)
        text = m.details.toPlainText()
        assert "Recolorisation of Images using Deep Neural Networks (2021)" in text
        assert "cited by Dehghan: “Image Colorization Using Deep Neural Networks”" in text
        assert "the project's training set: Tiny-ImageNet" in text
        assert ("2 stages: 64 px for 29 min in 2 stages (batch 32); losses: mean squared error "
                "×1") in text
        assert "photos in the project's training set for 29 minutes" in text
        assert "on the project's validation set (183 images)" in text
        # The truth's colourfulness, measured with the model's, instead of a fixed "≈ 38".
        assert "colourfulness 18.2 (the original colour photos: 43.1)" in text
        assert "38" not in text
        for pattern in _JARGON:
            assert not pattern.search(text), pattern.pattern
        assert "paper 004" in (user / "worded_cnn.toml").read_text()  # the card file's record
        m.resize(900, 640)
        qtbot.wait(50)
        Path("/tmp/shots").mkdir(parents=True, exist_ok=True)
        m.grab().save("/tmp/shots/h3_manager.png")
    finally:
        win.close()
        services.engine.shutdown()


def test_export_records_the_truths_colourfulness(tmp_path: Path, tiny_models: Path) -> None:
    from colorstudio.train.export import measure

    data = _colour_folder(tmp_path / "val")
    card = discover_cards([tiny_models])["tiny_mane2021_cnn"]
    m = measure(card, data, "cpu")
    assert m.truth_colourfulness is not None and m.truth_colourfulness > 10
    assert "truth_colourfulness" in card_to_toml(dataclasses.replace(card, metrics=m))
