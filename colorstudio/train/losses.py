"""Losses of the papers, as plain functions of tensors.

Shapes: ab tensors (B, 2, H, W) in the card's normalisation; RGB tensors (B, 3, H, W) in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target)


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred, target)


def huber(pred: torch.Tensor, target: torch.Tensor, beta: float = 0.01) -> torch.Tensor:
    return F.smooth_l1_loss(pred, target, beta=beta)


def cosine_distance(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over pixels of 1 - cos(angle) between predicted and true colour vectors (paper 000),
    RGB given in [-1, 1] and compared in [0, 1]: there the angle between two colours is their
    difference in chromaticity (hue and saturation) whatever their lightness, which the app
    takes from the photo. In [-1, 1] every mid-grey is near the origin, where the angle is
    noise, and a dark colour points the same way as black."""
    return (1 - F.cosine_similarity((pred + 1) / 2, (target + 1) / 2, dim=1, eps=1e-6)).mean()


def colour_diversity(pred_rgb: torch.Tensor, true_rgb: torch.Tensor) -> torch.Tensor:
    """Mode-collapse avoidance for paper 000 (our design; the paper gives no formula).

    Each image's mean chroma (RGB minus its grey component) is a point; a generator that
    paints every photo with the same few colours (the classic sepia collapse) shrinks the
    spread of those points across the batch. The term is the gap between the predicted and
    the true spread, per chroma direction: reusing the same colours costs, inventing garish
    ones costs too.
    """

    def spread(rgb: torch.Tensor) -> torch.Tensor:
        chroma = rgb - rgb.mean(1, keepdim=True)
        return chroma.mean((2, 3)).std(0, unbiased=False)

    return (spread(pred_rgb) - spread(true_rgb)).abs().mean()


def adversarial(logits: torch.Tensor, real: bool, kind: str = "vanilla") -> torch.Tensor:
    """GAN loss on discriminator logits: 'vanilla' (BCE with logits) or 'lsgan' (least squares)."""
    if kind == "lsgan":
        return F.mse_loss(logits, torch.full_like(logits, 1.0 if real else 0.0))
    target = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def soft_encode(ab: torch.Tensor, bins: torch.Tensor, sigma: float) -> torch.Tensor:
    """ab (B, 2, h, w) -> soft one-hot over bins (B, Q, h, w), Gaussian kernel `sigma` (ab/110)."""
    d2 = ((ab.unsqueeze(1) - bins.view(1, -1, 2, 1, 1)) ** 2).sum(2)
    logits = -d2 / (2 * sigma * sigma)
    return torch.softmax(logits, 1)


def class_weights(prior: torch.Tensor, lam: float) -> torch.Tensor:
    """Rebalancing weights of Zhang et al. 2016: w ~ 1/((1-lam) p + lam/Q), E_p[w] = 1."""
    q = prior.numel()
    w = 1.0 / ((1 - lam) * prior + lam / q)
    return w / (prior * w).sum()


def classification(logits: torch.Tensor, target: torch.Tensor,
                   weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy against soft targets (B, Q, h, w), optionally rebalanced per pixel."""
    ce = -(target * torch.log_softmax(logits.float(), 1)).sum(1)
    if weights is not None:
        ce = ce * weights[target.argmax(1)]
    return ce.mean()
