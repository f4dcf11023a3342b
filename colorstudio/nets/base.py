"""Shared pieces: the `ColorNet` interface and small building blocks."""

from __future__ import annotations

import torch
from torch import nn


class ColorNet(nn.Module):
    """Interface every architecture implements.

    `predict(l, hint_ab, hint_mask)`: l is normalised L (B, 1, H, W); hint tensors may be None.
    Returns ab in the card's normalisation (B, 2, h, w) or RGB in [-1, 1] (B, 3, h, w).
    `forward` returns what the training losses need (may differ, e.g. logits + regression).
    `run(l, hint_ab, hint_mask, strength)` is what the engine calls: the prediction at a colour
    strength (0 cautious .. 0.5 the model's own decoding .. 1 vivid) and, for nets with an
    ab-distribution head, that distribution; nets without a strength of their own return
    `native_strength = False` and the engine scales their chroma instead.
    """

    arch_id: str = ""
    output: str = "ab"
    uses_hints: bool = False
    channels_last: bool = False  # the engine stores the weights channels-last (faster)
    native_strength: bool = False  # `run` honours `strength` itself
    # RGB nets trained on the angle between colours only (paper 000's cosine distance): their
    # output's brightness is free, so the engine reads its chromaticity at the photo's L*.
    chromaticity_only: bool = False
    # Automatic nets predict the mean of the photo's and its mirror image's colours (a
    # left-right flip changes where things are, not their colours): less variance. On the
    # dev split it gained 0.01-0.13 dB for each of the six paper variants (training/NOTES.md).
    flip_average: bool = True

    def predict(
        self,
        l: torch.Tensor,
        hint_ab: torch.Tensor | None = None,
        hint_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self(l)

    def run(
        self,
        l: torch.Tensor,
        hint_ab: torch.Tensor | None = None,
        hint_mask: torch.Tensor | None = None,
        strength: float = 0.5,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """-> (what `predict` returns, the ab-bin probabilities (B, Q, h, w) or None)."""
        if self.uses_hints:
            return self.predict(l, hint_ab, hint_mask), None
        out = self.predict(l)
        if self.flip_average:
            out = (out + self.predict(l.flip(-1)).flip(-1)) / 2
        return out, None

    def discriminator(self) -> nn.Module | None:
        """A fresh discriminator for adversarial training, or None (not part of the weights)."""
        return None


def conv_block(
    cin: int, cout: int, k: int = 3, s: int = 1, norm: bool = True, act: str = "relu"
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, s, k // 2 if s == 1 or k == 3 else 0,
                                         bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    if act == "relu":
        layers.append(nn.ReLU(inplace=True))
    elif act == "lrelu":
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class PatchDiscriminator(nn.Module):
    """pix2pix 70x70 PatchGAN: C64-C128-C256-C512, no norm on first and last, no activation."""

    def __init__(self, in_ch: int, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = ndf
        for i in range(1, n_layers + 1):
            nxt = ndf * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [nn.Conv2d(ch, nxt, 4, stride, 1, bias=False), nn.BatchNorm2d(nxt),
                       nn.LeakyReLU(0.2, True)]
            ch = nxt
        layers.append(nn.Conv2d(ch, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
