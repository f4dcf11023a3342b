"""Model cards: one frozen `ModelCard` per bundled or user model, loaded from `<id>.toml`.

Cards live in `core/` (no torch) so the GUI can list models without importing torch.
Parsing is defensive: a size limit, required fields, and types checked, so a hostile or
broken card gives one clear `ModelError`, never a crash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelError

MAX_CARD_BYTES = 256 * 1024


@dataclass(frozen=True)
class Metrics:
    """Numbers measured by `colorstudio eval` on a named dataset, with the protocol used."""

    dataset: str = ""
    protocol: str = ""
    images: int = 0
    psnr: float | None = None
    ssim: float | None = None
    colourfulness: float | None = None
    # The colourfulness of the ground-truth photos themselves, measured in the same run: the
    # yardstick for the model's (Hasler-Suesstrunk; about 43 on ../shared/data/val).
    truth_colourfulness: float | None = None
    ciede2000: float | None = None
    grey_psnr: float | None = None
    psnr_hints10: float | None = None
    psnr_hints100: float | None = None
    command: str = ""


@dataclass(frozen=True)
class ModelCard:
    id: str
    name: str
    version: str
    arch: str
    config: dict[str, Any]
    paper: str
    summary: str = ""
    good_at: str = ""
    deviations: tuple[str, ...] = ()
    params: int = 0
    input_space: str = "L"
    output_space: str = "ab"
    normalisation: str = "lab_l50_ab110"
    working_size: int = 256
    multiple: int = 16
    hints: bool = False
    weights: str = ""
    sha256: str = ""
    bytes: int = 0
    precision: str = "fp16"
    autocast: bool = True
    training_data: str = ""
    licence: str = ""
    recipe: str = ""
    hardware: str = ""
    training_time: str = ""
    metrics: Metrics = field(default_factory=Metrics)
    limitations: str = ""
    intended_use: str = ""
    base: str = ""
    # Fine-tuned models (`colorstudio train`, the training wizard): what they were trained on.
    data_fingerprint: str = ""
    data_count: int = 0
    created: str = ""
    default: bool = False
    path: Path | None = field(default=None, compare=False)

    @property
    def weights_path(self) -> Path | None:
        if not self.weights or self.path is None:
            return None
        return self.path.parent / self.weights

    @property
    def has_weights(self) -> bool:
        p = self.weights_path
        return p is not None and p.is_file()

    def verify(self) -> bool:
        """True when the weights file exists and its sha256 matches the card."""
        p = self.weights_path
        return p is not None and p.is_file() and sha256_file(p) == self.sha256

    def summary_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path) if self.path else None
        d["weights_present"] = self.has_weights
        return d


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


_FIELDS = {f.name: f for f in dataclasses.fields(ModelCard) if f.name != "path"}
_METRIC_FIELDS = {f.name: f for f in dataclasses.fields(Metrics)}
_REQUIRED = ("id", "name", "version", "arch", "paper")
_KINDS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,),
                                       "float | None": (int, float)}


def weights_name(model_id: str, sha256: str) -> str:
    """Weights files are named `<id>-<first 8 hex digits of their sha256>.safetensors`."""
    return f"{model_id}-{sha256[:8]}.safetensors"


def weights_files(models_dir: Path, model_id: str) -> list[Path]:
    """The `<id>-<sha8>.safetensors` files of exactly this id (not of `<id>-other`, whose
    name also starts with `<id>-`)."""
    pattern = re.compile(re.escape(model_id) + r"-[0-9a-f]{8}\.safetensors")
    return sorted(p for p in Path(models_dir).glob(f"{model_id}-*.safetensors")
                  if pattern.fullmatch(p.name))


def _check_type(path: Path | None, where: str, value: Any, expected: str) -> None:
    kinds = _KINDS.get(expected)
    # bool is an int in Python; a card saying `params = true` is still wrong.
    if kinds is not None and (not isinstance(value, kinds)
                              or (isinstance(value, bool) and bool not in kinds)):
        raise ModelError(f"{path}: field '{where}' must be {kinds[0].__name__}")


def card_from_dict(data: dict[str, Any], path: Path | None = None) -> ModelCard:
    """A validated card; anything a hostile or broken card could use to crash later (a zero
    multiple, an unknown normalisation, weights outside the card's folder) is a `ModelError`."""
    from .color import NORMALISATIONS

    if not isinstance(data, dict):
        raise ModelError(f"{path}: a model card must be a TOML table")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ModelError(f"{path}: model card lacks {', '.join(missing)}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ModelError(f"{path}: unknown model card fields: {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "metrics":
            if not isinstance(value, dict) or set(value) - set(_METRIC_FIELDS):
                raise ModelError(f"{path}: malformed [metrics] table")
            for mk, mv in value.items():
                _check_type(path, f"metrics.{mk}", mv, str(_METRIC_FIELDS[mk].type))
            kwargs[key] = Metrics(**value)
        elif key == "deviations":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ModelError(f"{path}: 'deviations' must be a list of strings")
            kwargs[key] = tuple(value)
        elif key == "config":
            if not isinstance(value, dict):
                raise ModelError(f"{path}: 'config' must be a table")
            kwargs[key] = value
        else:
            _check_type(path, key, value, str(_FIELDS[key].type))
            kwargs[key] = value
    mid = kwargs["id"]
    if not mid or not mid.replace("_", "").replace("-", "").isalnum() or not mid.isascii():
        raise ModelError(f"{path}: model id must be letters, digits, '_' or '-'")
    if kwargs.get("normalisation", "lab_l50_ab110") not in NORMALISATIONS:
        raise ModelError(f"{path}: unknown normalisation '{kwargs['normalisation']}' "
                         f"(known: {', '.join(NORMALISATIONS)})")
    if kwargs.get("output_space", "ab") not in ("ab", "rgb"):
        raise ModelError(f"{path}: output_space must be 'ab' or 'rgb'")
    if not 16 <= kwargs.get("working_size", 256) <= 8192:
        raise ModelError(f"{path}: working_size must be between 16 and 8192")
    if not 1 <= kwargs.get("multiple", 16) <= 1024:
        raise ModelError(f"{path}: multiple must be between 1 and 1024")
    weights = kwargs.get("weights", "")
    if weights and (Path(weights).name != weights or weights in (".", "..")):
        raise ModelError(f"{path}: weights must be a file name beside the card, not a path")
    sha = kwargs.get("sha256", "")
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha)):
        raise ModelError(f"{path}: sha256 must be 64 lower-case hex digits")
    return ModelCard(path=path, **kwargs)


def load_card(path: Path) -> ModelCard:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CARD_BYTES:
            raise ModelError(f"{path}: model card is larger than {MAX_CARD_BYTES} bytes")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ModelError(f"{path}: cannot read model card ({exc})") from exc
    return card_from_dict(data, path)


def card_to_toml(card: ModelCard) -> str:
    """Serialise a card back to TOML (simple writer: strings, numbers, bools, lists, tables)."""
    d = dataclasses.asdict(card)
    d.pop("path")
    metrics = d.pop("metrics")
    config = d.pop("config")
    lines = [f"{k} = {_toml_value(v)}" for k, v in d.items()]
    lines.append("\n[config]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in config.items()]
    lines.append("\n[metrics]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in metrics.items() if v is not None]
    return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def bundled_models_dir() -> Path:
    """`models/` beside the package (source checkout) or inside a frozen installation."""
    here = Path(__file__).resolve().parent.parent
    for cand in (here.parent / "models", here / "models"):
        if cand.is_dir():
            return cand
    return here.parent / "models"


def user_models_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("ColorStudio", appauthor=False)) / "models"


def discover_cards(dirs: list[Path] | None = None) -> dict[str, ModelCard]:
    """All cards in the bundled and user model folders; later folders override earlier ones."""
    cards: dict[str, ModelCard] = {}
    for d in dirs if dirs is not None else [bundled_models_dir(), user_models_dir()]:
        if not d.is_dir():
            continue
        for p in sorted(d.glob("*.toml")):
            try:
                card = load_card(p)
            except ModelError:
                continue  # a broken user card must not hide the others; `models` reports it
            cards[card.id] = card
    return cards


def default_model_id(cards: dict[str, ModelCard]) -> str | None:
    for c in cards.values():
        if c.default:
            return c.id
    return next(iter(cards), None)
