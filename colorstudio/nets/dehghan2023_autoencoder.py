"""Dehghan 2023 (paper 003): plain convolutional encoder-decoder, L in, ab out, MSE in Lab.

ReLU everywhere except the tanh output; no pre-trained part. Strided convs down by 8,
nearest upsampling + convs back up (no skips: it is an autoencoder, as in the paper).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ColorNet, conv_block
from .registry import register_arch


@dataclass(frozen=True)
class AutoencoderConfig:
    base: int = 64


@register_arch("dehghan2023_autoencoder", AutoencoderConfig)
class Autoencoder(ColorNet):
    def __init__(self, cfg: AutoencoderConfig) -> None:
        super().__init__()
        b = cfg.base
        self.cfg = cfg
        self.encoder = nn.Sequential(
            conv_block(1, b, s=2, norm=False), conv_block(b, b * 2, norm=False),
            conv_block(b * 2, b * 2, s=2, norm=False), conv_block(b * 2, b * 4, norm=False),
            conv_block(b * 4, b * 4, s=2, norm=False), conv_block(b * 4, b * 8, norm=False),
            conv_block(b * 8, b * 4, norm=False),
        )
        self.decoder = nn.Sequential(
            nn.Upsample(scale_factor=2), conv_block(b * 4, b * 2, norm=False),
            nn.Upsample(scale_factor=2), conv_block(b * 2, b, norm=False),
            nn.Upsample(scale_factor=2), conv_block(b, b // 2, norm=False),
            nn.Conv2d(b // 2, 2, 3, 1, 1), nn.Tanh(),
        )

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(l))
