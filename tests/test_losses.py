"""The papers' losses as functions of tensors (colorstudio/train/losses.py)."""

from __future__ import annotations

import torch

from colorstudio.train import losses as L


def _rgb(*colours: tuple[float, float, float]) -> torch.Tensor:
    """(N, 3, 1, 1) RGB in [-1, 1] from colours given in [0, 1]."""
    return torch.tensor(colours, dtype=torch.float32).view(-1, 3, 1, 1) * 2 - 1


def test_cosine_distance_measures_chromaticity_not_lightness() -> None:
    """Paper 000's loss: the same hue and saturation at another lightness costs nothing (the
    app takes lightness from the photo); another hue costs. In [-1, 1] it was the reverse: a
    colour and its darker self disagreed, and mid-grey had no direction at all."""
    teal = (0.2, 0.5, 0.6)
    darker_teal = (0.1, 0.25, 0.3)
    same_light_red = (0.6, 0.5, 0.2)
    assert float(L.cosine_distance(_rgb(darker_teal), _rgb(teal))) < 1e-6
    assert float(L.cosine_distance(_rgb(same_light_red), _rgb(teal))) > 0.05
    grey, near_grey = (0.5, 0.5, 0.5), (0.52, 0.5, 0.48)
    assert float(L.cosine_distance(_rgb(near_grey), _rgb(grey))) < 1e-3


def test_colour_diversity_is_zero_for_the_truth_and_costs_a_collapse() -> None:
    truth = _rgb((0.8, 0.2, 0.2), (0.2, 0.2, 0.8), (0.2, 0.8, 0.2), (0.5, 0.5, 0.5))
    sepia = _rgb(*[(0.6, 0.5, 0.4)] * 4)
    assert float(L.colour_diversity(truth, truth)) == 0.0
    assert float(L.colour_diversity(sepia, truth)) > 0.1
