"""core/reference.py: point hints from a reference photo of the same scene (Welsh et al. 2002).

The scenes are synthetic: regions of distinct colour AND distinct texture, three of them at
the same mean lightness (so only texture tells them apart): a smooth blue sky, noisy green
foliage, red brick stripes with light mortar, and a smooth neutral grey road.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from colorstudio.core.color import lab_to_rgb, rgb_to_lab
from colorstudio.core.errors import ColorStudioError
from colorstudio.core.hints import HintSet, rgb_chroma
from colorstudio.core.reference import reference_hints

H, W = 200, 300  # not square and not the work size: scaling mistakes show


def scene(h: int = H, w: int = W, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """-> (sRGB (h, w, 3) float32, region labels (h, w): 0 sky, 1 foliage, 2 brick, 3 road)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    region = np.zeros((h, w), np.int64)
    region[yy >= 0.35 * h] = 1
    region[(yy >= 0.35 * h) & (xx >= 0.5 * w)] = 2
    region[yy >= 0.75 * h] = 3
    noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 2.0)
    noise /= noise.std()
    lab = np.zeros((h, w, 3), np.float32)
    sky, fol, brick, road = (region == i for i in range(4))
    lab[sky] = np.stack([78 - 6 * yy[sky] / h, np.full(sky.sum(), -5.0),
                         np.full(sky.sum(), -35.0)], -1)
    lab[fol] = np.stack([50 + 9 * noise[fol], -40 + 4 * noise[fol],
                         35 + 4 * noise[fol]], -1)
    mortar = (yy % 24) < 7  # about 3 work pixels of mortar in 10
    lab[brick] = np.where(mortar[brick][:, None], [[72.0, 2.0, 10.0]], [[42.0, 45.0, 30.0]])
    lab[road] = np.stack([50 + 0.5 * noise[road], np.zeros(road.sum()),
                          np.full(road.sum(), 2.0)], -1)
    return lab_to_rgb(lab), region


def matching_reference(rgb: np.ndarray) -> np.ndarray:
    """The same scene shifted, cropped and shrunk to 0.8: another photo of it."""
    h, w = rgb.shape[:2]
    crop = rgb[round(0.06 * h):, round(0.07 * w):round(0.95 * w)]
    return cv2.resize(crop, (round(crop.shape[1] * 0.8), round(crop.shape[0] * 0.8)),
                      interpolation=cv2.INTER_AREA)


def errors_at_hints(hints: HintSet, truth_ab: np.ndarray) -> np.ndarray:
    """|a*b* of each hint - the truth's mean a*b* over the hint's square| (Lab units)."""
    h, w = truth_ab.shape[:2]
    out = []
    for p in hints.points:
        x0, x1 = int(max(p.x - p.radius, 0)), int(min(np.ceil(p.x + p.radius), w))
        y0, y1 = int(max(p.y - p.radius, 0)), int(min(np.ceil(p.y + p.radius), h))
        ta, tb = truth_ab[y0:y1, x0:x1].reshape(-1, 2).mean(axis=0)
        out.append(np.hypot(*np.subtract(rgb_chroma(p.rgb), (ta, tb))))
    return np.array(out)


@pytest.fixture(scope="module")
def truth() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rgb, region = scene()
    return rgb, rgb_to_lab(rgb), region


def test_a_shifted_cropped_rescaled_copy_gives_accurate_hints_all_over(truth):
    rgb, lab, region = truth
    hints = reference_hints(lab[..., 0], matching_reference(rgb))
    assert 100 <= len(hints.points) <= 300 and not hints.strokes
    err = errors_at_hints(hints, lab[..., 1:])
    assert np.median(err) < 3 and np.percentile(err, 90) < 8, (np.median(err), err.max())
    # every region (the neutral road too: low chroma is information) gets its share
    hit = np.array([region[min(int(p.y), H - 1), min(int(p.x), W - 1)] for p in hints.points])
    for i in range(4):
        assert (hit == i).sum() >= 0.4 * len(hints.points) * (region == i).mean(), i
    chroma = np.array([np.hypot(*rgb_chroma(p.rgb)) for p in hints.points])
    assert (chroma[hit == 3] < 6).mean() > 0.8
    xs, ys = np.array([p.x for p in hints.points]), np.array([p.y for p in hints.points])
    assert xs.min() < 0.15 * W and xs.max() > 0.85 * W  # spread over the photo
    assert ys.min() < 0.15 * H and ys.max() > 0.85 * H


def test_a_greyscale_reference_is_refused_in_one_line(truth):
    rgb, lab, _ = truth
    grey = np.repeat(rgb.mean(axis=2, keepdims=True), 3, axis=2)
    with pytest.raises(ColorStudioError, match="no colour") as exc:
        reference_hints(lab[..., 0], grey)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("l_star, ref", [
    (np.zeros((10, 10, 3), np.float32), np.ones((10, 10, 3), np.float32)),  # target is RGB
    (np.zeros((10, 10), np.float32), np.ones((10, 10), np.float32)),  # reference is grey 2-D
    (np.zeros((10, 10), np.float32), np.ones((10, 10, 4), np.float32)),  # RGBA
    (np.zeros((0, 10), np.float32), np.ones((10, 10, 3), np.float32)),  # empty target
    (np.zeros((10, 10), np.float32), np.ones((10, 0, 3), np.float32)),  # empty reference
    (np.full((10, 10), np.nan, np.float32), np.ones((10, 10, 3), np.float32)),
])
def test_malformed_images_are_refused_clearly(l_star, ref):
    with pytest.raises(ColorStudioError) as exc:
        reference_hints(l_star, ref)
    assert str(exc.value) and "\n" not in str(exc.value)


def test_max_points_and_coordinates_are_in_the_targets_pixels(truth):
    rgb, lab, _ = truth
    hints = reference_hints(lab[..., 0], matching_reference(rgb), max_points=40)
    assert 20 <= len(hints.points) <= 40
    for p in hints.points:
        assert 0 <= p.x <= W and 0 <= p.y <= H
        assert 1 <= p.radius <= 4  # one work pixel: 300 / 128 of the target's pixels
        assert all(isinstance(c, int) and 0 <= c <= 255 for c in p.rgb)
    err = errors_at_hints(hints, lab[..., 1:])  # wrong scaling would land on wrong regions
    assert np.median(err) < 3
    assert not reference_hints(lab[..., 0], matching_reference(rgb), max_points=0)


def test_an_unrelated_reference_gives_far_fewer_points(truth):
    rgb, lab, _ = truth
    noise = np.random.default_rng(1).random((150, 170, 3)).astype(np.float32)
    matched = reference_hints(lab[..., 0], matching_reference(rgb))
    unrelated = reference_hints(lab[..., 0], noise)
    assert len(unrelated.points) < 0.2 * len(matched.points)


def test_a_differently_exposed_reference_is_remapped_to_the_targets_lightness(truth):
    rgb, lab, _ = truth
    ref = rgb_to_lab(matching_reference(rgb))
    ref[..., 0] = 0.75 * ref[..., 0] + 18  # brighter, flatter: another camera, another print
    hints = reference_hints(lab[..., 0], lab_to_rgb(ref))
    assert len(hints.points) >= 200
    err = errors_at_hints(hints, lab[..., 1:])
    assert np.median(err) < 3 and np.percentile(err, 90) < 8


def test_a_texture_seen_in_two_colours_gives_no_confident_hints_on_it(truth):
    _, lab, region = truth
    other, other_region = scene(seed=1)  # the same kinds of surface, another photo of them
    ref = rgb_to_lab(other)
    split = (other_region == 1) & (np.arange(W)[None, :] >= W // 4)
    ref[split, 1:] = (45.0, -35.0)  # half the foliage purple: its texture says nothing
    hints = reference_hints(lab[..., 0], matching_reference(lab_to_rgb(ref)))
    hit = np.array([region[min(int(p.y), H - 1), min(int(p.x), W - 1)] for p in hints.points])
    assert (hit == 1).sum() <= 0.05 * len(hints.points)
    assert (hit != 1).sum() >= 150  # the unambiguous regions still get theirs
    assert np.percentile(errors_at_hints(hints, lab[..., 1:]), 95) < 8


def test_an_unrelated_texture_in_a_single_colour_is_not_matched(truth):
    rgb, lab, _ = truth
    fake = np.zeros((100, 100, 3), np.float32)  # neighbours all agree, but nothing looks alike
    fake[..., 0] = np.random.default_rng(3).uniform(20, 80, (100, 100))
    fake[..., 1:] = (20.0, 40.0)
    matched = reference_hints(lab[..., 0], matching_reference(rgb))
    assert len(reference_hints(lab[..., 0], lab_to_rgb(fake)).points) < 0.2 * len(matched.points)


def test_work_size_sets_the_grid_for_any_target_size():
    big, region = scene(900, 1350, seed=2)
    lab = rgb_to_lab(big)
    hints = reference_hints(lab[..., 0], matching_reference(big), max_points=100, work=64)
    assert 30 <= len(hints.points) <= 100
    step = 1350 / 64  # hints sit on work-pixel centres, with a work pixel's radius
    assert all(abs(p.radius - step) < 0.5 for p in hints.points)
    assert all(abs((p.x / step - 0.5) - round(p.x / step - 0.5)) < 1e-6 for p in hints.points)
    hit = np.array([region[int(p.y), int(p.x)] for p in hints.points])
    assert len(set(hit.tolist())) == 4
