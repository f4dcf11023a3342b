"""Hint-conditioned generator after Zhang et al. 2017 ("Real-Time User-Guided Image
Colorization with Learned Deep Priors"), sized for live hints on a laptop CPU.

Input: normalised L, hint ab (ab/110) and hint mask -> 4 channels at H x W.
Backbone: a U-Net with a stride-2 stem (features at 1/2 .. 1/16), residual dilated blocks at
the bottleneck, additive skips. Two heads, as in Zhang et al.:
  * a classification head over the in-gamut ab bins (grid step `bin_step`) at 1/4 resolution,
    trained with (optionally rebalanced) cross-entropy; decoded by the annealed mean with
    temperature `temperature` -> vivid automatic colours;
  * a regression head at 1/2 resolution (smooth-L1), which follows hints precisely.
`predict()` blends them: the regression output where hints are near (the mask, dilated and
blurred); elsewhere `reg + class_mix * (annealed - reg)`, which trades the regression head's
accuracy (PSNR) for the classifier's vividness; `decode` picks "blend", "class" or "regress".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.color import lab_to_rgb
from .base import ColorNet, conv_block
from .registry import register_arch


VIVID_TEMPERATURE = 0.38  # Zhang et al. 2016's annealed-mean temperature


@dataclass(frozen=True)
class BinDecoding:
    """The ab-bin head and the decoding of `BinnedGuidedNet.predict` (every guided net)."""

    bin_step: int = 10
    temperature: float = VIVID_TEMPERATURE
    # Cross-entropy with class rebalancing learns p(q) * w(q); dividing by w(q)**alpha at
    # decoding undoes the bias (alpha = 1: the unbiased posterior; 0: the rebalanced one).
    prior_correction: float = 0.0
    decode: str = "blend"
    class_mix: float = 1.0  # away from hints: 0 = regression head, 1 = annealed mean
    hint_radius: int = 12  # pixels at 1/2 resolution over which hints override the prior


@dataclass(frozen=True)
class GuidedUNetConfig(BinDecoding):
    widths: tuple[int, ...] = (32, 64, 128, 256)
    bottleneck_blocks: int = 2


def gamut_bins(step: int) -> np.ndarray:
    """Centres (Q, 2) of the ab grid cells that contain at least one in-gamut sRGB colour."""
    grid = np.arange(-110, 111, step, dtype=np.float32)
    a, b = np.meshgrid(grid, grid, indexing="ij")
    ab = np.stack([a.ravel(), b.ravel()], -1)
    ok = np.zeros(len(ab), bool)
    for l_star in np.linspace(5, 95, 19, dtype=np.float32):
        lab = np.concatenate([np.full((len(ab), 1), l_star, np.float32), ab], 1)
        rgb = lab_to_rgb(lab, clip=False)
        ok |= np.all((rgb >= -1e-3) & (rgb <= 1 + 1e-3), axis=1)
    return ab[ok]


class _ResBlock(nn.Module):
    def __init__(self, ch: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, 3, 1, dilation, dilation, bias=False), nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch),
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class BinnedGuidedNet(ColorNet):
    """Zhang et al.'s two heads and their decoding, shared by the guided generators.

    Subclasses build their trunk, call `_make_heads(quarter_ch, half_ch)` and return
    `(self.class_head(feat_1/4), self.reg_head(feat_1/2))` from `forward`."""

    uses_hints = True
    native_strength = True
    cfg: BinDecoding

    def _make_heads(self, quarter_ch: int, half_ch: int) -> None:
        bins = torch.from_numpy(gamut_bins(self.cfg.bin_step)) / 110.0
        self.register_buffer("bins", bins)  # (Q, 2) in ab/110
        # log of the rebalancing weights used in training (zeros if none); see prior_correction.
        self.register_buffer("log_class_weight", torch.zeros(len(bins)))
        self.class_head = nn.Conv2d(quarter_ch, len(bins), 1)  # at 1/4
        self.reg_head = nn.Sequential(nn.Conv2d(half_ch, 2, 3, 1, 1), nn.Tanh())  # at 1/2

    def annealed_mean(self, logits: torch.Tensor, temperature: float | None = None
                      ) -> torch.Tensor:
        """Class logits (B, Q, h, w) -> ab/110 (B, 2, h, w), annealed mean (Zhang et al. 2016)."""
        logits = logits.float()
        if self.cfg.prior_correction:
            logits = logits - self.cfg.prior_correction * self.log_class_weight.view(1, -1, 1, 1)
        p = torch.softmax(logits / (temperature or self.cfg.temperature), dim=1)
        return torch.einsum("bqhw,qc->bchw", p, self.bins.float())

    def decoding(self, strength: float) -> tuple[float, float]:
        """Colour strength -> (class_mix, temperature). 0.5 is the card's own decoding; below,
        the mix moves to the regression head (cautious, 0 = regression only); above, to the
        annealed mean, with the temperature falling to Zhang et al.'s vivid 0.38."""
        mix, temp = self.cfg.class_mix, self.cfg.temperature
        s = min(max(float(strength), 0.0), 1.0)
        if s <= 0.5:
            return mix * s / 0.5, temp
        t = (s - 0.5) / 0.5
        return mix + (1.0 - mix) * t, temp + (min(temp, VIVID_TEMPERATURE) - temp) * t

    def predict(
        self, l: torch.Tensor, hint_ab: torch.Tensor | None = None,
        hint_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.run(l, hint_ab, hint_mask)[0]

    def run(
        self, l: torch.Tensor, hint_ab: torch.Tensor | None = None,
        hint_mask: torch.Tensor | None = None, strength: float = 0.5,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        logits, reg = self(l, hint_ab, hint_mask)
        reg = reg.float()
        probs = torch.softmax(logits.float(), dim=1)
        if self.cfg.decode == "regress":
            return reg, probs
        mix, temp = self.decoding(strength)
        prior = F.interpolate(self.annealed_mean(logits, temp), size=reg.shape[-2:],
                              mode="bilinear", align_corners=False)
        if self.cfg.decode == "blend" and mix != 1.0:
            prior = reg + mix * (prior - reg)
        if self.cfg.decode == "class" or hint_mask is None or not bool(hint_mask.any()):
            return prior, probs
        # Near hints the regression head is accurate; far from them the prior is more vivid.
        m = F.interpolate(hint_mask.float(), size=reg.shape[-2:], mode="area")
        # k x k max and mean filters, each as a row pass then a column pass (the same result,
        # and k times fewer operations than the square window).
        k, r = 2 * self.cfg.hint_radius + 1, self.cfg.hint_radius
        passes = (((1, k), (0, r)), ((k, 1), (r, 0)))  # (kernel, padding): rows, then columns
        near = (m > 0).float()
        for size, pad in passes:
            near = F.max_pool2d(near, size, 1, pad)
        for size, pad in passes:
            near = F.avg_pool2d(near, size, 1, pad, count_include_pad=False)
        return near * reg + (1 - near) * prior, probs


@register_arch("guided_unet", GuidedUNetConfig)
class GuidedUNet(BinnedGuidedNet):
    def __init__(self, cfg: GuidedUNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        w = cfg.widths
        self.stem = nn.Sequential(conv_block(4, w[0], s=2), conv_block(w[0], w[0]))  # 1/2
        self.downs = nn.ModuleList(
            nn.Sequential(conv_block(w[i], w[i + 1], s=2), conv_block(w[i + 1], w[i + 1]))
            for i in range(len(w) - 1)
        )
        self.bottleneck = nn.Sequential(
            *[_ResBlock(w[-1], 2 ** (i % 3 + 1)) for i in range(cfg.bottleneck_blocks)]
        )
        self.reduce = nn.ModuleList(nn.Conv2d(w[i + 1], w[i], 1) for i in range(len(w) - 1))
        self.fuse = nn.ModuleList(conv_block(w[i], w[i]) for i in range(len(w) - 1))
        self._make_heads(w[1], w[0])

    def forward(
        self, l: torch.Tensor, hint_ab: torch.Tensor | None = None,
        hint_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (class logits (B, Q, H/4, W/4), regressed ab/110 (B, 2, H/2, W/2))."""
        if hint_ab is None or hint_mask is None:
            b, _, h, w = l.shape
            hint_ab = l.new_zeros(b, 2, h, w)
            hint_mask = l.new_zeros(b, 1, h, w)
        x = self.stem(torch.cat([l, hint_ab, hint_mask - 0.5], 1))
        feats = [x]
        for down in self.downs:
            feats.append(down(feats[-1]))
        x = self.bottleneck(feats.pop())
        quarter = None
        for i in reversed(range(len(feats))):
            x = self.reduce[i](x)
            x = F.interpolate(x, size=feats[i].shape[-2:], mode="bilinear", align_corners=False)
            x = self.fuse[i](x + feats[i])
            if i == 1:
                quarter = x
        assert quarter is not None
        return self.class_head(quarter), self.reg_head(x)
