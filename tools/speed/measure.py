"""Timers for the speed benchmark: training epochs (zoo and PyTorch), bare training
steps, inference paths and import time. Each returns plain numbers in seconds."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def epoch_times(ends: list[float]) -> list[float]:
    """Times between consecutive epoch ends: every epoch but the first (tracing, warm-up)."""
    return [float(t) for t in np.diff(ends)]


def time_calls(fn: Callable[[], object], *, min_calls: int = 5, min_seconds: float = 0.3) -> float:
    """Median seconds per call of `fn`, after one warm-up call, over at least `min_calls`
    calls and `min_seconds`."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def zoo_training(task: str, *, epochs: int, seed: int, data_dir, max_train_samples: int | None, validate: bool = False):
    """The zoo's default training path (`rnn_zoo.train` without the progress bar, and by
    default without the per-epoch test pass): (TrainResult, epoch times after the first)."""
    import keras

    from rnn_zoo.training import train

    class EpochEnds(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.ends = []

        def on_epoch_end(self, epoch, logs=None):
            self.ends.append(time.perf_counter())

    clock = EpochEnds()
    result = train(
        task,
        epochs=epochs,
        seed=seed,
        data_dir=data_dir,
        max_train_samples=max_train_samples,
        validate=validate,
        verbose=0,
        callbacks=[clock],
    )
    return result, epoch_times(clock.ends)


def zoo_step_time(result) -> float:
    """Seconds of one bare compiled training call on one batch (no fit loop around it)."""
    model, data = result.model, result.data
    iterator = iter(data.datasets(result.batch_size, seed=result.seed)[0].repeat())
    return time_calls(lambda: model.train_function(iterator))


def torch_trainer(task: str, data, *, seed: int, epochs: int):
    from rnn_zoo.models import resolve
    from rnn_zoo.registry import get_task

    from .torch_models import TorchTrainer

    spec = get_task(task)
    model_spec, train_spec = resolve(spec, data.preprocessor.model_sizes())
    steps = data.steps_per_epoch(train_spec.batch_size)
    return TorchTrainer(
        model_spec, train_spec, spec.input_shape, data.x_train, data.y_train, total_steps=epochs * steps, seed=seed
    )


def torch_training(trainer, *, epochs: int) -> list[float]:
    ends = []
    for _ in range(epochs):
        trainer.fit_epoch()
        ends.append(time.perf_counter())
    return epoch_times(ends)


def torch_step_time(trainer) -> float:
    index = trainer.batches()[0]
    return time_calls(lambda: trainer.train_step(index))


def inference_times(result, *, batch: int = 256) -> dict:
    """Batch-1 latency (ms) and batch-`batch` throughput (samples/s) of each way to run a
    trained model: the reloaded SavedModel's `serve` (human inputs, pre- and
    post-processing included), `model.predict`, `model.predict_on_batch`, and a
    `tf.function` around `model(x)`. A stateful model takes batch 1 only. On another
    backend than TensorFlow, the two Keras paths only (its exports are TensorFlow's)."""
    import tensorflow as tf

    from rnn_zoo import backend
    from rnn_zoo.exporting import export

    model, data = result.model, result.data
    stateful = data.stateful
    sizes = [1] if stateful else [1, batch]
    on_tf = backend.name() == "tensorflow"
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        if on_tf:
            loaded = tf.saved_model.load(str(export(result, Path(tmp) / "m")))
            compiled = tf.function(lambda x: model(x, training=False))
        for n in sizes:
            human = {k: tf.constant(v) for k, v in data.serving_examples(n).items()}
            x = data.x_test[data._test_rows(n)]
            x_tensor = tf.constant(x)
            paths = {
                "model_predict": lambda: model.predict(x, batch_size=n, verbose=0),
                "model_predict_on_batch": lambda: model.predict_on_batch(x),
            }
            if on_tf:
                paths = {
                    "saved_model_serve": lambda: loaded.serve(**human),
                    **paths,
                    "tf_function_call": lambda: compiled(x_tensor),
                }
            for path, fn in paths.items():
                seconds = time_calls(fn)
                key = "batch1_latency_ms" if n == 1 else f"batch{n}_samples_per_s"
                rows.setdefault(path, {})[key] = seconds * 1e3 if n == 1 else n / seconds
    return rows


def import_times(repeats: int = 5) -> dict:
    """Median seconds, each in a fresh interpreter, to import: rnn_zoo alone; TensorFlow
    with Keras; and everything `rnn_zoo.train` needs. Also which heavy modules each of
    those imports loads."""
    probes = {
        "import_rnn_zoo_s": "import rnn_zoo",
        "import_tensorflow_keras_s": "import tensorflow, keras",
        "import_rnn_zoo_training_s": "import rnn_zoo.training, rnn_zoo.saved_model",
    }
    heavy = ("matplotlib", "tensorflow_datasets", "torch", "pandas", "sklearn")
    out = {"repeats": repeats, "heavy_modules": {}}
    for key, statement in probes.items():
        # Each run prints its import time, then the heavy modules loaded (the last line).
        code = (
            f"import sys, time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t); "
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
        )
        runs = [
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout.splitlines()[-2:]
            for _ in range(repeats)
        ]
        out[key] = statistics.median(float(seconds) for seconds, _ in runs)
        # TensorFlow itself imports matplotlib, pandas and sklearn when they are installed.
        out["heavy_modules"][key.removesuffix("_s")] = runs[-1][1].split()
    out["rnn_zoo_beyond_tensorflow_s"] = out["import_rnn_zoo_training_s"] - out["import_tensorflow_keras_s"]
    return out
