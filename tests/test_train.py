"""train/: the one loop `fit(config, on_event, cancel)` - a few steps of every objective family
on a tiny generated folder, events, cancellation, checkpoint resume; simulated hints; data
listing (folders, zip shards, globs) and the near-grey filter."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from colorstudio.core.color import rgb_to_lab
from colorstudio.engine.tiny import TINY_CONFIGS
from colorstudio.engine.torch_color import rgb_to_lab as torch_rgb_to_lab
from colorstudio.engine.weights import load_weights
from colorstudio.nets import build
from colorstudio.train.config import TrainConfig, load_recipe
from colorstudio.train.data import ImageCache, Item, decode_square, list_items, split_items
from colorstudio.train.fit import TrainEvent, fit
from colorstudio.train.hints_sim import simulate_hints


def _colour(seed: int, size: int = 40) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    f = rng.uniform(3, 9, 3)
    rgb = np.stack([0.5 + 0.45 * np.sin(xx / f[0] + seed), 0.5 + 0.45 * np.cos(yy / f[1]),
                    0.5 + 0.45 * np.sin((xx - yy) / f[2])], -1)
    return (rgb * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """10 colour photos (one in a sub-folder), 2 near-grey ones, one broken file."""
    d = tmp_path_factory.mktemp("photos")
    (d / "sub").mkdir()
    for i in range(10):
        Image.fromarray(_colour(i)).save(d / ("sub" if i == 0 else ".") / f"c{i:02d}.png")
    g = _colour(50)[..., :1].repeat(3, 2)
    Image.fromarray(g).save(d / "grey.png")
    sepia_ish = np.clip(g.astype(int) + [3, 1, -2], 0, 255).astype(np.uint8)  # chroma ~2
    Image.fromarray(sepia_ish).save(d / "almost_grey.jpg", quality=95)
    (d / "broken.jpg").write_bytes(b"\xff\xd8 broken")
    (d / "readme.txt").write_text("not an image")
    return d


FAMILIES = {
    "regress": ("mane2021_cnn", {"mse": 1.0}, "lab_l50_ab128"),
    "guided": ("guided_unet", {"class": 1.0, "huber": 10.0}, "lab_l50_ab110"),
    "gan_ab": ("roshana2023_pix2pix", {"l1": 100.0, "adv": 1.0}, "lab_l50_ab110"),
    "gan_rgb": ("mathur2023_gan", {"cosine": 1.0, "adv": 1.0, "diversity": 0.1}, "rgb_tanh"),
    "cycle": ("mahajan2022_cyclegan", {"adv": 1.0, "cycle": 10.0}, "rgb_tanh"),
}


def _cfg(photos: Path, out: Path, objective: str, **kw) -> TrainConfig:
    arch, losses, norm = FAMILIES[objective]
    base = dict(arch=arch, config=dict(TINY_CONFIGS[arch]), objective=objective,
                normalisation=norm, data=[str(photos)], holdout=2, load_size=32, size=32,
                batch=4, steps=3, lr=1e-3, losses=losses, out=str(out), cache_dir="",
                device="cpu", checkpoint_every=2, preview_every=2, log_every=1, seed=3)
    if objective == "guided":
        base["rebalance"] = 0.5
    base.update(kw)
    return TrainConfig(**base)


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("objective", list(FAMILIES))
def test_fit_runs_each_objective_family(photos: Path, tmp_path: Path, objective: str):
    cfg = _cfg(photos, tmp_path / "run", objective)
    events: list[TrainEvent] = []
    res = fit(cfg, on_event=events.append)
    assert not res.cancelled and res.steps == 3 and res.device == "cpu"
    kinds = [e.kind for e in events]
    assert kinds[0] == "scan" and "start" in kinds and kinds[-1] == "done"
    steps = [e for e in events if e.kind == "step"]
    assert [e.step for e in steps] == [1, 2, 3] and all(e.total == 3 for e in steps)
    for e in steps:
        assert e.losses and all(np.isfinite(v) for v in e.losses.values()), e.losses
        assert e.images_per_s > 0 and e.eta_s >= 0
    if objective in ("gan_ab", "gan_rgb"):
        assert {"g_adv", "d"} <= set(steps[0].losses)
    if objective == "cycle":
        assert {"adv", "cycle", "d"} <= set(steps[0].losses)
    previews = [e for e in events if e.kind == "preview"]
    assert previews and previews[0].preview.dtype == np.uint8
    assert previews[0].preview.shape[1:] == (3 * 32, 3)  # grey | result | truth
    assert [e.step for e in events if e.kind == "checkpoint"] == [2]
    # The weights are the inference network only, and load strictly into a fresh one.
    assert res.weights.is_file() and events[-1].weights == str(res.weights)
    fresh = build(cfg.arch, cfg.config)
    before = _params(fresh)
    load_weights(fresh, res.weights)
    assert any(not torch.equal(a, b) for a, b in zip(before, _params(fresh)))
    assert (tmp_path / "run" / "config.json").is_file()
    assert sum(p.numel() for p in fresh.parameters()) == res.params


def test_cycle_objective_trains_both_generators(photos: Path, tmp_path: Path, monkeypatch):
    """Unpaired training must update F (colour -> grey) too: the cycle loss is its signal."""
    from colorstudio.train import fit as fit_mod

    seen: dict[str, list[torch.Tensor]] = {}
    real_init = fit_mod._Objective.__init__

    def spy(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        seen["f0"] = _params(self.aux["f"])
        seen["obj"] = self  # type: ignore[assignment]

    monkeypatch.setattr(fit_mod._Objective, "__init__", spy)
    fit(_cfg(photos, tmp_path / "cyc", "cycle", steps=3))
    f_after = _params(seen["obj"].aux["f"])  # type: ignore[attr-defined]
    changed = sum(not torch.equal(a, b) for a, b in zip(seen["f0"], f_after))
    assert changed > 0, "the colour -> grey generator F never learns"


def _cycle_term(photos: Path, tmp_path: Path, term: str):  # noqa: ANN202
    """The cycle objective with only `term` switched on, a batch of 4 colour photos (the
    first half read as grey), and `train(n)`: n steps -> the term's reported values."""
    from colorstudio.train.fit import _Objective

    torch.manual_seed(0)
    cfg = _cfg(photos, tmp_path / "cyc", "cycle", losses={"adv": 0.0, "cycle": 0.0, term: 1.0},
               lr=3e-3)
    net = build(cfg.arch, cfg.config)
    obj = _Objective(cfg, net, torch.device("cpu"), np.random.default_rng(0), None)
    opt_g = torch.optim.Adam([p for _, p in obj.generator_params_named()], lr=cfg.lr)
    opt_d = torch.optim.Adam(obj.discriminator_params(), lr=cfg.lr)
    rgb = torch.from_numpy(np.stack([_colour(i) for i in range(4)])).permute(0, 3, 1, 2)
    rgb = rgb[..., :32, :32].float() / 255

    def train(n: int) -> list[float]:
        return [obj.step(rgb, opt_g, opt_d, amp=False)[term] for _ in range(n)]
    return obj, net, train, rgb


def test_cycle_lightness_term_is_gs_lightness_error_and_training_lowers_it(photos: Path,
                                                                           tmp_path: Path):
    """Unpaired, no colour target: G(grey) must keep the grey photo's L*. The reported term is
    that error, computed here independently, and a few steps on it alone shrink it."""
    from colorstudio.engine.torch_color import rgb_to_lab

    obj, net, train, rgb = _cycle_term(photos, tmp_path, "lightness")

    def error() -> float:  # L* of G(grey of the first half) against that grey, as l_net sees it
        with torch.no_grad():
            net.eval()
            grey = obj.l_net(rgb_to_lab(rgb[:2]))
            out = net.g(grey).float() * 0.5 + 0.5
            net.train()
            return float((obj.l_net(rgb_to_lab(out.clamp(0, 1))) - grey).abs().mean())

    first = error()
    losses = train(15)
    assert losses[0] == pytest.approx(first, rel=0.25)  # train-mode BatchNorm differs a little
    assert error() < 0.7 * first, (first, error())


def test_cycle_anchor_is_fs_distance_from_the_colour_photos_lightness(photos: Path,
                                                                      tmp_path: Path):
    """`anchor`: F(colour) must stay that photo's own L* (else F can hide the colour in faint
    grey patterns for G to read back). The reported term is that distance, computed here
    independently, and a few steps on it alone shrink it."""
    from colorstudio.engine.torch_color import rgb_to_lab

    obj, _, train, rgb = _cycle_term(photos, tmp_path, "anchor")
    f = obj.aux["f"]

    def error() -> float:  # F of the colour half against that half's own L*, as l_net sees it
        with torch.no_grad():
            f.eval()
            out = f(rgb[2:] * 2 - 1)
            f.train()
            return float((out - obj.l_net(rgb_to_lab(rgb[2:]))).abs().mean())

    first = error()
    losses = train(30)
    assert losses[0] == pytest.approx(first, rel=0.25)  # train-mode BatchNorm differs a little
    assert losses[-1] < 0.5 * losses[0], losses
    assert error() < 0.8 * first, (first, error())


@pytest.mark.parametrize("stop_f,noise", [(False, 0.0), (True, 0.0), (False, 0.05)])
def test_the_colour_cycle_can_keep_f_from_hiding_the_colour(photos: Path, tmp_path: Path,
                                                             stop_f: bool, noise: float):
    """`cycle_stop_f`: G reads F's grey back without a gradient into F (F cannot learn to hide
    the colour there); `cycle_noise`: G reads it with Gaussian noise of that std added."""
    from colorstudio.train.fit import _Objective

    cfg = _cfg(photos, tmp_path / "cyc", "cycle", losses={"adv": 1.0, "cycle": 10.0},
               cycle_stop_f=stop_f, cycle_noise=noise)
    net = build(cfg.arch, cfg.config)
    obj = _Objective(cfg, net, torch.device("cpu"), np.random.default_rng(0), None)
    calls: dict[str, list[torch.Tensor]] = {"f_out": [], "g_in": []}
    obj.aux["f"].register_forward_hook(lambda _m, _i, out: calls["f_out"].append(out))
    net.g.register_forward_pre_hook(lambda _m, args: calls["g_in"].append(args[0]))
    opt_g = torch.optim.Adam([p for _, p in obj.generator_params_named()], lr=1e-3)
    opt_d = torch.optim.Adam(obj.discriminator_params(), lr=1e-3)
    rgb = torch.from_numpy(np.stack([_colour(i) for i in range(4)])).permute(0, 3, 1, 2)
    obj.step(rgb[..., :32, :32].float() / 255, opt_g, opt_d, amp=False)
    f_grey, g_read = calls["f_out"][0], calls["g_in"][1]  # F(colour), and what G read of it
    assert g_read.requires_grad != stop_f
    assert float((g_read - f_grey).detach().std()) == pytest.approx(noise, abs=0.01)


def test_the_colour_cycle_can_be_learnt_in_squared_error(photos: Path, tmp_path: Path):
    """`losses.cycle_l2`: the colour -> grey -> colour reconstruction is G's squared error
    against the colour photo (the mean colour, as PSNR rewards), weighted on its own; the L1
    `cycle` keeps only the grey -> colour -> grey term."""
    from colorstudio.train.fit import _Objective

    cfg = _cfg(photos, tmp_path / "cyc", "cycle",
               losses={"adv": 1.0, "cycle": 10.0, "cycle_l2": 50.0}, cycle_stop_f=True)
    net = build(cfg.arch, cfg.config)
    obj = _Objective(cfg, net, torch.device("cpu"), np.random.default_rng(0), None)
    f_out: list[torch.Tensor] = []
    g_io: list[tuple[torch.Tensor, torch.Tensor]] = []
    obj.aux["f"].register_forward_hook(lambda _m, _i, out: f_out.append(out))
    net.g.register_forward_hook(lambda _m, args, out: g_io.append((args[0], out)))
    opt_g = torch.optim.Adam([p for _, p in obj.generator_params_named()], lr=1e-3)
    opt_d = torch.optim.Adam(obj.discriminator_params(), lr=1e-3)
    rgb = torch.from_numpy(np.stack([_colour(i) for i in range(4)])).permute(0, 3, 1, 2)
    rgb = rgb[..., :32, :32].float() / 255
    out = obj.step(rgb, opt_g, opt_d, amp=False)
    grey, back = g_io[0][0], g_io[1][1]  # G's first input, and its reconstruction of colour
    assert out["cycle_l2"] == pytest.approx(float(F.mse_loss(back, rgb[2:] * 2 - 1)), rel=1e-4)
    assert out["cycle"] == pytest.approx(float(F.l1_loss(f_out[1], grey)), rel=1e-4)
    assert out["loss"] == pytest.approx(out["adv"] + 10 * out["cycle"] + 50 * out["cycle_l2"],
                                        rel=1e-4)


def test_snapshots_keep_the_inference_weights_of_each_stopping_point(photos: Path,
                                                                    tmp_path: Path):
    """`snapshot_every`: the candidates for a stopping point chosen on the dev split, each the
    generator's weights at that step (they differ, and they load into the inference net)."""
    res = fit(_cfg(photos, tmp_path / "gan", "gan_ab", steps=4, snapshot_every=2))
    shots = sorted((tmp_path / "gan" / "snapshots").glob("*.safetensors"))
    assert [p.name for p in shots] == ["step2.safetensors", "step4.safetensors"]
    nets = []
    for path in (*shots, res.weights):
        net = build("roshana2023_pix2pix", TINY_CONFIGS["roshana2023_pix2pix"])
        load_weights(net, path)
        nets.append(_params(net))
    assert any(not torch.equal(a, b) for a, b in zip(nets[0], nets[1]))  # step 2 != step 4
    assert all(torch.equal(a, b) for a, b in zip(nets[1], nets[2]))  # the last is the result
    fit(_cfg(photos, tmp_path / "run0", "regress", steps=2))  # off by default
    assert not (tmp_path / "run0" / "snapshots").exists()


def test_stop_at_reproduces_a_snapshot_of_the_longer_schedule(photos: Path, tmp_path: Path):
    """`stop_at`: a recipe stops where dev chose a snapshot and still gets that snapshot's
    weights, because the rate's schedule runs to `steps` as it did in the run that made it
    (stopping with `steps` set to the snapshot's step would end the cosine there instead)."""
    long = fit(_cfg(photos, tmp_path / "long", "gan_ab", steps=4, snapshot_every=2, lr=0.05))
    short = fit(_cfg(photos, tmp_path / "short", "gan_ab", steps=4, stop_at=2, lr=0.05))
    cut = fit(_cfg(photos, tmp_path / "cut", "gan_ab", steps=2, lr=0.05))
    assert short.steps == 2 and long.steps == 4
    w = []
    for path in (tmp_path / "long" / "snapshots" / "step2.safetensors", short.weights,
                 cut.weights):
        net = build("roshana2023_pix2pix", TINY_CONFIGS["roshana2023_pix2pix"])
        load_weights(net, path)
        w.append(_params(net))
    assert all(torch.equal(a, b) for a, b in zip(w[0], w[1]))
    assert any(not torch.equal(a, b) for a, b in zip(w[0], w[2]))
    with pytest.raises(ValueError, match="stop_at 5 must be within the 4 steps"):
        fit(_cfg(photos, tmp_path / "bad", "gan_ab", steps=4, stop_at=5))


def test_ema_saves_the_moving_average_of_the_generators_weights(photos: Path,
                                                                 tmp_path: Path):
    """`ema`: what is saved is the running average of the weights along the run (decay d:
    avg <- d avg + (1 - d) weights after every step), not the last step's weights."""
    init = fit(_cfg(photos, tmp_path / "s0", "gan_ab", steps=1)).weights
    raw = _cfg(photos, tmp_path / "raw", "gan_ab", steps=3, snapshot_every=1, init=str(init),
               lr=0.05)
    fit(raw)
    res = fit(TrainConfig(**{**raw.to_dict(), "out": str(tmp_path / "ema"), "ema": 0.5}))
    arch, config = raw.arch, raw.config
    steps = [init] + [tmp_path / "raw" / "snapshots" / f"step{i}.safetensors" for i in (1, 2, 3)]
    w = []
    for path in [*steps, res.weights]:
        net = build(arch, config)
        load_weights(net, path)
        w.append(_params(net))
    for p0, p1, p2, p3, avg in zip(*w):
        expected = 0.125 * p0 + 0.125 * p1 + 0.25 * p2 + 0.5 * p3
        torch.testing.assert_close(avg, expected, rtol=1e-5, atol=1e-6)
    assert max((a - b).abs().max() for a, b in zip(w[3], w[4])) > 0.01  # not the last step's
    with pytest.raises(ValueError, match="ema"):
        fit(TrainConfig(**{**raw.to_dict(), "out": str(tmp_path / "bad"), "ema": 1.0}))


def test_cancel_mid_run_returns_cancelled_without_weights(photos: Path, tmp_path: Path):
    cfg = _cfg(photos, tmp_path / "run", "regress", steps=50, checkpoint_every=100)
    events: list[TrainEvent] = []

    def cancel() -> bool:
        return sum(e.kind == "step" for e in events) >= 2

    res = fit(cfg, on_event=events.append, cancel=cancel)
    assert res.cancelled and res.steps == 2
    assert events[-1].kind == "cancelled" and events[-1].weights == ""
    assert not (tmp_path / "run" / "weights.safetensors").exists()
    assert (tmp_path / "run" / "checkpoint.pt").is_file()  # kept for a later resume


def test_cancel_during_the_scan_returns_cancelled(photos: Path, tmp_path: Path):
    cfg = _cfg(photos, tmp_path / "run", "regress", cache_dir=str(tmp_path / "cache"))
    res = fit(cfg, cancel=lambda: True)
    assert res.cancelled and res.steps == 0
    assert not (tmp_path / "run" / "weights.safetensors").exists()
    # The interrupted scan was not cached as if complete: a later run sees every photo.
    events: list[TrainEvent] = []
    fit(cfg, on_event=events.append)
    cache = ImageCache.build(split_items(list_items(cfg.data), 2, cfg.seed)[0], 32,
                             tmp_path / "cache")
    assert len(cache) == 8 and events[-1].kind == "done"


def test_checkpoint_resume_continues_from_the_saved_step(photos: Path, tmp_path: Path):
    cfg = _cfg(photos, tmp_path / "run", "gan_ab", steps=5, checkpoint_every=100)
    first: list[TrainEvent] = []
    res = fit(cfg, on_event=first.append,
              cancel=lambda: sum(e.kind == "step" for e in first) >= 3)
    assert res.cancelled and res.steps == 3
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 3 and state["aux"] and state["opt_d"]
    second: list[TrainEvent] = []
    res = fit(cfg, on_event=second.append)
    start = next(e for e in second if e.kind == "start")
    assert start.step == 3 and "resumed" in start.message
    assert [e.step for e in second if e.kind == "step"] == [4, 5]
    assert res.steps == 5 and not res.cancelled and res.weights.is_file()
    # resume=False ignores the checkpoint and starts over.
    third: list[TrainEvent] = []
    fit(cfg, on_event=third.append, resume=False)
    assert [e.step for e in third if e.kind == "step"] == [1, 2, 3, 4, 5]


def test_init_from_previous_stage_weights(photos: Path, tmp_path: Path):
    stage0 = fit(_cfg(photos, tmp_path / "s0", "regress", steps=2))
    cfg = _cfg(photos, tmp_path / "s1", "regress", steps=1, lr=0.0, init=str(stage0.weights))
    stage1 = fit(cfg)
    a, b = build(cfg.arch, cfg.config), build(cfg.arch, cfg.config)
    load_weights(a, stage0.weights)
    load_weights(b, stage1.weights)
    # lr = 0: the weights are the previous stage's (BatchNorm statistics may move).
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        if "running" not in k and "num_batches" not in k:
            assert torch.equal(x, y), k


def test_emphasis_draws_its_share_of_each_batch_from_training_images_only(
        photos: Path, tmp_path: Path, monkeypatch):
    """`emphasis` sources fill `emphasis_fraction` of every batch; held-out photos of those
    sources stay held out (the dev split must not leak into training)."""
    from colorstudio.train import fit as fit_mod

    green = tmp_path / "green"
    green.mkdir()
    for i in range(6):  # flat pure green, unlike any of the sinusoidal `photos`
        Image.fromarray(np.full((40, 40, 3), (0, 200 + 8 * i, 0), np.uint8)).save(
            green / f"g{i}.png")
    built: list[list[Item]] = []  # the photos of each cache fit() decodes
    batches: list[torch.Tensor] = []  # each training batch
    real_build, real_step = fit_mod.ImageCache.build.__func__, fit_mod._Objective.step

    def spy_build(cls, items, *args, **kwargs):  # noqa: ANN001, ANN202
        built.append(list(items))
        return real_build(cls, items, *args, **kwargs)

    def spy_step(self, rgb, *args):  # noqa: ANN001, ANN202
        batches.append(rgb.clone())
        return real_step(self, rgb, *args)

    monkeypatch.setattr(fit_mod.ImageCache, "build", classmethod(spy_build))
    monkeypatch.setattr(fit_mod._Objective, "step", spy_step)
    cfg = _cfg(photos, tmp_path / "run", "regress", data=[str(photos), str(green)], holdout=4,
               emphasis=[str(green)], emphasis_fraction=0.5, batch=8, steps=4, rotate=0.0)
    assert not fit(cfg).cancelled

    train, held = split_items(list_items(cfg.data), 4, cfg.seed)
    emphasised = built[1]
    assert emphasised == [i for i in train if Path(i.path).parent == green]
    assert emphasised and not set(emphasised) & set(held)
    assert len(batches) == 4
    for rgb in batches:
        ab = torch_rgb_to_lab(rgb)[:, 1:]
        flat_green = (ab[:, 0].mean((1, 2)) < -40) & (ab.std((2, 3)).amax(1) < 2)
        assert flat_green[4:].all(), "the last half of each batch comes from the emphasis"


# ------------------------------------------------------------------ simulated hints

def test_simulated_hints_carry_the_ground_truth_mean_colour():
    rng = np.random.default_rng(0)
    ab = torch.from_numpy(rng.uniform(-0.8, 0.8, (6, 2, 24, 32)).astype(np.float32))
    for p_stroke in (0.0, 1.0):
        # One hint per image (geometric with p = 1): its colour is the mean truth under it.
        hint_ab, mask = simulate_hints(ab, np.random.default_rng(1), p_none=0.0, p_geom=1.0,
                                       p_stroke=p_stroke)
        assert hint_ab.shape == ab.shape and mask.shape == (6, 1, 24, 32)
        assert set(torch.unique(mask).tolist()) <= {0.0, 1.0}
        for i in range(6):
            sel = mask[i, 0] > 0
            assert sel.any()
            assert torch.all(hint_ab[i][:, ~sel] == 0)
            expected = ab[i][:, sel].mean(1)
            assert torch.allclose(hint_ab[i][:, sel], expected[:, None].expand(-1, int(sel.sum())),
                                  atol=1e-6)
    # Many hints of a constant-colour image: every hint carries exactly that colour.
    flat = torch.zeros(3, 2, 20, 20)
    flat[:, 0], flat[:, 1] = 0.3, -0.2
    hint_ab, mask = simulate_hints(flat, np.random.default_rng(2), p_none=0.0, p_geom=0.05)
    sel = mask[:, 0] > 0
    assert sel.sum() > 20
    assert torch.allclose(hint_ab[:, 0][sel], torch.tensor(0.3))
    assert torch.allclose(hint_ab[:, 1][sel], torch.tensor(-0.2))


def test_simulated_hints_none_and_rate():
    ab = torch.rand(8, 2, 16, 16)
    hint_ab, mask = simulate_hints(ab, np.random.default_rng(0), p_none=1.0)
    assert mask.sum() == 0 and hint_ab.abs().sum() == 0
    _, mask = simulate_hints(ab, np.random.default_rng(0), p_none=0.0, p_geom=0.5)
    assert all(mask[i].sum() > 0 for i in range(8))


def test_dense_hints_reach_the_counts_a_user_places():
    """The paper's geometric count (mean 8) almost never gives 50+ hints; `p_dense` does."""
    ab = torch.zeros(300, 2, 128, 128)

    def crowded(p_dense: float) -> int:  # photos covered by >= ~50 hints' worth of pixels
        _, mask = simulate_hints(ab, np.random.default_rng(3), p_none=0.0, p_stroke=0.0,
                                 p_dense=p_dense)
        return int((mask.sum((1, 2, 3)) > 1500).sum())

    assert crowded(0.0) <= 3
    assert crowded(1.0) >= 30


def test_few_hints_give_a_users_first_hints_more_often():
    """`p_few`: that share of the hinted photos gets 1-3 hints (the geometric count gives
    1-3 to a third of them); off, the draws are those of recipes written before it."""
    ab = torch.zeros(400, 2, 128, 128)

    def few(p_few: float) -> int:  # photos with 1-3 hints (separate patches)
        _, mask = simulate_hints(ab, np.random.default_rng(5), p_none=0.0, p_stroke=0.0,
                                 p_few=p_few)
        counts = [cv2.connectedComponents(m[0].numpy().astype(np.uint8))[0] - 1 for m in mask]
        return sum(1 <= c <= 3 for c in counts)

    assert few(0.0) < 0.45 * 400
    assert few(1.0) == 400
    assert few(0.5) > 0.6 * 400
    a = simulate_hints(ab, np.random.default_rng(5), p_none=0.3)[1]
    b = simulate_hints(ab, np.random.default_rng(5), p_none=0.3, p_few=0.0)[1]
    assert torch.equal(a, b)


# ------------------------------------------------------------------ data

def test_list_items_reads_folders_zip_shards_and_globs(photos: Path, tmp_path: Path):
    folder_items = list_items([str(photos)])
    names = [Path(i.path).name for i in folder_items]
    assert len(folder_items) == 13 and "readme.txt" not in names and "c00.png" in names
    assert all(i.member == "" for i in folder_items)
    shard = tmp_path / "shard-000.zip"
    with zipfile.ZipFile(shard, "w") as z:
        for p in sorted(photos.glob("c0[1-4].png")):
            z.write(p, f"imgs/{p.name}")
        z.writestr("imgs/notes.txt", "x")
        z.writestr("LICENSE", "x")
    zitems = list_items([str(shard)])
    assert [i.member for i in zitems] == [f"imgs/c0{k}.png" for k in range(1, 5)]
    assert zitems[0].read() == (photos / "c01.png").read_bytes()
    both = list_items([str(tmp_path / "shard-*.zip"), str(photos / "c05.png"),
                       str(tmp_path / "absent")])
    assert len(both) == 5
    train, held = split_items(folder_items, 3, seed=0)
    assert len(held) == 3 and len(train) == 10 and not set(train) & set(held)
    assert split_items(folder_items, 3, seed=0) == (train, held)  # fixed seed
    assert len(split_items(folder_items, 0.5, seed=0)[1]) == 7


def test_image_cache_skips_near_grey_and_unreadable(photos: Path, tmp_path: Path):
    items = list_items([str(photos)])
    progress: list[tuple[int, int]] = []
    cache = ImageCache.build(items, 24, tmp_path / "cache", progress=lambda i, n:
                             progress.append((i, n)))
    assert cache.images.shape == (10, 24, 24, 3) and cache.images.dtype == np.uint8
    assert (cache.report.usable, cache.report.grey, cache.report.unreadable) == (10, 2, 1)
    assert progress and progress[0] == (0, 13)
    for img in cache.images:
        lab = rgb_to_lab(img.astype(np.float32) / 255)
        assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 4
    again = ImageCache.build(items, 24, tmp_path / "cache")  # from the saved cache
    assert np.array_equal(again.images, cache.images) and again.report == cache.report
    kept = ImageCache.build(items, 24, keep_grey=True)  # the grey domain of unpaired runs
    assert kept.report.usable == 12 and kept.report.grey == 0
    zipped = tmp_path / "z.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.write(photos / "c03.png", "c03.png")
    zcache = ImageCache.build([Item(str(zipped), "c03.png"), Item(str(zipped), "missing.png")],
                              24)
    assert zcache.report.usable == 1 and zcache.report.unreadable == 1


def test_decode_square_and_batches():
    import io

    buf = io.BytesIO()
    Image.fromarray(_colour(1, 60)[:, :40]).save(buf, "PNG")  # 40 wide, 60 high
    sq = decode_square(buf.getvalue(), 32)
    assert sq.shape == (32, 32, 3) and sq.dtype == np.uint8
    assert decode_square(b"garbage", 32) is None
    cache = ImageCache(np.stack([_colour(i, 32) for i in range(5)]), None)  # type: ignore[arg-type]
    batch = next(cache.batches(3, 24, np.random.default_rng(0), torch.device("cpu")))
    assert batch.shape == (3, 3, 24, 24) and 0 <= batch.min() and batch.max() <= 1


def test_recipes_parse_into_configs():
    recipes = sorted(Path(__file__).resolve().parents[1].glob("training/recipes/*.toml"))
    assert len(recipes) == 8
    for r in recipes:
        model, stages = load_recipe(r)
        assert model["id"] and stages
        for st in stages:
            assert st.arch in TINY_CONFIGS and st.objective in FAMILIES
            build(st.arch, st.config)  # the recipe's config fits its architecture
    with pytest.raises(ValueError, match="unknown training options"):
        TrainConfig.from_dict({"arch": "mane2021_cnn", "learning_rate": 1})


def test_export_replaces_only_its_own_weights(tmp_path: Path):
    """Re-exporting `portraits` must not delete `portraits-1920s` (ids may contain '-')."""
    from colorstudio.core.cards import load_card
    from colorstudio.core.cards import weights_files
    from colorstudio.train.export import write_model

    def export(model_id: str, seed: int):
        torch.manual_seed(seed)
        net = build("mane2021_cnn", TINY_CONFIGS["mane2021_cnn"])
        cfg = TrainConfig(arch="mane2021_cnn", config=TINY_CONFIGS["mane2021_cnn"],
                          normalisation="lab_l50_ab128")
        return write_model(net, {"id": model_id, "name": model_id, "paper": "p"}, cfg, tmp_path)

    other = export("portraits-1920s", 0)
    first = export("portraits", 1)
    second = export("portraits", 2)  # new weights: the old file of this id goes
    assert not first.weights_path.exists() and second.weights_path.is_file()
    assert other.weights_path.is_file()
    assert load_card(tmp_path / "portraits-1920s.toml").verify()
    assert weights_files(tmp_path, "portraits") == [second.weights_path]
    assert weights_files(tmp_path, "portraits-1920s") == [other.weights_path]
    assert oct(second.weights_path.stat().st_mode & 0o777) == oct(0o644)


def test_a_cards_recipe_line_says_where_a_stage_stopped():
    """The exported card's recipe: a stage stopped by `stop_at` reads "N of M steps", so the
    card does not claim the whole schedule was trained."""
    from colorstudio.train.export import _length

    def stage(**kw) -> TrainConfig:
        return TrainConfig(arch="mane2021_cnn", steps=3200, **kw)

    assert _length(stage(stop_at=2800)) == "2800 of 3200 steps"
    assert _length(stage()) == "3200 steps"
    assert _length(stage(minutes=60.0)) == "60.0 min"
