"""Mane et al. 2021 (paper 004): simple Lab CNN, 3x3 conv stacks 64 -> 128 -> 256 with
stride 2 instead of pooling, upsampling back to full size, tanh output scaled by 128
(normalisation `lab_l50_ab128`), Euclidean (MSE) loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ColorNet, conv_block
from .registry import register_arch


@dataclass(frozen=True)
class ManeConfig:
    widths: tuple[int, ...] = (64, 128, 256)


@register_arch("mane2021_cnn", ManeConfig)
class ManeCNN(ColorNet):
    def __init__(self, cfg: ManeConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        cin = 1
        for w in cfg.widths:
            layers += [conv_block(cin, w, s=2), conv_block(w, w)]
            cin = w
        for w in reversed(cfg.widths[:-1]):
            layers += [nn.Upsample(scale_factor=2, mode="bilinear"), conv_block(cin, w)]
            cin = w
        layers += [nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(cin, 2, 3, 1, 1),
                   nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        return self.net(l)
