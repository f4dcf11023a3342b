"""Issue 17: data-parallel training, `torchrun --nproc-per-node 2 -m colorstudio.train RECIPE`.

Real torchrun, two CPU processes, gloo over the loopback interface, tiny models, a few steps.
Every file opened for writing or renamed into the run folder is logged with the rank of the
process that did it (an audit hook in a `sitecustomize` on PYTHONPATH), so "only rank 0
writes" is observed, not assumed.

The tolerance: with the same global batch, the two ranks see exactly the samples, augmentation
and simulated hints the single process sees, each half of them; DDP averages the halves'
gradients, which for a per-sample mean loss is the whole batch's gradient. What differs is
float32 summation order (two half-batch sums added, vs one sum; the gloo all-reduce). On a
network without BatchNorm (`dehghan2023_autoencoder`) we hold the reported losses to 1e-5
relative and the weights after 4 Adam steps to 1e-6 absolute (Adam divides by sqrt(v), which
can enlarge a 1e-7 gradient difference on a near-zero gradient into a visible step; measured
difference: 5e-8, lr 1e-3, weights moved by 2e-3). With BatchNorm on the CPU each rank normalises
with its own half-batch statistics (SyncBatchNorm needs CUDA), so BatchNorm networks are
only checked to train, write on rank 0 only and report averaged, finite losses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from test_train import _colour

from colorstudio.engine.tiny import TINY_CONFIGS

HOOK = '''
import os, sys
_root = os.environ.get("CS_WATCH_DIR")
_log = os.environ.get("CS_WRITE_LOG")
_W = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

def _note(path):
    p = os.path.abspath(os.fsdecode(path))
    if p.startswith(_root) and not p.startswith(_log):
        fd = os.open(_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, f"{os.environ.get('RANK', '-')} {p}\\n".encode())
        os.close(fd)

def _hook(event, args):
    try:
        if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2]
            if (mode and any(c in mode for c in "wax+")) or (not mode and flags & _W):
                _note(args[0])
        elif event in ("os.rename", "os.replace"):
            _note(args[1])
    except Exception:
        pass

if _root and _log:
    sys.addaudithook(_hook)
'''

STEP_RE = re.compile(r"\] step (\d+)/\d+ (.*?) \d+ img/s")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ddp_photos")
    for i in range(12):
        Image.fromarray(_colour(i)).save(d / f"c{i:02d}.png")
    return d


@pytest.fixture(scope="module")
def hook_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hook")
    (d / "sitecustomize.py").write_text(HOOK)
    return d


def _toml(v: object) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    return json.dumps(v)


def write_recipe(path: Path, **stage: object) -> Path:
    path.write_text("[[stage]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in stage.items()))
    return path


def train(recipe: Path, nproc: int, hook_dir: Path, watch: Path, log: Path
          ) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo",
           "PYTHONPATH": os.pathsep.join([str(hook_dir), os.environ.get("PYTHONPATH", "")]),
           "CS_WATCH_DIR": str(watch), "CS_WRITE_LOG": str(log)}
    env.pop("WORLD_SIZE", None)
    if nproc == 1:
        cmd = [sys.executable, "-m", "colorstudio.train", str(recipe)]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={nproc}", "--master-addr=127.0.0.1",
               "-m", "colorstudio.train", str(recipe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def step_losses(stdout: str) -> dict[int, dict[str, float]]:
    out = {}
    for m in STEP_RE.finditer(stdout):
        out[int(m.group(1))] = {k: float(v) for k, v in
                                (kv.split("=") for kv in m.group(2).split())}
    return out


def writers(log: Path) -> dict[str, set[str]]:
    """{rank: names written} from the audit log ('-' = the torchrun launcher)."""
    seen: dict[str, set[str]] = {}
    if log.is_file():
        for line in log.read_text().splitlines():
            rank, path = line.split(" ", 1)
            seen.setdefault(rank, set()).add(Path(path).name)
    return seen


def regress_stage(photos: Path, out: Path, steps: int) -> dict:
    arch = "dehghan2023_autoencoder"
    return {"arch": arch, "config": dict(TINY_CONFIGS[arch]), "objective": "regress",
            "losses": {"mse": 1.0}, "data": [str(photos)], "holdout": 2, "load_size": 32,
            "size": 32, "batch": 4, "steps": steps, "lr": 1e-3, "out": str(out),
            "cache_dir": "", "device": "cpu", "checkpoint_every": 2, "preview_every": 2,
            "log_every": 1, "seed": 3, "threads": 1}


def single_process(photos: Path, out: Path) -> dict[int, dict[str, float]]:
    """The reference, in this process: 2 steps, then resumed to 4, as the DDP run does."""
    from colorstudio.train.config import TrainConfig
    from colorstudio.train.fit import fit

    losses: dict[int, dict[str, float]] = {}
    for steps in (2, 4):
        cfg = TrainConfig.from_dict(regress_stage(photos, out, steps))
        fit(cfg, on_event=lambda e: losses.update({e.step: dict(e.losses)})
            if e.kind == "step" else None)
        if steps == 2:
            (out / "weights.safetensors").unlink()
    return losses


def test_ddp_two_ranks_match_one_process_and_resume(photos: Path, hook_dir: Path,
                                                    tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    out1 = tmp_path / "n1" / "stage0"
    l1 = single_process(photos, out1)
    out2 = tmp_path / "n2" / "stage0"
    log = tmp_path / "writes.log"
    recipe = tmp_path / "r.toml"
    # 2 steps, then "interrupted" (the checkpoint stays, no weights): resume to step 4.
    write_recipe(recipe, **regress_stage(photos, out2, 2))
    first = train(recipe, 2, hook_dir, tmp_path / "n2", log)
    (out2 / "weights.safetensors").unlink()
    write_recipe(recipe, **regress_stage(photos, out2, 4))
    second = train(recipe, 2, hook_dir, tmp_path / "n2", log)
    assert "resumed at step 2" in second.stdout, second.stdout
    text2, who = first.stdout + second.stdout, writers(log)

    # Only rank 0 writes: config, checkpoint, weights, seconds.txt; rank 1 and the launcher
    # write nothing in the run folder.
    assert set(who) == {"0"}, who
    assert {"config.json", "checkpoint.pt", "weights.safetensors", "seconds.txt"} <= who["0"]
    assert "2 processes on cpu" in text2
    # Each step is logged once (by rank 0) with the ranks' mean loss: the mean of the two
    # half-batch MSEs is the whole batch's MSE, so it equals the single process's loss.
    l2 = step_losses(text2)
    assert sorted(l1) == sorted(l2) == [1, 2, 3, 4], (l1, text2)
    assert len(re.findall(r"\] step 1/", text2)) == 1
    for s in l1:
        assert l2[s]["mse"] == pytest.approx(l1[s]["mse"], rel=1e-5, abs=1e-7), (s, l1, l2)
    w1, w2 = load_file(out1 / "weights.safetensors"), load_file(out2 / "weights.safetensors")
    assert w1.keys() == w2.keys()
    diff = max(float((w1[k] - w2[k]).abs().max()) for k in w1)
    init = _init()
    moved = max(float((w1[k] - init[k]).abs().max()) for k in w1)
    print(f"max |weights(2 ranks) - weights(1 process)| = {diff:.2e}; moved {moved:.2e}")
    assert moved > 1e-3  # the weights did train
    assert diff < 1e-6, diff
    assert torch.load(out2 / "checkpoint.pt", weights_only=True)["step"] == 4


def _init() -> dict[str, torch.Tensor]:
    from colorstudio.nets import build

    torch.manual_seed(3)
    arch = "dehghan2023_autoencoder"
    return build(arch, dict(TINY_CONFIGS[arch])).state_dict()


def test_ddp_guided_batchnorm_net_trains_on_rank0_files(photos: Path, hook_dir: Path,
                                                        tmp_path: Path) -> None:
    arch = "guided_unet"
    out = tmp_path / "g" / "stage0"
    log = tmp_path / "writes.log"
    recipe = write_recipe(
        tmp_path / "g.toml", arch=arch, config=dict(TINY_CONFIGS[arch]), objective="guided",
        losses={"class": 1.0, "huber": 10.0}, rebalance=0.5, data=[str(photos)], holdout=2,
        load_size=32, size=32, batch=4, steps=2, lr=1e-3, out=str(out), cache_dir="",
        device="cpu", checkpoint_every=1, preview_every=1, log_every=1, seed=3, threads=1)
    proc = train(recipe, 2, hook_dir, tmp_path / "g", log)
    who = writers(log)
    assert set(who) == {"0"}, who
    assert (out / "weights.safetensors").is_file()
    losses = step_losses(proc.stdout)
    assert sorted(losses) == [1, 2]
    assert all(np.isfinite(v) for d in losses.values() for v in d.values())


def test_ddp_refuses_a_batch_that_does_not_split(photos: Path, hook_dir: Path,
                                                 tmp_path: Path) -> None:
    stage = regress_stage(photos, tmp_path / "odd" / "stage0", 1)
    stage["batch"] = 3
    recipe = write_recipe(tmp_path / "odd.toml", **stage)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLD_SIZE": "2", "RANK": "0"}
    proc = subprocess.run([sys.executable, "-m", "colorstudio.train", str(recipe)],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert proc.returncode != 0
    assert "batch 3 is the global batch: it must be a multiple of the 2 processes" in proc.stderr
    assert not (tmp_path / "odd").exists()
