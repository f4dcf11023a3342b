"""The hint solve's learned transfer (issue 14): the fit, the basis's locality, the card field,
and the pipeline with the bundled default's coefficients."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from colorstudio.core.cards import card_from_dict, card_to_toml
from colorstudio.core.compose import HintSolve
from colorstudio.core.errors import ModelError
from colorstudio.core.hints import HintPoint, HintSet
from colorstudio.core.transfer import N_COEFFS, TransferFit, count_feature, transfer_basis
from colorstudio.engine import pipeline
from colorstudio.engine.models import ModelStore

CPU = torch.device("cpu")


def test_the_fit_recovers_the_coefficients_that_made_the_residuals():
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 1, N_COEFFS)
    fit = TransferFit()
    for _ in range(5):
        basis = rng.normal(0, 1, (300, 2, N_COEFFS))
        fit.add(basis, basis @ truth + rng.normal(0, 1e-3, (300, 2)))
    assert np.allclose(fit.solve(ridge=1e-9), truth, atol=1e-3)
    with pytest.raises(ValueError, match="no photos"):
        TransferFit().solve()


def test_the_count_feature_runs_from_one_hint_to_a_hundred():
    assert count_feature(0) == count_feature(1) == 0.0
    assert count_feature(10) == pytest.approx(0.5)
    assert count_feature(100) == count_feature(5000) == 1.0


def _two_regions() -> tuple[np.ndarray, np.ndarray]:
    """Two bands split by a 40-L* edge, one hint in the dark one."""
    l_star = np.concatenate([np.full((48, 48), 35.0), np.full((48, 48), 75.0)], 1)
    mask = np.zeros(l_star.shape, np.float32)
    mask[20:23, 10:13] = 1
    return l_star.astype(np.float32), mask


def test_every_direction_of_the_basis_stays_within_the_hints_reach():
    """Past a strong edge the transfer adds nothing, whatever its coefficients, and at the
    hint it leaves the hint's own colour."""
    l_star, mask = _two_regions()
    rng = np.random.default_rng(1)
    free, guided = (rng.normal(0, 20, (48, 96, 2)).astype(np.float32) for _ in range(2))
    reach_solve = HintSolve(l_star, mask, decay=1e-5, weight=1e4)
    fill_solve = HintSolve(l_star, mask, sigma=1.25, decay=3e-5)
    hint_ab = np.zeros_like(free)
    hint_ab[mask > 0] = (-20.0, -40.0)
    basis = transfer_basis(reach_solve, fill_solve, free, guided, hint_ab,
                           np.full((12, 24), 0.7, np.float32), 1)
    assert basis.shape == (48, 96, 2, N_COEFFS)
    own, other = np.abs(basis[:, :40]).max(), np.abs(basis[:, 56:]).max()
    assert own > 1.0 and other < 1e-3 * own
    # and it fades out where the fill holds the hint's colour: at the hint itself
    assert np.abs(basis[20:23, 10:13]).max() < 0.05 * own


def _card_dict(**extra: object) -> dict:
    return {"id": "m", "name": "M", "version": "1", "arch": "guided_unet", "paper": "p",
            "config": {}, **extra}


def test_a_card_carries_its_transfer_and_refuses_a_malformed_one():
    coeffs = [0.5 * i for i in range(N_COEFFS)]
    card = card_from_dict(_card_dict(hint_transfer=coeffs))
    assert card.hint_transfer == tuple(coeffs)
    import tomllib
    assert card_from_dict(tomllib.loads(card_to_toml(card))).hint_transfer == tuple(coeffs)
    assert card_from_dict(_card_dict()).hint_transfer == ()
    for bad in (coeffs[:-1], [*coeffs[:-1], "x"], [*coeffs[:-1], float("nan")],
                [*coeffs[:-1], True], 3.0):
        with pytest.raises(ModelError, match="hint_transfer"):
            card_from_dict(_card_dict(hint_transfer=bad))


@pytest.fixture(scope="module")
def default_model():
    return ModelStore().load(None, CPU)


def test_the_default_carries_a_fitted_transfer_that_acts_only_within_the_reach(default_model):
    """The bundled coefficients change the hinted region and nothing past a strong edge;
    without them the pipeline is the local solve alone."""
    assert len(default_model.card.hint_transfer) == N_COEFFS
    rng = np.random.default_rng(2)
    l_star = np.concatenate([np.full((96, 96), 35.0), np.full((96, 96), 75.0)], 1)
    l_star = (l_star + rng.normal(0, 1.0, l_star.shape)).astype(np.float32)
    hints = HintSet(points=(HintPoint(40, 48, 3, (150, 60, 40)),))
    with_fit = pipeline.colorize_l(default_model, l_star, hints)
    plain = dataclasses.replace(default_model, card=dataclasses.replace(
        default_model.card, hint_transfer=()))
    without = pipeline.colorize_l(plain, l_star, hints)
    delta = np.abs(with_fit.ab - without.ab)
    assert delta[:, :88].mean() > 0.2  # a*b* units: the transfer acts in the hinted region
    assert delta[:, 104:].max() < 0.5  # and not past the edge
