"""Roshana et al. 2023 (paper 002), second variant: ResNet18 encoder inside a U-Net (ab out).

The encoder is ResNet18 (He et al. 2016) without pooling head and classifier, written here
with torchvision's parameter names so ImageNet weights from a user's torch cache load as they
are (`load_imagenet_encoder`); without them it trains from scratch (the card says which).
`width` scales the stage widths (64 in the paper's torchvision model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .base import ColorNet, PatchDiscriminator, conv_block
from .registry import register_arch


@dataclass(frozen=True)
class ResNetUnetConfig:
    width: int = 64
    ndf: int = 64


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + idt)


class ResNet18Encoder(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        w = [width, width * 2, width * 4, width * 8]
        self.conv1 = nn.Conv2d(1, w[0], 7, 2, 3, bias=False)  # L only: RGB weights are summed
        self.bn1 = nn.BatchNorm2d(w[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = w[0]
        for i, c in enumerate(w):
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, c, stride),
                                                         BasicBlock(c, c, 1)))
            cin = c
        self.widths = w

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x0 = self.relu(self.bn1(self.conv1(x)))  # 1/2
        x1 = self.layer1(self.maxpool(x0))  # 1/4
        x2 = self.layer2(x1)  # 1/8
        x3 = self.layer3(x2)  # 1/16
        x4 = self.layer4(x3)  # 1/32
        return [x0, x1, x2, x3, x4]


@register_arch("roshana2023_resnet18_unet", ResNetUnetConfig)
class ResNetUnet(ColorNet):
    def __init__(self, cfg: ResNetUnetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = ResNet18Encoder(cfg.width)
        w = self.encoder.widths
        skips = [w[0], w[0], w[1], w[2]]  # x0, x1, x2, x3
        dec = [w[3] // 2, w[2] // 2, w[1] // 2, w[0] // 2]
        cin = w[3]
        self.ups = nn.ModuleList()
        for s, d in zip(reversed(skips), dec):
            self.ups.append(nn.Sequential(conv_block(cin + s, d), conv_block(d, d)))
            cin = d
        self.final = nn.Sequential(conv_block(cin + 1, max(cin // 2, 8)),
                                   nn.Conv2d(max(cin // 2, 8), 2, 1), nn.Tanh())

    def forward(self, l: torch.Tensor) -> torch.Tensor:
        feats = self.encoder(l)
        x = feats[4]
        for up, skip in zip(self.ups, reversed(feats[:4])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = up(torch.cat([x, skip], 1))
        x = F.interpolate(x, size=l.shape[-2:], mode="bilinear", align_corners=False)
        return self.final(torch.cat([x, l], 1))

    def discriminator(self) -> nn.Module:
        return PatchDiscriminator(3, self.cfg.ndf)

    def load_imagenet_encoder(self, path: Path) -> bool:
        """Load torchvision ResNet18 ImageNet weights (width 64 only) from a local file."""
        if self.cfg.width != 64 or not Path(path).is_file():
            return False
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        state["conv1.weight"] = state["conv1.weight"].sum(1, keepdim=True)
        self.encoder.load_state_dict(state, strict=True)
        return True
