"""Fit a task's model on its data and evaluate it on the held-out split."""
from __future__ import annotations

import dataclasses
import time
from typing import Any

import keras

from .registry import get_task


@dataclasses.dataclass
class TrainResult:
    """The trained model, its Keras history, test metrics and timing."""

    task: str
    model: keras.Model
    history: dict[str, list[float]]
    test_metrics: dict[str, float]
    wall_time_s: float
    seed: int


def train(
    name: str, *, epochs: int | None = None, batch_size: int | None = None, data_dir=None,
    seed: int = 0, verbose: int | str = "auto", data_options: dict[str, Any] | None = None, **overrides: Any,
) -> TrainResult:
    """Build task `name` (with `overrides`), fit it with the task's defaults (or `epochs`,
    `batch_size`) and evaluate on the test split."""
    from . import build, load_task_data

    spec = get_task(name)
    keras.utils.set_random_seed(seed)
    data = load_task_data(name, data_dir=data_dir, seed=seed, **(data_options or {}))
    batch_size = batch_size or spec.train.batch_size
    if spec.model.stateful:
        overrides.setdefault("batch_size", batch_size)
    if getattr(data, "vocab_size", None) is not None:
        overrides.setdefault("vocab_size", data.vocab_size)  # vocabulary depends on the split
    model = build(name, **overrides)
    train_ds, test_ds = data.datasets(batch_size, seed=seed)
    start = time.perf_counter()
    history = model.fit(
        train_ds, epochs=epochs or spec.train.epochs, verbose=verbose,
        shuffle=False,  # the tf.data pipeline already shuffles (and stateful data must not be)
        # Keras 3 resets a stateful RNN's state at the start of every epoch and evaluation
        # only when told; the model sees the sequence from its start each pass.
        callbacks=[_ResetStates()] if spec.model.stateful else [],
    )
    wall = time.perf_counter() - start
    # No reset here: the test stretch of a stateful task continues the training curve,
    # so the state left by the last training batch is the right one to start from.
    metrics = model.evaluate(test_ds, verbose=0, return_dict=True)
    return TrainResult(name, model, history.history, {k: float(v) for k, v in metrics.items()}, wall, seed)


def _reset_states(model: keras.Model) -> None:
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_state()


class _ResetStates(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        _reset_states(self.model)
