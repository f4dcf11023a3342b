"""Mathur et al. 2023 (paper 000): conditional GAN on 32x32 grey inputs predicting RGB.

Generator: k1 s1 stem, k2 s2 convs down to 2x2x512, k2 s2 transposed convs back up with
skip concatenation i <-> n-i, dropout 0.5 in the first two expanding layers, BatchNorm except
on the first and last layers, LeakyReLU 0.2, a final k1 s1 conv to 3 channels and tanh.
Discriminator: (grey, colour) concatenated, k2 s2 convs + BN + LeakyReLU, dense 128, dense 1;
it returns a logit (the sigmoid lives in the loss, `BCEWithLogits`, for numerical stability).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ColorNet
from .registry import register_arch


@dataclass(frozen=True)
class MathurGANConfig:
    base: int = 64
    max_ch: int = 512
    input_size: int = 32
    downs: int = 4  # 32 -> 2


@register_arch("mathur2023_gan", MathurGANConfig, output="rgb")
class MathurGAN(ColorNet):
    output = "rgb"
    chromaticity_only = True  # trained on the cosine distance: the colour's direction only

    def __init__(self, cfg: MathurGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        chans = [min(cfg.base * 2**i, cfg.max_ch) for i in range(cfg.downs + 1)]
        self.stem = nn.Sequential(nn.Conv2d(1, chans[0], 1), nn.LeakyReLU(0.2, True))
        self.downs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 2, 2, bias=False),
                          nn.BatchNorm2d(chans[i + 1]), nn.LeakyReLU(0.2, True))
            for i in range(cfg.downs)
        )
        ups = []
        cin = chans[-1]
        for j, i in enumerate(reversed(range(cfg.downs))):
            layers: list[nn.Module] = [nn.ConvTranspose2d(cin, chans[i], 2, 2, bias=False),
                                       nn.BatchNorm2d(chans[i])]
            if j < 2:
                layers.append(nn.Dropout(0.5))
            layers.append(nn.LeakyReLU(0.2, True))
            ups.append(nn.Sequential(*layers))
            cin = chans[i] * 2  # after concatenation with the skip
        self.ups = nn.ModuleList(ups)
        self.head = nn.Sequential(nn.Conv2d(cin, 3, 1), nn.Tanh())

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        feats = [self.stem(l)]
        for down in self.downs:
            feats.append(down(feats[-1]))
        x = feats.pop()
        for up in self.ups:
            x = torch.cat([up(x), feats.pop()], 1)
        return self.head(x)

    def discriminator(self) -> nn.Module:
        return MathurDiscriminator(self.cfg)


class MathurDiscriminator(nn.Module):
    def __init__(self, cfg: MathurGANConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin, size = 4, cfg.input_size
        for i in range(cfg.downs):
            cout = min(cfg.base * 2**i, cfg.max_ch)
            layers += [nn.Conv2d(cin, cout, 2, 2, bias=i == 0)]
            if i:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, True))
            cin, size = cout, size // 2
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(2)  # keeps the dense head valid at other sizes
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cin * 4, 128),
                                  nn.LeakyReLU(0.2, True), nn.Linear(128, 1))

    def forward(self, pair: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(pair)))
