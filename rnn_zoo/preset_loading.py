"""A preset folder found by name or path, and its parts loaded and checked as untrusted input.

`rnn_zoo.presets.load_preset` wraps `load_preset_parts` in a `Preset`; `rnn_zoo.train`
uses it directly to fine-tune from a preset (training sits below presets, so it cannot
import them).
"""

from __future__ import annotations

import os
import typing
import warnings
from pathlib import Path
from typing import Any

from .errors import PresetError, UnknownTaskError
from .preprocessing import PREPROCESSOR_FILE, Preprocessor, load_preprocessor
from .preset_files import METADATA_FILE, MODEL_FILE, check_model_archive, read_metadata
from .registry import get_task, list_tasks
from .shipped import LosesToBaselineWarning, baseline_flag, shipped_path


def resolve_preset(name_or_path) -> Path:
    """A preset folder: the shipped preset of a registered task name (a str), else a path
    (write `./NAME` for a folder named like a task)."""
    if isinstance(name_or_path, str) and name_or_path in list_tasks():
        found = shipped_path(name_or_path)
        if found is None:
            raise PresetError(
                f"task {name_or_path!r} ships no trained preset; train one with "
                f"`rnn-zoo train {name_or_path} --out DIR` and load DIR"
            )
        return found
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    if isinstance(name_or_path, str) and "/" not in name_or_path and path.suffix == "":
        raise UnknownTaskError(
            f"{name_or_path!r} is neither a preset folder nor a registered task (`rnn-zoo list` shows the tasks)"
        )
    raise PresetError(f"no preset folder at {name_or_path}")


class PresetParts(typing.NamedTuple):
    """A preset folder's checked contents."""

    model: Any  # keras.Model
    preprocessor: Preprocessor
    metadata: dict
    folder: Path

    @property
    def shipped(self) -> bool:
        """Whether the folder is its task's preset shipped inside the package."""
        home = shipped_path(self.metadata["task"])
        return home is not None and self.folder.resolve() == home.resolve()


def load_preset_parts(name_or_path: str | os.PathLike, *, task: str | None = None, stacklevel: int = 2) -> PresetParts:
    """The model, preprocessor and metadata of the preset in a folder, or of the shipped
    preset of a registered task name, each checked (see `rnn_zoo.load_preset`). A preset
    that loses to its naive baseline warns (LosesToBaselineWarning) at `stacklevel`, as
    `warnings.warn` counts it here (2: the caller of this function)."""
    folder = resolve_preset(name_or_path)
    missing = [f for f in (MODEL_FILE, PREPROCESSOR_FILE, METADATA_FILE) if not os.path.lexists(folder / f)]
    if missing:
        raise PresetError(
            f"{folder} is not an rnn_zoo preset: it lacks {', '.join(missing)} (a preset holds "
            f"{MODEL_FILE}, {PREPROCESSOR_FILE} and {METADATA_FILE}, as `rnn-zoo train --out` writes)"
        )
    metadata = read_metadata(folder)  # (first: it checks that the folder holds only regular files)
    if task is not None and metadata["task"] != task:
        raise PresetError(f"{folder} holds a model of task {metadata['task']!r}, not {task!r}")
    spec = get_task(metadata["task"])
    preprocessor = load_preprocessor(folder, spec)
    model = _checked_model(folder, spec, preprocessor, metadata)
    parts = PresetParts(model, preprocessor, metadata, folder)
    flag = baseline_flag(metadata, spec.name if parts.shipped else f"the {spec.name} preset in {folder}")
    if flag:
        warnings.warn(flag, LosesToBaselineWarning, stacklevel=stacklevel)
    return parts


def _checked_model(folder: Path, spec, preprocessor: Preprocessor, metadata: dict):
    """The preset's model.keras, loaded safely once its archive is checked, and checked to
    be its task's model, as its metadata describes it."""
    import keras

    from .models import check_architecture, check_recorded_spec

    check_model_archive(folder / MODEL_FILE)
    try:
        model = keras.saving.load_model(folder / MODEL_FILE, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many kinds for a file it will not load
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise PresetError(f"{folder / MODEL_FILE} could not be loaded safely: {reason}") from None
    shape = tuple(model.input_shape[1:])
    if shape != spec.input_shape:  # (check_preprocessor made the preprocessor's shape the task's)
        raise PresetError(
            f"{folder}: the model takes inputs of shape {shape}, its preprocessor makes "
            f"{tuple(preprocessor.input_shape)} and task {spec.name!r} expects {spec.input_shape}"
        )
    # The model is its task's (no stock_lstm labelled stock_gru), as its metadata says.
    check_recorded_spec(metadata, preprocessor, where=str(folder / METADATA_FILE))
    check_architecture(model, spec.name, preprocessor, metadata["overrides"], where=str(folder / MODEL_FILE))
    if model.count_params() != metadata["parameters"]:
        raise PresetError(
            f"{folder / METADATA_FILE}: 'parameters' is {metadata['parameters']}, the model has {model.count_params()}"
        )
    return model
