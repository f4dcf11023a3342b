"""Issue 13, point 7: GPU out of memory is handled once per job (the CPU fallback is remembered
for the rest of a batch), with torch 2.4's exception classes as well as newer ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from uihelpers import no_thread_leak, write_grey  # noqa: F401 - autouse fixture

from colorstudio.core.imageio import read_image
from colorstudio.core.metadata import read_file_metadata
from colorstudio.engine import pipeline
from colorstudio.engine.batch import Colorizer, plan_batch, run_batch
from colorstudio.engine.models import ModelStore
from colorstudio.engine.pipeline import colorize_l
from colorstudio.engine.service import EngineService, ExportItem

GPU = torch.device("meta")  # stands in for a GPU: the fallback logic looks at the type only


class FakeGPU:
    """`pipeline.predict_ab` that runs out of memory for every model on the "GPU"."""

    def __init__(self, exc: type[BaseException] = torch.cuda.OutOfMemoryError) -> None:
        self.exc, self.calls = exc, []
        self.real = pipeline.predict_ab

    def __call__(self, model, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN204
        self.calls.append(model.device.type)
        if model.device.type == GPU.type:
            raise self.exc("CUDA out of memory. Tried to allocate 20.00 GiB")
        return self.real(model, *args, **kwargs)


def _gpu_colorizer(tiny_models: Path) -> Colorizer:
    colorizer = Colorizer(ModelStore([tiny_models]), "cpu")
    colorizer.device = GPU  # its models load "on the GPU"; the CPU copy is the fallback
    return colorizer


def test_batch_tries_the_gpu_once_then_stays_on_the_cpu(tmp_path: Path, tiny_models: Path,
                                                        monkeypatch) -> None:
    fake = FakeGPU()
    monkeypatch.setattr(pipeline, "predict_ab", fake)
    for i in range(4):
        write_grey(tmp_path / "in" / f"p{i}.png", seed=i)
    colorizer = _gpu_colorizer(tiny_models)
    outcomes = run_batch(colorizer, plan_batch([tmp_path / "in"], tmp_path / "out"),
                         model_id="tiny_guided_unet")
    assert [o.status for o in outcomes] == ["ok"] * 4
    assert fake.calls == ["meta", "cpu", "cpu", "cpu", "cpu"]  # one GPU try in the batch
    assert outcomes[0].messages == [
        "GPU out of memory: running on the CPU instead (and for the rest of this job)"]
    assert all(not o.messages for o in outcomes[1:])  # said once, not per photo
    steps = read_file_metadata(outcomes[3].output).provenance["Preprocessing"]
    assert any("on cpu" in s for s in steps)  # the record says where it ran
    colorizer.start_job()  # a new job tries the GPU again
    fake.calls.clear()
    pipeline.forget_predictions()  # else the CPU copy's remembered answer for p0 is reused
    colorizer.colorize_image(read_image(tmp_path / "in" / "p0.png"), "tiny_guided_unet")
    assert fake.calls == ["meta", "cpu"]


def test_gui_export_job_remembers_the_fallback(qtbot, tiny_models: Path, tmp_path: Path,
                                               monkeypatch) -> None:
    fake = FakeGPU()
    monkeypatch.setattr(pipeline, "predict_ab", fake)
    svc = EngineService([tiny_models], device="cpu")
    try:
        done: dict[int, object] = {}
        svc.finished.connect(lambda j, r: done.__setitem__(j, r))
        svc.failed.connect(lambda j, m: done.__setitem__(j, m))
        gpu = svc.submit(lambda ctx: setattr(ctx.colorizer, "device", GPU))
        items = [ExportItem(write_grey(tmp_path / f"a{i}.png", seed=i),
                            tmp_path / f"o{i}_colorized.png", "tiny_guided_unet")
                 for i in range(3)]
        again = ExportItem(write_grey(tmp_path / "b.png", seed=9), tmp_path / "b_colorized.png",
                           "tiny_guided_unet")
        jobs = [gpu, svc.export(items), svc.export([again])]
        qtbot.waitUntil(lambda: all(j in done for j in jobs), timeout=60000)
        assert not done[jobs[1]].failed and not done[jobs[2]].failed
        # Job 1: one GPU try for three photos; job 2 (a new job) tries the GPU again, once.
        assert fake.calls == ["meta", "cpu", "cpu", "cpu", "meta", "cpu"]
        assert done[jobs[1]].messages == [
            "GPU out of memory: running on the CPU instead (and for the rest of this job)"]
    finally:
        svc.shutdown()


def test_oom_is_recognised_on_torch_2_4(tiny_store, monkeypatch) -> None:
    """torch 2.4 (allowed by pyproject) has no `torch.OutOfMemoryError`: it came with 2.5. Its
    CUDA OOM is `torch.cuda.OutOfMemoryError`, which later torch keeps as the same class."""
    monkeypatch.delattr(torch, "OutOfMemoryError")
    fake = FakeGPU(torch.cuda.OutOfMemoryError)
    monkeypatch.setattr(pipeline, "predict_ab", fake)
    cpu = tiny_store.load("tiny_mane2021_cnn", torch.device("cpu"))
    gpu_like = type(cpu)(cpu.card, cpu.net, GPU)
    res = colorize_l(gpu_like, np.full((40, 60), 50, np.float32), fallback=lambda: cpu)
    assert res.device == "cpu" and fake.calls == ["meta", "cpu"]
    from colorstudio.engine.pipeline import is_out_of_memory

    assert is_out_of_memory(torch.cuda.OutOfMemoryError("x"))
    assert is_out_of_memory(RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)"))
    assert not is_out_of_memory(RuntimeError("cuDNN error: CUDNN_STATUS_BAD_PARAM"))


    def cudnn_error(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("cuDNN error: CUDNN_STATUS_BAD_PARAM")

    monkeypatch.setattr(pipeline, "predict_ab", cudnn_error)
    with pytest.raises(RuntimeError, match="cuDNN"):  # other errors are not swallowed
        colorize_l(gpu_like, np.full((40, 60), 50, np.float32), fallback=lambda: cpu)
