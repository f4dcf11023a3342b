"""Continue a recipe from its bundled weights on a machine where `runs/` is gone.

`python training/seed_runs.py training/recipes/guided_mobilenet.toml --done 2` writes the
bundled weights of the recipe's model (`models/<id>-<sha8>.safetensors`, sha256-checked
against its card) as the output of each of the recipe's stages 0..1, so
`python -m colorstudio.train` skips them and trains the later stages from there. Each
seeded stage gets a `seconds.txt` of its time budget, so the exported card keeps counting
the model's total training minutes.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorstudio.core.cards import sha256_file  # noqa: E402
from colorstudio.train.config import load_recipe  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe", type=Path)
    ap.add_argument("--done", type=int, required=True,
                    help="how many of the recipe's stages the bundled weights stand for")
    args = ap.parse_args(argv)
    model, stages = load_recipe(args.recipe)
    if not 0 < args.done <= len(stages):
        print(f"--done must be 1..{len(stages)}", file=sys.stderr)
        return 2
    card = tomllib.loads((ROOT / "models" / f"{model['id']}.toml").read_text(encoding="utf-8"))
    weights = ROOT / "models" / card["weights"]
    if sha256_file(weights) != card["sha256"]:
        print(f"{weights.name}: sha256 does not match its card", file=sys.stderr)
        return 2
    for cfg in stages[: args.done]:
        out = Path(cfg.out)
        out.mkdir(parents=True, exist_ok=True)
        if not (out / "seconds.txt").is_file():
            (out / "seconds.txt").write_text(f"{cfg.minutes * 60:.0f}\n")
        (out / "weights.safetensors").write_bytes(weights.read_bytes())
    print(f"{weights.name} -> stages 0..{args.done - 1}, which will be skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
