"""The presets that ship inside the package (`rnn_zoo/pretrained/NAME/`). Reads JSON only:
no TensorFlow."""

from __future__ import annotations

import functools
from pathlib import Path

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
