"""Preprocessing of L* before inference: each op, recipes, serialisation, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from colorstudio.core.preprocess import (PreprocessError, Step, apply_geometry, apply_steps,
                                         describe, output_shape, steps_from_json, steps_to_json)


@pytest.fixture
def l_star() -> np.ndarray:
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:60, 0:90].astype(np.float32)
    lum = 30 + 30 * xx / 89 + 10 * np.sin(yy / 5)
    return (lum + rng.normal(0, 1, lum.shape)).astype(np.float32)


def test_rotate90_matches_numpy_and_input_is_untouched(l_star: np.ndarray) -> None:
    copy = l_star.copy()
    out = apply_steps(l_star, [Step.make("rotate90", k=1)])
    np.testing.assert_array_equal(out, np.rot90(l_star, 1))
    np.testing.assert_array_equal(apply_steps(l_star, [Step.make("rotate90", k=-2)]),
                                  np.rot90(l_star, 2))
    np.testing.assert_array_equal(l_star, copy)


def test_fine_rotation_crops_the_corners_and_zero_is_identity() -> None:
    l_star = np.random.default_rng(0).uniform(0, 100, (60, 90)).astype(np.float32)
    out = apply_steps(l_star, [Step.make("rotate", angle=5.0)])
    assert out.shape == output_shape(60, 90, [Step.make("rotate", angle=5.0)])
    assert 0.75 * 90 < out.shape[1] < 90 and abs(out.shape[1] / out.shape[0] - 1.5) < 0.05
    # The kept corners, rotated back into the photo, lie inside it: no empty corners.
    h, w = out.shape
    t = np.radians(5.0)
    for cx, cy in ((-w / 2, -h / 2), (w / 2, -h / 2), (-w / 2, h / 2), (w / 2, h / 2)):
        x = cx * np.cos(t) - cy * np.sin(t)
        y = cx * np.sin(t) + cy * np.cos(t)
        assert abs(x) <= 45 + 1e-6 and abs(y) <= 30 + 1e-6
    np.testing.assert_array_equal(apply_steps(l_star, [Step.make("rotate", angle=0.0)]), l_star)
    assert Step.make("rotate", angle=0).is_identity()


def test_crop_and_output_shape_agree(l_star: np.ndarray) -> None:
    steps = [Step.make("rotate90", k=1), Step.make("crop", left=0.1, top=0.2, right=0.3),
             Step.make("rotate", angle=2.5), Step.make("clahe")]
    out = apply_steps(l_star, steps)
    assert out.shape == output_shape(*l_star.shape, steps)
    crop = apply_steps(l_star, [Step.make("crop", left=0.5)])
    np.testing.assert_array_equal(crop, l_star[:, 45:])


def test_stretch_maps_percentiles_to_full_range(l_star: np.ndarray) -> None:
    flat = l_star * 0.2 + 40  # a washed-out scan: L* about 46..58
    out = apply_steps(flat, [Step.make("stretch", low=1, high=99)])
    assert np.percentile(out, 1) == pytest.approx(0, abs=0.5)
    assert np.percentile(out, 99) == pytest.approx(100, abs=0.5)
    assert out.min() >= 0 and out.max() <= 100


def test_equalise_flattens_the_histogram(l_star: np.ndarray) -> None:
    out = apply_steps(l_star * 0.3 + 20, [Step.make("equalize")])
    hist, _ = np.histogram(out, bins=10, range=(0, 100))
    assert hist.min() > 0.5 * hist.mean()


def test_clahe_raises_local_contrast_within_range(l_star: np.ndarray) -> None:
    low = l_star * 0.2 + 40
    out = apply_steps(low, [Step.make("clahe", clip=4.0, tiles=4)])
    assert out.std() > low.std()
    assert 0 <= out.min() and out.max() <= 100


def test_denoise_reduces_noise() -> None:
    rng = np.random.default_rng(0)
    clean = np.full((64, 64), 50, np.float32)
    noisy = clean + rng.normal(0, 3, clean.shape).astype(np.float32)
    out = apply_steps(noisy, [Step.make("denoise", strength=10)])
    assert np.abs(out - clean).mean() < 0.6 * np.abs(noisy - clean).mean()


def test_tone_brightness_and_gamma(l_star: np.ndarray) -> None:
    brighter = apply_steps(l_star, [Step.make("tone", brightness=10)])
    np.testing.assert_allclose(brighter, np.clip(l_star + 10, 0, 100), atol=1e-4)
    lifted = apply_steps(l_star, [Step.make("tone", gamma=2.0)])
    assert (lifted >= np.clip(l_star, 0, 100) - 1e-4).all()
    assert lifted.mean() > l_star.mean() + 5


def test_geometry_applies_to_alpha(l_star: np.ndarray) -> None:
    alpha = np.full(l_star.shape, 255, np.uint8)
    steps = [Step.make("rotate90", k=3), Step.make("crop", bottom=0.5), Step.make("stretch")]
    a = apply_geometry(alpha, steps)
    assert a.shape == apply_steps(l_star, steps).shape and a.dtype == np.uint8


def test_json_round_trip_and_describe() -> None:
    steps = (Step.make("rotate90", k=2), Step.make("clahe", clip=3, tiles=6),
             Step.make("tone", brightness=-5, gamma=1.2))
    data = json.loads(json.dumps(steps_to_json(steps)))
    assert steps_from_json(data) == steps
    assert describe(steps).startswith("rotate90(k=2), clahe(clip=3, tiles=6)")
    assert describe(()) == "none"


@pytest.mark.parametrize("bad, message", [
    ({"op": "sharpen"}, "unknown preprocessing step"),
    ({"op": "rotate", "angle": 90}, "outside"),
    ({"op": "stretch", "low": 60, "high": 40}, "below"),
    ({"op": "crop", "left": 0.6, "right": 0.5}, "whole photo"),
    ({"op": "tone", "gamma": "2"}, "must be a number"),
    ({"op": "denoise", "radius": 3}, "no parameter"),
    ("rotate", "malformed"),
])
def test_bad_recipes_give_one_line_errors(bad: object, message: str) -> None:
    with pytest.raises(PreprocessError, match=message) as err:
        steps_from_json([bad])
    assert "\n" not in str(err.value)


def test_not_a_list() -> None:
    with pytest.raises(PreprocessError, match="list"):
        steps_from_json({"op": "equalize"})
