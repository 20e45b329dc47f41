"""A preset folder's format: its files, the metadata schema, and writing one whole.

model.keras          the Keras model, loadable with safe_mode=True (no optimizer state)
preprocessor.json    the family's preprocessing state as plain data ...
assets/              ... and its files, e.g. the SMS vocabulary
metadata.json        task, spec, seed, metrics beside the baseline's, dataset and its
                     terms, versions, date, the command that reproduces it
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from pathlib import Path
from typing import Any

from .errors import PresetError, UnknownTaskError, shown
from .model_state import check_finite_weights, local_copy
from .outputs import atomic_directory
from .preprocessing import Preprocessor, check_preset_folder, read_preset_json
from .registry import get_task

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
    """`metadata` if it follows METADATA_SCHEMA and every field holds a value it may take
    (ranges, finite metrics, a registered task of its family), else a PresetError naming
    the file and what is wrong, in one line."""
    if not isinstance(metadata, dict):
        raise PresetError(f"{where}: expected a JSON object")
    problems = [f"{key!r} missing" for key in METADATA_SCHEMA if key not in metadata]
    problems += [
        f"{key!r} is not of type {_type_name(kind)}"
        for key, kind in METADATA_SCHEMA.items()
        if key in metadata and not _is_type(metadata[key], kind)
    ]
    if not problems:
        if metadata["format_version"] != FORMAT_VERSION:
            problems.append(f"'format_version' is {metadata['format_version']}; this rnn_zoo reads {FORMAT_VERSION}")
        problems += [f"dataset.{k} missing" for k in DATASET_KEYS if k not in metadata["dataset"]]
        problems += [f"versions.{k} missing" for k in VERSION_KEYS if k not in metadata["versions"]]
        if metadata["headline_metric"] not in metadata["metrics"]:
            problems.append(f"'headline_metric' {metadata['headline_metric'][:60]!r} is not among the metrics")
        unmatched = sorted(metadata["baseline"].keys() - {"name"} ^ metadata["metrics"].keys())
        if unmatched:
            problems.append(f"the baseline's metrics are not the model's: {unmatched[0]!r} is in one only"[:200])
        problems += _value_problems(metadata)
    if problems:
        raise PresetError(f"{where}: " + "; ".join(problems))
    return metadata


# The least and the largest value each integer field may take (max_train_samples may also be null).
METADATA_MINIMUMS = {"seed": 0, "epochs": 1, "batch_size": 1, "parameters": 1, "max_train_samples": 1}
METADATA_MAXIMUMS = {"seed": 2**32 - 1, "epochs": 10**6, "batch_size": 10**7, "parameters": 10**10}


def _value_problems(metadata: dict) -> list[str]:
    """What is wrong with the values of a metadata whose keys and types are right."""
    problems = [
        f"{key!r} must be >= {low}, got {shown(metadata[key])}"
        for key, low in METADATA_MINIMUMS.items()
        if metadata.get(key) is not None and metadata[key] < low
    ]
    problems += [
        f"{key!r} must be <= {high}, got {shown(metadata[key])}"
        for key, high in METADATA_MAXIMUMS.items()
        if metadata[key] > high
    ]
    try:
        spec = get_task(metadata["task"])
    except UnknownTaskError:
        return [*problems, f"'task' {metadata['task'][:60]!r} is not a registered task"]
    if metadata["family"] != spec.family:
        problems.append(f"'family' {metadata['family'][:60]!r} is not task {spec.name!r}'s family {spec.family!r}")
    baseline = {k: v for k, v in metadata["baseline"].items() if k != "name"}
    for field, values in (("metrics", metadata["metrics"]), ("baseline", baseline)):
        problems += [f"{field}.{k} must be a finite number" for k, v in values.items() if not _finite(v)]
    if not isinstance(metadata["baseline"].get("name"), str):
        problems.append("baseline.name must be a string")
    for field, keys in (("dataset", DATASET_KEYS), ("versions", VERSION_KEYS)):
        problems += [f"{field}.{k} must be a string" for k in keys if not isinstance(metadata[field].get(k, ""), str)]
    spec_parts = metadata["spec"]
    problems += [f"spec.{k} must be an object" for k in ("model", "train") if not isinstance(spec_parts.get(k), dict)]
    problems += _training_problems(metadata.get("training", {}))
    problems += _parent_problems(metadata.get("parent"))
    return problems


# A fine-tuned preset's "parent" (`rnn_zoo.TrainResult.parent`): description only, never opened.
PARENT_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "task": str,
    "preset": str,
    "shipped": bool,
    "model_sha256": str,
    "dataset_sha256": (str, type(None)),
    "seed": int,
}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _parent_problems(parent: Any) -> list[str]:
    """The optional record of the preset a fine-tuned preset started from: its keys and
    types, sha256s of 64 hex digits, a seed numpy takes, and a preset's name, not a path."""
    if parent is None:
        return []
    if not isinstance(parent, dict):
        return ["'parent' must be an object"]
    problems = [
        f"parent.{key} must be of type {_type_name(kind)}"
        for key, kind in PARENT_SCHEMA.items()
        if not _is_type(parent.get(key), kind)
    ]
    if problems:
        return problems
    for key in ("model_sha256", "dataset_sha256"):
        if parent[key] is not None and not _SHA256.fullmatch(parent[key]):
            problems.append(f"parent.{key} must be 64 hex digits, got {parent[key][:70]!r}")
    if not 0 <= parent["seed"] < 2**32:
        problems.append(f"parent.seed must be from 0 to 4294967295, got {shown(parent['seed'])}")
    name = parent["preset"]
    if not name or len(name) > 255 or any(c in name for c in "/\\\0") or name in (".", ".."):
        problems.append(f"parent.preset must be a preset's name, not a path, got {name[:70]!r}")
    return problems


def _training_problems(record: Any) -> list[str]:
    """The optional training record: its wall time and its history of finite numbers."""
    if not isinstance(record, dict):
        return ["'training' must be an object"]
    problems = []
    wall = record.get("wall_time_s", 0.0)
    if not _finite(wall) or wall < 0:
        problems.append("training.wall_time_s must be a finite number >= 0")
    history = record.get("history", {})
    if not isinstance(history, dict) or not all(
        isinstance(v, list) and all(_finite(x) for x in v) for v in history.values()
    ):
        problems.append("training.history must map names to lists of finite numbers")
    return problems


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_type(value, kind) -> bool:
    """isinstance, except that a bool is never an int (JSON true is not 1)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kind)


def _type_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def read_metadata(folder) -> dict:
    """The checked metadata of a preset folder (see `check_metadata`); the folder's files
    are checked first (`check_preset_folder`: no link, FIFO or device, bounded sizes)."""
    path = Path(folder) / METADATA_FILE
    if not os.path.lexists(path):  # (a link or a FIFO is there: check_preset_folder names it)
        raise PresetError(
            f"{folder} holds no {METADATA_FILE}: it is not an rnn_zoo preset "
            "(a folder written by `rnn-zoo train` or `save_preset`)"
        )
    check_preset_folder(folder)
    return check_metadata(read_preset_json(path), str(path))


# What a model.keras (a zip) may hold, and the most each entry may expand to (bytes): a
# larger entry (a zip bomb: a small file whose config expands to gigabytes) is refused
# before Keras reads it.
MODEL_ENTRY_LIMITS = {"config.json": 1 << 20, "metadata.json": 1 << 20, "model.weights.h5": 512 << 20}
MODEL_ASSETS_LIMIT = 64 << 20  # each entry under assets/
MODEL_TOTAL_LIMIT = 768 << 20
MAX_MODEL_ENTRIES = 100


def check_model_archive(path) -> None:
    """A PresetError naming `path` and the entry unless the zip holds only the entries a
    Keras file holds (config.json, metadata.json, model.weights.h5, assets/...), each
    once, within its size (as it will be read: uncompressed) and all within a total."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise PresetError(f"{path} is not a Keras file (a zip): {e}") from None
    if len(entries) > MAX_MODEL_ENTRIES:
        raise PresetError(f"{path} holds {len(entries)} entries; a Keras file holds a few")
    names = [e.filename for e in entries]
    total = 0
    for entry in entries:
        name = entry.filename
        limit = MODEL_ENTRY_LIMITS.get(name) or (MODEL_ASSETS_LIMIT if name.startswith("assets/") else None)
        if limit is None or ".." in name.split("/"):
            raise PresetError(
                f"{path}: entry {name[:80]!r} is not one a Keras file holds ({', '.join(MODEL_ENTRY_LIMITS)})"
            )
        if names.count(name) > 1:
            raise PresetError(f"{path}: entry {name!r} is there twice")
        if entry.file_size > limit:
            raise PresetError(
                f"{path}: entry {name!r} expands to {entry.file_size:,} bytes, more than its limit {limit:,}"
            )
        total += entry.file_size
    if total > MODEL_TOTAL_LIMIT:
        raise PresetError(f"{path}: its entries expand to {total:,} bytes, more than the limit {MODEL_TOTAL_LIMIT:,}")
    missing = [name for name in ("config.json", "model.weights.h5") if name not in names]
    if missing:
        raise PresetError(f"{path}: entry {missing[0]!r} is missing: it is not a Keras file")


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
