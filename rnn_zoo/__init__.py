"""rnn_zoo: the classic recurrent-network tutorials as one-line, reproducible baselines.

    import rnn_zoo
    rnn_zoo.list_tasks("letters_*")
    model = rnn_zoo.build("letters_4pre1")                  # compiled keras.Sequential
    train_ds, test_ds = rnn_zoo.load_data("letters_4pre1")  # batched tf.data pipelines
    result = rnn_zoo.train("letters_4pre1")                 # fit + evaluate + baseline
    result.save_preset("my_letters")                        # model + preprocessing + metadata
    preset = rnn_zoo.load_preset("letters_4pre1")           # the shipped, trained preset
    preset.predict("abcd")                                  # {'prediction': 'e', ...}
    preset.export("saved_models/letters_4pre1_serving")     # SavedModel, human-input `serve`

`import rnn_zoo` loads the registry only; TensorFlow and Keras are imported on first use.
"""

from __future__ import annotations

import importlib
import inspect
import numbers
from typing import Any

from . import (
    backend,  # noqa: F401  (rnn_zoo.backend.name(): the Keras backend in use)
    tasks,  # noqa: F401  (registers every task)
)
from .data import TaskData
from .errors import DataError, DataNotFoundError, InvalidOverrideError, PresetError, RnnZooError, UnknownTaskError
from .preprocessing import Preprocessor, check_preprocessor, load_preprocessor
from .presets import Preset, load_preset
from .registry import DatasetInfo, ModelSpec, TaskSpec, TrainSpec, get_task, list_tasks, register
from .shipped import list_presets

__version__ = "0.1.0"

# Public names whose modules import TensorFlow, loaded on first access.
_LAZY = {
    "train": "training",
    "evaluate": "training",
    "TrainResult": "training",
    "export": "exporting",
    "save_preset": "presets",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'rnn_zoo' has no attribute {name!r}")


def build(name: str, *, preprocessor: Preprocessor | None = None, compile: bool = True, **overrides: Any):
    """The model of task `name`: the tutorial's exact reference model unless overridden.

    Sizes that depend on the data (the SMS vocabulary) come from `preprocessor`, the
    family's preprocessing state (`load_task_data(name, seed=...).preprocessor`, or a
    preset's); without one, from the task's shipped preset. The overrides and what each
    accepts are listed in `rnn_zoo.models.OVERRIDES`: cell, units, num_layers,
    bidirectional, dropout (between recurrent layers), learning_rate, optimizer, loss,
    lr_schedule, embedding_dim, vocab_size, and batch_size for stateful tasks.
    """
    from .models import build_from_spec

    return build_from_spec(get_task(name), preprocessor=preprocessor, compile=compile, **overrides)


def check_seed(seed) -> None:
    """Seeds are what numpy and TensorFlow accept: whole numbers from 0 to 2**32 - 1."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise InvalidOverrideError(f"seed must be a whole number from 0 to 4294967295, got {seed!r}")


def load_task_data(
    name: str, *, data_dir=None, seed: int = 0, preprocessor: Preprocessor | None = None, **options: Any
) -> TaskData:
    """Task `name`'s data as numpy arrays, with `.preprocessor`, the family's preprocessing
    state (letter codec, price scaler, vocabulary) fitted on the training split.

    `data_dir` defaults to $RNN_ZOO_DATA, then the user cache; `options` override the
    task's loader defaults (e.g. csv_path= and price_column= for the stock tasks). A given
    `preprocessor` (a trained model's) encodes the data instead of one fitted here."""
    spec = get_task(name)
    check_seed(seed)
    if preprocessor is not None:
        check_preprocessor(spec, preprocessor)
        options["preprocessor"] = preprocessor
    params = inspect.signature(spec.loader).parameters
    valid = sorted(set(params) - {"data_dir", "seed", "preprocessor"})
    unknown = sorted(set(options) - set(valid) - {"preprocessor"})
    if unknown:
        raise InvalidOverrideError(
            f"unknown data option(s) {unknown} for task {name!r}; valid options: {', '.join(valid) or 'none'}"
        )
    try:
        data = spec.loader(**{**spec.data_options, **options}, data_dir=data_dir, seed=seed)
    except (TypeError, ValueError, IndexError) as e:
        if isinstance(e, RnnZooError) or not options:
            raise
        given = {k: v for k, v in options.items() if k != "preprocessor"}
        raise DataError(f"task {name!r}: data options {given} were refused by its loader ({e})") from None
    for part, x in (("training", data.x_train), ("test", data.x_test)):
        if len(x) == 0:
            raise DataError(
                f"task {name!r}: the {part} split is empty with these data options; nothing could be trained or scored"
            )
    return data


def load_data(name: str, *, data_dir=None, batch_size: int | None = None, seed: int = 0, **options: Any):
    """(train_ds, test_ds): batched, cached, prefetched tf.data pipelines of (inputs,
    targets) that feed `build(name)` directly. Only the training set is shuffled, with
    `seed`. `batch_size` defaults to the task's. The SMS tasks' vocabulary depends on the
    split seed: build the model for another seed than 0 with
    `build(name, preprocessor=load_task_data(name, seed=...).preprocessor)` (`train` does
    this)."""
    spec = get_task(name)
    data = load_task_data(name, data_dir=data_dir, seed=seed, **options)
    return data.datasets(batch_size or spec.train.batch_size, seed=seed)


__all__ = [
    "build",
    "load_data",
    "load_task_data",
    "train",
    "evaluate",
    "export",
    "TrainResult",
    "load_preset",
    "save_preset",
    "list_presets",
    "Preset",
    "Preprocessor",
    "load_preprocessor",
    "DatasetInfo",
    "PresetError",
    "list_tasks",
    "get_task",
    "register",
    "TaskSpec",
    "ModelSpec",
    "TrainSpec",
    "TaskData",
    "RnnZooError",
    "UnknownTaskError",
    "InvalidOverrideError",
    "DataError",
    "DataNotFoundError",
]
