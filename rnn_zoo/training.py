"""Fit a task's model, evaluate it in human units, and put its naive baseline beside it."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import numbers
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .backend import states_tracked
from .data import TaskData
from .distributed import check_strategy
from .distributed import start as start_cluster
from .errors import InvalidOverrideError, TrainingDivergedError
from .registry import get_task


@dataclasses.dataclass
class TrainResult:
    """A trained model with its test metrics and, beside them, the naive baseline's and
    (`classical`, fitted when first asked for) the classical model's."""

    task: str
    model: keras.Model
    data: TaskData
    history: dict[str, list[float]]
    metrics: dict[str, float]
    baseline: dict[str, float]
    baseline_name: str
    epochs: int
    batch_size: int
    seed: int
    overrides: dict[str, Any]
    wall_time_s: float
    samples_per_s: float
    data_options: dict[str, Any] = dataclasses.field(default_factory=dict)  # as given to train()
    max_train_samples: int | None = None
    cluster: Any = None  # a distributed run's `rnn_zoo.distributed.Cluster`, as this process sees it

    @property
    def preprocessor(self):
        """The preprocessing state the model was trained with (codec, scaler, vocabulary)."""
        return self.data.preprocessor

    @functools.cached_property
    def classical(self) -> dict[str, Any]:
        """The family's classical model (scikit-learn or closed form), fitted on this run's
        training split only and scored on its test split: {"name", "settings", metric: value}."""
        from .classical import classical_scores

        return classical_scores(self.data)

    def metadata(self) -> dict[str, Any]:
        """The preset metadata of this run: spec, seed, metrics beside the baseline's,
        dataset and terms, versions, date, the command that reproduces it."""
        from .presets import preset_metadata

        return preset_metadata(self)

    def to_preset(self):
        """This run as a `Preset` (model, preprocessor, metadata), in memory."""
        from .presets import Preset

        return Preset(self.model, self.preprocessor, self.metadata())

    def save_preset(self, folder, *, overwrite: bool = False):
        """Write this run as a preset folder, loadable with `rnn_zoo.load_preset(folder)`.
        An existing folder is replaced only if it is a zoo output or empty, or with `overwrite`.
        In a distributed run only process 0 writes (the others return at once)."""
        if not self.writes:
            return Path(folder)
        return self.to_preset().save(folder, overwrite=overwrite)

    @property
    def writes(self) -> bool:
        """Whether this process writes the run's outputs: always, except in a distributed
        run, where process 0 alone does."""
        return self.cluster is None or self.cluster.is_chief

    def summary(self) -> str:
        """A small table: each metric for the model, the naive baseline and the classical model."""
        width = max(map(len, self.metrics))
        lines = [
            f"{self.task}, test set. Baseline: {self.baseline_name}. Classical: {self.classical['name']}.",
            f"{'metric':<{width}}  {'model':>12}  {'baseline':>12}  {'classical':>12}",
        ]
        for key, value in self.metrics.items():
            lines.append(f"{key:<{width}}  {value:>12.6g}  {self.baseline[key]:>12.6g}  {self.classical[key]:>12.6g}")
        lines.append(
            f"{self.epochs} epoch(s), batch {self.batch_size}, seed {self.seed}: "
            f"{self.wall_time_s:.1f} s, {self.samples_per_s:,.0f} training samples/s"
        )
        if self.cluster is not None:
            lines.append(
                f"data-parallel over {self.cluster.num_processes} processes, {self.cluster.num_devices} devices in all"
            )
        return "\n".join(lines)


# Steps per compiled call by default: most of the per-step Python overhead is gone by 32,
# while the progress bar still moves a few times per epoch on the larger tasks.
MAX_STEPS_PER_EXECUTION = 32


def set_seed(seed: int) -> None:
    """Seed Python, numpy and TensorFlow, and make TF ops deterministic, so that two CPU
    runs with the same seed give identical results."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def stateful_rnns(model: keras.Model) -> list:
    """The recurrent layers of `model` that keep their state (both halves of a Bidirectional)."""
    return [
        rnn
        for layer in model.layers
        for rnn in (getattr(layer, "forward_layer", layer), getattr(layer, "backward_layer", None))
        if getattr(rnn, "stateful", False)
    ]


def reset_states(model: keras.Model) -> None:
    for rnn in stateful_rnns(model):
        rnn.reset_state()


def _one_iterator(dataset: tf.data.Dataset, batches: int) -> tuple[tf.data.Dataset, int | None]:
    """(dataset, steps per pass) for `fit`. A one-batch dataset (the letters tasks) is
    repeated with 1 step per pass, so that `fit` keeps one iterator: a fresh one each epoch
    costs more than the tiny step itself. Others keep Keras's default (None)."""
    return (dataset.repeat(), 1) if batches == 1 else (dataset, None)


class EpochLines(keras.callbacks.Callback):
    """One plain line per epoch: what a log file or a CI console wants."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        values = " - ".join(f"{k} {v:.4g}" for k, v in (logs or {}).items())
        print(
            f"epoch {epoch + 1}/{self.params['epochs']} - {time.perf_counter() - self.start:.2f}s - {values}",
            flush=True,
        )


class EpochProgressBar(keras.callbacks.Callback):
    """One progress bar over all epochs, for tasks whose epoch is a single tiny step."""

    def on_train_begin(self, logs=None):
        self.bar = keras.utils.Progbar(self.params["epochs"], unit_name="epoch")

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(epoch + 1, values=[(k, v) for k, v in (logs or {}).items() if not k.startswith("val_")])


def check_run_settings(*, epochs, batch_size, seed, max_train_samples, verbose) -> None:
    """One-line errors for run settings that Keras would take silently or fail on late."""
    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("max_train_samples", max_train_samples)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
            raise InvalidOverrideError(f"{key} must be a positive whole number, got {value!r}")
    from . import check_seed

    check_seed(seed)
    if verbose not in (0, 1, 2, "auto") or isinstance(verbose, bool):
        raise InvalidOverrideError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")


CHECKPOINT_MARKER = "rnn_zoo_checkpoint.json"


def _stable(value):
    """A JSON-able stand-in for a run setting; objects whose repr holds an address (an
    optimizer instance) by their class, so that a resumed run can match."""
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    text = repr(value)
    return type(value).__name__ if " at 0x" in text else text


def claim_checkpoint_dir(folder, run: dict) -> None:
    """A checkpoint folder resumes only the run it was made for (task, seed, epochs, batch
    size, data, overrides). Keras deletes the folder when training ends, so a folder of the
    user's own (not empty, no marker) is refused."""
    folder = Path(folder)
    task = run["task"]
    record = _stable(run)
    marker = folder / CHECKPOINT_MARKER
    if marker.is_file():
        try:
            found = json.loads(marker.read_text())
        except ValueError:
            found = None
        if found != record:
            what = f"task {found.get('task')!r}" if isinstance(found, dict) else "another run"
            raise InvalidOverrideError(
                f"checkpoint folder {folder} holds a run of {what} with other settings, not "
                f"this one ({task}); use another --checkpoint-dir"
            )
        return
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidOverrideError(
            f"checkpoint folder {folder} exists and is not an rnn_zoo checkpoint; Keras "
            "deletes it when training ends, so give a new or empty folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(record) + "\n")


def weights_are_finite(model: keras.Model) -> bool:
    return all(np.isfinite(w).all() for w in model.get_weights())


def check_converged(name: str, model: keras.Model, history: dict, metrics: dict) -> None:
    """A TrainingDivergedError when the loss, the weights or the test metrics are not finite."""
    losses = history.get("loss", [])
    bad = next((i for i, v in enumerate(losses) if not math.isfinite(v)), None)
    finite = all(math.isfinite(v) for v in metrics.values()) and weights_are_finite(model)
    if bad is not None or not finite:
        where = f"at epoch {bad + 1} (loss {losses[bad]})" if bad is not None else "(non-finite weights or metrics)"
        raise TrainingDivergedError(
            f"training of {name} diverged {where}; nothing was saved. "
            "Lower the learning rate (--set learning_rate=...) and train again"
        )


class ResetStatesEachEpoch(keras.callbacks.Callback):
    """Each pass over a stateful task's sequence starts from a zero state."""

    def on_epoch_begin(self, epoch, logs=None):
        reset_states(self.model)


def train(
    name: str,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    data_dir=None,
    seed: int = 0,
    checkpoint_dir=None,
    strategy: tf.distribute.Strategy | None = None,
    verbose: int | str = "auto",
    callbacks: list[keras.callbacks.Callback] | None = None,
    data_options: dict[str, Any] | None = None,
    max_train_samples: int | None = None,
    validate: bool = True,
    steps_per_execution: int | None = None,
    distributed: bool = False,
    **overrides: Any,
) -> TrainResult:
    """Build task `name` (with `overrides`, see `rnn_zoo.build`), fit it on its training
    data, validating on the test data each epoch, and evaluate it beside its baseline.

    Defaults reproduce the tutorial (epochs, batch size, optimizer). `checkpoint_dir`
    makes the run resumable (a killed run restarts from its last finished epoch);
    `strategy` is a tf.distribute strategy whose scope builds the model (TensorFlow, one
    machine); `distributed=True` trains data-parallel over the processes and machines that
    the KERAS_DISTRIBUTION_* variables describe (JAX; see `rnn_zoo.distributed`): every
    process runs the same call and gets the same result (its `model` an uncompiled copy of
    the trained weights), per-epoch validation is off, and only process 0's `save_preset`
    and `export` write;
    `max_train_samples` trains on the first samples only (a quick run on a slice);
    `validate=False` skips the per-epoch test pass (the curves), not the final evaluation;
    `steps_per_execution` is how many training steps run in one compiled call (default:
    the whole epoch, at most 32): larger saves Python overhead per step, but batch-level
    callbacks and the progress bar then see one batch per call. With a cosine `lr_schedule`,
    an optimizer instance passed as an override is copied with the schedule built in; the
    copy, `result.model.optimizer`, is the one that trains."""
    from . import build, load_task_data
    from .models import compile_model, resolve

    spec = get_task(name)
    # Every setting is checked before any work starts (loading, building, fitting).
    check_run_settings(
        epochs=epochs, batch_size=batch_size, seed=seed, max_train_samples=max_train_samples, verbose=verbose
    )
    resolve(spec, overrides)
    batch_size = spec.train.batch_size if batch_size is None else batch_size
    epochs = spec.train.epochs if epochs is None else epochs
    if distributed and checkpoint_dir is not None:
        raise InvalidOverrideError(
            "checkpoint_dir cannot be used with distributed=True: Keras's BackupAndRestore "
            "has no process 0, so every process would write and delete the same folder"
        )
    if strategy is not None and distributed:
        raise InvalidOverrideError(
            "give strategy= (TensorFlow, one machine) or distributed=True (JAX, any number of machines), not both"
        )
    check_strategy(strategy)
    if spec.model.stateful:
        if strategy is not None or distributed:
            raise InvalidOverrideError(f"task {name!r} is stateful: its state cannot be split across replicas")
        if batch_size != 1:
            raise InvalidOverrideError(
                f"task {name!r} is stateful and trains on one unbroken curve: batch_size must be 1, got {batch_size}"
            )
    given = steps_per_execution
    if given is not None and (isinstance(given, bool) or not isinstance(given, int) or given < 1):
        raise InvalidOverrideError(f"steps_per_execution must be a positive int, got {steps_per_execution!r}")
    if steps_per_execution is not None and steps_per_execution > 1 and strategy is not None:
        raise InvalidOverrideError(
            "steps_per_execution > 1 fails under a tf.distribute strategy in Keras 3.15; "
            "leave it at its default (1 with a strategy)"
        )
    # Before any JAX work (set_seed included): JAX picks its CPU collectives when it starts.
    cluster = start_cluster() if distributed else None
    if cluster is not None and batch_size % cluster.num_devices:
        raise InvalidOverrideError(
            f"batch_size {batch_size} must be a multiple of the cluster's "
            f"{cluster.num_devices} devices: every global batch is split evenly between them"
        )
    set_seed(seed)
    data = load_task_data(name, data_dir=data_dir, seed=seed, **(data_options or {}))
    if max_train_samples is not None:
        data = data.head(max_train_samples)
    if checkpoint_dir is not None:
        claim_checkpoint_dir(
            checkpoint_dir,
            dict(
                task=name,
                seed=seed,
                epochs=epochs,
                batch_size=batch_size,
                max_train_samples=max_train_samples,
                data_source=data.source,
                data_options=data_options or {},
                overrides=overrides,
            ),
        )
    if tuple(data.x_train.shape[1:]) != spec.input_shape:
        raise InvalidOverrideError(
            f"the data options give inputs of shape {tuple(data.x_train.shape[1:])}, but task {name!r} "
            f"models take {spec.input_shape}; register a task with that input shape instead"
        )
    if spec.model.stateful:
        overrides.setdefault("batch_size", batch_size)
    whole_batches = cluster is not None
    train_ds, test_ds = data.datasets(batch_size, seed=seed, whole_batches=whole_batches)
    steps = data.steps_per_epoch(batch_size, whole_batches=whole_batches)
    if steps == 0:
        raise InvalidOverrideError(
            f"{len(data.x_train)} training samples fill no batch of {batch_size}: give a smaller batch_size"
        )
    validate = validate and cluster is None  # a validation pass would be split between processes too
    if steps_per_execution is None:
        # Keras 3.15's multi-step loop fails under MirroredStrategy ("You must feed a value
        # for placeholder tensor"), so a distributed run keeps one step per call.
        steps_per_execution = 1 if strategy is not None else min(steps, MAX_STEPS_PER_EXECUTION)
    fit_options = {}
    if not spec.model.stateful:
        train_ds, fit_options["steps_per_epoch"] = _one_iterator(train_ds, steps)
        # (A stateful model validated between epochs would carry the test curve's state on.)
        if validate:
            fit_options["validation_data"], fit_options["validation_steps"] = _one_iterator(
                test_ds, data.test_batches(batch_size)
            )
    scope = strategy or (cluster.distribution if cluster is not None else None)
    with scope.scope() if scope is not None else contextlib.nullcontext():
        # Sizes that depend on the data (the SMS vocabulary of this split) come from its preprocessor.
        model = build(name, preprocessor=data.preprocessor, compile=False, **overrides)
        compile_model(
            model, resolve(spec, overrides)[1], total_steps=epochs * steps, steps_per_execution=steps_per_execution
        )
    callbacks = [*(callbacks or []), keras.callbacks.TerminateOnNaN()]
    if spec.model.stateful:
        callbacks.append(ResetStatesEachEpoch())
    if checkpoint_dir is not None:
        callbacks.append(keras.callbacks.BackupAndRestore(str(checkpoint_dir)))
    if verbose == 2:  # one line per epoch (Keras writes two)
        callbacks.append(EpochLines())
        verbose = 0
    elif steps == 1 and verbose in (1, "auto"):
        # An epoch of one tiny step (the letters tasks): one bar over the epochs, not one per epoch.
        callbacks.append(EpochProgressBar())
        verbose = 0
    start = time.perf_counter()
    with scope.scope() if cluster is not None else contextlib.nullcontext(), states_tracked(model):
        history = model.fit(
            train_ds,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
            shuffle=False,  # the pipeline shuffles (and a stateful task's order matters)
            **fit_options,
        )
    wall = time.perf_counter() - start
    if cluster is not None:
        # Every process holds a whole replica: a local copy evaluates, predicts and saves
        # with no collective, the same on every process.
        model = local_copy(model)
    history = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    epochs_run = len(history.get("loss", []))
    metrics = evaluate(model, name, data=data)
    check_converged(name, model, history, metrics)
    return TrainResult(
        task=name,
        model=model,
        data=data,
        history=history,
        metrics=metrics,
        baseline=data.baseline_scores(),
        baseline_name=data.baseline_name,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        overrides=overrides,
        wall_time_s=wall,
        samples_per_s=min(len(data.x_train), steps * batch_size) * epochs_run / max(wall, 1e-9),
        data_options=dict(data_options or {}),
        max_train_samples=max_train_samples,
        cluster=cluster,
    )


def local_copy(model: keras.Model) -> keras.Model:
    """An uncompiled model of `model`'s architecture and weights, outside any distribution."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights([np.asarray(w) for w in model.get_weights()])
    return copy


def predict_test(model: keras.Model, data: TaskData) -> np.ndarray:
    """The model's outputs on the test inputs. A stateful model first reads the training
    stretch from a zero state, so the test stretch starts from the state it continues."""
    if not data.stateful:
        return model.predict(data.x_test, verbose=0, batch_size=256)
    batch = model.input_shape[0]
    if batch != 1:
        raise InvalidOverrideError(
            f"a stateful model is evaluated with batch size 1 (one unbroken curve); this one has {batch}"
        )
    reset_states(model)
    with states_tracked(model):
        model.predict(data.x_train, batch_size=1, verbose=0)
        return model.predict(data.x_test, batch_size=1, verbose=0)


def evaluate(
    model: keras.Model,
    name: str,
    *,
    data: TaskData | None = None,
    preprocessor=None,
    data_dir=None,
    seed: int = 0,
    **data_options: Any,
) -> dict[str, float]:
    """Task `name`'s test metrics of `model`, in human units (prices, accuracy, ...).
    Pass `data` (from `load_task_data`), or the `preprocessor` the model was trained with
    (a preset's, `result.preprocessor`), so that the test split is encoded as in training;
    without either, the preprocessing is fitted again on the split of `seed`."""
    from . import load_task_data

    if data is None:
        data = load_task_data(name, data_dir=data_dir, seed=seed, preprocessor=preprocessor, **data_options)
    return data.score(predict_test(model, data))


__all__ = ["TrainResult", "train", "evaluate", "predict_test", "set_seed", "reset_states"]
