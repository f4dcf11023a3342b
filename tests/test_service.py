"""The engine's Qt service: jobs end in exactly one terminal signal, latest request wins,
cancel works whether queued or running, shutdown joins the worker."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from uihelpers import no_thread_leak, write_grey  # noqa: F401 - autouse fixture

from colorstudio.core.errors import ColorStudioError
from colorstudio.core.hints import HintPoint, HintSet
from colorstudio.core.imageio import read_image
from colorstudio.core.preprocess import Step
from colorstudio.engine.service import (ColorizeRequest, EngineService, ExportItem,
                                        record_path, scaled_hints)


class Recorder:
    """Collects every terminal signal of a service, per job id."""

    def __init__(self, svc: EngineService) -> None:
        self.events: list[tuple[str, int, object]] = []
        svc.finished.connect(lambda j, r: self.events.append(("finished", j, r)))
        svc.failed.connect(lambda j, m: self.events.append(("failed", j, m)))
        svc.cancelled.connect(lambda j: self.events.append(("cancelled", j, None)))

    def outcome(self, jid: int) -> str:
        return next(kind for kind, j, _ in self.events if j == jid)

    def result(self, jid: int) -> object:
        return next(r for _, j, r in self.events if j == jid)

    def done(self, *jids: int) -> bool:
        seen = {j for _, j, _ in self.events}
        return all(j in seen for j in jids)


@pytest.fixture
def svc(tiny_models: Path):
    s = EngineService([tiny_models], device="cpu")
    yield s
    s.shutdown()


def _blocker(svc: EngineService) -> tuple[int, threading.Event, threading.Event]:
    """A job that holds the worker until released (started is set once it runs)."""
    started, release = threading.Event(), threading.Event()

    def fn(ctx):  # noqa: ANN001, ANN202
        started.set()
        release.wait(10)
        return "released"

    jid = svc.submit(fn, "block")
    assert started.wait(20)
    return jid, started, release


def test_every_job_ends_in_exactly_one_terminal_signal(qtbot, svc: EngineService) -> None:
    rec = Recorder(svc)
    blocker, _, release = _blocker(svc)

    def boom(ctx):  # noqa: ANN001, ANN202
        raise ColorStudioError("photo.png: cannot decode")

    def bug(ctx):  # noqa: ANN001, ANN202
        raise ZeroDivisionError("division by zero")

    ok = svc.submit(lambda ctx: 42)
    bad = svc.submit(boom)
    crash = svc.submit(bug)
    dropped = svc.submit(lambda ctx: 1)
    assert svc.cancel(dropped)
    release.set()
    qtbot.waitUntil(lambda: rec.done(blocker, ok, bad, crash, dropped), timeout=20000)
    counts = Counter(j for _, j, _ in rec.events)
    assert all(counts[j] == 1 for j in (blocker, ok, bad, crash, dropped))
    assert rec.outcome(ok) == "finished" and rec.result(ok) == 42
    assert rec.outcome(bad) == "failed" and rec.result(bad) == "photo.png: cannot decode"
    assert rec.outcome(crash) == "failed" and "division by zero" in str(rec.result(crash))
    assert rec.outcome(dropped) == "cancelled"
    assert not svc.cancel(ok), "a finished job cannot be cancelled"


def test_latest_request_wins_queued_and_running(qtbot, svc: EngineService) -> None:
    rec = Recorder(svc)
    blocker, _, release = _blocker(svc)
    first = svc.submit(lambda ctx: "a", latest_key="preview")
    second = svc.submit(lambda ctx: "b", latest_key="preview")
    other = svc.submit(lambda ctx: "other", latest_key="something-else")
    assert rec.outcome(first) == "cancelled"  # replaced while still queued: at once
    release.set()
    qtbot.waitUntil(lambda: rec.done(blocker, second, other), timeout=20000)
    assert rec.result(second) == "b" and rec.result(other) == "other"

    # A running preview is cancelled by a newer one with the same key.
    started, go = threading.Event(), threading.Event()

    def slow(ctx):  # noqa: ANN001, ANN202
        started.set()
        go.wait(10)
        ctx.check()
        return "stale"

    running = svc.submit(slow, latest_key="preview")
    assert started.wait(20)
    newest = svc.submit(lambda ctx: "fresh", latest_key="preview")
    go.set()
    qtbot.waitUntil(lambda: rec.done(running, newest), timeout=20000)
    assert rec.outcome(running) == "cancelled"
    assert rec.result(newest) == "fresh"
    assert Counter(j for _, j, _ in rec.events)[running] == 1


def _spin_until_cancelled(started: threading.Event):  # noqa: ANN202
    """A job body that signals it runs, then waits for its cancellation."""

    def loop(ctx):  # noqa: ANN001, ANN202
        started.set()
        while not ctx.cancelled():
            threading.Event().wait(0.005)
        ctx.check()

    return loop


def test_cancel_running_job(qtbot, svc: EngineService) -> None:
    rec = Recorder(svc)
    started = threading.Event()

    loop = _spin_until_cancelled(started)

    jid = svc.submit(loop)
    assert started.wait(20)
    with qtbot.waitSignal(svc.cancelled, timeout=20000):
        assert svc.cancel(jid)
    assert rec.outcome(jid) == "cancelled"


def test_shutdown_with_running_job_joins_the_worker(qtbot, tiny_models: Path) -> None:
    s = EngineService([tiny_models], device="cpu")
    rec = Recorder(s)
    started = threading.Event()

    loop = _spin_until_cancelled(started)

    running = s.submit(loop)
    assert started.wait(30)
    queued = s.submit(lambda ctx: 1)
    assert s.shutdown()
    late = s.submit(lambda ctx: 2)
    qtbot.waitUntil(lambda: rec.done(running, queued, late), timeout=5000)
    assert {rec.outcome(j) for j in (running, queued, late)} == {"cancelled"}


def test_colorize_and_preview_with_tiny_model(qtbot, svc: EngineService) -> None:
    # `ready` may fire before a waitSignal could connect: wait for what it reports instead.
    qtbot.waitUntil(lambda: bool(svc.device_description), timeout=60000)
    assert "CPU" in svc.device_description
    assert svc.default_id() == "tiny_guided_unet"
    l_star = np.tile(np.linspace(5, 95, 80, dtype=np.float32), (50, 1))
    hints = HintSet((HintPoint(40, 25, 3, (20, 200, 40)),))
    req = ColorizeRequest(l_star, "tiny_guided_unet", hints, (Step.make("rotate90", k=1),))
    with qtbot.waitSignal(svc.finished, timeout=60000) as sig:
        jid = svc.colorize(req)
    assert sig.args[0] == jid
    res = sig.args[1]
    assert res.rgb.shape == (80, 50, 3) and res.rgb8.dtype == np.uint8
    assert res.l_star.shape == (80, 50)
    assert res.model_id == "tiny_guided_unet"


def test_scaled_hints() -> None:
    h = HintSet((HintPoint(10, 20, 4, (1, 2, 3)),))
    s = scaled_hints(h, 0.5)
    assert (s.points[0].x, s.points[0].y, s.points[0].radius) == (5, 10, 2)
    assert scaled_hints(h, 1.0) is h


def test_export_refuses_original_and_records_preprocessing(qtbot, svc: EngineService,
                                                           tmp_path: Path) -> None:
    src = write_grey(tmp_path / "photo.png")
    before = src.read_bytes()
    rec = Recorder(svc)
    steps = (Step.make("crop", left=0.25), Step.make("clahe"))
    items = [ExportItem(src, src, "tiny_guided_unet"),
             ExportItem(src, tmp_path / "out" / "photo_colorized.png", "tiny_guided_unet",
                        HintSet(), steps, depth=16, compare=tmp_path / "out" / "cmp.png")]
    with qtbot.waitSignal(svc.finished, timeout=60000):
        jid = svc.export(items)
    summary = rec.result(jid)
    assert src.read_bytes() == before
    assert len(summary.failed) == 1 and "refusing to overwrite the original" in summary.failed[0]
    out = read_image(tmp_path / "out" / "photo_colorized.png")
    assert out.size == (72, 64) and out.dtype == np.uint16  # cropped 25 % from the left
    record = json.loads(record_path(tmp_path / "out" / "photo_colorized.png").read_text())
    assert record["preprocessing"][0] == {"op": "crop", "left": 0.25, "top": 0.0,
                                          "right": 0.0, "bottom": 0.0}
    assert read_image(tmp_path / "out" / "cmp.png").size[0] > 2 * 72


def test_import_model(qtbot, tiny_models: Path, tmp_path: Path) -> None:
    user = tmp_path / "user_models"
    s = EngineService([tiny_models, user], device="cpu")
    try:
        rec = Recorder(s)
        card_src = tiny_models / "tiny_mane2021_cnn.toml"
        weights = next(tiny_models.glob("tiny_mane2021_cnn-*.safetensors"))
        mine = tmp_path / "mine.toml"
        mine.write_text(card_src.read_text().replace('id = "tiny_mane2021_cnn"', 'id = "my_cnn"'))
        with qtbot.waitSignal(s.failed, timeout=30000):
            bad = s.import_model(tmp_path / "model.pth", mine)
        assert "only .safetensors" in str(rec.result(bad))
        with qtbot.waitSignal(s.failed, timeout=30000):
            dup = s.import_model(weights, card_src)
        assert "already installed" in str(rec.result(dup))
        with qtbot.waitSignal(s.finished, timeout=30000):
            ok = s.import_model(weights, mine)
        card = rec.result(ok)
        assert card.id == "my_cnn" and card.verify()
        assert "my_cnn" in s.cards(refresh=True)
        assert (user / "my_cnn.toml").is_file()
    finally:
        s.shutdown()


def test_the_engine_service_is_the_ui_s_engine_api(svc: EngineService) -> None:
    """The window is typed against core.jobs.EngineAPI (no engine import in ui/)."""
    from colorstudio.core.jobs import EngineAPI

    assert isinstance(svc, EngineAPI)
