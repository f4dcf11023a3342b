"""core.uncertainty (the model's ab distribution as data) and core.gamut, on hand-built
distributions over a regular a*b* grid (no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from colorstudio.core.gamut import in_gamut, lab_to_rgb8, rgb8_to_lab, snap_ab, snap_ab_many
from colorstudio.core.uncertainty import (
    Distribution,
    heat_rgba,
    suggest_spot,
    uncertainty_map,
)

STEP = 10.0
_G = np.arange(-110, 111, STEP, dtype=np.float32)
_A, _B = np.meshgrid(_G, _G, indexing="ij")
BINS = np.stack([_A.ravel(), _B.ravel()], -1)  # (529, 2), a regular grid like gamut_bins
Q = len(BINS)

BLUE = (10.0, -50.0)
ORANGE = (40.0, 60.0)


def bump(a: float, b: float, sigma: float = 12.0) -> np.ndarray:
    """A normalised Gaussian peak over the bins at (a, b)."""
    p = np.exp(-((BINS[:, 0] - a) ** 2 + (BINS[:, 1] - b) ** 2) / (2 * sigma**2))
    return (p / p.sum()).astype(np.float32)


def one_hot(a: float, b: float) -> np.ndarray:
    p = np.zeros(Q, np.float32)
    p[np.argmin(np.hypot(BINS[:, 0] - a, BINS[:, 1] - b))] = 1
    return p


def single(p: np.ndarray) -> Distribution:
    return Distribution(p[None, None].astype(np.float16), BINS)


def hue(rgb: tuple[int, int, int]) -> float:
    _, a, b = rgb8_to_lab(rgb)
    return float(np.degrees(np.arctan2(b, a)))


def hue_of(ab: tuple[float, float]) -> float:
    return float(np.degrees(np.arctan2(ab[1], ab[0])))


def test_ui_colours_still_exports_the_gamut_helpers() -> None:
    from colorstudio.core import gamut
    from colorstudio.ui import colours

    for name in ("in_gamut", "snap_ab", "lab_to_rgb8", "rgb8_to_lab"):
        assert getattr(colours, name) is getattr(gamut, name)


def test_vectorised_snap_matches_the_scalar_one() -> None:
    ab = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32) * 60
    for l_star in (20.0, 60.0, 95.0):
        many = snap_ab_many(l_star, ab)
        one = np.array([snap_ab(l_star, float(a), float(b)) for a, b in ab])
        assert many.shape == (40, 2) and many.dtype == np.float32
        np.testing.assert_allclose(many, one, atol=1e-3)
        assert in_gamut(l_star, many[:, 0], many[:, 1]).all()


@pytest.mark.parametrize("w_blue", [0.35, 0.65])
def test_two_peaks_come_back_in_order_of_mass_with_their_hues(w_blue: float) -> None:
    d = single(w_blue * bump(*BLUE) + (1 - w_blue) * bump(*ORANGE))
    modes = d.modes(0.5, 0.5, l_star=60.0)
    assert len(modes) == 2
    first, second = (BLUE, ORANGE) if w_blue > 0.5 else (ORANGE, BLUE)
    assert hue(modes[0]) == pytest.approx(hue_of(first), abs=4)
    assert hue(modes[1]) == pytest.approx(hue_of(second), abs=4)
    assert rgb8_to_lab(modes[0])[0] == pytest.approx(60.0, abs=1.0)  # at the asked L*


def test_modes_snap_into_the_gamut_at_extreme_lightness() -> None:
    d = single(bump(*BLUE, sigma=6))
    (mode,) = d.modes(0.5, 0.5, l_star=95.0)
    l_star, _, _ = rgb8_to_lab(mode)
    assert l_star == pytest.approx(95.0, abs=1.0)  # really at L* 95, not clipped darker
    assert hue(mode) == pytest.approx(hue_of(BLUE), abs=5)
    assert mode[2] > mode[0]  # still bluish
    naive = lab_to_rgb8(95.0, *BLUE)  # what skipping the snap gives: hue and L* both drift
    assert abs(rgb8_to_lab(naive)[0] - 95.0) > 1.0 or abs(hue(naive) - hue_of(BLUE)) > 5


def test_modes_ignore_peaks_below_min_prob_and_respect_k() -> None:
    p = 0.985 * one_hot(*ORANGE) + 0.015 * one_hot(*BLUE)
    assert len(single(p).modes(0.5, 0.5, 60.0)) == 1
    assert len(single(p).modes(0.5, 0.5, 60.0, min_prob=0.01)) == 2
    assert len(single(p).modes(0.5, 0.5, 60.0, k=1, min_prob=0.01)) == 1


def test_a_plateau_of_neighbouring_bins_is_one_mode() -> None:
    p = 0.5 * one_hot(30.0, 30.0) + 0.5 * one_hot(40.0, 30.0)
    (mode,) = single(p).modes(0.5, 0.5, 60.0)
    _, a, b = rgb8_to_lab(mode)
    assert a == pytest.approx(35.0, abs=2) and b == pytest.approx(30.0, abs=2)  # between


def test_entropy_of_one_hot_is_zero_and_of_uniform_is_one() -> None:
    probs = np.stack([one_hot(*BLUE), np.full(Q, 1 / Q, np.float32),
                      0.5 * one_hot(*BLUE) + 0.5 * one_hot(*ORANGE)])
    ent = Distribution(probs.reshape(1, 3, Q).astype(np.float16), BINS).entropy()
    assert ent.shape == (1, 3) and ent.dtype == np.float32
    assert ent[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert ent[0, 1] == pytest.approx(1.0, abs=1e-3)  # float16 1/Q rounding, renormalised
    assert ent[0, 2] == pytest.approx(np.log(2) / np.log(Q), abs=1e-3)


def test_at_interpolates_bilinearly_between_cell_centres() -> None:
    probs = np.stack([one_hot(*BLUE), one_hot(*ORANGE)])[None]  # (1, 2, Q): left, right
    d = Distribution(probs, BINS)
    i_blue, i_orange = int(np.argmax(probs[0, 0])), int(np.argmax(probs[0, 1]))
    assert d.at(0.25, 0.5)[i_blue] == pytest.approx(1.0)  # the left cell's centre
    mid = d.at(0.5, 0.5)
    assert mid.dtype == np.float32 and mid.shape == (Q,)
    assert (mid[i_blue], mid[i_orange]) == pytest.approx((0.5, 0.5))
    assert (d.at(0.375, 0.1)[i_blue], d.at(0.375, 0.1)[i_orange]) == pytest.approx((0.75, 0.25))
    assert d.at(0.0, 0.0)[i_blue] == pytest.approx(1.0)  # clamped beyond the outer centre
    assert d.at(1.0, 1.0)[i_orange] == pytest.approx(1.0)


def test_distribution_checks_shapes_and_counts_bytes() -> None:
    probs = np.full((4, 6, Q), 1 / Q, np.float16)
    assert Distribution(probs, BINS).nbytes == probs.nbytes + BINS.nbytes
    with pytest.raises(ValueError):
        Distribution(probs, BINS[:-1])


def half_unsure(h: int = 8, w: int = 16) -> Distribution:
    """Left half uniform (unsure), right half one-hot (sure)."""
    probs = np.empty((h, w, Q), np.float32)
    probs[:, : w // 2] = 1 / Q
    probs[:, w // 2:] = one_hot(*ORANGE)
    return Distribution(probs.astype(np.float16), BINS)


def test_uncertainty_map_is_high_where_unsure_and_zero_where_covered() -> None:
    unc = uncertainty_map(half_unsure(), 60, 120)
    assert unc.shape == (60, 120) and unc.dtype == np.float32
    assert 0 <= unc.min() and unc.max() <= 1
    assert unc[:, :40].min() > 0.9 and unc[:, 80:].max() < 0.1
    covered = np.zeros((30, 40), np.float32)
    covered[:, :10] = 1.0  # the left quarter hinted, given at another size
    unc2 = uncertainty_map(half_unsure(), 60, 120, covered=covered)
    assert unc2[:, :25].max() == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(unc2[:, 35:], unc[:, 35:], atol=1e-6)  # elsewhere unchanged


def blob(unc: np.ndarray, x: float, y: float, radius: float, value: float) -> None:
    yy, xx = np.mgrid[: unc.shape[0], : unc.shape[1]]
    inside = (xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= radius**2
    unc[inside] = value


@pytest.mark.parametrize("big_left", [True, False])
def test_suggest_spot_picks_the_largest_uncertain_region(big_left: bool) -> None:
    unc = np.full((100, 220), 0.1, np.float32)
    big, small = ((55.0, 50.0), (165.0, 50.0)) if big_left else ((165.0, 50.0), (55.0, 50.0))
    blob(unc, *big, radius=25, value=0.8)
    blob(unc, *small, radius=12, value=0.95)  # more unsure, but much smaller
    spot = suggest_spot(unc)
    assert spot is not None
    x, y = spot
    assert np.hypot(x - big[0], y - big[1]) < 3  # well inside: near the blob's centre


def test_suggest_spot_is_none_for_a_confident_or_fully_hinted_photo() -> None:
    assert suggest_spot(np.full((50, 50), 0.2, np.float32)) is None
    assert suggest_spot(uncertainty_map(half_unsure(), 40, 80, np.ones((4, 4)))) is None
    spot = suggest_spot(uncertainty_map(half_unsure(), 40, 80))
    assert spot is not None and spot[0] < 40  # on the unsure (left) half


def test_heat_overlay_is_clear_where_sure_and_rises_with_uncertainty() -> None:
    unc = np.linspace(0, 1, 11, dtype=np.float32)[None]
    rgba = heat_rgba(unc, opacity=0.6)
    assert rgba.shape == (1, 11, 4) and rgba.dtype == np.uint8
    alpha = rgba[0, :, 3].astype(int)
    assert alpha[0] == 0 and alpha[-1] == round(0.6 * 255)
    assert np.all(np.diff(alpha) > 0)
    lightness = [rgb8_to_lab(tuple(int(c) for c in px[:3]))[0] for px in rgba[0]]
    assert np.all(np.diff(lightness) < 0)  # ordered: lighter (yellow) to darker (magenta)
