"""core/color.py: exact sRGB <-> CIE Lab (D65) against scikit-image, 8/16-bit paths, round
trips, the normalisations, colourfulness; the torch twin in engine/torch_color.py."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import color as skcolor

from colorstudio.core import color as C
from colorstudio.core.compose import lab_to_rgb_fast

TOL = 1e-3


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def test_rgb_to_lab_matches_skimage_on_random_floats(rng):
    rgb = rng.random((4000, 3)).astype(np.float32)
    ours = C.rgb_to_lab(rgb)
    ref = skcolor.rgb2lab(rgb.astype(np.float64))
    assert ours.dtype == np.float32 and ours.shape == rgb.shape
    assert np.abs(ours - ref).max() < TOL


def test_rgb_to_lab_matches_skimage_on_image_shaped_arrays(rng):
    rgb = rng.random((2, 17, 23, 3)).astype(np.float32)  # any leading shape
    ref = skcolor.rgb2lab(rgb.reshape(-1, 17 * 23, 3).astype(np.float64)).reshape(rgb.shape)
    assert np.abs(C.rgb_to_lab(rgb) - ref).max() < TOL


def test_lab_to_rgb_matches_skimage_in_gamut(rng):
    lab = C.rgb_to_lab(rng.random((4000, 3)).astype(np.float32))
    ref = skcolor.lab2rgb(lab.astype(np.float64))
    assert np.abs(C.lab_to_rgb(lab) - ref).max() < TOL


def test_lab_to_rgb_matches_skimage_out_of_gamut_after_clipping(rng):
    lab = np.stack([rng.uniform(0, 100, 3000), rng.uniform(-120, 120, 3000),
                    rng.uniform(-120, 120, 3000)], -1).astype(np.float32)
    # Keep physically possible colours (X, Y, Z >= 0): for the impossible ones scikit-image
    # zeroes a negative Z first, a convention, not colour science.
    fy = (lab[:, 0] + 16) / 116
    lab = lab[(fy + lab[:, 1] / 500 > 16 / 116) & (fy - lab[:, 2] / 200 > 16 / 116)]
    assert len(lab) > 1000
    ref = skcolor.lab2rgb(lab.astype(np.float64))
    ours = C.lab_to_rgb(lab)
    assert ours.min() >= 0 and ours.max() <= 1
    assert np.abs(ours - ref).max() < TOL


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_inputs_match_skimage(rng, dtype):
    peak = np.iinfo(dtype).max
    img = rng.integers(0, peak + 1, (40, 50, 3), dtype=dtype)
    ref = skcolor.rgb2lab(img)  # scikit-image scales integers by their dtype's maximum too
    unit = C.to_unit_float(img)
    assert unit.dtype == np.float32 and unit.max() <= 1.0
    assert np.abs(C.rgb_to_lab(unit) - ref).max() < TOL
    # The lookup-table L* paths used by image reading agree with the full conversion.
    assert np.abs(C.rgb_int_to_l(img) - ref[..., 0]).max() < TOL
    grey = img[..., 0]
    grey_ref = skcolor.rgb2lab(np.repeat(grey[..., None], 3, axis=2))[..., 0]
    assert np.abs(C.grey_int_to_l(grey) - grey_ref).max() < TOL


def test_extremes_black_white_and_primaries():
    rgb = np.array([[0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    lab = C.rgb_to_lab(rgb)
    assert np.allclose(lab[0], 0, atol=TOL)
    assert abs(lab[1, 0] - 100) < TOL and np.abs(lab[1, 1:]).max() < 0.01
    assert np.abs(lab - skcolor.rgb2lab(rgb.astype(np.float64))).max() < TOL


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_round_trip_through_integers_is_exact(rng, dtype):
    peak = np.iinfo(dtype).max
    img = rng.integers(0, peak + 1, (64, 64, 3), dtype=dtype)
    back = C.from_unit_float(C.lab_to_rgb(C.rgb_to_lab(C.to_unit_float(img))), dtype)
    assert back.dtype == dtype
    # float32 carries ~7 digits: exact for 8 bit, within a couple of codes for 16 bit.
    assert np.abs(back.astype(np.int64) - img).max() <= (0 if dtype == np.uint8 else 3)


def test_round_trip_float(rng):
    rgb = rng.random((10000, 3)).astype(np.float32)
    assert np.abs(C.lab_to_rgb(C.rgb_to_lab(rgb)) - rgb).max() < 1e-4


def test_lab_round_trip_for_in_gamut_lab(rng):
    lab = C.rgb_to_lab(rng.random((5000, 3)).astype(np.float32))
    assert np.abs(C.rgb_to_lab(C.lab_to_rgb(lab)) - lab).max() < 0.01


def test_from_unit_float_rounds_and_clips():
    x = np.array([-0.5, 0.0, 0.5, 1.0, 1.5], np.float32)
    assert C.from_unit_float(x, np.uint8).tolist() == [0, 0, 128, 255, 255]
    assert C.from_unit_float(x, np.uint16).tolist() == [0, 0, 32768, 65535, 65535]
    assert C.from_unit_float(x, np.float32).tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_l_only_paths_agree_with_full_conversion(rng):
    rgb = rng.random((3000, 3)).astype(np.float32)
    assert np.abs(C.rgb_to_l(rgb) - C.rgb_to_lab(rgb)[..., 0]).max() < TOL
    grey = rng.random(3000).astype(np.float32)
    lab = C.rgb_to_lab(np.repeat(grey[:, None], 3, axis=1))
    assert np.abs(C.grey_to_l(grey) - lab[:, 0]).max() < TOL
    assert np.abs(lab[:, 1:]).max() < 0.01  # neutral greys have no chroma
    # l_to_grey inverts grey_to_l.
    assert np.abs(C.l_to_grey(C.grey_to_l(grey)) - grey).max() < 1e-4


def test_opencv_fast_path_matches_reference(rng):
    l_star = rng.uniform(0, 100, (60, 70)).astype(np.float32)
    ab = rng.uniform(-80, 80, (60, 70, 2)).astype(np.float32)
    ref = C.lab_to_rgb(np.dstack([l_star, ab]))
    assert np.abs(lab_to_rgb_fast(l_star, ab) - ref).max() < TOL


def test_normalisations_are_defined_once_and_invert():
    assert {"lab_l50_ab110", "lab_l50_ab128", "rgb_tanh"} <= set(C.NORMALISATIONS)
    for name, norm in C.NORMALISATIONS.items():
        assert norm.name == name
        l_star = np.array([0.0, 50.0, 100.0], np.float32)
        assert np.allclose(norm.l_to_net(l_star), [-1, 0, 1])  # every network sees L in [-1, 1]
        ab = np.array([-norm.ab_scale, 0.0, norm.ab_scale / 2], np.float32)
        assert np.allclose(norm.ab_from_net(norm.ab_to_net(ab)), ab)
    assert C.NORMALISATIONS["lab_l50_ab110"].ab_scale == 110
    assert C.NORMALISATIONS["lab_l50_ab128"].ab_scale == 128


def test_colourfulness_hasler_suesstrunk():
    grey = np.full((32, 32, 3), 0.4, np.float32)
    assert C.colourfulness(grey) == pytest.approx(0.0, abs=1e-6)
    red = np.zeros((32, 32, 3), np.float32)
    red[..., 0] = 1.0
    # rg = 255, yb = 127.5, no spread: 0.3 * hypot(255, 127.5).
    assert C.colourfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-5)
    halves = np.zeros((32, 32, 3), np.float32)
    halves[:, :16] = (1, 0, 0)
    halves[:, 16:] = (0, 1, 0)
    assert C.colourfulness(halves) > C.colourfulness(red) / 2


torch = pytest.importorskip("torch")


def _to_bchw(x: np.ndarray) -> "torch.Tensor":
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def test_torch_rgb_to_lab_matches_numpy(rng):
    from colorstudio.engine import torch_color as T

    rgb = rng.random((30, 40, 3)).astype(np.float32)
    ours = T.rgb_to_lab(_to_bchw(rgb))[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - C.rgb_to_lab(rgb)).max() < TOL


def test_torch_lab_to_rgb_matches_numpy(rng):
    from colorstudio.engine import torch_color as T

    lab = np.dstack([rng.uniform(0, 100, (30, 40)), rng.uniform(-100, 100, (30, 40, 2))])
    lab = lab.astype(np.float32)
    ours = T.lab_to_rgb(_to_bchw(lab))[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - C.lab_to_rgb(lab)).max() < TOL


def test_torch_round_trip_and_batch(rng):
    from colorstudio.engine import torch_color as T

    rgb = torch.from_numpy(rng.random((3, 3, 16, 16)).astype(np.float32))
    back = T.lab_to_rgb(T.rgb_to_lab(rgb))
    assert back.shape == rgb.shape
    assert (back - rgb).abs().max().item() < 1e-4


def test_relit_ab_reads_a_colour_at_the_photos_lightness(rng):
    """Paper 000's cosine loss leaves its output's brightness free: a colour and its darker
    self (the same direction in linear RGB) must give the same ab at the photo's L*, and at
    the colour's own L* that ab is the colour's own."""
    from colorstudio.engine import torch_color as T

    rgb = torch.from_numpy(rng.uniform(0.2, 0.9, (1, 3, 8, 8)).astype(np.float32))
    lab = T.rgb_to_lab(rgb)
    own = T.relit_ab(rgb, lab[:, :1])
    assert (own - lab[:, 1:]).abs().max().item() < 1e-3
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    darker_lin = lin * 0.3  # the same chromaticity, a third of the light
    darker = torch.where(darker_lin <= 0.0031308, 12.92 * darker_lin,
                         1.055 * darker_lin ** (1 / 2.4) - 0.055)
    assert (T.rgb_to_lab(darker)[:, 1:] - lab[:, 1:]).abs().max().item() > 5  # read raw: wrong
    assert (T.relit_ab(darker, lab[:, :1]) - lab[:, 1:]).abs().max().item() < 1e-3
    black = torch.zeros(1, 3, 2, 2)
    assert T.relit_ab(black, torch.full((1, 1, 2, 2), 60.0)).abs().max().item() < 1e-4


@pytest.mark.parametrize("shape", [(50, 60), (50, 60, 3), (7, 3, 3)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_from_unit_float_fast_paths_match_numpy(rng, shape, dtype):
    x = rng.uniform(-0.2, 1.2, shape).astype(np.float32)
    peak = np.iinfo(dtype).max
    ref = np.clip(np.rint(x.astype(np.float64) * peak), 0, peak)
    got = C.from_unit_float(x, dtype)
    assert got.dtype == dtype and got.shape == shape
    assert np.abs(got.astype(np.int64) - ref).max() <= 1  # float32 scaling may tie-break
    assert np.array_equal(C.from_unit_float(np.zeros(shape, np.float32), dtype), np.zeros(shape))


def test_metrics_match_scikit_image(rng):
    from skimage import metrics as skm

    from colorstudio.core import metrics as M

    a = rng.random((64, 64, 3)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    assert M.psnr(a, b) == pytest.approx(skm.peak_signal_noise_ratio(a, b, data_range=1),
                                         abs=1e-4)
    assert M.psnr(a, a) == 100.0
    ref_ssim = skm.structural_similarity(a, b, channel_axis=2, data_range=1,
                                         gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False)
    assert M.ssim(a, b) == pytest.approx(ref_ssim, abs=1e-4)
    assert M.ssim(a, a) == pytest.approx(1.0)
    ref_de = skcolor.deltaE_ciede2000(C.rgb_to_lab(a), C.rgb_to_lab(b)).mean()
    assert M.ciede2000(a, b) == pytest.approx(ref_de, abs=1e-3)
    assert M.ciede2000(a, a) == pytest.approx(0.0, abs=1e-6)


def test_ciede2000_on_sharma_reference_pairs():
    """Pairs 1, 7, 13, 17, 25 of Sharma, Wu & Dalal (2005), given in Lab; expected dE00."""
    from colorstudio.core import metrics as M

    pairs = [((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
             ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
             ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
             ((50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0000),
             ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644)]
    for lab1, lab2, expected in pairs:
        rgb1 = C.lab_to_rgb(np.array([[lab1]], np.float32), clip=False)
        rgb2 = C.lab_to_rgb(np.array([[lab2]], np.float32), clip=False)
        # metrics.ciede2000 takes sRGB; these colours lie inside the gamut or barely outside,
        # and the unclipped round trip through sRGB keeps them to float precision.
        assert M.ciede2000(rgb1, rgb2) == pytest.approx(expected, abs=2e-3)
