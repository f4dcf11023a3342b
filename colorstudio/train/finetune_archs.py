"""Fine-tuning defaults and names, without torch: the GUI lists the models that can be
fine-tuned and finds interrupted runs without importing torch."""

from __future__ import annotations

import re
from pathlib import Path

# Per architecture: the objective and losses of the last stage of its recipe in
# training/recipes/ (the weights dev chose for the bundle), with a lower learning rate for
# fine-tuning (the base is already trained; a recipe's full rate forgets it).
ARCH_DEFAULTS: dict[str, dict] = {
    "guided_unet": dict(objective="guided", losses={"class": 1.0, "huber": 10.0},
                        rebalance=0.5, betas=(0.9, 0.99), weight_decay=1e-5, lr=1e-4),
    # The pretrained encoder moves at a tenth of the decoder's rate, its statistics frozen.
    "guided_mobilenet": dict(objective="guided", losses={"class": 1.0, "huber": 10.0},
                             rebalance=0.5, betas=(0.9, 0.99), weight_decay=1e-5, lr=1e-4,
                             lr_scales={"encoder.": 0.1}, freeze_bn=["encoder."],
                             channels_last=True),
    # G's pretrained encoder (the bundle's) as the default model's: a tenth of the rate, its
    # statistics frozen; the prefixes match nothing in a ResNet G.
    "mahajan2022_cyclegan": dict(objective="cycle",
                                 losses={"adv": 0.01, "cycle": 10.0, "anchor": 100.0},
                                 cycle_stop_f=True, gan="lsgan", betas=(0.5, 0.999), lr=5e-5,
                                 lr_scales={"g.encoder.": 0.1}, freeze_bn=["g.encoder."]),
    "mathur2023_gan": dict(objective="gan_rgb", losses={"cosine": 1.0, "adv": 0.005},
                           betas=(0.5, 0.999), lr=1e-5),
    "roshana2023_pix2pix": dict(objective="gan_ab", losses={"l1": 100.0, "adv": 0.25},
                                betas=(0.5, 0.999), lr=5e-5),
    "roshana2023_resnet18_unet": dict(objective="gan_ab", losses={"l1": 100.0, "adv": 0.25},
                                      betas=(0.5, 0.999), lr=5e-5),
    "dehghan2023_autoencoder": dict(objective="regress", losses={"mse": 1.0}, lr=2e-4),
    "mane2021_cnn": dict(objective="regress", losses={"mse": 1.0}, lr=2e-4),
}
UNPAIRED_ARCHS = tuple(a for a, d in ARCH_DEFAULTS.items() if d["objective"] == "cycle")
FINETUNABLE_ARCHS = tuple(ARCH_DEFAULTS)


def model_id_for(name: str) -> str:
    """A model id from a display name: lower-case letters, digits, '_' and '-'."""
    slug = re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_-")[:48]
    return slug or "finetuned"


def default_name(base_id: str, data: Path) -> str:
    return f"{base_id} on {Path(data).resolve().name}"


def free_name(name: str, taken: set[str]) -> str:
    """`name`, or "`name` 2", "`name` 3" ...: the first whose model id is not in `taken`.
    Ids are cut at 48 characters, so a long name is shortened to keep its number."""
    if model_id_for(name) not in taken:
        return name
    n = 2
    while True:
        stem = name.rstrip()
        while stem and not model_id_for(f"{stem} {n}").endswith(f"_{n}"):
            stem = stem[:-1].rstrip()
        cand = f"{stem} {n}" if stem else f"finetuned {n}"
        if model_id_for(cand) not in taken:
            return cand
        n += 1


def taken_ids(models_dir: Path, card_ids: set[str] | list[str] = ()) -> set[str]:
    """Model ids a new model may not take: every known card, and every card file in the
    user's models folder (also one that no longer loads)."""
    d = Path(models_dir)
    on_disk = {p.stem for p in d.glob("*.toml")} if d.is_dir() else set()
    return set(card_ids) | on_disk


def proposed_name(base_id: str, data: Path, models_dir: Path,
                  card_ids: set[str] | list[str] = ()) -> str:
    """The name a new fine-tune of `base_id` on `data` gets: "<base> on <folder>", numbered
    past the models that already exist (a second run never proposes the first one's name)."""
    return free_name(default_name(base_id, data), taken_ids(models_dir, card_ids))


def work_dir_for(models_dir: Path, model_id: str, work_root: Path | None = None) -> Path:
    """Where a run keeps its checkpoint: `<user data>/finetune/<id>/` beside the models."""
    return (Path(work_root) if work_root else Path(models_dir).parent / "finetune") / model_id


def can_resume(work_dir: Path) -> bool:
    return (work_dir / "checkpoint.pt").is_file() and (work_dir / "job.json").is_file()
