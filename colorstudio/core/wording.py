"""Model-card texts in the users' words, for what the app shows (the cards on disk keep the
developers' record unchanged).

* "paper 003" - the project's shorthand for the papers in `../shared/papers/` - becomes the
  paper's title and authors (or goes, where the text already names that paper);
* the project's data folders (`../shared/data/train`, `../shared/data/val`) become "the
  project's training set" and "the project's validation set";
* loss weights, recorded as Python dictionaries ("losses {'class': 1.0, 'huber': 10.0}"),
  become words ("colour-class cross-entropy ×1 + Huber ×10"), and an export recipe's stage
  list is summarised once.

No Qt, no torch: the GUI and the CLI can both use it.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass

from .cards import ModelCard


@dataclass(frozen=True)
class Paper:
    title: str
    authors: tuple[str, ...]

    @property
    def byline(self) -> str:
        """'Mathur, Dabas, Rana & Kumar' (family names, as the cards cite them)."""
        names = [a.split()[-1] for a in self.authors]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " & " + names[-1]

    def cite(self) -> str:
        return f"{self.byline}: “{self.title}”"


# The papers of ../shared/papers/NNN_*.txt, by their number (title and authors as printed on
# each paper's first page).
PAPERS: dict[str, Paper] = {
    "000": Paper("Recoloring Grayscale Images using GAN",
                 ("Aeshita Mathur", "Ameesha Dabas", "Parikshit Rana", "Sanjay Kumar")),
    "001": Paper("A comprehensive Analysis on Image Colorization using Generative Adversarial "
                 "Networks (GANs)", ("Hazel Mahajan",)),
    "002": Paper("Image Colorization using Conditional Generative Adversarial Networks",
                 ("Mojtaba Roshana", "Roya Joulaei Vijouyeh", "Asal Rangrazi Asl")),
    "003": Paper("Image Colorization Using Deep Neural Networks", ("Alireza Dehghan",)),
    "004": Paper("Recolorisation of Images using Deep Neural Networks",
                 ("Madhavi Mane", "Shivam", "Khushboo Kumari", "Tanmay Sharma")),
}

DATA_SPLITS = {"train": "the project's training set", "val": "the project's validation set",
               "dev": "the project's development set", "test": "the project's test set"}

LOSS_NAMES = {"class": "colour-class cross-entropy", "huber": "Huber", "l1": "L1",
              "mse": "mean squared error", "adv": "adversarial", "cycle": "cycle consistency",
              "cosine": "cosine", "diversity": "colour diversity", "perceptual": "perceptual"}

# "paper 003", "papers 000 [10] and 003 [2]", with the separator before it (" - ", "; ").
_PAPER_REF = re.compile(
    r"(?P<sep>\s*[-–—;,]\s*)?\bpapers?\s+(?P<ids>\d{3}(?:\s*\[\d+\])?"
    r"(?:(?:\s*,\s*|\s+and\s+|\s*&\s*)\d{3}(?:\s*\[\d+\])?)*)", re.IGNORECASE)
_DATA_PATH = re.compile(r"(?:\.\./)*shared/data/(?P<split>[A-Za-z0-9_-]+)/?")
_DICT = re.compile(r"(?P<label>\blosses:?\s*)?(?P<dict>\{[^{}]*\})")
_STAGE = re.compile(r"stage (?P<i>\d+): (?P<px>\d+) ?px, batch (?P<batch>\d+), "
                    r"(?P<amount>[\d.]+) (?P<unit>min|steps), losses (?P<losses>\{[^{}]*\})")
_EXPORT_RECIPE = re.compile(r"python -m colorstudio\.train (?P<file>\S+) --export\s*"
                            r"\((?P<stages>.*)\)\s*$")


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def paper_words(text: str) -> str:
    """'paper 003' -> the paper's title and authors; dropped where `text` already has the title."""
    def repl(m: re.Match[str]) -> str:
        ids = re.findall(r"\d{3}", re.sub(r"\[\d+\]", "", m.group("ids")))
        papers = [PAPERS[i] for i in ids if i in PAPERS]
        if len(papers) != len(ids):
            return m.group(0)  # an unknown number: leave it as written
        new = [p for p in papers if p.title.lower() not in text.lower()]
        if not new:
            return ""  # the text names the paper already: the number says nothing more
        return (m.group("sep") or "") + _join([p.cite() for p in new])

    return _PAPER_REF.sub(repl, text)


def data_words(text: str) -> str:
    """'../shared/data/train' -> "the project's training set"."""
    return _DATA_PATH.sub(lambda m: DATA_SPLITS.get(m.group("split").lower(),
                                                    f"the project's '{m.group('split')}' set"),
                          text)


def losses_words(losses: dict) -> str:
    """{'class': 1.0, 'huber': 10.0} -> 'colour-class cross-entropy ×1 + Huber ×10'."""
    return " + ".join(f"{LOSS_NAMES.get(str(k), str(k))} ×{float(v):g}"
                      for k, v in losses.items())


def _as_losses(text: str) -> dict | None:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(value, dict) and value and all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in value.items()):
        return value
    return None


def dict_words(text: str) -> str:
    """Loss dictionaries anywhere in `text` become words; other braces stay."""
    def repl(m: re.Match[str]) -> str:
        losses = _as_losses(m.group("dict"))
        if losses is None:
            return m.group(0)
        return ("losses: " if m.group("label") else "") + losses_words(losses)

    return _DICT.sub(repl, text)


def recipe_words(recipe: str) -> str:
    """An export recipe ('python -m colorstudio.train R.toml --export (stage 0: 64px, batch 32,
    30 min, losses {...}; ...)') summarised: the stages' sizes and times, the losses once."""
    m = _EXPORT_RECIPE.match(recipe.strip())
    stages = list(_STAGE.finditer(m.group("stages"))) if m else []
    if not m or not stages:
        return plain(recipe)
    losses = [_as_losses(s.group("losses")) for s in stages]
    if any(x is None for x in losses):
        return plain(recipe)
    same = all(x == losses[0] for x in losses)
    # Consecutive stages at the same size, batch and losses read as one longer stage.
    runs: list[list] = []
    for st, lo in zip(stages, losses):
        key = (st.group("px"), st.group("batch"), st.group("unit"), lo)
        if runs and runs[-1][0] == key:
            runs[-1][1] += float(st.group("amount"))
            runs[-1][2] += 1
        else:
            runs.append([key, float(st.group("amount")), 1])
    parts = []
    for (px, batch, unit, lo), amount, count in runs:
        part = f"{px} px for {round(amount, 1):g} {unit}"
        if count > 1:
            part += f" in {count} stages"
        part += f" (batch {batch}" + ("" if same else f"; {losses_words(lo)}") + ")"
        parts.append(part)
    n = len(stages)
    text = f"{n} stage{'s' if n > 1 else ''}: " + ", then ".join(parts)
    if same:
        text += f"; losses: {losses_words(losses[0])}"
    return f"{text} (recipe {m.group('file')})"


def plain(text: str) -> str:
    """Every rewrite above, for any card text."""
    return dict_words(data_words(paper_words(text)))


def card_for_people(card: ModelCard) -> ModelCard:
    """The card with its shown texts in the users' words (paths, numbers, ids unchanged)."""
    m = card.metrics
    metrics = dataclasses.replace(m, dataset=plain(m.dataset)) if m.dataset else m
    return dataclasses.replace(
        card, paper=plain(card.paper), summary=plain(card.summary),
        good_at=plain(card.good_at), deviations=tuple(plain(d) for d in card.deviations),
        training_data=plain(card.training_data), licence=plain(card.licence),
        recipe=recipe_words(card.recipe) if card.recipe else "",
        limitations=plain(card.limitations), intended_use=plain(card.intended_use),
        metrics=metrics)


__all__ = ["PAPERS", "Paper", "card_for_people", "plain", "paper_words", "data_words",
           "losses_words", "recipe_words", "dict_words"]
