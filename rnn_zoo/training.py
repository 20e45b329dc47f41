"""Fit a task's model, evaluate it in human units, and put its naive baseline beside it."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import json
import math
import numbers
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .backend import import_keras_quietly, states_tracked
from .classical import classical_scores
from .data import TaskData
from .data.loading import check_seed, load_task_data
from .distributed import DEFAULT_TIMEOUT_S, check_strategy, check_timeout
from .distributed import start as start_cluster
from .errors import DataError, InvalidOverrideError, PresetError, TrainingDivergedError
from .intervals import too_few_note
from .model_state import local_copy, reset_states, states_kept, weights_are_finite
from .models import build, check_architecture, compile_model, resolve
from .preprocessing import check_preprocessor
from .preset_files import MODEL_FILE, save_preset
from .preset_loading import PresetParts, load_preset_parts
from .provenance import file_sha256, preset_metadata, who_wins
from .registry import TaskSpec, get_task
from .shipped import LosesToBaselineWarning

import_keras_quietly()  # on TensorFlow, its start-up lines hidden before Keras imports it
import keras  # noqa: E402


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
    # A run resumed from its checkpoint folder: {"at_epoch", "checkpoint_dir", "note"}; else None.
    resumed: dict[str, Any] | None = None
    # A run fine-tuned from a preset: {"task", "preset" (a shipped name or a folder's name, never
    # a path), "shipped", "model_sha256", "dataset_sha256", "seed"}, as metadata.json's "parent".
    parent: dict[str, Any] | None = None

    @property
    def preprocessor(self):
        """The preprocessing state the model was trained with (codec, scaler, vocabulary)."""
        return self.data.preprocessor

    @functools.cached_property
    def classical(self) -> dict[str, Any]:
        """The family's classical model (scikit-learn or closed form), fitted on this run's
        training split only and scored on its test split: {"name", "settings", metric: value}."""
        return classical_scores(self.data)

    def metadata(self) -> dict[str, Any]:
        """The preset metadata of this run: spec, seed, metrics beside the baseline's,
        dataset and terms, versions, date, the command that reproduces it."""
        return preset_metadata(self)

    def save_preset(self, folder: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write this run as a preset folder, loadable with `rnn_zoo.load_preset(folder)`.
        An existing folder is replaced only if it is a zoo output or empty, or with `overwrite`.
        In a distributed run only process 0 writes (the others return at once)."""
        if not self.writes:
            return Path(folder)
        return save_preset(folder, self.model, self.preprocessor, self.metadata(), overwrite=overwrite)

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
        verdict = who_wins(self.task, self.metrics, self.baseline, self.classical)  # on the task's headline
        lines += [verdict] if verdict else []
        scores = getattr(self.preprocessor, "calibration_scores", None)  # (a stock run's, for its intervals)
        note = too_few_note(len(scores)) if scores is not None else ""
        lines += [note] if note else []
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
    import tensorflow as tf  # the input pipelines are tf.data on every backend

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _one_iterator(dataset, batches: int) -> tuple[Any, int | None]:
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


def on_a_terminal() -> bool:
    """Whether stdout shows a progress bar as one (a terminal, or a notebook, as Keras judges)."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty()) or "ipykernel" in sys.modules


def duration_text(seconds: float) -> str:
    """A duration in the unit a person reads it in: 40 s, 12 min, 5.2 h, 9 days, 4 months, 31 years."""
    if seconds < 10:
        return f"{seconds:.2g} s"
    for limit, unit, size in ((120, "s", 1), (7200, "min", 60), (172800, "h", 3600), (5184000, "days", 86400)):
        if seconds < limit:
            return f"{seconds / size:.2g} {unit}" if unit == "h" else f"{seconds / size:.0f} {unit}"
    months = seconds / (86400 * 30.44)
    return f"{months:.0f} months" if months < 24 else f"{months / 12:,.0f} years"


class TimeEstimate(keras.callbacks.Callback):
    """A run that will take more than `min_s` says, in one line on stderr, about how long all
    its epochs take at its pace: after the first epoch, or, where that epoch was short and
    mostly compiling (the letters tasks), after the second, which runs at the real pace."""

    def __init__(self, min_s: float = 60.0, compiling_s: float = 5.0):
        super().__init__()
        self.min_s, self.compiling_s = min_s, compiling_s

    def on_train_begin(self, logs=None):
        self.start, self.done = time.perf_counter(), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.done += 1
        pace = time.perf_counter() - self.epoch_start
        if self.done > 2 or (self.done == 1 and pace < self.compiling_s):
            return
        self.done = 3  # said (or not) once
        elapsed, left = time.perf_counter() - self.start, self.params["epochs"] - epoch - 1
        total = elapsed + pace * left
        if left and total > self.min_s:
            print(
                f"rnn_zoo: epoch {epoch + 1} took {duration_text(pace)}; at that pace the "
                f"{self.params['epochs']:,} epochs of this run take about {duration_text(total)}",
                file=sys.stderr,
                flush=True,
            )


def check_run_settings(*, epochs, batch_size, seed, max_train_samples, verbose) -> None:
    """One-line errors for run settings that Keras would take silently or fail on late."""
    for key, value in (("epochs", epochs), ("batch_size", batch_size), ("max_train_samples", max_train_samples)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1):
            raise InvalidOverrideError(f"{key} must be a positive whole number, got {value!r}")
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


HISTORY_FILE = "rnn_zoo_history.json"  # beside Keras's backup in a checkpoint folder
KERAS_BACKUP_RECORD = "training_metadata.json"  # BackupAndRestore's: {"epoch": epochs finished, ...}
RESUMED_NOTE = (
    "resumed from the weights saved after an earlier epoch, without the optimizer's state or the "
    "random generators' (Keras's BackupAndRestore keeps neither): the command above trains from "
    "scratch and does not reproduce this run bit for bit"
)


def resume_point(folder) -> tuple[int, dict[str, list[float]]]:
    """(epochs finished before, their history) of a checkpoint folder; (0, {}) when there
    is nothing to resume."""
    folder = Path(folder)
    try:
        epochs = int(json.loads((folder / KERAS_BACKUP_RECORD).read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0, {}
    try:
        history = json.loads((folder / HISTORY_FILE).read_text())
    except (OSError, ValueError):
        history = {}
    history = history if isinstance(history, dict) else {}
    return epochs, {str(k): [float(x) for x in v[:epochs]] for k, v in history.items() if isinstance(v, list)}


class HistoryBackup(keras.callbacks.Callback):
    """Every finished epoch's logs, kept in the checkpoint folder (before Keras's backup of
    the same epoch), so that a resumed run's history holds the epochs before the kill too."""

    def __init__(self, folder, earlier: dict[str, list[float]]):
        super().__init__()
        self.path = Path(folder) / HISTORY_FILE
        self.history = {key: list(values) for key, values in earlier.items()}

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        staging = self.path.with_name(f".{HISTORY_FILE}.part")
        staging.write_text(json.dumps(self.history))
        os.replace(staging, self.path)


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


@dataclasses.dataclass
class _Run:
    """One call of `train`, its settings checked and completed with the task's defaults."""

    name: str
    spec: TaskSpec
    epochs: int
    batch_size: int
    seed: int
    overrides: dict[str, Any]
    max_train_samples: int | None
    data_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    checkpoint_dir: Any = None
    strategy: Any = None  # a tf.distribute strategy
    distributed: bool = False
    steps_per_execution: int | None = None
    cluster: Any = None  # a distributed run's `rnn_zoo.distributed.Cluster`, once joined
    distributed_timeout: float = DEFAULT_TIMEOUT_S  # seconds for every process to arrive
    allow_modified_data: bool = False
    history_backup: Any = None  # a resumable run's `HistoryBackup`
    epochs_before: int = 0  # epochs a resumed run had finished before it was stopped
    parent: PresetParts | None = None  # the preset a fine-tuned run starts from ...
    parent_record: dict[str, Any] | None = None  # ... as its metadata names it (`parent_record`)

    @property
    def scope(self):
        """The distribution scope the model is built in, if any."""
        return self.strategy or (self.cluster.distribution if self.cluster is not None else None)


def _checked_run(name: str, epochs, batch_size, seed, max_train_samples, verbose, **settings) -> _Run:
    """The run's settings, each checked before any work starts (loading, building, fitting)."""
    spec = get_task(name)
    check_run_settings(
        epochs=epochs, batch_size=batch_size, seed=seed, max_train_samples=max_train_samples, verbose=verbose
    )
    resolve(spec, settings["overrides"])
    epochs = spec.train.epochs if epochs is None else epochs
    batch_size = spec.train.batch_size if batch_size is None else batch_size
    return _Run(name, spec, epochs, batch_size, seed, max_train_samples=max_train_samples, **settings)


def _check_distribution(run: _Run) -> None:
    """A run is on one device, under one tf.distribute strategy, or distributed; never both,
    and a stateful task only on one device, with its batch of one. (Before any work.)"""
    name, strategy, distributed = run.name, run.strategy, run.distributed
    if distributed and run.checkpoint_dir is not None:
        raise InvalidOverrideError(
            "checkpoint_dir cannot be used with distributed=True: Keras's BackupAndRestore "
            "has no process 0, so every process would write and delete the same folder"
        )
    if strategy is not None and distributed:
        raise InvalidOverrideError(
            "give strategy= (TensorFlow, one machine) or distributed=True (JAX, any number of machines), not both"
        )
    check_strategy(strategy)
    check_timeout(run.distributed_timeout)
    if run.spec.model.stateful:
        if strategy is not None or distributed:
            raise InvalidOverrideError(f"task {name!r} is stateful: its state cannot be split across replicas")
        if run.batch_size != 1:
            raise InvalidOverrideError(
                f"task {name!r} is stateful and trains on one unbroken curve: batch_size must be 1, "
                f"got {run.batch_size}"
            )
    given = run.steps_per_execution
    if given is not None and (isinstance(given, bool) or not isinstance(given, int) or given < 1):
        raise InvalidOverrideError(f"steps_per_execution must be a positive int, got {given!r}")
    if given is not None and given > 1 and strategy is not None:
        raise InvalidOverrideError(
            "steps_per_execution > 1 fails under a tf.distribute strategy in Keras 3.15; "
            "leave it at its default (1 with a strategy)"
        )


def _join_cluster(run: _Run) -> None:
    """A distributed run joins its cluster, before any JAX work (set_seed included): JAX
    picks its CPU collectives when it starts."""
    if not run.distributed:
        return
    run.cluster = start_cluster(run.distributed_timeout)
    if run.batch_size % run.cluster.num_devices:
        raise InvalidOverrideError(
            f"batch_size {run.batch_size} must be a multiple of the cluster's "
            f"{run.cluster.num_devices} devices: every global batch is split evenly between them"
        )


# -- fine-tuning: a run that starts from a preset's weights and preprocessing ---------------


def _parent_name(parts: PresetParts) -> str:
    """A parent preset's name in metadata: its shipped name, or its folder's name (never a path)."""
    return parts.metadata["task"] if parts.shipped else parts.folder.resolve().name


def _parent_where(parts: PresetParts) -> str:
    """A parent preset as a one-line error names it: the shipped name, or the folder."""
    return f"preset {_parent_name(parts)!r}" if parts.shipped else f"preset folder {parts.folder}"


def parent_record(parts: PresetParts) -> dict[str, Any]:
    """What a fine-tuned preset's metadata.json records as its "parent": the parent's task,
    name (shipped, or its folder's name only), model.keras sha256, dataset sha256 and seed."""
    meta = parts.metadata
    return {
        "task": meta["task"],
        "preset": _parent_name(parts),
        "shipped": parts.shipped,
        "model_sha256": file_sha256(parts.folder / MODEL_FILE),
        "dataset_sha256": meta["dataset"].get("sha256"),
        "seed": meta["seed"],
    }


def _load_parent(run: _Run, from_preset) -> None:
    """A fine-tuned run's parent preset (a shipped name or a folder), loaded and checked as
    any preset, then checked to fit the run before any data is read: its family, the kind
    and input shape of its preprocessor, and the data options its preprocessor holds. (The
    task's loader refuses a preprocessor of another class, e.g. a level scaler for returns;
    `_check_parent_shapes` then compares the weights.) Each misfit is one PresetError."""
    if from_preset is None:
        return
    with warnings.catch_warnings():  # a parent that loses to its baseline is a start, not the result
        warnings.simplefilter("ignore", LosesToBaselineWarning)
        parts = load_preset_parts(from_preset, stacklevel=4)
    where, family = _parent_where(parts), get_task(parts.metadata["task"]).family
    if family != run.spec.family:
        raise PresetError(
            f"{where} holds a {parts.metadata['task']!r} model, of the {family} family; task {run.name!r} is "
            f"of the {run.spec.family} family: fine-tune from a preset of the {run.spec.family} family"
        )
    try:
        check_preprocessor(run.spec, parts.preprocessor)
    except PresetError as e:
        raise PresetError(f"{where}: {e}") from None
    _check_parent_options(run, parts, where)
    run.parent, run.parent_record = parts, parent_record(parts)


def _check_parent_options(run: _Run, parts: PresetParts, where: str) -> None:
    """A fine-tuned run keeps its parent's preprocessing, so a data option that its
    preprocessor holds (a window, an SMS tokenizer's settings) must be the run's: the
    option given, else the task's, else the loader's default."""
    defaults = {
        key: p.default
        for key, p in inspect.signature(run.spec.loader).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    options = {**defaults, **run.spec.data_options, **run.data_options}
    for field in dataclasses.fields(parts.preprocessor):
        if field.name not in options:
            continue
        mine, wanted = getattr(parts.preprocessor, field.name), options[field.name]
        if _plain(mine) != _plain(wanted):
            raise PresetError(
                f"{where}: its preprocessor has {field.name}={mine!r}, but task {run.name!r} runs with "
                f"{field.name}={wanted!r}; a fine-tuned run keeps its parent's preprocessing "
                f"(give data option {field.name}={mine!r}, or train from scratch)"
            )


def _check_parent_shapes(run: _Run, parts: PresetParts, where: str) -> None:
    """The parent's weights have the shapes of the task's model with the run's overrides
    (its Embedding sized by the parent's vocabulary)."""
    overrides = dict(run.overrides)
    if run.spec.model.stateful:
        overrides.setdefault("batch_size", run.batch_size)
    try:
        reference = build(run.name, preprocessor=parts.preprocessor, compile=False, **overrides)
    except InvalidOverrideError as e:
        raise PresetError(f"{where}: {e}") from None
    mine = [(w.path, tuple(w.shape)) for w in parts.model.weights]
    theirs = [tuple(w.shape) for w in reference.weights]
    if len(mine) != len(theirs) or any(shape != other for (_, shape), other in zip(mine, theirs)):
        i = next((i for i, ((_, a), b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
        found = f"weight {mine[i][0]} has shape {mine[i][1]}" if i < len(mine) else f"it has {len(mine)} weights"
        wanted = f"shape {theirs[i]}" if i < len(theirs) else f"{len(theirs)} weights"
        raise PresetError(
            f"{where}: its weights do not fit the model of task {run.name!r} with overrides {run.overrides or {}}: "
            f"{found}, the task's model {wanted} (the preset was trained with overrides {parts.metadata['overrides']})"
        )


def _check_parent_data(run: _Run, data: TaskData) -> None:
    """A price series the parent's input range does not hold: its serving graph would refuse
    the series' own windows (the range is its training prices widened 100x each way)."""
    low_high = getattr(run.parent.preprocessor, "input_range", None)
    prices = [getattr(data, key, None) for key in ("train_prices", "test_prices")]
    if low_high is None or any(p is None for p in prices):
        return
    low, high = low_high
    values = np.concatenate(prices)
    if values.min() < low or values.max() > high:
        raise DataError(
            f"{data.source}: its prices run from {values.min():.6g} to {values.max():.6g}, outside "
            f"{low:.6g} to {high:.6g}, the input range of {_parent_where(run.parent)}: its scaling does not fit "
            "this series; train from scratch"
        )


def _plain(value):
    """Tuples as lists (as JSON holds them), to compare an option with a preprocessor's field."""
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def _run_data(run: _Run, data_dir) -> TaskData:
    """The run's data (a slice of it with `max_train_samples`), its checkpoint folder claimed."""
    preprocessor = run.parent.preprocessor if run.parent is not None else None
    try:
        data = load_task_data(
            run.name,
            data_dir=data_dir,
            seed=run.seed,
            preprocessor=preprocessor,
            allow_modified_data=run.allow_modified_data,
            **run.data_options,
        )
    except PresetError as e:  # the loader refuses the parent's preprocessor (a level scaler for returns)
        if run.parent is None:
            raise
        raise PresetError(
            f"{_parent_where(run.parent)}: {e}; a fine-tuned run keeps its parent's preprocessing"
        ) from None
    if run.parent is not None:
        _check_parent_shapes(run, run.parent, _parent_where(run.parent))
        _check_parent_data(run, data)
    if run.max_train_samples is not None:
        data = data.head(run.max_train_samples)
    if run.checkpoint_dir is not None:
        settings = ("epochs", "batch_size", "max_train_samples", "data_options", "overrides")
        record = {"task": run.name, "seed": run.seed, **{key: getattr(run, key) for key in settings}}
        if run.parent_record is not None:  # (a run from scratch keeps the record it had before)
            record["from_preset"] = run.parent_record
        claim_checkpoint_dir(run.checkpoint_dir, {**record, "data_source": data.source})
    if tuple(data.x_train.shape[1:]) != run.spec.input_shape:
        raise InvalidOverrideError(
            f"the data options give inputs of shape {tuple(data.x_train.shape[1:])}, but task {run.name!r} "
            f"models take {run.spec.input_shape}; register a task with that input shape instead"
        )
    if run.spec.model.stateful:
        run.overrides.setdefault("batch_size", run.batch_size)
    return data


def _fit_inputs(run: _Run, data: TaskData, validate: bool) -> tuple[Any, dict, int]:
    """(training dataset, `fit` options, steps per epoch)."""
    whole_batches = run.cluster is not None
    train_ds, test_ds = data.datasets(run.batch_size, seed=run.seed, whole_batches=whole_batches)
    steps = data.steps_per_epoch(run.batch_size, whole_batches=whole_batches)
    if steps == 0:
        raise InvalidOverrideError(
            f"{len(data.x_train)} training samples fill no batch of {run.batch_size}: give a smaller batch_size"
        )
    fit_options = {}
    if not run.spec.model.stateful:
        train_ds, fit_options["steps_per_epoch"] = _one_iterator(train_ds, steps)
        # (A stateful model validated between epochs would carry the test curve's state on;
        # a distributed one would split the validation pass between processes too.)
        if validate and run.cluster is None:
            fit_options["validation_data"], fit_options["validation_steps"] = _one_iterator(
                test_ds, data.test_batches(run.batch_size)
            )
    return train_ds, fit_options, steps


def _compiled_model(run: _Run, data: TaskData, steps: int):
    """The task's model, built in the run's distribution scope and compiled for `steps` a pass."""
    steps_per_execution = run.steps_per_execution
    if steps_per_execution is None:
        # Keras 3.15's multi-step loop fails under MirroredStrategy ("You must feed a value
        # for placeholder tensor"), so a distributed run keeps one step per call.
        steps_per_execution = 1 if run.strategy is not None else min(steps, MAX_STEPS_PER_EXECUTION)
    with run.scope.scope() if run.scope is not None else contextlib.nullcontext():
        # Sizes that depend on the data (the SMS vocabulary of this split) come from its preprocessor.
        model = build(run.name, preprocessor=data.preprocessor, compile=False, **run.overrides)
        if run.parent is not None:  # fine-tuning: the parent's weights, a fresh optimizer
            model.set_weights(run.parent.model.get_weights())
        train_spec = resolve(run.spec, run.overrides)[1]
        compile_model(model, train_spec, total_steps=run.epochs * steps, steps_per_execution=steps_per_execution)
    return model


def _run_callbacks(run: _Run, callbacks, verbose, steps: int) -> tuple[list, Any]:
    """(the callbacks `fit` gets, the verbosity it gets): the user's, then the zoo's."""
    callbacks = [*(callbacks or []), keras.callbacks.TerminateOnNaN()]
    if run.spec.model.stateful:
        callbacks.append(ResetStatesEachEpoch())
    if run.checkpoint_dir is not None:
        run.epochs_before, earlier = resume_point(run.checkpoint_dir)
        run.history_backup = HistoryBackup(run.checkpoint_dir, earlier)
        callbacks += [run.history_backup, keras.callbacks.BackupAndRestore(str(run.checkpoint_dir))]
    if verbose != 0:
        callbacks.append(TimeEstimate())
    if verbose == "auto" and not on_a_terminal():
        verbose = 2  # a pipe or a log file: plain lines, no terminal control codes
    if verbose == 2:  # one line per epoch (Keras writes two)
        return [*callbacks, EpochLines()], 0
    if steps == 1 and verbose in (1, "auto"):
        # An epoch of one tiny step (the letters tasks): one bar over the epochs, not one per epoch.
        return [*callbacks, EpochProgressBar()], 0
    return callbacks, verbose


def _fit(run: _Run, model, train_ds, fit_options: dict, callbacks, verbose) -> tuple[Any, dict, float]:
    """(the trained model, its history, the wall time of `fit`). A distributed run's model
    comes back as a local copy: every process holds a whole replica, which then evaluates,
    predicts and saves with no collective, the same on every process."""
    start = time.perf_counter()
    with run.scope.scope() if run.cluster is not None else contextlib.nullcontext(), states_tracked(model):
        # shuffle=False: the pipeline shuffles (and a stateful task's order matters).
        history = model.fit(
            train_ds, epochs=run.epochs, verbose=verbose, callbacks=callbacks, shuffle=False, **fit_options
        )
    wall = time.perf_counter() - start
    model = local_copy(model) if run.cluster is not None else model
    return model, {k: [float(v) for v in vs] for k, vs in history.history.items()}, wall


def samples_per_second(data: TaskData, batch_size: int, epochs: int, wall_time_s: float, **batching) -> float:
    """Training samples per second: the samples of one epoch (less a tail that fills no
    batch, where the data drops it; `batching` as `TaskData.steps_per_epoch` takes it),
    times the epochs run, over the wall time; 0 without a time."""
    steps = data.steps_per_epoch(batch_size, **batching)
    return min(len(data.x_train), steps * batch_size) * epochs / wall_time_s if wall_time_s > 0 else 0.0


def train(
    name: str,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    data_dir=None,
    seed: int = 0,
    checkpoint_dir=None,
    strategy=None,
    verbose: int | str = "auto",
    callbacks: list | None = None,
    data_options: dict[str, Any] | None = None,
    max_train_samples: int | None = None,
    validate: bool = True,
    steps_per_execution: int | None = None,
    distributed: bool = False,
    distributed_timeout: float = DEFAULT_TIMEOUT_S,
    allow_modified_data: bool = False,
    from_preset: str | os.PathLike | None = None,
    **overrides: Any,
) -> TrainResult:
    """Build task `name` (with `overrides`, see `rnn_zoo.build`), fit it on its training
    data, validating on the test data each epoch, and evaluate it beside its baseline.

    Defaults reproduce the tutorial. `checkpoint_dir` makes the run resumable (a killed run
    restarts from its last finished epoch); `strategy`: a tf.distribute strategy (TensorFlow,
    one machine); `distributed=True`: data-parallel over the processes that the
    KERAS_DISTRIBUTION_* variables describe (JAX; see `rnn_zoo.distributed`), where only
    process 0's `save_preset` and `export` write, and processes that have not all arrived
    within `distributed_timeout` seconds fail naming the missing ones; `max_train_samples`: train on the first
    samples only; `validate=False` skips the per-epoch test pass; `steps_per_execution`:
    training steps per compiled call (default: the epoch, at most 32);
    `allow_modified_data`: train on a copy of a published dataset whose sha256 is not the
    published one (recorded as such in the metadata); `from_preset` (a shipped preset's name or a
    preset folder of the same family): fine-tune, starting from its weights (with a fresh optimizer)
    and encoding the data with its preprocessor (`TrainResult.parent` names it). A cosine
    `lr_schedule` copies an optimizer instance given as an override with the schedule in."""
    run = _checked_run(name, epochs, batch_size, seed, max_train_samples, verbose, overrides=overrides)
    run.data_options, run.checkpoint_dir, run.strategy = dict(data_options or {}), checkpoint_dir, strategy
    run.distributed, run.steps_per_execution = distributed, steps_per_execution
    run.distributed_timeout = distributed_timeout
    run.allow_modified_data = allow_modified_data
    _check_distribution(run)
    _join_cluster(run)
    _load_parent(run, from_preset)
    set_seed(seed)
    data = _run_data(run, data_dir)
    train_ds, fit_options, steps = _fit_inputs(run, data, validate)
    model = _compiled_model(run, data, steps)
    callbacks, verbose = _run_callbacks(run, callbacks, verbose, steps)
    model, history, wall = _fit(run, model, train_ds, fit_options, callbacks, verbose)
    if run.epochs_before:  # a resumed run: the epochs before the kill, then this process's
        history = run.history_backup.history
    metrics = evaluate(model, name, data=data)
    check_converged(name, model, history, metrics)
    result = _result(run, data, model, history, metrics, wall)
    result.parent = run.parent_record
    return result


def _result(run: _Run, data: TaskData, model, history: dict, metrics: dict, wall: float) -> TrainResult:
    epochs_run = len(history.get("loss", [])) - run.epochs_before  # (the wall time is this process's)
    whole_batches = run.cluster is not None
    resumed = None
    if run.epochs_before:
        resumed = {"at_epoch": run.epochs_before + 1, "checkpoint_dir": Path(run.checkpoint_dir).name}
        resumed["note"] = RESUMED_NOTE
    if data.calibrates:  # the prediction intervals, from the test days (never trained on)
        data = data.calibrated(predict_test(model, data))
    return TrainResult(
        task=run.name,
        model=model,
        data=data,
        history=history,
        metrics=metrics,
        baseline=data.baseline_scores(),
        baseline_name=data.baseline_name,
        epochs=run.epochs,
        batch_size=run.batch_size,
        seed=run.seed,
        overrides=run.overrides,
        wall_time_s=wall,
        samples_per_s=samples_per_second(data, run.batch_size, epochs_run, wall, whole_batches=whole_batches),
        data_options=run.data_options,
        max_train_samples=run.max_train_samples,
        cluster=run.cluster,
        resumed=resumed,
    )


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
    without either, the preprocessing is fitted again on the split of `seed`. A stateful
    model's state is as it was afterwards. A model that is not one of task `name`'s (its
    input or output shape, its Embedding's size, or a zoo model's own task name differ) is
    refused: its metrics would be reported as another task's."""
    if data is None:
        data = load_task_data(name, data_dir=data_dir, seed=seed, preprocessor=preprocessor, **data_options)
    check_architecture(model, name, data.preprocessor, None, where="the keras.Model given to evaluate")
    with states_kept(model):  # a stateful model's live sequence goes on afterwards as before
        return data.score(predict_test(model, data))


__all__ = ["TrainResult", "train", "evaluate", "predict_test", "set_seed", "reset_states"]
