"""Finding, verifying and loading models: cards from `models/` and the user's models folder,
weights through safetensors with the card's sha256; loaded networks cached once per device.
"""

from __future__ import annotations

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
            lm = LoadedModel(card, net, device)
            self._loaded[key] = lm
            return lm

    def forget(self, device: torch.device | None = None) -> None:
        with self._lock:
            for key in [k for k in self._loaded if device is None or k[1] == str(device)]:
                del self._loaded[key]
