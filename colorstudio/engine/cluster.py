"""Running a planned batch on a Ray cluster (`colorstudio colorize ... --cluster ADDRESS`).

Optional: Ray is imported only here and only when a cluster batch starts (`pip install
colorstudio[cluster]`); the single-machine path never imports this module's Ray parts.

Every worker is a Ray actor that loads the model once (one GPU each where the cluster has GPUs,
one CPU otherwise) and writes each output through `Colorizer.colorize_file`, the one export
path: the same atomic, resumable, never-overwrite rules and the same provenance as a batch on
one machine. So a batch interrupted on the cluster resumes on a workstation and the reverse.
Files are handed out as workers become free (at most `PER_WORKER` queued on each). A killed
worker is restarted by Ray and its files retried (`max_restarts`, `max_task_retries`); a file
that still fails is one line in the report and the batch goes on. Inputs, outputs and the
models folder must be paths that every node sees (a shared file system).
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.errors import ColorStudioError
from .batch import BatchJob, FileOutcome, clean_stale_temps, write_report

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install colorstudio[cluster]"
PER_WORKER = 2  # files queued on a worker at once: one running, one ready to start
MAX_RESTARTS = 4  # Ray restarts a dead worker this many times...
MAX_TASK_RETRIES = 2  # ...and gives a file this many more tries on the restarted one
START_TIMEOUT_S = 600.0  # workers that cannot be placed (or load the model) by then are dropped


class ClusterError(ColorStudioError):
    """The cluster cannot be used (Ray missing, address unreachable, no worker started)."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--cluster needs Ray, which is not installed: {INSTALL_HINT}"
                           ) from None
    return ray


def _reachable(address: str) -> None:
    """Fail in seconds, with one line, on a host:port nobody listens on (Ray itself retries
    for a minute and then raises deep inside)."""
    if address in ("auto", "local") or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise ClusterError(f"--cluster {address}: expected HOST:PORT, 'auto' or 'local'")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except OSError as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address} "
                           f"({exc.strerror or exc})") from None


def connect(address: str, num_cpus: int | None = None) -> Any:
    """Join the cluster at `address` (HOST:PORT, ray://HOST:PORT or 'auto'), or start a local
    one for `local` (on 127.0.0.1 only, stopped with `disconnect`). Returns the ray module."""
    if address == "local" or address.rpartition(":")[0] in ("127.0.0.1", "localhost"):
        # A local cluster talks over the loopback address only (Ray's node IP otherwise is
        # this machine's network address); a driver joining one must agree. Read by Ray
        # when it is imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    ray = import_ray()
    if ray.is_initialized():
        return ray
    _reachable(address)
    kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False,
                                  "configure_logging": True}
    try:
        if address == "local":
            ray.init(num_cpus=num_cpus, include_dashboard=False, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except Exception as exc:  # noqa: BLE001 - whatever Ray raises, the user gets one line
        detail = " ".join(str(exc).split())[:200]
        where = "start a local Ray cluster" if address == "local" else \
            f"connect to the Ray cluster at {address}"
        raise ClusterError(f"cannot {where} ({type(exc).__name__}: {detail})") from None
    return ray


def disconnect() -> None:
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():
        ray.shutdown()


def _worker_class(ray: Any, gpu: bool) -> Any:
    class Worker:
        """One model, loaded once; colourises the files it is given."""

        def __init__(self, models_dirs: list[Path] | None, device: str, model_id: str,
                     file_kwargs: dict[str, Any]) -> None:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            from .batch import Colorizer
            from .models import ModelStore

            self.model_id, self.file_kwargs, self.error = model_id, file_kwargs, ""
            try:
                self.colorizer = Colorizer(ModelStore(models_dirs), device)
                self.colorizer.model(model_id)
            except ColorStudioError as exc:  # reported by ready(), not a restart loop
                self.error = str(exc)
            except Exception as exc:  # noqa: BLE001
                self.error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"

        def ready(self) -> dict[str, Any]:
            return {"pid": os.getpid(), "host": socket.gethostname(), "error": self.error,
                    "device": str(getattr(getattr(self, "colorizer", None), "device", ""))}

        def colorize(self, src: str, dst: str) -> FileOutcome:
            return self.colorizer.colorize_file(Path(src), Path(dst), self.model_id,
                                                **self.file_kwargs)

    opts: dict[str, Any] = {"num_cpus": 1, "max_restarts": MAX_RESTARTS,
                                "max_task_retries": MAX_TASK_RETRIES}
    if gpu:
        opts["num_gpus"] = 1
    return ray.remote(**opts)(Worker)


class Progress:
    """A progress bar with ETA on stderr: redrawn in place on a terminal, a line every 5 %
    (or 30 s) otherwise. `line()` prints a message above the bar."""

    def __init__(self, total: int, work: int | None = None, stream: Any = None) -> None:
        """`total` files, of which `work` are colourised (the rest skipped or refused at
        once: they do not count towards the rate the ETA is made from)."""
        self.total, self.done, self.t0 = total, 0, time.perf_counter()
        self.work, self.worked = total if work is None else work, 0
        self.t_work: float | None = None
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_pct, self._last_t = -5, 0.0

    def started(self) -> None:
        """The first worker is ready: the rate is measured from here (not Ray's start-up)."""
        if self.t_work is None:
            self.t_work = time.perf_counter()

    def text(self) -> str:
        n, total = self.done, max(self.total, 1)
        now = time.perf_counter()
        busy = now - (self.t_work if self.t_work is not None else self.t0)
        rate = self.worked / max(busy, 1e-9)
        eta_s = _clock((self.work - self.worked) / rate) if self.worked else "--:--"
        width = 24
        fill = int(width * n / total)
        return (f"[{'#' * fill}{'.' * (width - fill)}] {n}/{self.total} "
                f"{100 * n / total:.0f}% {rate:.2f} files/s "
                f"elapsed {_clock(now - self.t0)} eta {eta_s}")

    def advance(self, worked: bool = True) -> None:
        self.done += 1
        self.worked += worked
        pct = 100 * self.done // max(self.total, 1)
        now = time.perf_counter()
        if self.tty:
            self.stream.write("\r" + self.text())
            self.stream.flush()
        elif pct >= self._last_pct + 5 or now - self._last_t >= 30 or self.done == self.total:
            self._last_pct, self._last_t = pct, now
            print(f"progress: {self.text()}", file=self.stream, flush=True)

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(s: float) -> str:
    s = round(s)
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def _lost(src: Path, exc: BaseException) -> str:
    """One line for a file whose worker died on every try (or whose task failed in Ray)."""
    cause = type(exc).__name__
    first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    if first:
        cause += f": {first[:160]}"
    return f"{src.name}: the Ray worker was lost while colourising it ({cause})"


def run_cluster_batch(ray: Any, jobs: list[BatchJob], *, models_dirs: list[Path] | None,
                      model_id: str, device: str = "auto", workers: int | None = None,
                      report: Path | None = None,
                      on_outcome: Callable[[int, int, FileOutcome], None] | None = None,
                      on_note: Callable[[str], None] | None = None,
                      on_workers: Callable[[list[dict[str, Any]]], None] | None = None,
                      **file_kwargs: Any) -> list[FileOutcome]:
    """Run planned jobs on the connected Ray cluster; the same outcomes, in the same order, and
    the same report as `batch.run_batch` (the report is rewritten as files finish and once
    more at the end). `workers` defaults to one per GPU, or one per CPU without GPUs.
    `on_workers` receives each started worker's {pid, host, device} (tests kill one)."""
    note = on_note or (lambda m: log.info("%s", m))
    outcomes: list[FileOutcome | None] = [None] * len(jobs)
    todo = deque(i for i, j in enumerate(jobs) if j.action == "colorize")
    n_done = 0
    every = max(1, len(jobs) // 100)

    def record(i: int, res: FileOutcome) -> None:
        nonlocal n_done
        job = jobs[i]
        res.input = job.src  # as the user gave it (workers got absolute paths)
        if res.output is not None:
            res.output = job.dst
        if not res.model and job.action != "fail":
            res.model = model_id
        outcomes[i] = res
        n_done += 1
        if on_outcome is not None:
            on_outcome(n_done, len(jobs), res)
        if report is not None and n_done % every == 0:
            _try_report(report, outcomes)

    folders = {j.dst.parent for j in jobs} | ({Path(report).parent} if report else set())
    for folder in folders:
        clean_stale_temps(folder)
    try:
        for i, job in enumerate(jobs):
            if job.action == "skip":
                record(i, FileOutcome(job.src, job.dst, "skipped", job.reason))
            elif job.action == "fail":
                record(i, FileOutcome(job.src, None, "failed", job.reason))
        if todo:
            _dispatch(ray, jobs, todo, record, note, on_workers, models_dirs=models_dirs,
                      model_id=model_id, device=device, workers=workers,
                      file_kwargs=file_kwargs)
    finally:
        for folder in folders:  # what a killed worker's write left (no worker runs now)
            clean_stale_temps(folder)
        if report is not None:
            _try_report(report, outcomes)
    return [o for o in outcomes if o is not None]


def _dispatch(ray: Any, jobs: list[BatchJob], todo: deque[int],
              record: Callable[[int, FileOutcome], None], note: Callable[[str], None],
              on_workers: Callable[[list[dict[str, Any]]], None] | None, *,
              models_dirs: list[Path] | None, model_id: str, device: str,
              workers: int | None, file_kwargs: dict[str, Any]) -> None:
    res = ray.cluster_resources()
    gpus, cpus = int(res.get("GPU", 0)), int(res.get("CPU", 0))
    use_gpu = bool(gpus) and device != "cpu"  # --device cpu: CPU workers even beside GPUs
    capacity = gpus if use_gpu else cpus
    if capacity < 1:
        raise ClusterError("the Ray cluster has no CPU or GPU to run a worker on")
    n = min(workers or capacity, capacity, len(todo))
    if workers and workers > capacity:
        note(f"the cluster has room for {capacity} workers ({'GPUs' if use_gpu else 'CPUs'}); "
             f"starting {capacity}, not {workers}")
    cls = _worker_class(ray, gpu=use_gpu)
    dirs = [Path(d).absolute() for d in models_dirs] if models_dirs else None
    spare = n  # replacements for workers Ray gave up on (restarts used up)

    def start() -> Any:
        return cls.remote(dirs, device, model_id, file_kwargs)

    handles: dict[int, Any] = {w: start() for w in range(n)}
    gen = {w: 0 for w in handles}  # bumped when a worker is replaced
    pending: dict[Any, tuple[str, int, int, int]] = {
        h.ready.remote(): ("ready", w, -1, 0) for w, h in handles.items()}
    busy = {w: 0 for w in handles}
    live: set[int] = set()
    infos: list[dict[str, Any]] = []
    t_start = time.monotonic()
    try:
        _loop(ray, jobs, todo, record, note, on_workers, handles, gen, pending, busy, live,
              infos, t_start, spare, start)
    finally:  # an interrupted batch stops its workers before the driver tidies up
        for h in handles.values():
            try:
                ray.kill(h, no_restart=True)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
    # Files whose worker could not be replaced are reported, never silently dropped.
    while todo:
        i = todo.popleft()
        record(i, FileOutcome(jobs[i].src, None, "failed",
                              f"{jobs[i].src.name}: not done, no Ray worker left"))


def _loop(ray: Any, jobs: list[BatchJob], todo: deque[int],
          record: Callable[[int, FileOutcome], None], note: Callable[[str], None],
          on_workers: Callable[[list[dict[str, Any]]], None] | None, handles: dict[int, Any],
          gen: dict[int, int], pending: dict[Any, tuple[str, int, int, int]],
          busy: dict[int, int], live: set[int], infos: list[dict[str, Any]], t_start: float,
          spare: int, start: Callable[[], Any]) -> None:
    first_error = ""

    def feed(w: int) -> None:
        while todo and busy[w] < PER_WORKER:
            i = todo.popleft()
            src, dst = jobs[i].src.absolute(), jobs[i].dst.absolute()
            pending[handles[w].colorize.remote(str(src), str(dst))] = ("file", w, i, gen[w])
            busy[w] += 1

    while pending:
        timeout = None if live else max(1.0, START_TIMEOUT_S - (time.monotonic() - t_start))
        done, _ = ray.wait(list(pending), num_returns=1, timeout=timeout)
        if not done:  # no worker came up in time
            raise ClusterError(f"no Ray worker started within {START_TIMEOUT_S:.0f} s "
                               "(is there a free CPU/GPU on the cluster?)")
        ref = done[0]
        kind, w, i, g = pending.pop(ref)
        current = g == gen[w]
        try:
            value = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - the worker died on every try
            if kind == "file":
                busy[w] -= current
                record(i, FileOutcome(jobs[i].src, None, "failed", _lost(jobs[i].src, exc)))
            else:
                first_error = first_error or _lost(Path("worker"), exc).split(": ", 1)[1]
            if not current:
                pass  # a task of a worker already replaced
            elif _is_dead(ray, exc) or kind == "ready":
                live.discard(w)
                if spare > 0 and todo:
                    spare -= 1
                    note(f"a Ray worker stopped for good; starting another ({spare} spare left)")
                    handles[w] = start()
                    gen[w] += 1
                    busy[w] = 0
                    pending[handles[w].ready.remote()] = ("ready", w, -1, gen[w])
            elif w in live:
                feed(w)
        else:
            if kind == "ready":
                if value["error"]:
                    first_error = first_error or value["error"]
                    ray.kill(handles[w], no_restart=True)
                    note(f"a Ray worker on {value['host']} could not load the model: "
                         f"{value['error']}")
                else:
                    live.add(w)
                    infos.append(value)
                    if on_workers is not None:
                        on_workers(list(infos))
                    feed(w)
            else:
                busy[w] -= current
                record(i, value)
                if current and w in live:
                    feed(w)
        if not live and not any(k == "ready" for k, *_ in pending.values()) and todo:
            raise ClusterError(f"no Ray worker could run: {first_error or 'all of them stopped'}")


def _is_dead(ray: Any, exc: BaseException) -> bool:
    return isinstance(exc, ray.exceptions.RayActorError)


def _try_report(path: Path, outcomes: list[FileOutcome | None]) -> None:
    try:
        write_report(path, [o for o in outcomes if o is not None])
    except OSError as exc:
        log.warning("cannot write the report %s: %s", path, exc.strerror or exc)


__all__ = [
    "INSTALL_HINT",
    "ClusterError",
    "Progress",
    "connect",
    "disconnect",
    "import_ray",
    "run_cluster_batch",
]
