"""`colorstudio import-model FILE.pth --arch ID [--name NAME] [--id ID] [--into DIR]`

Converts a PyTorch state dict (`torch.save(net.state_dict(), "FILE.pth")`) of one of
ColorStudio's architectures into an installed model: safetensors weights and a card in the
user models folder, so it appears in `colorstudio models` and in the app's model manager.
The file is read with `torch.load(weights_only=True)`: pickled code is refused, never run.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("import-model",
                       help="install a .pth state dict as a model (converted to safetensors, "
                            "with a card)")
    p.add_argument("file", type=Path, metavar="FILE.pth")
    p.add_argument("--arch", required=True, metavar="ID",
                   help="the architecture the weights belong to: the id of a bundled model "
                        "(e.g. guided_unet, mane2021_cnn); `colorstudio models --json` shows "
                        "each model's 'arch'; an unknown id lists the known ones")
    p.add_argument("--name", help="the name shown in the app (default: '<file> (imported)')")
    p.add_argument("--id", dest="model_id", metavar="ID",
                   help="the model id (default: from the file name)")
    p.add_argument("--into", type=Path, metavar="DIR",
                   help="models folder to install into (default: the user models folder)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..core.cards import discover_cards, user_models_dir
    from ..engine.models import import_pth_model

    dest = args.into or user_models_dir()
    dirs = args.models_dir if args.models_dir is not None else None
    cards = discover_cards(dirs)
    cards.update(discover_cards([dest]))
    card = import_pth_model(args.file, args.arch, dest, cards, name=args.name,
                            model_id=args.model_id)
    print(f"imported {args.file.name} as '{card.id}' ({card.name}): {card.params / 1e6:.2f} M "
          f"params, {card.precision}, sha256 {card.sha256[:12]}")
    print(f"  weights {dest / card.weights}")
    print(f"  card    {card.path}")
    print(f"  measure it with: colorstudio eval --data DIR --model {card.id}")
    return 0
