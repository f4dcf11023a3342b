"""Mahajan 2022 (paper 001): CycleGAN for unpaired grey <-> colour translation.

The registered network is the generator G: grey -> RGB (what inference needs). Training also
builds F: RGB -> grey and two PatchGAN discriminators (`cycle_parts`); they are not bundled.
Generators follow Zhu et al. 2017 (c7s1, two stride-2 downs, residual blocks, two ups, c7s1)
with BatchNorm and LeakyReLU 0.2 as the paper describes. With `encoder = "mobilenet_v2"`, G is
instead a U-Net on an ImageNet-pretrained MobileNetV2 encoder (the trunk of the default model),
so that it can tell concrete from brick and sky from water; F stays Zhu et al.'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..core.errors import ModelError
from .base import ColorNet, PatchDiscriminator
from .mobilenet_v2 import MobileNetV2Features, add_unet_decoder, decode_unet, imagenet_input
from .registry import register_arch


@dataclass(frozen=True)
class CycleGANConfig:
    ngf: int = 32
    n_blocks: int = 4
    ndf: int = 32
    encoder: str = "resnet"  # G's trunk: "resnet" (Zhu et al.) or "mobilenet_v2" (pretrained)
    decoder: tuple[int, ...] = (256, 128, 64, 64, 32)  # the MobileNetV2 U-Net's, 1/32 ... 1/2
    width_mult: float = 1.0  # the MobileNetV2 encoder's; 1.0 is what the ImageNet weights fit


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


class MobileNetGenerator(nn.Module):
    """G on a MobileNetV2 encoder: grey L (L*/50 - 1) -> RGB in [-1, 1]. The decoder's 1/2-level
    features are upsampled to full size and read with the L input by two 3x3 convolutions."""

    def __init__(self, decoder: tuple[int, ...], width_mult: float) -> None:
        super().__init__()
        self.encoder = MobileNetV2Features(width_mult)
        add_unet_decoder(self, self.encoder.tap_channels, decoder)
        self.out = nn.Sequential(nn.Conv2d(decoder[-1] + 1, 32, 3, 1, 1), nn.ReLU(True),
                                 nn.Conv2d(32, 3, 3, 1, 1), nn.Tanh())

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        x = decode_unet(self, self.encoder.forward_taps(imagenet_input(l)))[-1]
        x = F.interpolate(x, size=l.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(torch.cat([x, l], 1))


@register_arch("mahajan2022_cyclegan", CycleGANConfig, output="rgb")
class CycleGAN(ColorNet):
    output = "rgb"

    def __init__(self, cfg: CycleGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.encoder == "mobilenet_v2":
            self.g: nn.Module = MobileNetGenerator(cfg.decoder, cfg.width_mult)
            self.pretrained_prefix = "g.encoder"  # where ImageNet weights load (training)
        elif cfg.encoder == "resnet":
            self.g = ResnetGenerator(1, 3, cfg.ngf, cfg.n_blocks)
        else:
            raise ModelError(f"unknown CycleGAN encoder {cfg.encoder!r}: resnet or mobilenet_v2")

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
