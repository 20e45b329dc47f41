"""`export`: a trained model as a SavedModel, an ONNX file or a LiteRT file, with its provenance."""

from __future__ import annotations

from pathlib import Path

from .errors import DataError, DataNotFoundError, InvalidOverrideError, PresetError
from .outputs import atomic_directory, check_destination, write_export_marker
from .preprocessing import Preprocessor
from .registry import get_task

EXPORT_FORMATS = ("saved_model", "onnx", "litert")
# What an export's metadata keeps of the preset or run it was made from.
PROVENANCE_KEYS = ("seed", "epochs", "metrics", "baseline", "headline_metric", "dataset", "versions", "date", "command")


def _provenance(model, task: str) -> dict:
    """The preset's (or run's) record of how the model was made; for a bare keras.Model,
    the registered dataset and its terms only."""
    import dataclasses

    metadata = getattr(model, "metadata", None)
    if callable(metadata):  # a TrainResult
        metadata = metadata()
    if isinstance(metadata, dict):
        return {key: metadata[key] for key in PROVENANCE_KEYS if key in metadata}
    return {"dataset": dataclasses.asdict(get_task(task).dataset)}


def _test_inputs(model, task: str, preprocessor: Preprocessor, data_dir):
    """The model inputs of the test split the standalone check runs on: a run's own data,
    a preset's (its seed and data options), else the task's, found or downloaded as
    `load_task_data` does; None where it can be neither."""
    data = getattr(model, "data", None)  # a TrainResult
    if data is None:
        from . import load_task_data

        try:
            if hasattr(model, "load_data"):  # a Preset
                data = model.load_data(data_dir=data_dir)
            else:
                data = load_task_data(task, data_dir=data_dir, preprocessor=preprocessor)
        except (DataNotFoundError, DataError):
            return None
    return data.x_test


def export(
    model,
    path,
    *,
    format: str = "saved_model",
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
        the README's clients). A stateful model's state is an input and an output. Each
        file is run in onnxruntime / the LiteRT interpreter on the first test inputs
        (`data_dir` as in `load_task_data`; random inputs where the data is not found) and
        refused if it differs from the Keras model by more than 1e-5. Needs
        `pip install "rnn_zoo[export]"`.
    Every export holds `rnn_zoo_export.json`: task, format, the check, and the provenance
    (seed, metrics, dataset and its terms, versions) of the preset or run it came from.
    An existing `path` is replaced only if it is empty or an earlier export, or with
    `overwrite`; a trained preset is never replaced by an export without it."""
    import keras

    from .saved_model import check_finite_weights, check_not_inside

    if format not in EXPORT_FORMATS:
        raise InvalidOverrideError(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {format!r}")
    source = model
    if not isinstance(model, keras.Model):
        if not hasattr(model, "preprocessor") or not hasattr(model, "model"):
            raise TypeError(f"export takes a keras.Model, a TrainResult or a Preset, not {type(model).__name__}")
        task = task or model.task
        if task != model.task:
            raise PresetError(f"a model of task {model.task!r} cannot be exported as task {task!r}")
        check_not_inside(path, getattr(model, "path", None))
        if not getattr(model, "writes", True):  # a distributed run's process other than 0
            return Path(path)
        model, preprocessor = model.model, preprocessor or model.preprocessor
    if task is None or preprocessor is None:
        raise PresetError(
            "exporting a keras.Model needs task= and the preprocessor= it was trained with "
            "(result.preprocessor, preset.preprocessor or load_task_data(task).preprocessor)"
        )
    get_task(task)
    from . import backend

    # The backend the model was in: a model of another backend is exported by TensorFlow.
    details = {"provenance": _provenance(source, task), "keras_backend": backend.name()}
    if format == "saved_model":
        with atomic_directory(path, kind="export", overwrite=overwrite) as staging:
            write_export(format, model, staging, preprocessor, task=task, x_test=None, details=details)
        return Path(path)

    from .standalone import require

    require(format)  # before anything is loaded or written
    check_finite_weights(model)
    check_destination(Path(path), kind="export", overwrite=overwrite)  # before the data is loaded
    x_test = _test_inputs(source, task, preprocessor, data_dir)
    with atomic_directory(path, kind="export", overwrite=overwrite) as staging:
        write_export(format, model, staging, preprocessor, task=task, x_test=x_test, details=details)
    return Path(path)


def write_export(
    format_name: str, model, folder: Path, preprocessor: Preprocessor, *, task: str, x_test, details: dict
) -> dict | None:
    """The files of one export of `model` in the existing `folder`, with its
    `rnn_zoo_export.json`; returns the standalone check's record (None for a SavedModel).
    Always written by TensorFlow: a model of another backend through a child process."""
    from . import backend

    if backend.name() != "tensorflow":
        return backend.write_in_tensorflow(
            format_name, model, folder, preprocessor, task=task, x_test=x_test, details=details
        )
    if format_name == "saved_model":
        from .saved_model import write_saved_model

        write_saved_model(model, folder, preprocessor, task=task, **details)
        return None
    from .standalone import FORMATS, PREPROCESSING_FILE, write_standalone

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
