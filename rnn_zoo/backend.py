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

import atexit
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from . import errors

# The writer's request and answer, beside the model it loads.
REQUEST_FILE = "request.json"
ANSWER_FILE = "answer.json"
X_TEST_FILE = "x_test.npy"


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
    run by a TensorFlow process on the same weights; returns what it returns. An rnn_zoo
    error there is raised here as the same error."""
    from .presets import write_preset

    with tempfile.TemporaryDirectory(prefix="rnn_zoo_handover_") as handover:
        handover = Path(handover)
        write_preset(handover, model, preprocessor, {"task": task})
        if x_test is not None:
            np.save(handover / X_TEST_FILE, np.asarray(x_test), allow_pickle=False)
        request = {"format": format_name, "folder": str(Path(folder).resolve()), "task": task, "details": details}
        (handover / REQUEST_FILE).write_text(json.dumps(request))
        failure = _WRITER.write(handover)
        answer_path = handover / ANSWER_FILE
        if not answer_path.is_file():
            raise errors.ExportError(f"the TensorFlow process writing the {format_name} export failed: {failure}")
        answer = json.loads(answer_path.read_text())
    if "error" in answer:
        kind = getattr(errors, answer["error"], errors.ExportError)
        raise kind(answer["message"])
    return answer["result"]


WRITER_CODE = "import sys; from rnn_zoo.backend import _serve; sys.exit(_serve())"


class _TensorFlowWriter:
    """The TensorFlow process that writes this process's exports: started by the first
    export and kept for the next ones, so that TensorFlow starts once per process rather
    than once per file (about 5 s each on two cores). It reads one handover folder per line
    and answers in that folder; it ends with this process (its input closes). A writer that
    died before it took a request is replaced; one that dies on a request fails that export
    in one line, and the next export starts a new writer. An export interrupted here
    (Ctrl-C) ends the writer too, so that no late answer is taken for the next request. It
    finds this very rnn_zoo, and leaves the GPU to this process (an export needs none)."""

    def __init__(self):
        self._forget()
        atexit.register(self.close)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget_in_child)

    def _forget(self) -> None:
        self._proc = self._log = None
        self._lock = threading.Lock()

    def _forget_in_child(self) -> None:
        """After a fork: the child starts its own writer, and closes its copies of the
        parent's pipes, so that the parent's writer still ends when the parent does."""
        if self._proc is not None:
            for pipe in (self._proc.stdin, self._proc.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()
        self._forget()

    def _start(self) -> None:
        package_root = str(Path(__file__).resolve().parent.parent)
        env = {
            **os.environ,
            "KERAS_BACKEND": "tensorflow",
            "CUDA_VISIBLE_DEVICES": "",
            "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
        }
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self._log = tempfile.TemporaryFile(mode="w+", prefix="rnn_zoo_writer_")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", WRITER_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
            text=True,
        )

    def _taken(self, handover: Path) -> bool:
        """Sends the request; whether the writer took it (False: it is dead or dying)."""
        try:
            self._proc.stdin.write(f"{handover}\n")
            self._proc.stdin.flush()
        except OSError:
            return False
        return self._proc.stdout.readline().strip() == f"take {handover}"

    def write(self, handover: Path) -> str:
        """Has the writer answer `handover`; returns "" when it did, else why not (one line).
        The writer says `take` when it reads a request and `done` when it has answered it: a
        request that a dying writer never took goes to a new writer, one it took does not."""
        with self._lock:
            try:
                if self._proc is None or self._proc.poll() is not None:
                    self.close()
                    self._start()
                taken = self._taken(handover)
                if not taken:
                    self.close()
                    self._start()
                    taken = self._taken(handover)
                if taken and self._proc.stdout.readline().strip() == f"done {handover}":
                    return ""
            except BaseException:
                self.close(kill=True)
                raise
            proc = self._proc
            lines = self.close()
            last = f"; its last line: {lines[-1].strip()}" if lines else ""
            return f"it stopped with exit status {proc.returncode}{last}"

    @property
    def pid(self) -> int | None:
        """The writer's process id while one runs (tests use it)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def close(self, *, kill: bool = False) -> list[str]:
        """Ends the writer (its input closes; killed at once with `kill`, else if it has not
        ended 10 s later) and returns the lines it logged."""
        if self._proc is not None:
            if kill:
                self._proc.kill()
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc.stdout.close()
        lines = []
        if self._log is not None:
            self._log.seek(0)
            lines = self._log.read().strip().splitlines()
            self._log.close()
        self._proc = self._log = None
        return lines


_WRITER = _TensorFlowWriter()


def _serve() -> int:
    """The TensorFlow writer's loop: one handover folder a line, each answered by `_child`;
    `take FOLDER` and `done FOLDER` on the reply pipe before and after."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever else is printed, from the imports on, goes to the log, never into the replies
    import keras

    for line in sys.stdin:
        handover = line.strip()
        if handover:
            replies.write(f"take {handover}\n")
            replies.flush()
            _child(handover)
            keras.backend.clear_session()
            replies.write(f"done {handover}\n")
            replies.flush()
    return 0


def _child(handover) -> int:
    """The TensorFlow side of `write_in_tensorflow`: one handover folder answered."""
    handover = Path(handover)
    import keras

    from .exporting import write_export
    from .preprocessing import load_preprocessor
    from .shipped import MODEL_FILE

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
    (handover / ANSWER_FILE).write_text(json.dumps(answer))
    return 0
