"""Mahajan 2022 (paper 001): CycleGAN for unpaired grey <-> colour translation.

The registered network is the generator G: grey -> RGB (what inference needs). Training also
builds F: RGB -> grey and two PatchGAN discriminators (`cycle_parts`); they are not bundled.
Generators follow Zhu et al. 2017 (c7s1, two stride-2 downs, residual blocks, two ups, c7s1)
with BatchNorm and LeakyReLU 0.2 as the paper describes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ColorNet, PatchDiscriminator
from .registry import register_arch


@dataclass(frozen=True)
class CycleGANConfig:
    ngf: int = 32
    n_blocks: int = 4
    ndf: int = 32


class _ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=False), nn.BatchNorm2d(ch),
            nn.LeakyReLU(0.2, True),
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3, bias=False), nn.BatchNorm2d(ch),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    def __init__(self, cin: int, cout: int, ngf: int, n_blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(cin, ngf, 7, bias=False),
                                   nn.BatchNorm2d(ngf), nn.LeakyReLU(0.2, True)]
        ch = ngf
        for _ in range(2):
            layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1, bias=False), nn.BatchNorm2d(ch * 2),
                       nn.LeakyReLU(0.2, True)]
            ch *= 2
        layers += [_ResBlock(ch) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.LeakyReLU(0.2, True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, cout, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@register_arch("mahajan2022_cyclegan", CycleGANConfig, output="rgb")
class CycleGAN(ColorNet):
    output = "rgb"

    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.g = ResnetGenerator(1, 3, cfg.ngf, cfg.n_blocks)

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        return self.g(l)

    def cycle_parts(self) -> nn.ModuleDict:
        """F (colour -> grey) and the two discriminators, for unpaired training."""
        c = self.cfg
        return nn.ModuleDict({
            "f": ResnetGenerator(3, 1, c.ngf, c.n_blocks),
            "d_colour": PatchDiscriminator(3, c.ndf),
            "d_grey": PatchDiscriminator(1, c.ndf),
        })
