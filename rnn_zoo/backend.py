"""What depends on the Keras backend.

The zoo trains, evaluates and predicts on any Keras 3 backend it is tested on (TensorFlow,
the default, and JAX). Its exports are TensorFlow artefacts (a SavedModel, and ONNX and
LiteRT files converted from a TensorFlow graph), so they are always written by the
TensorFlow backend: under another backend the model's weights cross over through a
`.keras` file into a TensorFlow process (one per process, started by the first export and
kept for the next), which writes exactly what a TensorFlow-trained model of the same
weights would write. The input pipelines are tf.data
on every backend.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys

import numpy as np

from .errors import SettingError
from .model_state import stateful_rnns

# The backends Keras 3 knows, each with the module it needs; the zoo is tested on the first two.
KERAS_BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy", "openvino": "openvino"}


def check_keras_backend() -> None:
    """A one-line SettingError for a KERAS_BACKEND that Keras cannot start (an unknown name,
    or a backend whose package is not installed), before Keras is imported and fails on it."""
    chosen = os.environ.get("KERAS_BACKEND")
    if chosen is None or "keras" in sys.modules:
        return
    if chosen not in KERAS_BACKENDS:
        raise SettingError(
            f"KERAS_BACKEND={chosen!r} is not a Keras backend; rnn_zoo runs on tensorflow (the default) "
            "or jax (unset KERAS_BACKEND, or set it to one of them)"
        )
    if importlib.util.find_spec(KERAS_BACKENDS[chosen]) is None:
        extra = ' (pip install ".[jax]")' if chosen == "jax" else ""
        raise SettingError(f"KERAS_BACKEND={chosen} needs the {chosen} package, which is not installed{extra}")


def name() -> str:
    """The Keras backend in use ("tensorflow", "jax"); Keras (and TensorFlow, quietly) imported if not yet."""
    import_keras_quietly()
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
    saved: exports go through `rnn_zoo.tf_writer`."""
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


def import_keras_quietly() -> None:
    """Before the zoo first imports Keras: TensorFlow imported quietly
    (`import_tensorflow_quietly`) where it is installed. On the TensorFlow backend Keras
    imports it at once; on JAX, Keras imports it too, lazily (to serialize a layer's config),
    which would print its start-up lines in the middle of a run. Where TensorFlow is not
    installed (a JAX-only machine), nothing."""
    if "keras" not in sys.modules and importlib.util.find_spec("tensorflow") is not None:
        import_tensorflow_quietly()


def import_tensorflow_quietly() -> None:
    """Import TensorFlow without its start-up chatter (for a command line or a notebook).

    TensorFlow's C++ start-up lines (absl, oneDNN, CUDA probing) are written to file
    descriptor 2 before any Python setting can stop them: hide them while TensorFlow loads
    and looks for devices. Its own Python warnings (retracing notes) are kept to errors."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # and its C++ logs after start-up: errors only
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                import tensorflow as tf

                tf.get_logger().setLevel("ERROR")
                tf.config.list_physical_devices()
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
