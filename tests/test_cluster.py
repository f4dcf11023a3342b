"""Issue 17: `colorstudio colorize ... --cluster ADDRESS` on a real local Ray cluster.

One cluster for the module, started in this process on 127.0.0.1 with 2 CPUs and no dashboard
and stopped at the end; the CLI runs in subprocesses that join it by address (the path a user
takes with an existing cluster). Checked: the awkward-input corpus gives pixel-identical
outputs and the same report rows as the single-machine batch; a second run skips everything
complete; workers killed mid-batch are restarted by Ray and leave no partial file. Without
Ray: one line naming `pip install colorstudio[cluster]`, and the single-machine path never
imports Ray.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_archival_corpus import load_corpus_module, pixels, sha

HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="ray is not installed "
                               "(pip install colorstudio[cluster]); cluster tests skipped")
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # Ray on 127.0.0.1 only


def run_cli(*args: str, env: dict | None = None, timeout: int = 180
            ) -> subprocess.CompletedProcess:
    full = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONIOENCODING": "utf-8",
            "OMP_NUM_THREADS": "1", **LOOPBACK_ENV, **(env or {})}
    return subprocess.run([sys.executable, "-m", "colorstudio", *args], capture_output=True,
                          text=True, timeout=timeout, env=full, check=False)


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray cluster (127.0.0.1, 2 CPUs, no dashboard), stopped after the module."""
    if not HAVE_RAY:
        pytest.skip("ray is not installed (pip install colorstudio[cluster])")
    os.environ.update(LOOPBACK_ENV)  # before Ray is imported
    import ray

    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                   logging_level="ERROR")
    address = ctx.address_info["gcs_address"]
    assert address.startswith("127.0.0.1:"), address
    yield address
    ray.shutdown()


def report_rows(path: Path, src: Path, out: Path) -> dict[str, dict[str, str]]:
    """Rows by input (relative), with the output relative to `out` and no timing."""
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    result = {}
    for r in rows:
        r = dict(r)
        r.pop("seconds")
        if r["output"]:
            r["output"] = Path(r["output"]).relative_to(out).as_posix()
        result[Path(r["input"]).relative_to(src).as_posix()] = r
    return result


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory, tiny_models: Path, ray_address: str):
    root = tmp_path_factory.mktemp("cluster_corpus")
    src = root / "in"
    expect = load_corpus_module().make_corpus(src)
    common = ("--models-dir", str(tiny_models), "colorize", str(src), "--model",
              "tiny_guided_unet")
    single = run_cli(*common, "-o", str(root / "single"))
    cluster = run_cli(*common, "-o", str(root / "cluster"), "--cluster", ray_address,
                      "--workers", "2")
    return expect, src, root, single, cluster


@needs_ray
def test_corpus_on_cluster_pixel_identical_with_same_report(corpus_runs) -> None:
    expect, src, root, single, cluster = corpus_runs
    for proc in (single, cluster):
        assert "Traceback" not in proc.stderr + proc.stdout
        assert proc.returncode == 1, proc.stderr  # some corpus files fail, by design
    a, b = root / "single", root / "cluster"
    assert report_rows(a / "colorstudio-report.csv", src, a) == \
        report_rows(b / "colorstudio-report.csv", src, b)
    with open(b / "colorstudio-report.csv", encoding="utf-8") as fh:
        inputs = [Path(r["input"]).relative_to(src).as_posix() for r in csv.DictReader(fh)]
    with open(a / "colorstudio-report.csv", encoding="utf-8") as fh:
        assert inputs == [Path(r["input"]).relative_to(src).as_posix()
                          for r in csv.DictReader(fh)]  # same order, too
    outs = sorted(p.relative_to(a) for p in a.rglob("*_colorized*"))
    assert outs == sorted(p.relative_to(b) for p in b.rglob("*_colorized*"))
    assert len(outs) == sum(e.ok for e in expect.values()) > 5
    for rel in outs:
        pa, pb = pixels(a / rel), pixels(b / rel)
        assert pa.dtype == pb.dtype and np.array_equal(pa, pb), rel
    # Every failure is one line naming the file, as on one machine, and listed at the end.
    log, failed = cluster.stderr.split("\nfailed (", 1)
    for name, e in expect.items():
        if not e.ok:
            lines = [ln for ln in log.splitlines() if Path(name).name in ln]
            assert len(lines) == 1 and e.reason in lines[0], (name, log)
            assert f"  {src / name}\n" in failed, (name, failed)
    assert failed.startswith(f"{sum(not e.ok for e in expect.values())}):")
    assert "eta" in cluster.stderr  # the progress bar
    assert not list(b.rglob(".~cs-*"))


@needs_ray
def test_second_cluster_run_skips_everything_complete(corpus_runs, tiny_models: Path,
                                                      ray_address: str) -> None:
    expect, src, root, _, _ = corpus_runs
    out = root / "single"  # written on one machine, resumed on the cluster
    before = {p: sha(p) for p in out.rglob("*_colorized*")}
    proc = run_cli("--models-dir", str(tiny_models), "colorize", str(src), "-o", str(out),
                   "--model", "tiny_guided_unet", "--cluster", ray_address)
    assert "Traceback" not in proc.stderr
    with open(out / "colorstudio-report.csv", encoding="utf-8") as fh:
        status = {Path(r["input"]).relative_to(src).as_posix(): r["status"]
                  for r in csv.DictReader(fh)}
    assert status == {n: ("skipped" if e.ok else "failed") for n, e in expect.items()}
    assert {p: sha(p) for p in out.rglob("*_colorized*")} == before  # nothing rewritten


def _photos(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        yy, xx = np.mgrid[0:360, 0:480]
        g = 0.5 + 0.4 * np.sin(xx / (7 + i) + yy / 13) + rng.normal(0, 0.03, (360, 480))
        p = folder / f"p{i:02d}.png"
        Image.fromarray((np.clip(g, 0, 1) * 255).astype(np.uint8)).save(p)
        paths.append(p)
    return paths


@needs_ray
def test_killed_workers_restart_and_leave_no_partial_file(tmp_path: Path, tiny_models: Path,
                                                           ray_address: str) -> None:
    import ray

    from colorstudio.core.cards import sha256_file
    from colorstudio.engine.batch import output_is_complete, plan_batch
    from colorstudio.engine.cluster import run_cluster_batch

    n_files = 16
    _photos(tmp_path / "in", n_files)
    out = tmp_path / "out"
    jobs = plan_batch([tmp_path / "in"], out)
    pids: list[int] = []
    killed: list[int] = []
    lock = threading.Lock()

    def on_outcome(i: int, n: int, res) -> None:
        # The first file done once both workers are up: each is busy with its next file.
        # (Not "the third file": on a loaded machine the second worker can start after the
        # first has done three, and the test then killed one worker, not two.)
        with lock:
            if len(pids) == 2 and not killed:
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)

    notes: list[str] = []
    outcomes = run_cluster_batch(
        ray, jobs, models_dirs=[tiny_models], model_id="tiny_guided_unet", device="cpu",
        workers=2, report=out / "report.csv", on_outcome=on_outcome, on_note=notes.append,
        on_workers=lambda infos: pids.extend(x["pid"] for x in infos if x["pid"] not in pids))
    assert len(killed) == 2
    assert [o.status for o in outcomes] == ["ok"] * n_files, [o.error for o in outcomes]
    # Ray restarted the killed actors and retried their files: none had to be replaced.
    assert notes == []
    assert len(pids) == 2
    assert [o.input for o in outcomes] == [j.src for j in jobs]  # report order = plan order
    for job in jobs:
        assert output_is_complete(job.dst, sha256_file(job.src)), job.dst
    assert not list(out.rglob(".~cs-*"))  # the killed writes' temp files are gone
    assert len(list(out.glob("*_colorized.png"))) == n_files
    with open(out / "report.csv", encoding="utf-8") as fh:
        assert [r["status"] for r in csv.DictReader(fh)] == ["ok"] * n_files


@needs_ray
def test_unreachable_cluster_is_one_line(tmp_path: Path, tiny_models: Path) -> None:
    Image.fromarray(np.full((40, 60), 90, np.uint8)).save(tmp_path / "a.png")
    proc = run_cli("--models-dir", str(tiny_models), "colorize", str(tmp_path / "a.png"),
                   "-o", str(tmp_path / "o"), "--cluster", "127.0.0.1:1", timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot reach the Ray cluster at 127.0.0.1:1" in lines[0], lines
    assert not (tmp_path / "o" / "a_colorized.png").exists()


def test_without_ray_the_cluster_says_how_to_install(tmp_path: Path, tiny_models: Path) -> None:
    fake = tmp_path / "noray" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    Image.fromarray(np.full((40, 60), 90, np.uint8)).save(tmp_path / "a.png")
    proc = run_cli("--models-dir", str(tiny_models), "colorize", str(tmp_path / "a.png"),
                   "--cluster", "local", env={"PYTHONPATH": str(tmp_path / "noray")})
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    want = ("colorstudio: error: --cluster needs Ray, which is not installed: "
            "pip install colorstudio[cluster]")
    assert lines == [want], lines


def test_single_machine_batch_never_imports_ray(tmp_path: Path, tiny_models: Path) -> None:
    Image.fromarray(np.full((40, 60), 90, np.uint8)).save(tmp_path / "a.png")
    code = ("import sys; from colorstudio.cli import main; "
            f"rc = main(['--models-dir', {str(tiny_models)!r}, 'colorize', "
            f"{str(tmp_path / 'a.png')!r}, '-o', {str(tmp_path / 'o')!r}]); "
            "print('RAY' if any(m == 'ray' or m.startswith('ray.') for m in sys.modules) "
            "else 'NORAY', rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                          check=False)
    assert proc.stdout.split()[-2:] == ["NORAY", "0"], proc.stdout + proc.stderr
    assert (tmp_path / "o" / "a_colorized.png").is_file()


def test_make_test_runs_the_ray_tests_in_a_process_of_their_own() -> None:
    """Ray's driver leaves native threads and a SIGTERM handler in the process that called
    ray.init (checked: 9 threads after ray.shutdown); the rest of the suite runs without it."""
    if not shutil.which("make"):
        pytest.skip("make not installed")
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run(["make", "-n", "test"], cwd=root, capture_output=True, text=True,
                         timeout=60)
    runs = [line for line in res.stdout.splitlines() if "pytest" in line]
    assert len(runs) == 2, res.stdout
    assert "--ignore=tests/test_cluster.py" in runs[0]
    assert runs[1].rstrip().endswith("pytest -q tests/test_cluster.py")
