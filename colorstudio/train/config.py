"""Training configuration: one dataclass, read from recipe TOML stages or built by the
CLI/wizard."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainConfig:
    arch: str
    config: dict[str, Any] = field(default_factory=dict)
    objective: str = "regress"  # regress | guided | gan_ab | gan_rgb | cycle
    normalisation: str = "lab_l50_ab110"
    data: list[str] = field(default_factory=list)
    # Unpaired adaptation (objective "cycle"): genuine B&W scans for the grey domain; empty =
    # the grey domain is the L* of colour photos from `data`.
    grey_data: list[str] = field(default_factory=list)
    holdout: int = 0  # images held out of `data` (fixed seed) for previews and before/after eval
    # Sources among `data` drawn more often: `emphasis_fraction` of every batch comes from the
    # training images of these sources (held-out ones stay held out).
    emphasis: list[str] = field(default_factory=list)
    emphasis_fraction: float = 0.0
    load_size: int = 72  # decoded square size in the RAM cache
    size: int = 64  # training crop
    batch: int = 32
    steps: int = 1000
    minutes: float = 0.0  # time budget; 0 = steps only
    # Stop after this step while the rate's schedule still runs to `steps` (0 = at `steps`):
    # a snapshot chosen on the dev split from a longer schedule, reproduced exactly.
    stop_at: int = 0
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.0
    rotate: float = 10.0
    zoom: float = 0.25
    losses: dict[str, float] = field(default_factory=dict)
    gan: str = "vanilla"  # vanilla | lsgan
    rebalance: float = 0.0  # 0 = plain cross-entropy; else lambda of Zhang et al.'s rebalancing
    soft_sigma: float = 5.0  # ab units, soft-encoding kernel
    # Objective "guided": the share of hinted photos given a log-uniform number of hints (up to
    # 128) instead of the paper's geometric count (mean 8).
    dense_hints: float = 0.0
    few_hints: float = 0.0  # ... and the share given 1-3 hints (a user's first)
    seed: int = 0
    init: str = ""  # safetensors file to start from (previous stage or base model)
    pretrained: str = ""  # a `train.pretrained.SOURCES` name, loaded when `init` is empty
    # Learning-rate multipliers by parameter-name prefix (e.g. {"encoder." = 0.1}); 0 freezes.
    lr_scales: dict[str, float] = field(default_factory=dict)
    # Modules (by name prefix) whose BatchNorm layers keep their statistics (eval mode).
    freeze_bn: list[str] = field(default_factory=list)
    channels_last: bool = False  # memory format (always on CUDA; faster for some CPU nets)
    out: str = "runs/run"
    cache_dir: str = "cache"  # decoded-image cache; "" = none (the wizard's small folders)
    device: str = "auto"
    threads: int = 0  # torch CPU threads; 0 = torch's default
    checkpoint_every: int = 500
    # Every this many steps, the inference weights as `snapshots/step<N>.safetensors`
    # (0 = none): the candidates for choosing a stopping point on the dev split.
    snapshot_every: int = 0
    # Decay of an exponential moving average of the generator's weights (0 = none): when set,
    # the average is what is saved (snapshots and weights), as GANs are usually evaluated
    # (Karras et al. 2018; Yazici et al. 2019): it smooths the oscillation of adversarial
    # training, where any one step's weights are a noisy stopping point.
    ema: float = 0.0
    # Objective "cycle": how the colour -> grey -> colour cycle is kept from hiding the colour
    # in F's grey for G to read back (Chu et al. 2017): Gaussian noise of this std (normalised
    # L*) added to F's grey before G reads it, and/or no gradient from that cycle into F (F
    # then learns only from its anchor and its discriminator).
    cycle_noise: float = 0.0
    cycle_stop_f: bool = False
    preview_every: int = 200
    log_every: int = 50

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown training options: {', '.join(sorted(unknown))}")
        d = dict(d)
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        return cls(**d)


def load_recipe(path: Path) -> tuple[dict[str, Any], list[TrainConfig]]:
    """A recipe: top-level `[model]` (card fields) + `[defaults]` + `[[stage]]` overrides."""
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    defaults = raw.get("defaults", {})
    stages = []
    for i, st in enumerate(raw.get("stage", [])):
        merged = {**defaults, **st}
        merged.setdefault("out", f"runs/{Path(path).stem}/stage{i}")
        stages.append(TrainConfig.from_dict(merged))
    return raw.get("model", {}), stages
