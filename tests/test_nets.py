"""nets/: every architecture of VARIANTS.md in the registry - tiny config, forward at two sizes,
save/load through safetensors with identical outputs; the registry's guarantees; weights I/O."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from colorstudio.core.errors import ModelError
from colorstudio.engine.tiny import TINY_CONFIGS
from colorstudio.engine.weights import import_pth, load_weights, save_weights
from colorstudio.nets import ARCHS, build, count_params, get_spec, load_all, register_arch
from colorstudio.nets.base import ColorNet
from colorstudio.nets.registry import make_config

VARIANTS = ["mathur2023_gan", "mahajan2022_cyclegan", "roshana2023_pix2pix",
            "roshana2023_resnet18_unet", "dehghan2023_autoencoder", "mane2021_cnn", "guided_unet",
            "guided_mobilenet"]
RGB_ARCHS = {"mathur2023_gan", "mahajan2022_cyclegan"}
# Two input sizes per architecture, both multiples of what the architecture needs.
SIZES = {
    "mathur2023_gan": [(32, 32), (64, 48)],
    "mahajan2022_cyclegan": [(32, 32), (40, 28)],
    "roshana2023_pix2pix": [(32, 32), (64, 96)],
    "roshana2023_resnet18_unet": [(32, 32), (64, 96)],
    "dehghan2023_autoencoder": [(32, 32), (40, 56)],
    "mane2021_cnn": [(32, 32), (40, 56)],
    "guided_unet": [(32, 32), (48, 80)],
    "guided_mobilenet": [(32, 32), (64, 96)],
}


def test_registry_holds_exactly_the_variants():
    load_all()
    assert sorted(ARCHS) == sorted(VARIANTS)
    assert set(TINY_CONFIGS) == set(VARIANTS)
    for arch_id, spec in ARCHS.items():
        assert spec.id == arch_id and spec.cls.arch_id == arch_id
        assert issubclass(spec.cls, ColorNet)
        assert spec.output == ("rgb" if arch_id in RGB_ARCHS else "ab")
        assert spec.cls.output == spec.output


@pytest.mark.parametrize("arch", sorted(set(VARIANTS) - {"guided_unet", "guided_mobilenet"}))
def test_automatic_variants_average_with_their_mirror_image(arch: str) -> None:
    """`flip_average`: the prediction is the mean of the photo's and its mirror image's, so a
    mirrored photo gets exactly the mirrored colours (an untrained net alone is not so)."""
    torch.manual_seed(0)
    net = build(arch, TINY_CONFIGS[arch]).eval()
    with torch.no_grad():
        for p in net.parameters():  # an untrained net's output is nearly flat: give it detail
            p.normal_(0, 0.3)
    h, w = SIZES[arch][1]
    l = torch.rand(1, 1, h, w) * 2 - 1
    with torch.no_grad():
        out, mirrored = net.run(l)[0], net.run(l.flip(-1))[0]
        plain = net.predict(l)
        assert torch.allclose(out, (plain + net.predict(l.flip(-1)).flip(-1)) / 2, atol=1e-6)
    assert torch.allclose(mirrored, out.flip(-1), atol=1e-5)
    assert not torch.allclose(plain, out, atol=1e-3)  # the mirror image's half is no no-op


def test_registering_a_duplicate_id_raises():
    load_all()
    before = dict(ARCHS)
    with pytest.raises(ValueError, match="already registered"):
        @register_arch("guided_unet", get_spec("guided_unet").config_cls)
        class Impostor(ColorNet):  # noqa: F841
            pass
    assert ARCHS == before and ARCHS["guided_unet"].cls.__name__ == "GuidedUNet"


def test_unknown_architecture_and_config_keys_are_model_errors():
    with pytest.raises(ModelError, match="unknown architecture"):
        get_spec("no_such_arch")
    with pytest.raises(ModelError, match="unknown config keys"):
        make_config("mane2021_cnn", {"widths": [4, 8], "nonsense": 1})
    cfg = make_config("mane2021_cnn", {"widths": [4, 8, 8]})  # TOML lists become tuples
    assert cfg.widths == (4, 8, 8)
    hash(cfg)  # configs are frozen dataclasses


def _inputs(arch: str, h: int, w: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    l = torch.rand(2, 1, h, w, generator=g) * 2 - 1
    if not get_spec(arch).cls.uses_hints:
        return (l,)
    mask = torch.zeros(2, 1, h, w)
    mask[:, :, h // 3:h // 3 + 3, w // 4:w // 4 + 3] = 1
    ab = torch.zeros(2, 2, h, w)
    ab[:, 0] = 0.4 * mask[:, 0]
    ab[:, 1] = -0.3 * mask[:, 0]
    return (l, ab, mask)


@pytest.mark.parametrize("arch", VARIANTS)
def test_forward_at_two_sizes(arch):
    torch.manual_seed(0)
    net = build(arch, TINY_CONFIGS[arch]).eval()
    assert count_params(net) > 0
    channels = 3 if arch in RGB_ARCHS else 2
    for h, w in SIZES[arch]:
        with torch.inference_mode():
            out = net.predict(*_inputs(arch, h, w))
        assert out.shape[:2] == (2, channels)
        oh, ow = out.shape[-2:]
        # Full resolution, or a fixed fraction of it (guided_unet predicts at 1/2).
        assert oh * w == ow * h and h % oh == 0
        assert torch.isfinite(out).all() and out.abs().max() <= 1.0 + 1e-5


@pytest.mark.parametrize("arch", VARIANTS)
def test_training_forward_and_backward(arch):
    net = build(arch, TINY_CONFIGS[arch]).train()
    h, w = SIZES[arch][0]
    out = net(*_inputs(arch, h, w))
    outs = out if isinstance(out, tuple) else (out,)
    loss = sum(o.float().pow(2).mean() for o in outs)
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("arch", VARIANTS)
@pytest.mark.parametrize("half", [False, True])
def test_save_load_through_safetensors_gives_identical_outputs(tmp_path: Path, arch, half):
    torch.manual_seed(1)
    net = build(arch, TINY_CONFIGS[arch]).eval()
    if half:  # fp16 storage: compare against the net rounded to fp16 the same way
        with torch.no_grad():
            for t in list(net.parameters()) + list(net.buffers()):
                if t.is_floating_point():
                    t.copy_(t.half().float())
    f = tmp_path / f"{arch}.safetensors"
    save_weights(net, f, {"arch": arch}, half=half)
    assert f.read_bytes()[:8] != b"\x80\x02\x8a\n"  # not a pickle
    torch.manual_seed(99)
    fresh = build(arch, TINY_CONFIGS[arch]).eval()
    x = _inputs(arch, *SIZES[arch][1], seed=3)
    with torch.inference_mode():
        assert not torch.equal(fresh.predict(*x), net.predict(*x))
    load_weights(fresh, f)
    for (k, a), (k2, b) in zip(net.state_dict().items(), fresh.state_dict().items()):
        assert k == k2 and a.dtype == b.dtype and torch.equal(a, b), k
    with torch.inference_mode():
        assert torch.equal(fresh.predict(*x), net.predict(*x))


def test_load_weights_checks_sha256_and_fit(tmp_path: Path):
    from colorstudio.core.cards import sha256_file

    net = build("mane2021_cnn", TINY_CONFIGS["mane2021_cnn"])
    f = tmp_path / "w.safetensors"
    save_weights(net, f)
    load_weights(build("mane2021_cnn", TINY_CONFIGS["mane2021_cnn"]), f, sha256_file(f))
    assert f.stat().st_mode & 0o777 == 0o644  # readable by every user of an installation
    with pytest.raises(ModelError, match="sha256"):
        load_weights(net, f, "0" * 64)
    with pytest.raises(ModelError, match="do not fit"):
        load_weights(build("mane2021_cnn", {"widths": [8, 8, 8]}), f)
    with pytest.raises(ModelError, match="not found"):
        load_weights(net, tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError, match="safetensors"):
        load_weights(net, bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.safetensors", "w.safetensors"]


class _Evil:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_import_pth_converts_state_dicts_and_refuses_pickled_code(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = build("dehghan2023_autoencoder", TINY_CONFIGS["dehghan2023_autoencoder"])
    pth = tmp_path / "m.pth"
    torch.save({"state_dict": net.state_dict()}, pth)
    out = tmp_path / "m.safetensors"
    import_pth(pth, out)
    fresh = build("dehghan2023_autoencoder", TINY_CONFIGS["dehghan2023_autoencoder"])
    load_weights(fresh, out)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                  fresh.state_dict().values()))
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"w": _Evil()}, protocol=2))
    with pytest.raises(ModelError, match="evil.pth"):
        import_pth(evil, tmp_path / "evil.safetensors")
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "evil.safetensors").exists()


def test_gan_parts_take_the_objectives_inputs():
    x32 = torch.rand(2, 1, 32, 32)
    mathur = build("mathur2023_gan", TINY_CONFIGS["mathur2023_gan"])
    assert mathur.discriminator()(torch.cat([x32, mathur(x32)], 1)).shape == (2, 1)
    for arch in ("roshana2023_pix2pix", "roshana2023_resnet18_unet"):
        net = build(arch, TINY_CONFIGS[arch])
        d_out = net.discriminator()(torch.cat([x32, net(x32)], 1))
        assert d_out.shape[:2] == (2, 1) and d_out.ndim == 4  # a patch map
    cyc = build("mahajan2022_cyclegan", TINY_CONFIGS["mahajan2022_cyclegan"])
    parts = cyc.cycle_parts()
    colour = cyc(x32)
    assert parts["f"](colour).shape == x32.shape
    assert parts["d_colour"](colour).shape[1] == 1 and parts["d_grey"](x32).shape[1] == 1
    for arch in ("dehghan2023_autoencoder", "mane2021_cnn"):
        assert build(arch, TINY_CONFIGS[arch]).discriminator() is None


def test_guided_unet_follows_hints_near_them_and_uses_its_prior_elsewhere():
    torch.manual_seed(0)
    net = build("guided_unet", TINY_CONFIGS["guided_unet"]).eval()
    l, ab, mask = _inputs("guided_unet", 48, 80)
    with torch.inference_mode():
        auto = net.predict(l)
        hinted = net.predict(l, ab, mask)
        logits, reg = net(l, ab, mask)
    assert net.uses_hints
    assert not torch.equal(auto, hinted)
    assert logits.shape[1] == net.bins.shape[0] and logits.shape[-2:] == (12, 20)
    assert reg.shape == (2, 2, 24, 40)
    # Far from the hint the blend is the classification prior; on the hint, the regression.
    prior = torch.nn.functional.interpolate(net.annealed_mean(logits), size=reg.shape[-2:],
                                            mode="bilinear", align_corners=False)
    assert prior.abs().max() <= 1.0
    assert torch.allclose(hinted[..., 36:], prior[..., 36:], atol=1e-6)
    assert torch.allclose(hinted[..., 8, 10], reg[..., 8, 10], atol=1e-6)
