"""`export`: a trained model as a SavedModel, an ONNX file or a LiteRT file, with its provenance."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from . import backend, errors
from .data.loading import load_task_data
from .data.sources import downloads_off
from .errors import DataError, DataNotFoundError, InvalidOverrideError, PresetError
from .model_state import check_finite_weights, states_kept
from .outputs import atomic_directory, check_destination, claim, disk_full, write_export_marker
from .preprocessing import Preprocessor, load_preprocessor
from .preset_files import MODEL_FILE
from .registry import get_task
from .saved_model import FORMAT as SAVED_MODEL
from .saved_model import check_not_inside, write_saved_model
from .standalone import FORMATS, PREPROCESSING_FILE, require, write_standalone
from .tf_writer import ANSWER_FILE, REQUEST_FILE, X_TEST_FILE, write_in_tensorflow

# Every format an export can take: the SavedModel, then each standalone file format.
EXPORT_FORMATS = (SAVED_MODEL, *FORMATS)
# What an export's metadata keeps of the preset or run it was made from.
PROVENANCE_KEYS = ("seed", "epochs", "metrics", "baseline", "headline_metric", "dataset", "versions", "date", "command")


def _provenance(model, task: str) -> dict:
    """The preset's (or run's) record of how the model was made; for a bare keras.Model,
    the registered dataset and its terms only."""
    metadata = getattr(model, "metadata", None)
    if callable(metadata):  # a TrainResult
        metadata = metadata()
    if isinstance(metadata, dict):
        return {key: metadata[key] for key in PROVENANCE_KEYS if key in metadata}
    return {"dataset": dataclasses.asdict(get_task(task).dataset)}


def _test_inputs(model, task: str, preprocessor: Preprocessor, data_dir):
    """The model inputs of the test split the standalone check runs on: a run's own data,
    a preset's (its seed and data options), else the task's, found on disk as
    `load_task_data` finds it, never downloaded (the user asked for an export, not for data);
    None where it is not there."""
    data = getattr(model, "data", None)  # a TrainResult
    if data is None:
        try:
            with downloads_off():
                if hasattr(model, "load_data"):  # a Preset
                    data = model.load_data(data_dir=data_dir)
                else:
                    data = load_task_data(task, data_dir=data_dir, preprocessor=preprocessor)
        except (DataNotFoundError, DataError):
            return None
    return data.x_test


def export(
    model: Any,
    path: str | os.PathLike,
    *,
    format: str = SAVED_MODEL,
    task: str | None = None,
    preprocessor: Preprocessor | None = None,
    overwrite: bool = False,
    data_dir=None,
) -> Path:
    """Export a trained model into the folder `path`; returns `path`.

    `model` is a `TrainResult` or a `Preset` (they carry their task and preprocessor), or a
    `keras.Model` with `task=` and the `preprocessor=` it was trained with
    (`result.preprocessor`, `preset.preprocessor`, `load_task_data(...).preprocessor`).

    `format`:
      * "saved_model": a TensorFlow SavedModel whose `serve` signature takes human inputs
        (letters as strings, raw SMS messages, a window of prices, sine values, 28x28 uint8
        images) and returns human outputs; the preprocessing travels inside it.
      * "onnx" / "litert": `model.onnx` / `model.tflite` (builtin ops only, no Flex) taking
        model inputs, and `preprocessing.json` with what a client needs to make them (see
        the clients on the docs' export page). A stateful model's state is an input and an output. Each
        file is run in onnxruntime / the LiteRT interpreter on the first test inputs
        (`data_dir` as in `load_task_data`; random inputs where the data is not found) and
        refused if it differs from the Keras model by more than 1e-5. Needs
        `pip install ".[export]"`.
    Every export holds `rnn_zoo_export.json`: task, format, the check, and the provenance
    (seed, metrics, dataset and its terms, versions) of the preset or run it came from.
    An existing `path` is replaced only if it is empty or an earlier export, or with
    `overwrite`; a trained preset is never replaced by an export without it."""
    if format not in EXPORT_FORMATS:
        raise InvalidOverrideError(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    given = model  # a TrainResult or a Preset carries its provenance and its data
    unwrapped = _keras_model(model, path, task, preprocessor)
    if unwrapped is None:  # a distributed run's process other than 0: process 0 writes
        return Path(path)
    model, task, preprocessor = unwrapped
    # The backend the model was in: a model of another backend is exported by TensorFlow.
    details = {"provenance": _provenance(given, task), "keras_backend": backend.name()}
    # `path` is claimed from its first check to the rename: another writer to it is refused at once.
    with claim(path):
        x_test = _checked_inputs(format, model, path, overwrite, given, task, preprocessor, data_dir)
        # The check and the SavedModel's fresh start reset a stateful model: the user's sequence is kept.
        with states_kept(model), atomic_directory(path, kind="export", overwrite=overwrite) as staging:
            write_export(format, model, staging, preprocessor, task=task, x_test=x_test, details=details)
    return Path(path)


def _checked_inputs(format, model, path, overwrite, given, task, preprocessor, data_dir):
    """For a standalone format: its extra, the weights and `path` checked, then the test inputs
    its check runs on (None: random ones, said in one line on stderr). None for a SavedModel."""
    if format == SAVED_MODEL:
        return None
    require(format)  # before anything is loaded or written
    check_finite_weights(model)
    check_destination(Path(path), kind="export", overwrite=overwrite)  # before the data is loaded
    x_test = _test_inputs(given, task, preprocessor, data_dir)
    if x_test is None:
        print(
            f"rnn_zoo: the data of task {task} is not on disk (an export downloads nothing), so the "
            f"{format} file is checked on random inputs; give data_dir= (--data-dir) to check it on the test split",
            file=sys.stderr,
            flush=True,
        )
    return x_test


def _keras_model(model, path, task: str | None, preprocessor: Preprocessor | None):
    """(keras model, task, preprocessor) of what `export` was given, checked; None for a
    distributed run's process other than 0, which writes nothing."""
    import keras

    given_bare = isinstance(model, keras.Model)
    if not given_bare:
        if not hasattr(model, "preprocessor") or not hasattr(model, "model"):
            raise TypeError(f"export takes a keras.Model, a TrainResult or a Preset, not {type(model).__name__}")
        task = task or model.task
        if task != model.task:
            raise PresetError(f"a model of task {model.task!r} cannot be exported as task {task!r}")
        check_not_inside(path, getattr(model, "path", None))
        if not getattr(model, "writes", True):
            return None
        model, preprocessor = model.model, preprocessor or model.preprocessor
    if task is None or preprocessor is None:
        raise PresetError(
            "exporting a keras.Model needs task= and the preprocessor= it was trained with "
            "(result.preprocessor, preset.preprocessor or load_task_data(task).preprocessor)"
        )
    get_task(task)
    if given_bare:  # a model of another task (or a preprocessor of another) is refused, not exported as this one
        from .models import check_architecture
        from .preprocessing import check_preprocessor

        check_preprocessor(get_task(task), preprocessor)
        check_architecture(model, task, preprocessor, None, where="the keras.Model given to export")
    return model, task, preprocessor


def write_export(
    format_name: str, model, folder: Path, preprocessor: Preprocessor, *, task: str, x_test, details: dict
) -> dict | None:
    """The files of one export of `model` in the existing `folder`, with its
    `rnn_zoo_export.json`; returns the standalone check's record (None for a SavedModel).
    Always written by TensorFlow: a model of another backend through a child process."""
    if backend.name() != "tensorflow":
        return write_in_tensorflow(format_name, model, folder, preprocessor, task=task, x_test=x_test, details=details)
    if format_name == SAVED_MODEL:
        write_saved_model(model, folder, preprocessor, task=task, **details)
        return None
    check = write_standalone(model, folder, preprocessor, task=task, format_name=format_name, x_test=x_test)
    write_export_marker(
        folder,
        task,
        format_name,
        file=FORMATS[format_name].filename,
        preprocessing=PREPROCESSING_FILE,
        check=check,
        **details,
    )
    return check


def serve_writer_requests(replies) -> int:
    """The loop of the TensorFlow process that writes another backend's exports
    (`rnn_zoo.tf_writer`): one handover folder a line, each answered by
    `answer_writer_request`; `take FOLDER` and `done FOLDER` on `replies` before and after."""
    import keras

    for line in sys.stdin:
        handover = line.strip()
        if handover:
            replies.write(f"take {handover}\n")
            replies.flush()
            answer_writer_request(handover)
            keras.backend.clear_session()
            replies.write(f"done {handover}\n")
            replies.flush()
    return 0


def answer_writer_request(handover) -> int:
    """The TensorFlow side of `rnn_zoo.tf_writer.write_in_tensorflow`: one handover folder answered."""
    import keras

    handover = Path(handover)
    request = json.loads((handover / REQUEST_FILE).read_text())
    x_path = handover / X_TEST_FILE
    try:
        model = keras.saving.load_model(handover / MODEL_FILE, compile=False, safe_mode=True)
        x_test = np.load(x_path, allow_pickle=False) if x_path.is_file() else None
        result = write_export(
            request["format"],
            model,
            Path(request["folder"]),
            load_preprocessor(handover),
            task=request["task"],
            x_test=x_test,
            details=request["details"],
        )
        answer = {"result": result}
    except errors.RnnZooError as e:
        answer = {"error": type(e).__name__, "message": str(e)}
    except Exception as e:  # a converter's own failure: its first line, not a traceback
        first = (str(e).strip().splitlines() or [""])[0][:300]
        answer = {
            "error": "ExportError",
            "message": f"writing the {request['format']} export failed: {type(e).__name__}: {first}",
        }
        if disk_full(e):  # said so, for the caller's atomic_directory to name its folder
            answer = {"error": "OutputWriteError", "message": "no space left on device"}
    (handover / ANSWER_FILE).write_text(json.dumps(answer))
    return 0
