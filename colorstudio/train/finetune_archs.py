"""Fine-tuning defaults and names, without torch: the GUI lists the models that can be
fine-tuned and finds interrupted runs without importing torch."""

from __future__ import annotations

import re
from pathlib import Path

# Per architecture: the objective and losses of its recipe in training/recipes/, with a lower
# learning rate for fine-tuning (the base is already trained; a recipe's full rate forgets it).
ARCH_DEFAULTS: dict[str, dict] = {
    "guided_unet": dict(objective="guided", losses={"class": 1.0, "huber": 10.0},
                        rebalance=0.5, betas=(0.9, 0.99), weight_decay=1e-5, lr=1e-4),
    "mahajan2022_cyclegan": dict(objective="cycle", losses={"adv": 1.0, "cycle": 10.0},
                                 gan="lsgan", betas=(0.5, 0.999), lr=5e-5),
    "mathur2023_gan": dict(objective="gan_rgb",
                           losses={"cosine": 1.0, "adv": 0.05, "diversity": 1.0},
                           betas=(0.5, 0.999), lr=5e-5),
    "roshana2023_pix2pix": dict(objective="gan_ab", losses={"l1": 100.0, "adv": 1.0},
                                betas=(0.5, 0.999), lr=5e-5),
    "roshana2023_resnet18_unet": dict(objective="gan_ab", losses={"l1": 100.0, "adv": 1.0},
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


def work_dir_for(models_dir: Path, model_id: str, work_root: Path | None = None) -> Path:
    """Where a run keeps its checkpoint: `<user data>/finetune/<id>/` beside the models."""
    return (Path(work_root) if work_root else Path(models_dir).parent / "finetune") / model_id


def can_resume(work_dir: Path) -> bool:
    return (work_dir / "checkpoint.pt").is_file() and (work_dir / "job.json").is_file()
