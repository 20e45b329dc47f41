"""SavedModel export with a `serve` signature that takes and returns human values."""

from __future__ import annotations

from pathlib import Path

from .errors import PresetError
from .model_state import check_finite_weights, reset_states
from .outputs import write_export_marker
from .preprocessing import Preprocessor
from .registry import get_task

# The export format this module writes, by its name.
FORMAT = "saved_model"


def write_saved_model(model, folder, preprocessor: Preprocessor, *, task: str, **details) -> None:
    """Write the SavedModel into `folder`: `serve` (human inputs -> dict of human outputs)
    and, for stateful models, `reset_state` to start a new sequence; and its
    `rnn_zoo_export.json` with `details` (provenance)."""
    import keras
    import tensorflow as tf

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
    write_export_marker(Path(folder), task, FORMAT, **details)


def check_not_inside(path, preset_folder) -> None:
    """An export never replaces the preset it is made from (nor a folder around or in it)."""
    if preset_folder is None:
        return
    out, own = Path(path).resolve(), Path(preset_folder).resolve()
    if out == own or own in out.parents or out in own.parents:
        raise PresetError(
            f"exporting to {path} would overwrite the preset it is made from ({preset_folder}); choose another folder"
        )
