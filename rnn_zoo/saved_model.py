"""SavedModel export with a `serve` signature that takes and returns human values."""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import keras
import tensorflow as tf

from .errors import PresetError
from .preprocessing import Preprocessor
from .registry import get_task
from .training import reset_states


@contextlib.contextmanager
def atomic_directory(path):
    """Yield an empty staging folder beside `path`; on success it replaces `path` in one
    rename, on failure it is removed, so `path` is never left half-written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial"))
    old = path.parent / f".{path.name}.{uuid.uuid4().hex}.old"
    try:
        yield staging
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; an export is read by servers
        if path.exists():
            os.replace(path, old)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def write_saved_model(model: keras.Model, folder, preprocessor: Preprocessor, *, stateful: bool) -> None:
    """Write the SavedModel into `folder`: `serve` (human inputs -> dict of human outputs)
    and, for stateful models, `reset_state` to start a new sequence."""
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


def export(model, path, *, task: str | None = None, preprocessor: Preprocessor | None = None) -> Path:
    """Export a trained model as a TensorFlow SavedModel at `path` (replaced if it exists).

    `model` is a `TrainResult` or a `Preset` (they carry their task and preprocessor), or a
    `keras.Model` with `task=` and the `preprocessor=` it was trained with
    (`result.preprocessor`, `preset.preprocessor`, `load_task_data(...).preprocessor`).
    Its `serve` signature takes human inputs and returns human outputs: letters as strings,
    SMS messages as raw strings, a window of prices in price units, sine values, 28x28
    uint8 images. The preprocessing (scaler, vocabulary, letter codes) travels inside it."""
    if not isinstance(model, keras.Model):
        if not hasattr(model, "preprocessor") or not hasattr(model, "model"):
            raise TypeError(f"export takes a keras.Model, a TrainResult or a Preset, not {type(model).__name__}")
        task = task or model.task
        if task != model.task:
            raise PresetError(f"a model of task {model.task!r} cannot be exported as task {task!r}")
        model, preprocessor = model.model, preprocessor or model.preprocessor
    if task is None or preprocessor is None:
        raise PresetError("exporting a keras.Model needs task= and the preprocessor= it was trained with "
                          "(result.preprocessor, preset.preprocessor or load_task_data(task).preprocessor)")
    spec = get_task(task)
    with atomic_directory(path) as staging:
        write_saved_model(model, staging, preprocessor, stateful=spec.model.stateful)
    return Path(path)
