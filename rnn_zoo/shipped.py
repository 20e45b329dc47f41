"""The presets that ship inside the package (`rnn_zoo/pretrained/NAME/`), and whether a
preset beats its naive baseline. Reads JSON (and the model cards) only: no TensorFlow."""

from __future__ import annotations

import functools
from pathlib import Path

from .data.loading import data_class
from .metrics import fmt_number
from .preprocessing import Preprocessor, load_preprocessor
from .preset_files import METADATA_FILE, read_metadata
from .registry import list_tasks

SHIPPED_DIR = Path(__file__).resolve().parent / "pretrained"


def shipped_path(name: str) -> Path | None:
    """The folder of task `name`'s shipped preset, or None when it ships none."""
    folder = SHIPPED_DIR / name
    return folder if (folder / METADATA_FILE).is_file() else None


def list_presets() -> list[str]:
    """The registered tasks that ship a trained preset."""
    return [name for name in list_tasks() if shipped_path(name) is not None]


@functools.cache
def shipped_preprocessor(name: str) -> Preprocessor | None:
    """The preprocessor of task `name`'s shipped preset (no TensorFlow needed), or None."""
    folder = shipped_path(name)
    return load_preprocessor(folder) if folder is not None else None


def shipped_metadata(name: str) -> dict | None:
    folder = shipped_path(name)
    return read_metadata(folder) if folder is not None else None


# A shipped preset's model card (written by the checkout's `python -m tools.model_cards`), and
# the heading of its summary, which `rnn-zoo info` prints.
MODEL_CARD_FILE = "MODEL_CARD.md"
CARD_SUMMARY = "## At a glance"


class LosesToBaselineWarning(UserWarning):
    """`load_preset` of a preset whose headline metric is worse than its naive baseline's."""


def higher_is_better(task: str, metric: str) -> bool:
    """Whether a higher `metric` is better on task `task` (its family's data class says so)."""
    return metric in data_class(task).higher_is_better


def baseline_margin(metadata: dict) -> float:
    """How far a preset's headline metric beats its naive baseline's on its own test split,
    relative to the baseline's: above 0 when the preset beats it, below 0 when it loses."""
    metric = metadata["headline_metric"]
    model, baseline = metadata["metrics"][metric], metadata["baseline"][metric]
    gain = model - baseline if higher_is_better(metadata["task"], metric) else baseline - model
    return gain / (abs(baseline) or 1.0)


def family_leader(family: str) -> str | None:
    """The shipped preset of `family` whose headline metric beats its naive baseline by the
    largest margin (relative), or None when none of them beats it."""
    margins = {}
    for name in list_presets():
        meta = shipped_metadata(name)
        if meta["family"] == family:
            margins[name] = baseline_margin(meta)
    best = max(margins, key=margins.__getitem__, default=None)
    return best if best is not None and margins[best] > 0 else None


def _versus(metadata: dict) -> str:
    metric = metadata["headline_metric"]
    return f"{metric} {fmt_number(metadata['metrics'][metric])} vs {fmt_number(metadata['baseline'][metric])}"


def baseline_flag(metadata: dict, label: str | None = None) -> str | None:
    """None when a preset's headline metric is at least as good as its naive baseline's on
    its own test split; else that it loses, in one line, naming the shipped preset of its
    family that beats its baseline by the most, if one does. Reads the metadata only."""
    if baseline_margin(metadata) >= 0:
        return None
    family = metadata["family"]
    flag = (
        f"{label or metadata['task']} loses to its naive baseline on its own test split "
        f"({_versus(metadata)}, {metadata['baseline']['name']})"
    )
    leader = family_leader(family)
    if leader is None:
        return flag + f"; no shipped preset of the {family} family beats its baseline"
    better = f"{leader} is the {family} family's preset that beats its baseline by the most"
    return f"{flag}; {better} ({_versus(shipped_metadata(leader))})"


def loses_to_baseline(name: str) -> str | None:
    """Whether task `name`'s shipped preset loses to its naive baseline: None when it does
    not (or ships none), else the flag in one line (see `baseline_flag`)."""
    meta = shipped_metadata(name)
    return baseline_flag(meta) if meta is not None else None


def card_summary(name: str) -> list[str] | None:
    """The summary lines of task `name`'s shipped model card (without their Markdown bullet
    and emphasis), or None when it ships no card."""
    folder = shipped_path(name)
    card = folder / MODEL_CARD_FILE if folder is not None else None
    if card is None or not card.is_file():
        return None
    section = card.read_text(encoding="utf-8").split(CARD_SUMMARY + "\n", 1)[-1].split("\n## ", 1)[0]
    return [line[2:].replace("**", "") for line in section.splitlines() if line.startswith("- ")]
