"""Architecture registry: `@register_arch("id", Config)` on each network class.

Registering the same id twice raises, so two modules can never silently shadow each other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from torch import nn

from ..core.errors import ModelError


@dataclass(frozen=True)
class ArchSpec:
    id: str
    cls: type[nn.Module]
    config_cls: type
    output: str  # "ab" (Lab chroma) or "rgb"


ARCHS: dict[str, ArchSpec] = {}
T = TypeVar("T", bound=type)


def register_arch(arch_id: str, config_cls: type, output: str = "ab") -> Callable[[T], T]:
    def wrap(cls: T) -> T:
        if arch_id in ARCHS:
            raise ValueError(f"architecture '{arch_id}' is already registered")
        ARCHS[arch_id] = ArchSpec(arch_id, cls, config_cls, output)
        cls.arch_id = arch_id  # type: ignore[attr-defined]
        return cls

    return wrap


def make_config(arch_id: str, config: dict[str, Any] | None = None) -> Any:
    spec = get_spec(arch_id)
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    config = dict(config or {})
    unknown = set(config) - fields
    if unknown:
        raise ModelError(f"unknown config keys for {arch_id}: {', '.join(sorted(unknown))}")
    for k, v in config.items():  # TOML has no tuples
        if isinstance(v, list):
            config[k] = tuple(v)
    return spec.config_cls(**config)


def build(arch_id: str, config: dict[str, Any] | None = None) -> nn.Module:
    spec = get_spec(arch_id)
    return spec.cls(make_config(arch_id, config))


def get_spec(arch_id: str) -> ArchSpec:
    from . import load_all

    load_all()
    try:
        return ARCHS[arch_id]
    except KeyError:
        raise ModelError(
            f"unknown architecture '{arch_id}' (known: {', '.join(sorted(ARCHS))})"
        ) from None


def count_params(model: nn.Module) -> int:
    """Parameters of the inference network (what the weights file holds)."""
    return sum(p.numel() for p in model.parameters())
