"""sRGB <-> Lab in torch, for batches on any device (training and GPU inference).

The same formulas and constants as `core.color` (the reference, NumPy); tests check they agree.
Tensors are (B, 3, H, W), RGB in [0, 1], Lab with L in [0, 100].
"""

from __future__ import annotations

import torch

from ..core import color as C

_M = torch.from_numpy(C._RGB_TO_XYZ.copy())
_MI = torch.from_numpy(C._XYZ_TO_RGB.copy())
_W = torch.from_numpy(C.WHITE_D65.copy()).view(1, 3, 1, 1)
_EPS = float(C._EPS)
_KAPPA = float(C._KAPPA)


def _f(t: torch.Tensor) -> torch.Tensor:
    return torch.where(t > _EPS, t.clamp_min(1e-12).pow(1 / 3), (_KAPPA * t + 16) / 116)


def _f_inv(t: torch.Tensor) -> torch.Tensor:
    t3 = t * t * t
    return torch.where(t3 > _EPS, t3, (116 * t - 16) / _KAPPA)


def _rgb_to_xyz(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] -> XYZ relative to the white point (Y / Yn in channel 1)."""
    rgb = rgb.float()
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp_min(0) + 0.055) / 1.055) ** 2.4)
    return torch.einsum("ij,bjhw->bihw", _M.to(rgb.device), lin) / _W.to(rgb.device)


def _xyz_to_lab(xyz: torch.Tensor) -> torch.Tensor:
    f = _f(xyz)
    return torch.cat([116 * f[:, 1:2] - 16, 500 * (f[:, 0:1] - f[:, 1:2]),
                      200 * (f[:, 1:2] - f[:, 2:3])], 1)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    return _xyz_to_lab(_rgb_to_xyz(rgb))


def relit_ab(rgb: torch.Tensor, l_star: torch.Tensor) -> torch.Tensor:
    """ab (B, 2, H, W) of the colour with `rgb`'s chromaticity (its XYZ direction) at lightness
    `l_star` (B, 1, H, W): how an RGB-predicting network's colour is read at the photo's own
    lightness. A network trained on the angle between colours (paper 000's cosine distance)
    leaves its output's brightness free, and Lab's a*b* of a colour grow with its lightness, so
    reading ab straight from that output gives the photo the wrong saturation. Near-black
    predictions (no defined chromaticity) read as grey."""
    xyz = _rgb_to_xyz(rgb)
    y = xyz[:, 1:2]
    target = _f_inv((l_star.float() + 16) / 116)  # Y / Yn of the photo's L*
    ok = y > 1e-4
    relit = torch.where(ok, xyz * (target / y.clamp_min(1e-4)), target.expand_as(xyz))
    return _xyz_to_lab(relit)[:, 1:]


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    lab = lab.float()
    fy = (lab[:, 0:1] + 16) / 116
    f = torch.cat([fy + lab[:, 1:2] / 500, fy, fy - lab[:, 2:3] / 200], 1)
    xyz = _f_inv(f) * _W.to(lab.device)
    lin = torch.einsum("ij,bjhw->bihw", _MI.to(lab.device), xyz)
    rgb = torch.where(lin <= 0.0031308, 12.92 * lin,
                      1.055 * lin.clamp_min(0) ** (1 / 2.4) - 0.055)
    return rgb.clamp(0, 1)
