"""What depends on the Keras backend.

The zoo trains, evaluates and predicts on any Keras 3 backend it is tested on (TensorFlow,
the default, and JAX). Its exports are TensorFlow artefacts (a SavedModel, and ONNX and
LiteRT files converted from a TensorFlow graph), so they are always written by the
TensorFlow backend: under another backend the model's weights cross over through a
`.keras` file into a child process running TensorFlow, which writes exactly what a
TensorFlow-trained model of the same weights would write. The input pipelines are tf.data
on every backend.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import errors

# The child's request and answer, beside the model it loads.
REQUEST_FILE = "request.json"
ANSWER_FILE = "answer.json"
X_TEST_FILE = "x_test.npy"
CHILD_CODE = "import sys; from rnn_zoo.backend import _child; sys.exit(_child(sys.argv[1]))"


def name() -> str:
    import keras

    return keras.backend.backend()


@contextlib.contextmanager
def states_tracked(model):
    """Within it, `fit` and `predict` on JAX carry a stateful RNN's state. Keras creates the
    state variables untracked (they are not in the model's non-trainable variables), so
    JAX's stateless steps neither read nor write them: every batch would start from a zero
    state and the state after `predict` would stay zero. Tracked only for the duration:
    weights saved inside it (a ModelCheckpoint callback during `fit`) hold the state too and
    load only inside it again, so save after it. A no-op on TensorFlow, whose steps update
    the variables themselves."""
    added = []
    if name() == "jax":
        from .training import stateful_rnns

        for rnn in stateful_rnns(model):
            own = rnn._non_trainable_variables
            new = [v for v in (rnn.states or []) if all(v is not w for w in own)]
            own.extend(new)
            added.append((own, new))
    try:
        yield
    finally:
        for own, new in added:
            for v in new:
                own.remove(v)


def tf_call(model):
    """`model`'s inference forward pass as a function of TensorFlow tensors, for the serving
    graphs. On TensorFlow it is traced into the graph; on another backend it runs as a
    Python step of the graph (`tf.py_function`), which serves in process but cannot be
    saved: exports go through `write_in_tensorflow`."""
    import keras
    import tensorflow as tf

    # (A callable that is not a Keras model, e.g. a test's stand-in, takes TensorFlow tensors already.)
    if name() == "tensorflow" or not isinstance(model, keras.Model):
        return lambda x: model(x, training=False)
    out_shape, out_dtype = tuple(model.output_shape[1:]), tf.as_dtype(model.outputs[0].dtype)

    def run(x):
        # predict_on_batch runs the backend's compiled function (an eager JAX call would
        # compile its recurrent loop again on every call) and keeps a stateful layer's state.
        with states_tracked(model):
            return np.asarray(model.predict_on_batch(x.numpy()))

    def call(x):
        y = tf.py_function(run, [x], Tout=out_dtype)
        y.set_shape((x.shape[0], *out_shape))
        return y

    return call


def write_in_tensorflow(format_name: str, model, folder: Path, preprocessor, *, task: str, x_test, details: dict):
    """`exporting.write_export(format_name, ...)` for a model of a non-TensorFlow backend,
    run by a TensorFlow child process on the same weights; returns what it returns. An
    rnn_zoo error in the child is raised here as the same error."""
    from .presets import write_preset

    with tempfile.TemporaryDirectory(prefix="rnn_zoo_handover_") as handover:
        handover = Path(handover)
        write_preset(handover, model, preprocessor, {"task": task})
        if x_test is not None:
            np.save(handover / X_TEST_FILE, np.asarray(x_test), allow_pickle=False)
        request = {"format": format_name, "folder": str(Path(folder).resolve()), "task": task, "details": details}
        (handover / REQUEST_FILE).write_text(json.dumps(request))
        # The child finds this very rnn_zoo, and leaves the GPU to the parent (an export needs none).
        package_root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "CUDA_VISIBLE_DEVICES": "",
               "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        child = subprocess.run([sys.executable, "-c", CHILD_CODE, str(handover)], env=env, capture_output=True,
                               text=True)
        answer_path = handover / ANSWER_FILE
        if not answer_path.is_file():
            last = (child.stderr.strip().splitlines() or [f"exit status {child.returncode}"])[-1]
            raise errors.ExportError(f"the TensorFlow process writing the {format_name} export failed: {last}")
        answer = json.loads(answer_path.read_text())
    if "error" in answer:
        kind = getattr(errors, answer["error"], errors.ExportError)
        raise kind(answer["message"])
    return answer["result"]


def _child(handover) -> int:
    """The TensorFlow side of `write_in_tensorflow`."""
    handover = Path(handover)
    import keras

    from .exporting import write_export
    from .preprocessing import load_preprocessor
    from .presets import MODEL_FILE

    request = json.loads((handover / REQUEST_FILE).read_text())
    x_path = handover / X_TEST_FILE
    try:
        model = keras.saving.load_model(handover / MODEL_FILE, compile=False, safe_mode=True)
        x_test = np.load(x_path, allow_pickle=False) if x_path.is_file() else None
        result = write_export(request["format"], model, Path(request["folder"]), load_preprocessor(handover),
                              task=request["task"], x_test=x_test, details=request["details"])
        answer = {"result": result}
    except errors.RnnZooError as e:
        answer = {"error": type(e).__name__, "message": str(e)}
    except Exception as e:  # a converter's own failure: its first line, not a traceback
        first = (str(e).strip().splitlines() or [""])[0][:300]
        answer = {"error": "ExportError", "message": f"writing the {request['format']} export failed: "
                                                     f"{type(e).__name__}: {first}"}
    (handover / ANSWER_FILE).write_text(json.dumps(answer))
    return 0

