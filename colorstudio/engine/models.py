"""Finding, verifying and loading models: cards from `models/` and the user's models folder,
weights through safetensors with the card's sha256; loaded networks cached once per device.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..core.cards import ModelCard, default_model_id, discover_cards
from ..core.errors import ModelError
from ..nets import build
from .weights import load_weights


@dataclass
class LoadedModel:
    card: ModelCard
    net: nn.Module
    device: torch.device


class ModelStore:
    """Thread-safe cache of loaded networks keyed by (model id, device)."""

    def __init__(self, dirs: list[Path] | None = None) -> None:
        self.dirs = dirs
        self._cards: dict[str, ModelCard] | None = None
        self._loaded: dict[tuple[str, str], LoadedModel] = {}
        self._lock = threading.Lock()

    def cards(self, refresh: bool = False) -> dict[str, ModelCard]:
        if self._cards is None or refresh:
            self._cards = discover_cards(self.dirs)
        return self._cards

    def add_card(self, card: ModelCard) -> None:
        """Register a card that is not (yet) in a models folder (tests, imports)."""
        self.cards()[card.id] = card

    def default_id(self) -> str:
        mid = default_model_id(self.cards())
        if mid is None:
            raise ModelError("no models are installed")
        return mid

    def card(self, model_id: str | None) -> ModelCard:
        model_id = model_id or self.default_id()
        try:
            return self.cards()[model_id]
        except KeyError:
            raise ModelError(f"unknown model '{model_id}' (see `colorstudio models`)") from None

    def load(self, model_id: str | None, device: torch.device, verify: bool = True) -> LoadedModel:
        card = self.card(model_id)
        key = (card.id, str(device))
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
            if not card.has_weights:
                raise ModelError(
                    f"model '{card.id}' has no weights yet ({card.weights or 'none listed'}); "
                    "choose another with --model or train it (see training/README.md)")
            try:
                net = build(card.arch, card.config)
            except ModelError:
                raise
            except (TypeError, ValueError, RuntimeError) as exc:  # a config of wrong types
                raise ModelError(f"model '{card.id}': its card's [config] does not fit the "
                                 f"'{card.arch}' architecture ({exc})") from exc
            load_weights(net, card.weights_path, card.sha256 if verify else None)  # type: ignore[arg-type]
            net.eval().to(device)
            if net.channels_last:  # MobileNet-style (depthwise) convolutions run faster so
                net.to(memory_format=torch.channels_last)
            lm = LoadedModel(card, net, device)
            self._loaded[key] = lm
            return lm

    def forget(self, device: torch.device | None = None) -> None:
        with self._lock:
            for key in [k for k in self._loaded if device is None or k[1] == str(device)]:
                del self._loaded[key]


# --------------------------------------------------------------------------- .pth import

def _template_card(cards: dict[str, ModelCard], arch: str) -> ModelCard | None:
    """The installed card whose settings (config, normalisation, working size) an imported
    `arch` model takes: the bundled card named after the architecture, else the first card
    of that architecture that is not itself fine-tuned or imported."""
    same = [c for c in cards.values() if c.arch == arch]
    for c in same:
        if c.id == arch:
            return c
    plain = [c for c in same if not c.base]
    return (plain or same or [None])[0]


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9_-]+", "_", text.lower()).strip("_-")
    return s[:60] or "imported_model"


def _fit_report(net: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """'' when `state` fits `net` exactly; else a one-line summary of what does not."""
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if not (missing or unexpected or shapes):
        return ""
    parts = []
    if missing:
        parts.append(f"{len(missing)} of its {len(own)} tensors missing (e.g. '{missing[0]}')")
    if unexpected:
        parts.append(f"{len(unexpected)} unknown tensors (e.g. '{unexpected[0]}')")
    if shapes:
        k = shapes[0]
        parts.append(f"{len(shapes)} of other shapes (e.g. '{k}': {tuple(state[k].shape)} "
                     f"instead of {tuple(own[k].shape)})")
    return "; ".join(parts)


def import_pth_model(pth: Path, arch: str, dest: Path, cards: dict[str, ModelCard],
                     name: str | None = None, model_id: str | None = None) -> ModelCard:
    """`colorstudio import-model`: a PyTorch `.pth` state dict of a ColorStudio architecture
    becomes an installed model - safetensors weights `<id>-<sha8>.safetensors` and a card
    `<id>.toml` in `dest` (the user models folder).

    The file is read with `torch.load(weights_only=True)` (pickled code is refused, never run).
    The card takes its architecture settings from the installed card of `arch` (see
    `_template_card`), or the network's defaults when none is installed. The weights must fit
    the network exactly and run once on a small grey input before anything is written.
    Errors: one-line `ModelError`.
    """
    import datetime

    from ..core.cards import card_from_dict, card_to_toml, sha256_file, weights_name
    from ..core.imageio import atomic_write_text
    from ..nets import count_params, get_spec
    from .weights import load_weights, read_pth, write_safetensors

    pth, dest = Path(pth), Path(dest)
    spec = get_spec(arch)  # unknown architecture: ModelError listing the known ones
    template = _template_card(cards, arch)
    mid = model_id or _slug(pth.stem)
    if not mid.replace("_", "").replace("-", "").isalnum() or not mid.isascii():
        raise ModelError(f"model id '{mid}' must be letters, digits, '_' or '-'")
    if mid in cards or (dest / f"{mid}.toml").exists():
        raise ModelError(f"a model with id '{mid}' is already installed; choose another with "
                         "--id")
    state = read_pth(pth)
    config = dict(template.config) if template else {}
    try:
        net = build(arch, config)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"'{arch}': cannot build the network ({exc})") from exc
    problem = _fit_report(net, state)
    if problem:
        where = (f"as configured by the installed card '{template.id}'" if template
                 else "with its default settings")
        raise ModelError(f"{pth.name}: these weights do not fit the '{arch}' architecture "
                         f"{where}: {problem}")
    fields = dict(
        working_size=template.working_size, multiple=template.multiple, hints=template.hints,
        normalisation=template.normalisation, output_space=template.output_space,
        input_space=template.input_space, autocast=template.autocast,
    ) if template else dict(
        working_size=256, multiple=32, hints=bool(getattr(spec.cls, "uses_hints", False)),
        normalisation="rgb_tanh" if spec.output == "rgb" else "lab_l50_ab110",
        output_space=spec.output)
    floats = [v for v in state.values() if v.is_floating_point()]
    half = bool(floats) and all(v.dtype == torch.float16 for v in floats)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".{mid}.import.safetensors"
    final: Path | None = None
    try:
        write_safetensors(tmp, state, {"arch": arch, "id": mid, "source": pth.name})
        digest = sha256_file(tmp)
        final = dest / weights_name(mid, digest)
        os.replace(tmp, final)
        load_weights(net, final, digest)
        net.eval()
        side = max(fields["multiple"], 16) * 2
        try:
            with torch.inference_mode():
                net.predict(torch.zeros(1, 1, side, side))  # type: ignore[operator]
        except Exception as exc:  # noqa: BLE001 - reported as one line
            raise ModelError(f"{pth.name}: the network fails to run with these weights "
                             f"({type(exc).__name__}: {exc})") from exc
        data = dict(
            id=mid, name=name or f"{pth.stem} (imported)", version="1.0", arch=arch,
            config=config,
            paper=template.paper if template else f"not recorded (imported from {pth.name})",
            summary=f"Imported from {pth.name} with `colorstudio import-model` "
                    f"(architecture {arch}).",
            params=count_params(net), weights=final.name, sha256=digest,
            bytes=final.stat().st_size, precision="fp16" if half else "fp32",
            training_data=f"not recorded (imported from {pth.name})",
            licence=f"not recorded: check the terms under which {pth.name} was shared",
            recipe="", limitations="Not measured by ColorStudio yet: run `colorstudio eval "
                                   f"--data DIR --model {mid}` on your own colour photos.",
            created=datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            **fields)
        card = card_from_dict(data, dest / f"{mid}.toml")
        atomic_write_text(dest / f"{mid}.toml", card_to_toml(card))
    except BaseException:
        tmp.unlink(missing_ok=True)
        if final is not None:
            final.unlink(missing_ok=True)
        raise
    return card
