"""Roshana et al. 2023 (paper 002): pix2pix in Lab, U-Net generator + 70x70 PatchGAN.

Encoder C64-C128-C256-C512-C512-... (no BN on the first), LeakyReLU 0.2; decoder with
dropout 0.5 in the first three up-layers (the noise source), ReLU, skips; conv to 2 + tanh.
`ngf` scales the widths and `num_downs` the depth (8 for 256x256 as in the paper).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ColorNet, PatchDiscriminator
from .registry import register_arch


@dataclass(frozen=True)
class Pix2PixConfig:
    ngf: int = 64
    num_downs: int = 8
    ndf: int = 64


class _UnetBlock(nn.Module):
    def __init__(self, outer: int, inner: int, sub: nn.Module | None, cin: int | None = None,
                 outermost: bool = False, innermost: bool = False, dropout: bool = False,
                 cout: int | None = None) -> None:
        super().__init__()
        self.outermost = outermost
        cin = outer if cin is None else cin
        down = [nn.Conv2d(cin, inner, 4, 2, 1, bias=False)]
        if outermost:
            up: list[nn.Module] = [nn.ReLU(True),
                                   nn.ConvTranspose2d(inner * 2, cout or outer, 4, 2, 1),
                                   nn.Tanh()]
            model = down + [sub] + up
        elif innermost:
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False),
                  nn.BatchNorm2d(outer)]
            model = [nn.LeakyReLU(0.2, True)] + down + up
        else:
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False),
                  nn.BatchNorm2d(outer)]
            if dropout:
                up.append(nn.Dropout(0.5))
            model = [nn.LeakyReLU(0.2, True)] + down + [nn.BatchNorm2d(inner), sub] + up
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


@register_arch("roshana2023_pix2pix", Pix2PixConfig)
class Pix2Pix(ColorNet):
    def __init__(self, cfg: Pix2PixConfig) -> None:
        super().__init__()
        self.cfg = cfg
        g = cfg.ngf
        block = _UnetBlock(g * 8, g * 8, None, innermost=True)
        for i in range(cfg.num_downs - 5):
            block = _UnetBlock(g * 8, g * 8, block, dropout=i < 3)
        block = _UnetBlock(g * 4, g * 8, block)
        block = _UnetBlock(g * 2, g * 4, block)
        block = _UnetBlock(g, g * 2, block)
        self.unet = _UnetBlock(g, g, block, cin=1, outermost=True, cout=2)

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        return self.unet(l)

    def discriminator(self) -> nn.Module:
        return PatchDiscriminator(3, self.cfg.ndf)
