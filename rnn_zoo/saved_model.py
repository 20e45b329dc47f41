"""SavedModel export with a `serve` signature that takes and returns human values."""
from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from .errors import PresetError, TrainingDivergedError
from .outputs import atomic_directory, write_export_marker
from .preprocessing import Preprocessor
from .registry import get_task
from .training import reset_states, weights_are_finite


def write_saved_model(model: keras.Model, folder, preprocessor: Preprocessor, *, task: str) -> None:
    """Write the SavedModel into `folder`: `serve` (human inputs -> dict of human outputs)
    and, for stateful models, `reset_state` to start a new sequence."""
    check_finite_weights(model)
    stateful = get_task(task).model.stateful
    serving = preprocessor.serving(model)
    archive = keras.export.ExportArchive()
    archive.track(model)
    for resource in serving.resources:
        archive.track(resource)
    archive.add_endpoint("serve", serving.fn, input_signature=serving.input_signature)
    if stateful:
        reset_states(model)  # a loaded export starts a new sequence, not where training stopped

        def reset_state():
            reset_states(model)
            return tf.constant(True)

        archive.add_endpoint("reset_state", reset_state, input_signature=[])
    # TensorFlow logs "Assets written to: <staging folder>" at INFO: a path the user never sees.
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        archive.write_out(str(folder), verbose=False)
    finally:
        logger.setLevel(level)
    write_export_marker(Path(folder), task)


def check_not_inside(path, preset_folder) -> None:
    """An export never replaces the preset it is made from (nor a folder around or in it)."""
    if preset_folder is None:
        return
    out, own = Path(path).resolve(), Path(preset_folder).resolve()
    if out == own or own in out.parents or out in own.parents:
        raise PresetError(f"exporting to {path} would overwrite the preset it is made from ({preset_folder}); "
                          "choose another folder")


def check_finite_weights(model: keras.Model) -> None:
    """A model whose weights hold NaN or inf (a diverged run) is never saved as if fine."""
    if not weights_are_finite(model):
        raise TrainingDivergedError("the model's weights are not finite (NaN or inf): training diverged; "
                                    "nothing was written")


def export(model, path, *, task: str | None = None, preprocessor: Preprocessor | None = None,
           overwrite: bool = False) -> Path:
    """Export a trained model as a TensorFlow SavedModel at `path`.

    `model` is a `TrainResult` or a `Preset` (they carry their task and preprocessor), or a
    `keras.Model` with `task=` and the `preprocessor=` it was trained with
    (`result.preprocessor`, `preset.preprocessor`, `load_task_data(...).preprocessor`).
    Its `serve` signature takes human inputs and returns human outputs: letters as strings,
    SMS messages as raw strings, a window of prices in price units, sine values, 28x28
    uint8 images. The preprocessing (scaler, vocabulary, letter codes) travels inside it.
    An existing `path` is replaced only if it is empty or an earlier export, or with
    `overwrite`; a trained preset is never replaced by an export without it."""
    if not isinstance(model, keras.Model):
        if not hasattr(model, "preprocessor") or not hasattr(model, "model"):
            raise TypeError(f"export takes a keras.Model, a TrainResult or a Preset, not {type(model).__name__}")
        task = task or model.task
        if task != model.task:
            raise PresetError(f"a model of task {model.task!r} cannot be exported as task {task!r}")
        check_not_inside(path, getattr(model, "path", None))
        model, preprocessor = model.model, preprocessor or model.preprocessor
    if task is None or preprocessor is None:
        raise PresetError("exporting a keras.Model needs task= and the preprocessor= it was trained with "
                          "(result.preprocessor, preset.preprocessor or load_task_data(task).preprocessor)")
    get_task(task)
    with atomic_directory(path, kind="export", overwrite=overwrite) as staging:
        write_saved_model(model, staging, preprocessor, task=task)
    return Path(path)
