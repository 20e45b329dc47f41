"""Exports of a model trained on another Keras backend than TensorFlow.

The zoo's exports are TensorFlow artefacts (a SavedModel, and ONNX and LiteRT files
converted from a TensorFlow graph), so they are always written by the TensorFlow backend:
under another backend the model's weights cross over through a preset folder into a
TensorFlow process (one per process, started by the first export and kept for the next),
which writes exactly what a TensorFlow-trained model of the same weights would write. That
process runs `rnn_zoo.exporting.serve_writer_requests`.
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
from .preset_files import write_preset

# The writer's request and answer, beside the model it loads.
REQUEST_FILE = "request.json"
ANSWER_FILE = "answer.json"
X_TEST_FILE = "x_test.npy"


def write_in_tensorflow(format_name: str, model, folder: Path, preprocessor, *, task: str, x_test, details: dict):
    """`exporting.write_export(format_name, ...)` for a model of a non-TensorFlow backend,
    run by a TensorFlow process on the same weights; returns what it returns. An rnn_zoo
    error there is raised here as the same error."""
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


# The writer's program. Its replies go to a copy of its stdout, made first: whatever else is
# printed, from the imports on, goes to stderr (the log), never into the replies.
WRITER_CODE = (
    "import os, sys; replies = os.fdopen(os.dup(1), 'w'); os.dup2(2, 1); "
    "from rnn_zoo.exporting import serve_writer_requests; sys.exit(serve_writer_requests(replies))"
)


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
