"""Shared fixtures. Headless Qt for every test; tiny random models of every architecture."""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests run tiny models. With the 2 CPU cores busy (a training job, a parallel test run),
# torch's OpenMP threads wait on each other at every op: a 3-step fit of a tiny network took
# 43 s with 2 threads and 1.6 s with 1. Set before torch is imported anywhere in the session.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
# Every test, GUI or not, fails if it leaves a QThread running (tests/uihelpers.py).
from uihelpers import no_thread_leak  # noqa: E402, F401 - autouse fixture


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with `tiny_<arch>` cards + safetensors weights for every architecture."""
    from colorstudio.engine.tiny import write_tiny_models

    d = tmp_path_factory.mktemp("tiny_models")
    write_tiny_models(d)
    return d


@pytest.fixture(scope="session")
def tiny_cards(tiny_models: Path) -> dict:
    """{card id: ModelCard} of the tiny models."""
    from colorstudio.core.cards import discover_cards

    return discover_cards([tiny_models])


@pytest.fixture(scope="session")
def tiny_store(tiny_models: Path):
    """A ModelStore over the tiny models (cached networks shared across tests)."""
    from colorstudio.engine.models import ModelStore

    return ModelStore([tiny_models])


def grey_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A grey test photo in [0, 1]: smooth gradients, a bright disc and noise (H, W) float32."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    g = 0.25 + 0.5 * (xx / max(width - 1, 1)) * (0.5 + 0.5 * np.cos(yy / 9.0))
    disc = (xx - width * 0.6) ** 2 + (yy - height * 0.4) ** 2 < (min(width, height) / 4) ** 2
    g[disc] = 0.9
    g += rng.normal(0, 0.02, g.shape).astype(np.float32)
    return np.clip(g, 0, 1).astype(np.float32)


def colour_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A colourful sRGB test photo (H, W, 3) float32 in [0, 1] (far from grey)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 0.5 + 0.45 * np.sin(xx / (5 + 3 * seed % 7))
    g = 0.5 + 0.45 * np.cos(yy / 7.0)
    b = 0.5 + 0.45 * np.sin((xx + yy) / 11.0 + seed)
    img = np.stack([r, g, b], -1) + rng.normal(0, 0.02, (height, width, 3))
    return np.clip(img, 0, 1).astype(np.float32)


@pytest.fixture(autouse=True)
def fresh_predictions():
    """Each test starts without the pipeline's remembered hint-free predictions."""
    pipeline = sys.modules.get("colorstudio.engine.pipeline")
    if pipeline is not None:
        pipeline.forget_predictions()


@pytest.fixture
def cli(tiny_models: Path, capsys):
    """Run `colorstudio --models-dir <tiny> ARGS...` in-process -> (exit code, stdout, stderr)."""
    from colorstudio.cli import main

    def run(*args: str, models: Path | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--models-dir", str(models or tiny_models), *map(str, args)])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


@pytest.fixture
def make_grey():
    return grey_scene


@pytest.fixture
def make_colour():
    return colour_scene


@pytest.fixture
def win(qtbot, tiny_models: Path, tmp_path: Path):  # noqa: ANN001, ANN201
    """The main window over the tiny test models and an empty user-models folder."""
    from uihelpers import make_window

    window, services = make_window(qtbot, [tiny_models, tmp_path / "user_models"],
                                   tmp_path / "settings.ini")
    yield window
    window.close()
    services.engine.shutdown()
