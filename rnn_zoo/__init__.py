"""rnn_zoo: the classic recurrent-network tutorials as one-line, reproducible baselines.

    import rnn_zoo
    rnn_zoo.list_tasks("letters_*")
    model = rnn_zoo.build("letters_4pre1")                  # compiled keras.Sequential
    train_ds, test_ds = rnn_zoo.load_data("letters_4pre1")  # batched tf.data pipelines
    result = rnn_zoo.train("letters_4pre1")                 # fit + evaluate + baseline
    result.save_preset("my_letters")                        # model + preprocessing + metadata
    preset = rnn_zoo.load_preset("letters_4pre1")           # the shipped, trained preset
    preset.predict("abcd")                                  # {'prediction': 'e', ...}
    rnn_zoo.export(preset, "saved_models/letters_4pre1_serving")  # SavedModel, human-input `serve`

`import rnn_zoo` loads the registry only; TensorFlow and Keras are imported on first use,
without TensorFlow's C++ start-up lines (as on the command line): unless TF_CPP_MIN_LOG_LEVEL
is set already, `import rnn_zoo` sets it to 3 (errors only) for TensorFlow to read.
"""

from __future__ import annotations

import importlib
import os

# Before TensorFlow is first imported, by the zoo or by the user: its C++ logs kept to errors.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from . import (
    backend,  # noqa: F401  (rnn_zoo.backend.name(): the Keras backend in use)
    tasks,  # noqa: F401  (registers every task)
)
from ._version import __version__
from .data import TaskData
from .data.loading import check_seed, load_data, load_task_data
from .errors import (
    DataError,
    DataNotFoundError,
    InputError,
    InvalidOverrideError,
    PresetError,
    RnnZooError,
    UnknownTaskError,
)
from .preprocessing import Preprocessor, load_preprocessor
from .preset_files import save_preset
from .registry import DatasetInfo, ModelSpec, TaskSpec, TrainSpec, get_task, list_tasks, register
from .shipped import LosesToBaselineWarning, list_presets

# Public names whose modules import Keras (and so TensorFlow), loaded on first access.
_LAZY = {
    "build": "models",
    "train": "training",
    "evaluate": "training",
    "predict_test": "training",
    "TrainResult": "training",
    "export": "exporting",
    "Preset": "presets",
    "load_preset": "presets",
    "walk_forward": "backtest",
}


def __getattr__(name: str):
    if name in _LAZY:
        backend.import_keras_quietly()  # on TensorFlow, its start-up lines (absl, CUDA probing) hidden
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'rnn_zoo' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_LAZY})


__all__ = [
    "__version__",
    "check_seed",
    "build",
    "load_data",
    "load_task_data",
    "train",
    "evaluate",
    "predict_test",
    "export",
    "TrainResult",
    "load_preset",
    "save_preset",
    "walk_forward",
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
    "InputError",
    "LosesToBaselineWarning",
]
