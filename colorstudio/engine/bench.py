"""`colorstudio bench`: in-process timings and peak memory, on CPU and (when present) GPU.

Every measurement runs on a synthetic grey test image (smooth gradients and a dark disc,
written by `_synthetic_grey`), not on a photograph: the numbers are comparable between
machines, but a real scan's JPEG or TIFF decode (noise, grain, EXIF) can take longer.

* 12-MP JPEG (4000x3000 grey) colourised at full resolution, file to file: cold (model load
  included) and warm;
* hint-to-preview latency: a photo shown at 256, 384 and 512 px with 10 hint points,
  colourised as the app's live preview does (network at `PREVIEW_SIZE`, the hint solve, the
  edge-aware upsampling to the shown size);
* network forward pass at 256 and 512 px (the live-hint budget of the default model);
* peak memory (max RSS of a fresh process) colourising a 50-MP 16-bit TIFF.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ..core.hints import HintPoint, HintSet
from ..core.imageio import write_image
from ..core.jobs import PREVIEW_SIZE
from .batch import Colorizer
from .models import ModelStore
from .pipeline import colorize_l


SYNTHETIC = "synthetic grey test image (gradients and a disc), not a photograph"


def _synthetic_grey(width: int, height: int, dtype: type) -> np.ndarray:
    """A smooth grey test scene with edges (gradients + discs), as RGB float for writing."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    g = 0.5 + 0.3 * np.sin(xx / 97.0) * np.cos(yy / 131.0)
    g[((xx - width / 2) ** 2 + (yy - height / 2) ** 2) < (min(width, height) / 4) ** 2] *= 0.5
    return np.repeat(g[..., None], 3, axis=2)


def _time(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_device(device: str, model_id: str | None, store_dirs: list[Path] | None,
                 tmp: Path, quick: bool = False) -> dict:
    """`quick`: a smoke run (tests) on a 0.75-MP JPEG with fewer repeats; same keys, and
    `jpeg_megapixels` says which size was measured."""
    col = Colorizer(ModelStore(store_dirs), device)
    card = col.store.card(model_id)
    jw, jh = (1000, 750) if quick else (4000, 3000)
    repeat = 1 if quick else 5
    jpg = tmp / f"bench-{jw}x{jh}.jpg"
    if not jpg.exists():
        write_image(jpg, _synthetic_grey(jw, jh, np.uint8), np.uint8, quality=92)
    out = tmp / f"out-{device}.jpg"
    t = time.perf_counter()
    res = col.colorize_file(jpg, out, card.id)
    cold = time.perf_counter() - t
    if res.status != "ok":
        raise RuntimeError(res.error)
    warm = _time(lambda: col.colorize_file(jpg, out, card.id), 1 if quick else 2)
    model = col.model(card.id)
    sync = torch.cuda.synchronize if col.device.type == "cuda" else (lambda: None)
    hints = HintSet(points=tuple(HintPoint(40 + 37 * i, 60 + 23 * i, 2, (200, 60, 40))
                                 for i in range(10)))
    preview = {}
    forward = {}
    preview_size = min(PREVIEW_SIZE, card.working_size)  # what the app's live preview runs
    for s in (256, 384, 512):
        l_star = np.random.default_rng(0).uniform(10, 90, (s * 3 // 4, s)).astype(np.float32)

        def run(l_star: np.ndarray = l_star) -> None:
            colorize_l(model, l_star, hints if card.hints else None, size=preview_size,
                       solve_size=preview_size)
            sync()

        run()
        preview[str(s)] = round(_time(run, repeat) * 1000, 1)
    for s in (256, 512):
        x = torch.zeros(1, 1, s, s, device=col.device)

        def fwd(x: torch.Tensor = x) -> None:
            with torch.inference_mode():
                model.net.predict(x)
            sync()

        fwd()
        forward[str(s)] = round(_time(fwd, repeat) * 1000, 1)
    return {
        "device": col.device.type,
        "model": card.id,
        "params": sum(p.numel() for p in model.net.parameters()),
        "input": SYNTHETIC,
        "jpeg_megapixels": round(jw * jh / 1e6, 2),
        "jpeg_12mp_cold_s": round(cold, 3),
        "jpeg_12mp_warm_s": round(warm, 3),
        "hint_preview_ms": preview,
        "preview_network_px": preview_size,
        "forward_ms": forward,
    }


def peak_memory_50mp(model_id: str | None, store_dirs: list[Path] | None, tmp: Path) -> dict:
    """Max RSS of a fresh process colourising a 50-MP 16-bit TIFF (8660 x 5773)."""
    tif = tmp / "bench-50mp-16bit.tif"
    if not tif.exists():
        write_image(tif, _synthetic_grey(8660, 5773, np.uint16), np.uint16, compression="none")
    dirs = json.dumps([str(d) for d in store_dirs] if store_dirs else None)
    code = (
        "import json,resource,sys;from pathlib import Path;"
        "from colorstudio.engine.batch import Colorizer;"
        "from colorstudio.engine.models import ModelStore;"
        f"d=json.loads({dirs!r});"
        "c=Colorizer(ModelStore([Path(x) for x in d] if d else None),'cpu');"
        f"r=c.colorize_file(Path({str(tif)!r}),Path({str(tmp / 'out50.tif')!r}),{model_id!r});"
        "print(json.dumps({'status':r.status,'error':r.error,"
        "'rss':resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))"
    )
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    secs = time.perf_counter() - t
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"input": SYNTHETIC, "tiff_50mp_16bit_peak_rss_mb": round(info["rss"] / 1024, 0),
            "tiff_50mp_16bit_seconds": round(secs, 2), "status": info["status"],
            "error": info["error"]}


def run_bench(model_id: str | None = None, store_dirs: list[Path] | None = None,
              memory: bool = True, quick: bool = False) -> dict:
    result: dict = {"input": SYNTHETIC, "torch_threads": torch.get_num_threads(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="colorstudio-bench-") as d:
        tmp = Path(d)
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for dev in devices:
            result["runs"].append(bench_device(dev, model_id, store_dirs, tmp, quick))
        if memory:
            result["memory"] = peak_memory_50mp(model_id, store_dirs, tmp)
    result["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result
