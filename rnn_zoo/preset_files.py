"""A preset folder's format: its files, the metadata schema, and writing one whole.

model.keras          the Keras model, loadable with safe_mode=True (no optimizer state)
preprocessor.json    the family's preprocessing state as plain data ...
assets/              ... and its files, e.g. the SMS vocabulary
metadata.json        task, spec, seed, metrics beside the baseline's, dataset and its
                     terms, versions, date, the command that reproduces it
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import PresetError
from .model_state import check_finite_weights, local_copy
from .outputs import atomic_directory
from .preprocessing import Preprocessor

MODEL_FILE = "model.keras"
METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1

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


def save_preset(
    folder: str | os.PathLike, model, preprocessor: Preprocessor, metadata: dict, *, overwrite: bool = False
) -> Path:
    """Write a preset folder in one rename. An existing folder is replaced only if it is a
    zoo output or empty, or with `overwrite`."""
    check_metadata(metadata)
    with atomic_directory(folder, kind="preset", overwrite=overwrite) as staging:
        write_preset(staging, model, preprocessor, metadata)
    return Path(folder)


def write_preset(folder: Path, model, preprocessor: Preprocessor, metadata: dict) -> None:
    """The preset's files in an existing `folder`. The model is saved without its
    optimizer: a preset is for predicting, and Adam's slots would triple its size."""
    check_finite_weights(model)
    local_copy(model).save(folder / MODEL_FILE)  # uncompiled (clone_model would compile it)
    preprocessor.save(folder)
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=1) + "\n")
