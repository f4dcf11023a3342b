"""engine/pipeline.py (+ models, compose): the full-resolution pipeline with tiny models.

Output exactly the input's size and bit depth with its original lightness; RGB-predicting
variants contribute chroma only; edge-aware chroma upsampling; GPU out-of-memory fallback;
working size, cancellation, model loading errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from colorstudio.core import color as C
from colorstudio.core.compose import (
    HintSolve,
    fit_chroma_to_gamut,
    guided_upsample,
    lab_to_rgb_fast,
    propagate_hints,
)
from colorstudio.core.errors import CancelledError, ModelError
from colorstudio.core.hints import HintPoint, HintSet
from colorstudio.core.imageio import read_image
from colorstudio.engine import pipeline
from colorstudio.engine.batch import Colorizer
from colorstudio.engine.models import LoadedModel, ModelStore
from colorstudio.engine.pipeline import colorize_l, working_shape

TINY_IDS = ["tiny_mathur2023_gan", "tiny_mahajan2022_cyclegan", "tiny_roshana2023_pix2pix",
            "tiny_roshana2023_resnet18_unet", "tiny_dehghan2023_autoencoder",
            "tiny_mane2021_cnn", "tiny_guided_unet"]
CPU = torch.device("cpu")
H, W = 90, 130


def _scene(height: int = H, width: int = W) -> np.ndarray:
    """A grey photo in [0, 1]: gradients, a disc, a sharp edge and mild sensor noise."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    g = 0.2 + 0.6 * xx / width * (0.6 + 0.4 * np.cos(yy / 13.0))
    g[(xx - width * 0.6) ** 2 + (yy - height * 0.4) ** 2 < (height / 4) ** 2] = 0.85
    g[:, : width // 5] = 0.1
    return np.clip(g + rng.normal(0, 0.004, g.shape), 0, 1).astype(np.float32)


def _write_inputs(folder: Path) -> dict[str, Path]:
    g = _scene()
    g8 = (g * 255).round().astype(np.uint8)
    files = {"jpeg8": folder / "photo.jpg", "tiff16": folder / "scan.tif",
             "rotated": folder / "rotated.jpg"}
    Image.fromarray(g8).save(files["jpeg8"], quality=95)
    tifffile.imwrite(files["tiff16"], (g * 65535).round().astype(np.uint16))
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(g8).save(files["rotated"], quality=95, exif=exif.tobytes())
    return files


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return _write_inputs(tmp_path_factory.mktemp("pipeline_inputs"))


@pytest.fixture(scope="module")
def colorizer(tiny_models: Path) -> Colorizer:
    return Colorizer(ModelStore([tiny_models]), "cpu")


@pytest.mark.parametrize("model_id", TINY_IDS)
@pytest.mark.parametrize("kind", ["jpeg8", "tiff16", "rotated"])
def test_output_has_input_size_depth_and_lightness(colorizer, inputs, tmp_path, model_id, kind):
    src = inputs[kind]
    dst = tmp_path / f"out{src.suffix}"
    res = colorizer.colorize_file(src, dst, model_id)
    assert res.status == "ok", res.error
    before, after = read_image(src), read_image(dst)
    assert after.size == before.size  # exactly the input's (upright) dimensions
    if kind == "rotated":
        assert before.size == (H, W)
    assert after.dtype == before.dtype == (np.uint16 if kind == "tiff16" else np.uint8)
    # The file: includes rounding to the bit depth and, for JPEG, re-encoding.
    file_err = float(np.abs(after.l_star - before.l_star).mean())
    assert file_err < 0.5, f"mean L* error of the written file {file_err:.3f}"
    # The pipeline itself, before encoding: the original lightness, to a small fraction.
    rgb, _ = colorizer.colorize_image(before, model_id)
    assert rgb.shape == (before.size[1], before.size[0], 3) and rgb.dtype == np.float32
    assert float(np.abs(C.rgb_to_l(rgb) - before.l_star).mean()) < 0.1


def test_out_of_gamut_chroma_is_shrunk_not_clipped():
    # OpenCV's float Lab->RGB clips silently, so the gamut check must not rely on it.
    rng = np.random.default_rng(0)
    l_star = rng.uniform(0, 100, (64, 64)).astype(np.float32)
    ab = rng.uniform(-110, 110, (64, 64, 2)).astype(np.float32)
    fitted = fit_chroma_to_gamut(l_star, ab)
    rgb = C.lab_to_rgb(np.dstack([l_star, fitted]), clip=False)
    assert rgb.min() > -2e-3 and rgb.max() < 1 + 2e-3
    assert np.abs(C.rgb_to_l(np.clip(rgb, 0, 1)) - l_star).mean() < 0.05
    # Hue is kept: ab only scales towards grey, never rotates or grows.
    scale = np.hypot(*np.moveaxis(fitted, -1, 0)) / np.hypot(*np.moveaxis(ab, -1, 0))
    assert scale.max() <= 1 + 1e-6
    cross = ab[..., 0] * fitted[..., 1] - ab[..., 1] * fitted[..., 0]
    assert np.abs(cross).max() < 1e-2
    inside = C.rgb_to_lab(rng.random((64, 64, 3)).astype(np.float32))
    assert np.allclose(fit_chroma_to_gamut(inside[..., 0], inside[..., 1:]), inside[..., 1:])


def test_edge_aware_upsampling_beats_nearest_at_a_colour_edge():
    h, w, edge = 240, 320, 133  # the edge does not fall on the low-res grid
    l_full = np.full((h, w), 30.0, np.float32)
    l_full[:, edge:] = 75.0
    truth = np.zeros((h, w, 2), np.float32)
    truth[:, :edge] = (40.0, 25.0)  # dark red left
    truth[:, edge:] = (-30.0, 45.0)  # bright yellow-green right
    lw, lh = 40, 30  # the network's resolution
    l_low = cv2.resize(l_full, (lw, lh), interpolation=cv2.INTER_AREA)
    ab_low = cv2.resize(truth, (lw, lh), interpolation=cv2.INTER_AREA)
    guided = guided_upsample(ab_low, l_low, l_full, radius=1)
    nearest = cv2.resize(ab_low, (w, h), interpolation=cv2.INTER_NEAREST)
    bilinear = cv2.resize(ab_low, (w, h), interpolation=cv2.INTER_LINEAR)
    band = slice(edge - 12, edge + 12)

    def err(x: np.ndarray) -> float:
        return float(np.abs(x[:, band] - truth[:, band]).mean())

    assert guided.shape == (h, w, 2)
    assert err(guided) < 0.5 * err(nearest) and err(guided) < 0.5 * err(bilinear)
    assert err(guided) < 3.0  # colour follows the full-resolution edge


def test_rgb_predicting_models_contribute_chroma_only(tiny_store):
    """A fake RGB network that always paints a bright yellow: the result keeps the photo's
    lightness (dark stays dark) and takes only the yellow's hue."""

    class Yellow(torch.nn.Module):
        output = "rgb"

        def predict(self, l, hint_ab=None, hint_mask=None):
            out = torch.empty(l.shape[0], 3, l.shape[2], l.shape[3])
            out[:, 0], out[:, 1], out[:, 2] = 0.9, 0.8, -0.8  # RGB in [-1, 1]
            return out

    card = tiny_store.card("tiny_mahajan2022_cyclegan")
    model = LoadedModel(card, Yellow(), CPU)
    l_star = np.linspace(20, 60, 48 * 64, dtype=np.float32).reshape(48, 64)
    res = colorize_l(model, l_star)
    rgb = lab_to_rgb_fast(l_star, res.ab)
    assert np.abs(C.rgb_to_l(rgb) - l_star).mean() < 0.05
    yellow_lab = C.rgb_to_lab(np.array([[0.95, 0.9, 0.1]], np.float32))[0]
    hue = np.arctan2(res.ab[..., 1], res.ab[..., 0])
    assert np.abs(hue - np.arctan2(yellow_lab[2], yellow_lab[1])).max() < 0.15
    assert res.ab[..., 1].min() > 5  # clearly yellow, but within the gamut at this L*


def test_chromaticity_only_models_are_read_at_the_photos_lightness(tiny_store):
    """A cosine-trained RGB net (paper 000) paints a dark blue where the photo is light: its
    output's brightness is free, so the blue's chromaticity is read at the photo's L*, not
    the dark blue's small a*b*."""

    class DarkBlue(torch.nn.Module):
        output = "rgb"

        def __init__(self, chromaticity_only: bool) -> None:
            super().__init__()
            self.chromaticity_only = chromaticity_only

        def predict(self, l, hint_ab=None, hint_mask=None):
            out = torch.empty(l.shape[0], 3, l.shape[2], l.shape[3])
            out[:, 0], out[:, 1], out[:, 2] = -0.9, -0.85, -0.6  # sRGB (0.05, 0.075, 0.2)
            return out

    card = tiny_store.card("tiny_mahajan2022_cyclegan")
    l_star = np.full((48, 64), 60.0, np.float32)
    raw = colorize_l(LoadedModel(card, DarkBlue(False), CPU), l_star).ab
    relit = colorize_l(LoadedModel(card, DarkBlue(True), CPU), l_star).ab
    dark = C.rgb_to_lab(np.array([[0.05, 0.075, 0.2]], np.float32))[0]
    hue = np.arctan2(dark[2], dark[1])
    for ab in (raw, relit):
        assert np.abs(np.arctan2(ab[..., 1], ab[..., 0]) - hue).max() < 0.1
    chroma = lambda ab: float(np.hypot(ab[..., 0], ab[..., 1]).mean())  # noqa: E731
    assert abs(chroma(raw) - np.hypot(dark[1], dark[2])) < 1.0
    assert chroma(relit) > 1.5 * chroma(raw)


def test_working_shape_keeps_aspect_and_pads_to_the_multiple():
    assert working_shape(4000, 3000, 256, 16) == (256, 192, 256, 192)
    assert working_shape(3000, 4000, 256, 32) == (192, 256, 192, 256)
    assert working_shape(1000, 333, 256, 32) == (256, 85, 256, 96)
    assert working_shape(5, 1000, 64, 8) == (1, 64, 8, 64)


@pytest.mark.parametrize("size", [64, 96])
def test_size_overrides_the_cards_working_size(tiny_store, size):
    model = tiny_store.load("tiny_mane2021_cnn", CPU)
    res = colorize_l(model, np.full((150, 300), 50, np.float32), size=size)
    assert res.working_size == (size, size // 2)
    assert res.ab.shape == (150, 300, 2) and res.device == "cpu"


@pytest.mark.parametrize("shape", [(1, 1), (3, 500), (500, 3), (17, 1)])
def test_extreme_shapes(tiny_store, shape):
    for mid in TINY_IDS:
        res = colorize_l(tiny_store.load(mid, CPU), np.full(shape, 40, np.float32))
        assert res.ab.shape == (*shape, 2) and np.isfinite(res.ab).all()


def test_hints_reach_the_hint_model_and_are_ignored_by_others(tiny_store):
    l_star = np.linspace(30, 70, 64 * 96, dtype=np.float32).reshape(64, 96)
    hints = HintSet(points=(HintPoint(80.0, 10.0, 4, (30, 60, 220)),))
    guided = tiny_store.load("tiny_guided_unet", CPU)
    assert not np.allclose(colorize_l(guided, l_star, hints).ab, colorize_l(guided, l_star).ab)
    plain = tiny_store.load("tiny_mane2021_cnn", CPU)
    assert np.array_equal(colorize_l(plain, l_star, hints).ab, colorize_l(plain, l_star).ab)


def test_progress_and_cancel(tiny_store):
    model = tiny_store.load("tiny_mane2021_cnn", CPU)
    seen: list[float] = []
    colorize_l(model, np.full((40, 40), 50, np.float32), progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0
    with pytest.raises(CancelledError):
        colorize_l(model, np.full((40, 40), 50, np.float32), cancel=lambda: True)


class _OOMOnce:
    """Wraps `pipeline.predict_ab`: raises `exc` for the first `times` calls."""

    def __init__(self, exc: BaseException, times: int = 1) -> None:
        self.exc, self.times, self.calls = exc, times, []
        self.real = pipeline.predict_ab

    def __call__(self, model, l_small, *args, **kwargs):
        self.calls.append((model.device.type, l_small.shape))
        if len(self.calls) > 20:
            raise AssertionError("out-of-memory retries never end")
        if len(self.calls) <= self.times:
            raise self.exc
        return self.real(model, l_small, *args, **kwargs)


def _gpu_like(model: LoadedModel) -> LoadedModel:
    """The same network, labelled as if it lived on a GPU (the fallback logic only looks at
    the label; the forward pass still runs on the CPU)."""
    return dataclasses.replace(model, device=torch.device("meta"))


def test_gpu_oom_at_a_large_size_runs_on_the_cpu_at_the_same_size(tiny_store, monkeypatch):
    """Issue 13: no "halve the working size" retry (it never ran for the 32-256 px cards);
    the CPU copy runs at the size asked for, so an OOM never costs colour quality."""
    cpu_model = tiny_store.load("tiny_mane2021_cnn", CPU)
    fake = _OOMOnce(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    monkeypatch.setattr(pipeline, "predict_ab", fake)
    res = colorize_l(_gpu_like(cpu_model), np.full((300, 600), 50, np.float32), size=1024,
                     fallback=lambda: cpu_model)
    assert res.ab.shape == (300, 600, 2)
    assert fake.calls == [("meta", (512, 1024)), ("cpu", (512, 1024))]
    assert res.working_size == (1024, 512) and res.device == "cpu"
    assert res.messages == ["GPU out of memory: running on the CPU instead"]


def test_gpu_oom_falls_back_to_cpu_with_a_message(tiny_store, monkeypatch):
    cpu_model = tiny_store.load("tiny_mane2021_cnn", CPU)
    fake = _OOMOnce(torch.OutOfMemoryError("CUDA out of memory"))
    monkeypatch.setattr(pipeline, "predict_ab", fake)
    fallbacks = []

    def fallback() -> LoadedModel:
        fallbacks.append(1)
        return cpu_model

    res = colorize_l(_gpu_like(cpu_model), np.full((60, 80), 50, np.float32), fallback=fallback)
    assert fallbacks == [1] and res.device == "cpu"
    assert [c[0] for c in fake.calls] == ["meta", "cpu"]
    assert any("CPU" in m for m in res.messages)


def test_mps_style_oom_runtime_error_falls_back(tiny_store, monkeypatch):
    cpu_model = tiny_store.load("tiny_mane2021_cnn", CPU)
    monkeypatch.setattr(pipeline, "predict_ab",
                        _OOMOnce(RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)")))
    res = colorize_l(_gpu_like(cpu_model), np.full((60, 80), 50, np.float32),
                     fallback=lambda: cpu_model)
    assert res.device == "cpu" and res.messages


def test_oom_everywhere_ends_with_an_error_not_a_loop(tiny_store, monkeypatch):
    cpu_model = tiny_store.load("tiny_mane2021_cnn", CPU)
    fake = _OOMOnce(torch.OutOfMemoryError("out of memory"), times=10**6)
    monkeypatch.setattr(pipeline, "predict_ab", fake)
    with pytest.raises(torch.OutOfMemoryError):
        colorize_l(_gpu_like(cpu_model), np.full((60, 80), 50, np.float32),
                   fallback=lambda: cpu_model)
    assert len(fake.calls) == 2  # the GPU try, then one CPU try
    with pytest.raises(torch.OutOfMemoryError):  # no fallback: the error propagates
        colorize_l(cpu_model, np.full((60, 80), 50, np.float32))
    other = _OOMOnce(RuntimeError("cuDNN error: bad param"))
    monkeypatch.setattr(pipeline, "predict_ab", other)
    with pytest.raises(RuntimeError, match="cuDNN"):  # unrelated errors are not swallowed
        colorize_l(_gpu_like(cpu_model), np.full((60, 80), 50, np.float32),
                   fallback=lambda: cpu_model)


def test_model_store_caches_and_reports_errors(tiny_models: Path, tmp_path: Path):
    store = ModelStore([tiny_models])
    a = store.load("tiny_mane2021_cnn", CPU)
    assert store.load("tiny_mane2021_cnn", CPU) is a and not a.net.training
    assert store.default_id() == "tiny_guided_unet"
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        store.load("nope", CPU)
    card = store.card("tiny_mane2021_cnn")
    store.add_card(dataclasses.replace(card, id="no_weights", weights="absent.safetensors"))
    with pytest.raises(ModelError, match="has no weights"):
        store.load("no_weights", CPU)
    # A card whose config does not fit its architecture: a ModelError, not a TypeError.
    store.add_card(dataclasses.replace(card, id="bad_config", config={"widths": "wide"}))
    with pytest.raises(ModelError, match="bad_config"):
        store.load("bad_config", CPU)
    # Tampered weights are refused by the sha256 check.
    forged = tmp_path / card.weights
    forged.write_bytes(card.weights_path.read_bytes()[:-4] + b"\0\0\0\0")
    store.add_card(dataclasses.replace(card, id="tampered", path=tmp_path / "tampered.toml"))
    with pytest.raises(ModelError, match="sha256"):
        store.load("tampered", CPU)
    with pytest.raises(ModelError, match="no models"):
        ModelStore([tmp_path / "empty"]).default_id()


def test_hints_land_where_they_were_placed_in_original_coordinates(tiny_store):
    """A fake hint network that paints exactly its hint input: the full-resolution chroma
    must carry the hint's colour at the hint's original-pixel position, and none far away."""
    from colorstudio.core.hints import rgb_chroma

    class Echo(torch.nn.Module):
        output = "ab"
        uses_hints = True

        def predict(self, l, hint_ab=None, hint_mask=None):
            if hint_ab is None:  # the pipeline's hint-free pass: no colour of its own
                return torch.zeros_like(l).repeat(1, 2, 1, 1)
            return hint_ab * hint_mask  # already in ab / 110

    card = tiny_store.card("tiny_guided_unet")
    model = LoadedModel(card, Echo(), CPU)
    height, width = 600, 900  # working size 64: scale 64 / 900
    # A lit disc around the hint: the hint's correction spreads within it, not past its edge.
    yy, xx = np.mgrid[:height, :width]
    l_star = np.where(np.hypot(xx - 700, yy - 150) < 130, 55.0, 25.0).astype(np.float32)
    hints = HintSet(points=(HintPoint(700.0, 150.0, 40, (40, 90, 200)),))
    res = colorize_l(model, l_star, hints)
    a, b = rgb_chroma((40, 90, 200))
    at = res.ab[150, 700]
    assert abs(at[0] - a) < 0.2 * abs(a) + 1 and abs(at[1] - b) < 0.2 * abs(b) + 1
    far = np.hypot(*np.meshgrid(np.arange(width) - 700, np.arange(height) - 150)) > 150
    assert np.abs(res.ab[far]).max() < 1.0
    # The mirrored position carries nothing: x and y are not swapped or flipped.
    assert np.abs(res.ab[450, 200]).max() < 1.0 and np.abs(res.ab[150, 200]).max() < 1.0


def _two_regions(h: int = 64, w: int = 96) -> np.ndarray:
    """L*: a dark left half and a light right half, with mild texture."""
    rng = np.random.default_rng(3)
    l_star = np.where(np.arange(w)[None, :] < w // 2, 30.0, 70.0) + rng.normal(0, 0.5, (h, w))
    return l_star.astype(np.float32)


def test_propagated_hint_colours_its_region_and_stops_at_the_edge():
    l_star = _two_regions()
    ab = np.zeros((*l_star.shape, 2), np.float32)
    hint_ab = np.zeros_like(ab)
    mask = np.zeros(l_star.shape, np.float32)
    mask[30:33, 10:13] = 1
    hint_ab[30:33, 10:13] = (40.0, -20.0)
    out = propagate_hints(l_star, ab, hint_ab, mask)
    assert np.allclose(out[30:33, 10:13], (40.0, -20.0), atol=0.5)  # the hint itself is kept
    left, right = out[:, :44], out[:, 52:]
    assert np.allclose(left.reshape(-1, 2).mean(0), (40.0, -20.0), atol=2.0)
    assert np.abs(right).max() < 1.0  # across the lightness edge: untouched


def test_propagation_corrects_the_prediction_rather_than_replacing_it():
    """The correction is the hint's disagreement: a prediction that already agrees is kept,
    and texture in the prediction survives a uniform shift."""
    l_star = _two_regions()
    rng = np.random.default_rng(4)
    ab = np.stack([rng.normal(10, 3, l_star.shape), rng.normal(5, 3, l_star.shape)], -1)
    ab = ab.astype(np.float32)
    mask = np.zeros(l_star.shape, np.float32)
    mask[5:8, 60:63] = 1
    agreeing = propagate_hints(l_star, ab, ab.copy(), mask)
    assert np.allclose(agreeing, ab, atol=1e-3)
    shifted_target = ab + np.array([15.0, 0.0], np.float32)
    out = propagate_hints(l_star, ab, shifted_target, mask)
    diff = out[:, 52:] - ab[:, 52:]
    assert np.allclose(diff[..., 0], 15.0, atol=1.5) and np.abs(diff[..., 1]).max() < 1.5


def test_propagation_decays_with_distance_and_ignores_empty_hints():
    l_star = np.full((40, 200), 50.0, np.float32)
    ab = np.zeros((40, 200, 2), np.float32)
    hint_ab = np.zeros_like(ab)
    mask = np.zeros((40, 200), np.float32)
    mask[18:21, 0:3] = 1
    hint_ab[18:21, 0:3] = (30.0, 30.0)
    far_default = propagate_hints(l_star, ab, hint_ab, mask)[20, 190]
    far_strong = propagate_hints(l_star, ab, hint_ab, mask, decay=0.05)[20, 190]
    assert far_default[0] > 20.0 and abs(far_strong[0]) < 1.0
    assert np.array_equal(propagate_hints(l_star, ab, hint_ab, np.zeros_like(mask)), ab)


def test_a_smoothed_reach_crosses_fine_texture_but_not_an_edge():
    """`HintSolve(smooth=...)`: a hint's reach spreads through a finely textured region (a
    1-px checker of +-4 L*, like knit or foliage at the solve's scale) and still stops at a
    40-L* edge, and with `step` at a 20-L* one. On raw L* every texture step blocks it."""
    l_star = np.full((64, 192), 90.0, np.float32)
    checker = (np.indices((64, 128)).sum(0) % 2) * 8.0 - 4.0
    l_star[:, :128] = 50.0 + checker
    mask = np.zeros((64, 192), np.float32)
    mask[30:33, 4:7] = 1
    raw = HintSolve(l_star, mask, weight=1e4).influence()
    smoothed = HintSolve(l_star, mask, weight=1e4, smooth=1.0).influence()
    far_in_texture, other_side = (slice(20, 44), slice(100, 120)), (slice(None), slice(140, None))
    assert raw[far_in_texture].mean() < 0.05
    assert smoothed[far_in_texture].mean() > 0.5
    assert smoothed[other_side].max() < 0.01
    # `step`: the texture is crossed as before ...
    capped = HintSolve(l_star, mask, weight=1e4, smooth=1.0, step=12.0).influence()
    assert capped[far_in_texture].mean() == pytest.approx(smoothed[far_in_texture].mean(),
                                                          abs=0.02)
    # ... and a 20-L* edge, which the blur turns into smaller steps that let the reach
    # through, stops it as it would unblurred
    l_star[:, :128], l_star[:, 128:] = 50.0, 70.0
    blurred = HintSolve(l_star, mask, weight=1e4, smooth=1.0).influence()
    capped = HintSolve(l_star, mask, weight=1e4, smooth=1.0, step=12.0).influence()
    assert blurred[other_side].mean() > 0.1
    assert capped[other_side].max() < 0.01


def test_the_pipeline_follows_hints_closely(tiny_store):
    """A random tiny network ignores what its hints mean; the pipeline still returns the
    hinted colours at the hints, and the whole hinted region takes the colour."""
    from colorstudio.core.hints import rgb_chroma

    l_star = np.repeat(_two_regions(60, 90), 4, axis=0).repeat(4, axis=1)  # 240 x 360
    guided = tiny_store.load("tiny_guided_unet", CPU)
    # Colours as light as their regions (L* 30 and 70), so no gamut fitting changes them.
    hints = HintSet(points=(HintPoint(60.0, 100.0, 3, (30, 70, 120)),
                            HintPoint(300.0, 200.0, 3, (230, 170, 60))))
    res = colorize_l(guided, l_star, hints).ab
    plain = colorize_l(guided, l_star).ab
    for p in hints.points:
        want = np.array(rgb_chroma(p.rgb))
        y, x = int(p.y), int(p.x)
        assert np.allclose(res[y, x], want, atol=4.0)
        half = slice(0, 170) if x < 180 else slice(190, None)
        err = np.linalg.norm(np.median(res[:, half].reshape(-1, 2), 0) - want)
        err_plain = np.linalg.norm(np.median(plain[:, half].reshape(-1, 2), 0) - want)
        # A 3-px point in a 30,000-px region: its reach fades with distance by design.
        assert err < 0.3 * err_plain
