"""Hint-conditioned generator on an ImageNet-pretrained MobileNetV2 encoder.

Zhang et al. 2017's guided colouriser (L + hint ab + hint mask in; an ab-bin classification
head and a regression head out, decoded by `BinnedGuidedNet.predict`), with the trunk of
the strong automatic colourisers (Larsson et al. 2016, DeOldify, DDColor): a pretrained
classification encoder and a U-Net decoder over its stride-2..32 features.

* L* goes in as the grey sRGB image it is, three identical channels with ImageNet's
  normalisation, so the pretrained stem sees what it was trained on.
* The hints (ab, mask) join through a small side branch added to the stem's output (as
  Zhang et al. add the hint convolution to conv1) and again at the decoder's 1/2 level,
  where the regression head reads them. The side branch's last layers start at zero, so the
  untrained network is exactly the pretrained encoder.
* Decoder: 1/32 -> 1/2, bilinear upsampling, 1x1 projections of each skip added, one 3x3
  conv-BN-ReLU per level. Class head at 1/4, regression head at 1/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import conv_block
from .guided_unet import BinDecoding, BinnedGuidedNet
from .mobilenet_v2 import MobileNetV2Features, add_unet_decoder, decode_unet, imagenet_input
from .registry import register_arch


@dataclass(frozen=True)
class GuidedMobileNetConfig(BinDecoding):
    # Decoder channels at 1/32, 1/16, 1/8, 1/4, 1/2.
    decoder: tuple[int, ...] = (256, 128, 64, 64, 32)
    hint_channels: int = 32
    width_mult: float = 1.0  # the encoder's; 1.0 is what the ImageNet weights fit


@register_arch("guided_mobilenet", GuidedMobileNetConfig)
class GuidedMobileNet(BinnedGuidedNet):
    channels_last = True

    def __init__(self, cfg: GuidedMobileNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, hc = cfg.decoder, cfg.hint_channels
        self.encoder = MobileNetV2Features(cfg.width_mult)
        self.hint_in = conv_block(3, hc, s=2)
        self.hint_stem = nn.Conv2d(hc, self.encoder.stem_channels, 3, 1, 1)  # -> the stem
        self.hint_dec = nn.Conv2d(hc, d[-1], 1)  # -> added at the decoder's 1/2 level
        for m in (self.hint_stem, self.hint_dec):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)
        add_unet_decoder(self, self.encoder.tap_channels, d)
        self._make_heads(d[3], d[4])

    def forward(
        self, l: torch.Tensor, hint_ab: torch.Tensor | None = None,
        hint_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (class logits (B, Q, H/4, W/4), regressed ab/110 (B, 2, H/2, W/2))."""
        x = imagenet_input(l)
        if hint_ab is None or hint_mask is None:
            b, _, hh, ww = l.shape
            hint_ab, hint_mask = l.new_zeros(b, 2, hh, ww), l.new_zeros(b, 1, hh, ww)
        h = self.hint_in(torch.cat([hint_ab, hint_mask - 0.5], 1))
        levels = decode_unet(self, self.encoder.forward_taps(x, self.hint_stem(h)),
                             self.hint_dec(h))
        quarter, x = levels[-2], levels[-1]
        return self.class_head(quarter), self.reg_head(x)
