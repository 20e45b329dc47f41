"""The presets that ship inside the package (`rnn_zoo/pretrained/NAME/`), and the preset
metadata schema every preset, shipped or not, follows. Reads JSON only: no TensorFlow."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from .errors import PresetError
from .preprocessing import Preprocessor, load_preprocessor
from .registry import list_tasks

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).resolve().parent / "pretrained"

# Every metadata.json has these keys, with values of these types (checked on load and by
# the tests over every shipped preset).
METADATA_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "format_version": int,
    "task": str,
    "family": str,
    "description": str,
    "spec": dict,
    "overrides": dict,
    "seed": int,
    "epochs": int,
    "batch_size": int,
    "parameters": int,
    "metrics": dict,
    "baseline": dict,
    "headline_metric": str,
    "dataset": dict,
    "versions": dict,
    "date": str,
    "command": str,
    "data_options": dict,
    "max_train_samples": (int, type(None)),
}
DATASET_KEYS = ("name", "license", "citation", "url", "source_file", "sha256")
VERSION_KEYS = ("rnn_zoo", "tensorflow", "keras", "python")


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


def check_metadata(metadata: Any, where: str = "metadata") -> dict:
    """`metadata` if it follows METADATA_SCHEMA, else a PresetError naming what is wrong."""
    if not isinstance(metadata, dict):
        raise PresetError(f"{where}: expected a JSON object")
    problems = [f"{key!r} missing" for key in METADATA_SCHEMA if key not in metadata]
    problems += [
        f"{key!r} is not of type {kind}"
        for key, kind in METADATA_SCHEMA.items()
        if key in metadata and not isinstance(metadata[key], kind)
    ]
    if not problems:
        if metadata["format_version"] != FORMAT_VERSION:
            problems.append(f"format version {metadata['format_version']}; this rnn_zoo reads {FORMAT_VERSION}")
        problems += [f"dataset.{k} missing" for k in DATASET_KEYS if k not in metadata["dataset"]]
        problems += [f"versions.{k} missing" for k in VERSION_KEYS if k not in metadata["versions"]]
        if metadata["headline_metric"] not in metadata["metrics"]:
            problems.append(f"headline metric {metadata['headline_metric']!r} is not among the metrics")
        if metadata["baseline"].keys() - {"name"} != metadata["metrics"].keys():
            problems.append("the baseline's metrics are not the model's")
    if problems:
        raise PresetError(f"{where}: " + "; ".join(problems))
    return metadata


def read_metadata(folder) -> dict:
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        raise PresetError(
            f"{folder} holds no {METADATA_FILE}: it is not an rnn_zoo preset "
            "(a folder written by `rnn-zoo train` or `save_preset`)"
        )
    try:
        metadata = json.loads(path.read_text())
    except (ValueError, OSError) as e:
        raise PresetError(f"{path} is not valid JSON ({e})") from None
    return check_metadata(metadata, str(path))
