"""MobileNetV2 feature extractor (Sandler et al. 2018) with torchvision's parameter names.

torchvision does not import beside the CPU build of torch used here, so this module rebuilds
`torchvision.models.mobilenet_v2(...).features` layer for layer: `features.N.conv.0.0.weight`
and so on, so that torchvision's ImageNet state dict loads with `strict=True` (its
`classifier.*` keys dropped). `taps` names the blocks whose outputs a U-Net decoder reads.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import conv_block

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# (expansion t, channels c, repeats n, first stride s), as in the paper and torchvision.
INVERTED_RESIDUAL_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                             (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
# Last block at each stride (1/2, 1/4, 1/8, 1/16, 1/32).
TAPS = (1, 3, 6, 13, 18)


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's channel rounding for `width_mult` != 1."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _conv_bn_relu(cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn_relu(cin, hidden, k=1))
        layers += [_conv_bn_relu(hidden, hidden, s=stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2Features(nn.Module):
    """`features` of torchvision's MobileNetV2: 19 blocks, stride 32, 1280 channels at
    width 1.0 (the ImageNet weights); smaller widths serve the tiny test models."""

    def __init__(self, width_mult: float = 1.0) -> None:
        super().__init__()
        cin = make_divisible(32 * width_mult)
        layers: list[nn.Module] = [_conv_bn_relu(3, cin, s=2)]
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            cout = make_divisible(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        layers.append(_conv_bn_relu(cin, make_divisible(1280 * max(1.0, width_mult)), k=1))
        self.features = nn.Sequential(*layers)

    @property
    def stem_channels(self) -> int:
        return self.features[0][0].out_channels

    @property
    def tap_channels(self) -> list[int]:
        """Channels of the `TAPS` outputs, strides 2..32."""
        return [[m for m in self.features[i].modules() if isinstance(m, nn.Conv2d)][-1]
                .out_channels for i in TAPS]

    def forward_taps(self, x: torch.Tensor, after_stem: torch.Tensor | None = None
                     ) -> list[torch.Tensor]:
        """Outputs of the `TAPS` blocks, strides 2..32; `after_stem` is added to block 0's
        output (how the hint branch joins, as Zhang et al. 2017 add it to conv1)."""
        out = []
        for i, block in enumerate(self.features):
            x = block(x)
            if i == 0 and after_stem is not None:
                x = x + after_stem
            if i in TAPS:
                out.append(x)
        return out


def grey_srgb(l_norm: torch.Tensor) -> torch.Tensor:
    """Normalised L (L*/50 - 1) -> the sRGB grey value in [0, 1] of that lightness."""
    fy = ((l_norm + 1) * 50 + 16) / 116
    y = torch.where(fy > 6 / 29, fy**3, (fy - 4 / 29) * 3 * (6 / 29) ** 2).clamp(0, 1)
    return torch.where(y <= 0.0031308, 12.92 * y, 1.055 * y.clamp_min(1e-8) ** (1 / 2.4) - 0.055)


def imagenet_input(l_norm: torch.Tensor) -> torch.Tensor:
    """Normalised L -> what the pretrained stem was trained on: the grey sRGB image as three
    identical channels with ImageNet's normalisation."""
    mean, std = (l_norm.new_tensor(v).view(1, 3, 1, 1) for v in (IMAGENET_MEAN, IMAGENET_STD))
    return (grey_srgb(l_norm).expand(-1, 3, -1, -1) - mean) / std


def add_unet_decoder(owner: nn.Module, tap_ch: list[int], d: tuple[int, ...]) -> None:
    """A light U-Net decoder over the encoder's stride-2..32 taps, as `owner`'s attributes
    `bottom`, `reduce`, `skip`, `fuse` (the parameter names the bundled weights hold):
    1/32 -> 1/2, bilinear upsampling, 1x1 projections of each skip added, one 3x3
    conv-BN-ReLU per level; `d` gives the channels at 1/32 ... 1/2."""
    owner.bottom = conv_block(tap_ch[-1], d[0], k=1)
    owner.reduce = nn.ModuleList(nn.Conv2d(d[i], d[i + 1], 1) for i in range(len(d) - 1))
    owner.skip = nn.ModuleList(nn.Conv2d(tap_ch[-2 - i], d[i + 1], 1) for i in range(len(d) - 1))
    owner.fuse = nn.ModuleList(conv_block(d[i + 1], d[i + 1]) for i in range(len(d) - 1))


def decode_unet(owner: nn.Module, taps: list[torch.Tensor],
                add_last: torch.Tensor | None = None) -> list[torch.Tensor]:
    """Run `add_unet_decoder`'s layers over `taps` (consumed): each level's output, 1/32 first.
    `add_last` joins the last (1/2) level before its 3x3 conv."""
    x = owner.bottom(taps.pop())
    levels = [x]
    for i, fuse in enumerate(owner.fuse):
        skip = taps[-1 - i]
        x = F.interpolate(owner.reduce[i](x), size=skip.shape[-2:], mode="bilinear",
                          align_corners=False)
        x = x + owner.skip[i](skip)
        if add_last is not None and i == len(owner.fuse) - 1:
            x = x + add_last
        x = fuse(x)
        levels.append(x)
    return levels
