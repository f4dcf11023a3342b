"""The one training loop: `fit(config, on_event, cancel)`.

Used by the recipes in `training/`, by `colorstudio train` and by the GUI training wizard.
It reports `TrainEvent`s (progress, losses, images/s, ETA, previews), stops cleanly when
`cancel()` returns True, writes checkpoints atomically and resumes from them.

Data-parallel (`torchrun --nproc-per-node N -m colorstudio.train RECIPE`, see docs/CLUSTER.md):
`batch` is the global batch. Every rank draws the same global batch with the same seed (data,
augmentation, simulated hints) and trains on its 1/N part, so the gradients DDP averages are
those of the single-process batch. Losses are averaged across ranks before they are reported;
discriminators (not wrapped in DDP) have their gradients averaged the same way. Only rank 0
writes (config, checkpoints, previews, weights, the decoded-image cache); the others read
rank 0's cache and checkpoint. BatchNorm sees the per-rank part of the batch on the CPU
(gloo); on CUDA it is converted to SyncBatchNorm, which sees the global batch.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.color import NORMALISATIONS
from ..core.imageio import atomic_write, atomic_write_text
from ..engine.device import pick_device
from ..engine.torch_color import lab_to_rgb, rgb_to_lab
from ..engine.weights import load_weights, save_weights
from ..nets import build
from . import losses as L
from .config import TrainConfig
from .data import ImageCache, Item, list_items, split_items
from .hints_sim import simulate_hints

log = logging.getLogger(__name__)


class _Ema:
    """An exponential moving average of a net's weights and float buffers."""

    def __init__(self, net: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"ema must be between 0 and 1 (got {decay})")
        self.decay = decay
        self.net = copy.deepcopy(net).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, net: nn.Module) -> None:
        for avg, now in zip(self.net.state_dict().values(), net.state_dict().values()):
            if avg.dtype.is_floating_point:
                avg.lerp_(now, 1.0 - self.decay)
            else:
                avg.copy_(now)


@dataclass
class TrainEvent:
    kind: str  # "scan" | "start" | "step" | "preview" | "checkpoint" | "done" | "cancelled"
    step: int = 0
    total: int = 0
    losses: dict[str, float] = field(default_factory=dict)
    images_per_s: float = 0.0
    eta_s: float = 0.0
    message: str = ""
    preview: np.ndarray | None = None  # (H, W*3, 3) uint8: grey | result | truth rows
    weights: str = ""


@dataclass
class FitResult:
    weights: Path
    steps: int
    seconds: float
    cancelled: bool
    params: int
    device: str


class _Objective:
    """Per-family training step: builds auxiliary nets, returns the losses of one batch."""

    def __init__(self, cfg: TrainConfig, net: nn.Module, device: torch.device,
                 rng: np.random.Generator, cache: ImageCache) -> None:
        self.cfg, self.net, self.device, self.rng = cfg, net, device, rng
        self.norm = NORMALISATIONS[cfg.normalisation]
        self.aux: nn.ModuleDict = nn.ModuleDict()
        if cfg.objective in ("gan_ab", "gan_rgb") and cfg.losses.get("adv", 0) > 0:
            self.aux["d"] = net.discriminator()
        if cfg.objective == "cycle":
            self.aux.update(net.cycle_parts())
        self.aux.to(device)
        self.weights = None
        if cfg.objective == "guided" and cfg.rebalance > 0:
            self.weights = self._class_weights(cache)
            # Kept in the weights file so decoding can undo the rebalancing bias.
            net.log_class_weight.copy_(self.weights.log().to(net.log_class_weight.device))

    def generator_params_named(self) -> list[tuple[str, nn.Parameter]]:
        """What the generator optimiser steps: the network, and CycleGAN's F (colour -> grey),
        whose only training signal is the generator-side cycle and adversarial loss."""
        params = list(self.net.named_parameters())
        if "f" in self.aux:
            params += [(f"aux.f.{n}", p) for n, p in self.aux["f"].named_parameters()]
        return params

    def discriminator_params(self) -> list[nn.Parameter]:
        return [p for name, m in self.aux.items() if name != "f" for p in m.parameters()]

    def _class_weights(self, cache: ImageCache) -> torch.Tensor:
        # Empirical ab prior on up to 2,000 training images, smoothed (sigma = 5 ab units).
        idx = np.sort(self.rng.choice(len(cache), min(len(cache), 2000), replace=False))
        bins = self.net.bins.cpu()
        prior = torch.zeros(len(bins))
        for chunk in np.array_split(idx, max(1, len(idx) // 100)):  # bounded memory
            x = torch.from_numpy(cache.images[chunk]).permute(0, 3, 1, 2).float() / 255
            ab = F.avg_pool2d(rgb_to_lab(x)[:, 1:], 4) / self.norm.ab_scale
            prior += L.soft_encode(ab, bins, self.cfg.soft_sigma / 110).sum((0, 2, 3))
        return L.class_weights(prior / prior.sum(), self.cfg.rebalance).to(self.device)

    @property
    def _module(self) -> nn.Module:
        """The network itself, also when `self.net` is a DistributedDataParallel wrapper."""
        return getattr(self.net, "module", self.net)

    def l_net(self, lab: torch.Tensor) -> torch.Tensor:
        return lab[:, :1] / self.norm.l_scale - self.norm.l_shift

    def step(self, rgb: torch.Tensor, opt_g: torch.optim.Optimizer,
             opt_d: torch.optim.Optimizer | None, amp: bool, part: slice | None = None,
             world: int = 1) -> dict[str, float]:
        """One optimiser step on `rgb[part]`; the random draws (simulated hints) are made for
        the whole of `rgb`, so every data-parallel rank draws what a single process would.
        `world` > 1: discriminator gradients are averaged across the ranks."""
        cfg, w = self.cfg, self.cfg.losses
        lab = rgb_to_lab(rgb)
        l_in = self.l_net(lab)
        ab = lab[:, 1:] / self.norm.ab_scale
        rgb_t = rgb * 2 - 1
        hint_ab = mask = None
        if cfg.objective == "guided":
            hint_ab, mask = simulate_hints(ab, self.rng, p_dense=cfg.dense_hints,
                                           p_few=cfg.few_hints)
        if part is not None:
            l_in, ab, rgb_t = l_in[part], ab[part], rgb_t[part]
            if hint_ab is not None and mask is not None:
                hint_ab, mask = hint_ab[part], mask[part]
        out: dict[str, float] = {}
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
            if cfg.objective == "cycle":
                return self._cycle_step(l_in, rgb_t, opt_g, opt_d, amp)
            if cfg.objective == "guided":
                logits, reg = self.net(l_in, hint_ab, mask)
                loss = torch.zeros((), device=self.device)
                if w.get("class", 0):
                    ab4 = F.adaptive_avg_pool2d(ab, logits.shape[-2:])
                    target = L.soft_encode(ab4.float(), self._module.bins, cfg.soft_sigma / 110)
                    c = L.classification(logits, target, self.weights)
                    loss = loss + w["class"] * c
                    out["class"] = float(c.detach())
                if w.get("huber", 0):
                    ab2 = F.adaptive_avg_pool2d(ab, reg.shape[-2:])
                    r = L.huber(reg.float(), ab2)
                    loss = loss + w["huber"] * r
                    out["huber"] = float(r.detach())
                pred_for_d = None
            else:
                pred = self.net(l_in)
                target = rgb_t if cfg.objective == "gan_rgb" else ab
                if pred.shape[-2:] != target.shape[-2:]:
                    target = F.adaptive_avg_pool2d(target, pred.shape[-2:])
                pred = pred.float()
                loss = torch.zeros((), device=self.device)
                for name, fn in (("l1", L.l1), ("mse", L.mse), ("huber", L.huber),
                                 ("cosine", L.cosine_distance), ("diversity", L.colour_diversity)):
                    if w.get(name, 0):
                        v = fn(pred, target)
                        loss = loss + w[name] * v
                        out[name] = float(v.detach())
                pred_for_d = pred
            if "d" in self.aux and pred_for_d is not None:
                fake = torch.cat([l_in, pred_for_d], 1)
                g_adv = L.adversarial(self.aux["d"](fake), True, cfg.gan)
                loss = loss + w["adv"] * g_adv
                out["g_adv"] = float(g_adv.detach())
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        out["loss"] = float(loss.detach())
        if "d" in self.aux and pred_for_d is not None and opt_d is not None:
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=amp):
                real = torch.cat([l_in, target], 1)
                fake = torch.cat([l_in, pred_for_d.detach()], 1)
                d_loss = 0.5 * (L.adversarial(self.aux["d"](real), True, cfg.gan)
                                + L.adversarial(self.aux["d"](fake), False, cfg.gan))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            if world > 1:
                average_gradients(self.discriminator_params(), world)
            opt_d.step()
            out["d"] = float(d_loss.detach())
        return out

    def _cycle_step(self, l_in: torch.Tensor, rgb_t: torch.Tensor, opt_g: torch.optim.Optimizer,
                    opt_d: torch.optim.Optimizer | None, amp: bool) -> dict[str, float]:
        """Unpaired: the first half of the batch gives grey images, the second colour ones."""
        w, kind = self.cfg.losses, self.cfg.gan
        half = l_in.shape[0] // 2
        grey, colour = l_in[:half], rgb_t[half:]
        g, f = self._module.g, self.aux["f"]
        d_c, d_g = self.aux["d_colour"], self.aux["d_grey"]
        fake_c, fake_g = g(grey), f(colour)
        adv = L.adversarial(d_c(fake_c), True, kind) + L.adversarial(d_g(fake_g), True, kind)
        read = fake_g.detach() if self.cfg.cycle_stop_f else fake_g
        if self.cfg.cycle_noise:
            read = read + self.cfg.cycle_noise * torch.randn_like(read)
        back = g(read)
        cyc = F.l1_loss(f(fake_c), grey)
        loss = w.get("adv", 1.0) * adv
        parts = [("adv", adv)]
        if w.get("cycle_l2", 0):
            # The colour -> grey -> colour cycle in squared error: G learns the mean colour (what
            # PSNR rewards) where L1 teaches the per-channel median, greyer where unsure.
            cyc_l2 = F.mse_loss(back, colour)
            loss = loss + w["cycle_l2"] * cyc_l2
            parts.append(("cycle_l2", cyc_l2))
        else:
            cyc = cyc + F.l1_loss(back, colour)
        loss = loss + w.get("cycle", 10.0) * cyc
        parts.append(("cycle", cyc))
        if w.get("lightness", 0):  # G keeps the grey photo's L*: unpaired, no colour target
            light = F.l1_loss(self.l_net(rgb_to_lab((fake_c.float() * 0.5 + 0.5).clamp(0, 1))),
                              grey.float())
            loss = loss + w["lightness"] * light
            parts.append(("lightness", light))
        if w.get("anchor", 0):
            # F stays a colour photo's own L*, so it cannot hide the colour in faint grey
            # patterns for G to read back (the cycle's known "steganography"); still unpaired.
            anchor = F.l1_loss(fake_g, l_in[half:])
            loss = loss + w["anchor"] * anchor
            parts.append(("anchor", anchor))
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        d_loss = 0.5 * (L.adversarial(d_c(colour), True, kind)
                        + L.adversarial(d_c(fake_c.detach()), False, kind)
                        + L.adversarial(d_g(grey), True, kind)
                        + L.adversarial(d_g(fake_g.detach()), False, kind))
        assert opt_d is not None
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        parts += [("loss", loss), ("d", d_loss)]
        return {k: float(v.detach()) for k, v in parts}

    def preview(self, rgb: torch.Tensor) -> np.ndarray:
        self.net.eval()
        img = preview_rows(self.net, rgb, self.cfg.normalisation)
        train_mode(self.net, self.cfg.freeze_bn)
        return img


def average_gradients(params: list[nn.Parameter], world: int) -> None:
    """What DDP does to the parameters it wraps: every gradient becomes the ranks' mean."""
    import torch.distributed as dist

    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(world)


def mean_across_ranks(values: dict[str, float], device: torch.device, world: int
                      ) -> dict[str, float]:
    """The ranks' mean of each reported loss (every rank reports the same names)."""
    import torch.distributed as dist

    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: float(v) / world for k, v in zip(keys, t.tolist())}


def _any_rank(flags: list[bool], device: torch.device) -> list[bool]:
    """True where any rank says True: the ranks stop (time budget, cancel) at the same step."""
    import torch.distributed as dist

    t = torch.tensor([int(f) for f in flags], dtype=torch.int32, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def check_parallel(cfg: TrainConfig, world: int) -> None:
    """ValueError (one sentence) when `cfg` cannot be trained by `world` processes."""
    if world > 1 and cfg.objective == "cycle":
        raise ValueError("the cycle objective cannot be trained data-parallel yet; "
                         "run it in one process")
    if world > 1 and cfg.batch % world:
        raise ValueError(f"batch {cfg.batch} is the global batch: it must be a multiple of "
                         f"the {world} processes")


def init_distributed(device: torch.device) -> tuple[int, int, bool]:
    """(rank, world size, whether this call created the process group). Under `torchrun`
    (WORLD_SIZE > 1) the default group is created once: NCCL on CUDA, gloo otherwise. The
    long timeout covers the other ranks waiting while rank 0 decodes the photos."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, False
    import torch.distributed as dist

    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo",
                            timeout=timedelta(hours=3))
    return dist.get_rank(), dist.get_world_size(), True


def train_mode(net: nn.Module, freeze_bn: list[str]) -> None:
    """`net.train()`, except BatchNorm layers under the `freeze_bn` prefixes, which keep their
    (pretrained) statistics: small CPU batches would only add noise to them."""
    net.train()
    for name, m in net.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and name.startswith(tuple(freeze_bn)):
            m.eval()


def param_groups(named: list[tuple[str, nn.Parameter]], scales: dict[str, float]
                 ) -> list[dict[str, Any]]:
    """Optimiser groups by name prefix with an `lr_scale` each (the longest matching prefix
    wins; unmatched parameters get 1). A scale of 0 freezes the parameters."""
    groups: dict[float, list[nn.Parameter]] = {}
    for name, p in named:
        match = max((k for k in scales if name.startswith(k)), key=len, default=None)
        scale = scales[match] if match is not None else 1.0
        if scale == 0:
            p.requires_grad_(False)
            continue
        groups.setdefault(scale, []).append(p)
    return [{"params": ps, "lr_scale": s} for s, ps in groups.items()]


@torch.no_grad()
def preview_rows(net: nn.Module, rgb: torch.Tensor, normalisation: str) -> np.ndarray:
    """Rows of grey | prediction | truth for a few held-out RGB [0, 1] images (B, 3, H, W):
    (B*H, 3W, 3) uint8. Shared by the loop and the fine-tune job (the base model's "before")."""
    norm = NORMALISATIONS[normalisation]
    lab = rgb_to_lab(rgb)
    l_in = lab[:, :1] / norm.l_scale - norm.l_shift
    pred = net.predict(l_in).float()
    if pred.shape[1] == 3:
        pred_ab = rgb_to_lab((pred + 1) / 2)[:, 1:]
    else:
        pred_ab = pred * norm.ab_scale
    pred_ab = F.interpolate(pred_ab, size=lab.shape[-2:], mode="bilinear",
                            align_corners=False)
    grey = lab_to_rgb(torch.cat([lab[:, :1], torch.zeros_like(lab[:, 1:])], 1))
    out = lab_to_rgb(torch.cat([lab[:, :1], pred_ab], 1))
    rows = torch.cat([grey, out, rgb], 3)  # (B, 3, H, 3W)
    img = rows.permute(0, 2, 3, 1).reshape(-1, rows.shape[3], 3)
    return (img.clamp(0, 1) * 255).round().byte().cpu().numpy()


def _cancelled_before_training(cfg: TrainConfig, emit: Callable[[TrainEvent], None],
                               device: torch.device, owned: bool) -> FitResult:
    emit(TrainEvent("cancelled", 0, cfg.steps, message="cancelled while reading the photos"))
    if owned:
        import torch.distributed as dist

        dist.destroy_process_group()
    params = sum(p.numel() for p in build(cfg.arch, cfg.config).parameters())
    return FitResult(Path(cfg.out) / "weights.safetensors", 0, 0.0, True, params, device.type)


def fit(
    cfg: TrainConfig,
    on_event: Callable[[TrainEvent], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    resume: bool = True,
) -> FitResult:
    """Train `cfg.arch` on `cfg.data`; returns where the final weights are."""
    emit = on_event or (lambda e: None)
    cancelled = cancel or (lambda: False)
    out = Path(cfg.out)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    # The same generator on every rank: each draws the global batch and trains on its part.
    rng = np.random.default_rng(cfg.seed)
    device = pick_device(cfg.device)
    check_parallel(cfg, int(os.environ.get("WORLD_SIZE", "1")))
    if not 0 <= cfg.stop_at <= cfg.steps:
        raise ValueError(f"stop_at {cfg.stop_at} must be within the {cfg.steps} steps")
    rank, world, owned = init_distributed(device)
    ddp = world > 1
    main = rank == 0
    import torch.distributed as dist

    def barrier() -> None:
        if ddp:
            dist.barrier()

    if ddp and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not main:
        def emit(event: TrainEvent) -> None:  # rank 0 reports for all
            pass
    part = slice(rank * (cfg.batch // world), (rank + 1) * (cfg.batch // world))
    amp = device.type == "cuda"
    if main:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.json", json.dumps(cfg.to_dict(), indent=2, default=str))

    items = list_items(cfg.data)
    train_items, held_items = split_items(items, cfg.holdout, cfg.seed)
    emit(TrainEvent("scan", 0, len(train_items), message=f"decoding {len(train_items)} images"))
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else None
    if not main and cache_dir is not None:
        barrier()  # rank 0 decodes first and fills the cache; the others then read it

    def scan(photos: list[Item], empty: str, **kw: Any) -> ImageCache | None:
        """The decoded photos, or None when cancelled while decoding (then nothing is trained
        and nothing written); `empty` is the error when none is usable."""
        c = ImageCache.build(photos, cfg.load_size, cache_dir, cancel=cancelled, **kw)
        if c.complete and len(c) == 0:
            raise ValueError(empty)
        return c if c.complete else None

    def scan_all() -> tuple[ImageCache, ImageCache | None, ImageCache | None] | None:
        cache = scan(train_items, "no usable colour photos in the training data",
                     progress=lambda i, n: emit(TrainEvent("scan", i, n)))
        if cache is None:
            return None
        grey_cache = None
        if cfg.grey_data:  # unpaired adaptation: real B&W scans are the grey domain
            grey_cache = scan(list_items(cfg.grey_data),
                              "no readable photos in the black-and-white folder",
                              keep_grey=True)
            if grey_cache is None:
                return None
        emphasis_cache = None
        if cfg.emphasis and cfg.emphasis_fraction > 0:
            wanted = set(list_items(cfg.emphasis))
            emphasis_cache = scan([i for i in train_items if i in wanted],
                                  "no usable colour photos in the emphasised training data")
            if emphasis_cache is None:
                return None
        return cache, grey_cache, emphasis_cache

    try:
        caches = scan_all()
    finally:
        if main and cache_dir is not None:
            barrier()
    if caches is None:
        return _cancelled_before_training(cfg, emit, device, owned)
    cache, grey_cache, emphasis_cache = caches
    held = ImageCache.build(held_items[:8], cfg.load_size) if held_items and main else None

    net = build(cfg.arch, cfg.config).to(device)
    if cfg.init:
        load_weights(net, Path(cfg.init), strict=False)
    elif cfg.pretrained:
        from .pretrained import load_pretrained

        load_pretrained(net, cfg.pretrained)
    if ddp and device.type == "cuda":  # BatchNorm statistics of the global batch
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    channels_last = amp or cfg.channels_last
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    objective = _Objective(cfg, net, device, rng, cache)
    ema = _Ema(net, cfg.ema) if cfg.ema else None
    opt_g = torch.optim.Adam(param_groups(objective.generator_params_named(), cfg.lr_scales),
                             lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    d_params = objective.discriminator_params()
    opt_d = torch.optim.Adam(d_params, lr=cfg.lr, betas=cfg.betas) if d_params else None
    step = 0
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.is_file():  # every rank reads rank 0's checkpoint
        state = torch.load(ckpt, map_location=device, weights_only=True)
        net.load_state_dict(state["net"])
        objective.aux.load_state_dict(state["aux"])
        opt_g.load_state_dict(state["opt_g"])
        if opt_d is not None and state.get("opt_d"):
            opt_d.load_state_dict(state["opt_d"])
        if ema is not None and "ema" in state:
            ema.net.load_state_dict(state["ema"])
        step = int(state["step"])
        rng = np.random.default_rng(cfg.seed + step)
        objective.rng = rng
        emit(TrainEvent("start", step, cfg.steps, message=f"resumed at step {step}"))
    else:
        where = f"{world} processes on {device.type}" if ddp else str(device)
        emit(TrainEvent("start", 0, cfg.steps, message=f"training {cfg.arch} on {where}"))
    train_net: nn.Module = net
    if ddp:
        w = cfg.losses
        unused = cfg.objective == "guided" and not (w.get("class") and w.get("huber"))
        train_net = nn.parallel.DistributedDataParallel(
            net, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=unused)

    def save_checkpoint() -> None:
        state = {
            "net": net.state_dict(), "aux": objective.aux.state_dict(),
            "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict() if opt_d else {},
            "step": step, **({"ema": ema.net.state_dict()} if ema else {}),
        }
        atomic_write(ckpt, lambda tmp: torch.save(state, tmp))

    def weights_meta(at_step: int) -> dict[str, str]:  # the inference weights' metadata
        return {"arch": cfg.arch, "config": json.dumps(cfg.config), "steps": str(at_step)}

    batches = cache.batches(cfg.batch, cfg.size, rng, device, cfg.rotate, cfg.zoom)
    half = cfg.batch // 2  # the cycle objective reads the first half of a batch as grey
    grey_batches = (grey_cache.batches(half, cfg.size, rng, device, cfg.rotate, cfg.zoom)
                    if grey_cache is not None else None)
    n_emph = round(cfg.batch * cfg.emphasis_fraction) if emphasis_cache is not None else 0
    emphasis_batches = (emphasis_cache.batches(n_emph, cfg.size, rng, device, cfg.rotate, cfg.zoom)
                        if n_emph else None)
    preview_rgb = None
    if held is not None and len(held):
        preview_rgb = torch.from_numpy(held.images[:4]).permute(0, 3, 1, 2).float().to(device) / 255
        preview_rgb = F.interpolate(preview_rgb, size=(cfg.size, cfg.size), mode="area")
    train_mode(net, cfg.freeze_bn)
    start = time.perf_counter()
    start_step = step
    budget = cfg.minutes * 60
    base_lr = cfg.lr
    was_cancelled = False
    losses: dict[str, float] = {}
    paused = 0.0  # seconds spent inside cancel(): a paused job waits there; not budget time
    while step < (cfg.stop_at or cfg.steps):
        elapsed = time.perf_counter() - start - paused
        over = bool(budget and elapsed >= budget)
        t_cancel = time.perf_counter()
        stop = not over and cancelled()
        paused += time.perf_counter() - t_cancel
        if ddp:
            over, stop = _any_rank([over, stop], device)
        if over:
            break
        if stop:
            was_cancelled = True
            break
        frac = max(step / cfg.steps, elapsed / budget if budget else 0.0)
        lr = base_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        for opt in filter(None, (opt_g, opt_d)):
            for g in opt.param_groups:
                g["lr"] = lr * g.get("lr_scale", 1.0)
        rgb = next(batches)
        if emphasis_batches is not None:
            rgb = torch.cat([rgb[n_emph:], next(emphasis_batches)])
        if grey_batches is not None:
            rgb = torch.cat([next(grey_batches), rgb[half:]])
        if channels_last:
            rgb = rgb.contiguous(memory_format=torch.channels_last)
        objective.net = train_net
        losses = objective.step(rgb, opt_g, opt_d, amp, part if ddp else None, world)
        objective.net = net
        if ddp:
            losses = mean_across_ranks(losses, device, world)
        step += 1
        if ema is not None:
            ema.update(net)
        if step % cfg.log_every == 0 or step == cfg.steps:
            elapsed = time.perf_counter() - start - paused
            ips = (step - start_step) * cfg.batch / max(elapsed, 1e-6)
            left_steps = (cfg.steps - step) * cfg.batch / max(ips, 1e-6)
            eta = min(left_steps, budget - elapsed) if budget else left_steps
            emit(TrainEvent("step", step, cfg.steps, losses, ips, max(eta, 0.0)))
        if preview_rgb is not None and step % cfg.preview_every == 0:
            emit(TrainEvent("preview", step, cfg.steps, losses,
                            preview=objective.preview(preview_rgb)))
        if step % cfg.checkpoint_every == 0 and main:
            save_checkpoint()
            emit(TrainEvent("checkpoint", step, cfg.steps))
        if cfg.snapshot_every and step % cfg.snapshot_every == 0 and main:
            (out / "snapshots").mkdir(exist_ok=True)
            save_weights(ema.net if ema else net, out / "snapshots" / f"step{step}.safetensors",
                         weights_meta(step))
    if main:
        save_checkpoint()
    seconds = time.perf_counter() - start - paused
    weights = out / "weights.safetensors"
    if was_cancelled:
        emit(TrainEvent("cancelled", step, cfg.steps, losses, message="cancelled; checkpoint kept"))
    else:
        net.eval()
        if main:
            save_weights(ema.net if ema else net, weights, weights_meta(step))
        emit(TrainEvent("done", step, cfg.steps, losses, weights=str(weights)))
    barrier()  # the next stage (on any rank) starts from the weights rank 0 just wrote
    if owned:
        dist.destroy_process_group()
    return FitResult(weights, step, seconds, was_cancelled,
                     sum(p.numel() for p in net.parameters()), device.type)
