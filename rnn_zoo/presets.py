"""Presets: a trained model travelling with its preprocessing and its provenance.

A preset is a folder (the layout of keras-hub's presets):

    model.keras          the Keras model, loadable with safe_mode=True (no optimizer state)
    preprocessor.json    the family's preprocessing state as plain data ...
    assets/              ... and its files, e.g. the SMS vocabulary
    metadata.json        task, spec, seed, metrics beside the baseline's, dataset and its
                         terms, versions, date, the command that reproduces it

The folder's format is `rnn_zoo.preset_files`'s; the zoo ships one preset for every task
inside the package (`rnn_zoo.shipped`). A preset exports with `rnn_zoo.export(preset, path)`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from .data import TaskData
from .data.loading import check_seed, data_class, load_task_data
from .data.sources import ALLOW_MODIFIED_FLAG, modified_data_allowed
from .errors import DataError, InvalidOverrideError, PresetError
from .intervals import DEFAULT_LEVEL, check_level
from .model_state import reset_states
from .preprocessing import Preprocessor
from .preset_files import save_preset
from .preset_loading import load_preset_parts, resolve_preset  # noqa: F401 (resolve_preset: importable here as before)
from .provenance import PATH_OPTION as _PATH_OPTION
from .provenance import data_fingerprint
from .training import TrainResult, evaluate, samples_per_second


class _DefaultLevel(float):
    """`Preset.predict`'s default level (0.9), told apart from a level given: the default
    gives the point forecast alone on a preset without calibration scores, a level given is
    refused there."""


_DEFAULT_LEVEL = _DefaultLevel(DEFAULT_LEVEL)


@dataclasses.dataclass
class Preset:
    """A trained model, its preprocessor and its metadata.

    `predict` takes human inputs (a string of letters, a raw message, a window of prices,
    a uint8 image, sine values), one or a batch, and returns for each a dict of human
    outputs: "prediction" and, where the task has them, probabilities."""

    model: Any  # keras.Model
    preprocessor: Preprocessor
    metadata: dict
    path: Path | None = None

    @property
    def task(self) -> str:
        return self.metadata["task"]

    @functools.cached_property
    def _serve(self):
        import tensorflow as tf

        serving = self.preprocessor.serving(self.model)
        self._resources = serving.resources  # kept alive beside the function that uses them
        return tf.function(serving.fn, input_signature=serving.input_signature), serving.input_signature[0]

    @property
    def input_spec(self):
        """The `tf.TensorSpec` of the human input `predict` and the export's `serve` take."""
        return self._serve[1]

    def predict(self, inputs: Any, level: float | None = _DEFAULT_LEVEL) -> dict[str, Any] | list[dict[str, Any]]:
        """Human inputs -> human outputs; one input gives one dict, a batch a list of them.
        Where the preprocessor holds calibration scores (a stock preset's), each output
        also gives "lower" and "upper", the split conformal interval at `level` (0.9: 90%;
        the lower bound at least 0), and the "level"; `level=None` answers the point only.
        A preset without scores answers the point only by default, and refuses a level given."""
        import tensorflow as tf

        level = self._checked_level(level)
        serve, spec = self._serve
        batch, single = _as_batch(inputs, spec, self.preprocessor)
        # A stateful model's batch size is fixed (1): its inputs go in one at a time, in order.
        pieces = [batch] if spec.shape[0] is None else [batch[i : i + spec.shape[0]] for i in range(len(batch))]
        rows = []
        for piece in pieces:
            try:
                out = serve(tf.constant(piece))
            except tf.errors.InvalidArgumentError as e:
                raise PresetError(_assertion_message(e)) from None
            rows += [{key: _plain(value[i]) for key, value in out.items()} for i in range(len(piece))]
        if level is not None:
            rows = [{**row, **self.preprocessor.interval(x, row["prediction"], level)} for x, row in zip(batch, rows)]
        return rows[0] if single else rows

    def _checked_level(self, level) -> float | None:
        """`level` as a float, once this preset can give an interval at it (one line where
        not: too high for its count of scores, or given to a preset without scores); None
        where it answers the point only."""
        if level is None:
            return None
        given = level is not _DEFAULT_LEVEL
        level = check_level(level)
        scores = getattr(self.preprocessor, "calibration_scores", ())
        if not scores:
            if given:
                raise InvalidOverrideError(
                    f"level {level:g}: this {self.task} preset holds no calibration scores, so it gives no "
                    "prediction interval; leave level out for the point forecast"
                )
            return None
        return check_level(level, len(scores))

    def reset_state(self) -> None:
        """A stateful model (sin_to_cos) starts a new sequence."""
        reset_states(self.model)

    @classmethod
    def from_result(cls, result: TrainResult) -> Preset:
        """A training run (`rnn_zoo.train`'s result) as a preset, in memory."""
        return cls(result.model, result.preprocessor, result.metadata())

    def save(self, folder, *, overwrite: bool = False) -> Path:
        return save_preset(folder, self.model, self.preprocessor, self.metadata, overwrite=overwrite)

    def load_data(
        self, *, data_dir=None, seed: int | None = None, allow_modified_data: bool = False, **files: str | os.PathLike
    ) -> TaskData:
        """The data the preset was trained and tested on: its task's, with the data options
        it was trained with, split with its seed (or `seed`), encoded with its preprocessor.
        A preset trained on a file of the user's own names it in its metadata, but a
        preset's metadata is description, never a path to open: pass the file as the
        same option here (e.g. `csv_path=`, `path=`).
        Another `seed` is refused where the split depends on it (it would score the model on
        its own training rows); data whose sha256 is not the one the preset records is
        refused too (its metrics would not be the preset's), unless `allow_modified_data`."""
        meta = self.metadata
        check_evaluation_seed(meta, seed)
        seed = meta["seed"] if seed is None else seed
        options = checked_data_options(meta.get("data_options", {}), files)
        data = load_task_data(
            self.task,
            data_dir=data_dir,
            seed=seed,
            preprocessor=self.preprocessor,
            allow_modified_data=allow_modified_data,
            **options,
        )
        check_same_data(meta, data, allow=allow_modified_data)
        # A stateful model reads the training stretch before the test one: the same stretch.
        return data.head(meta["max_train_samples"]) if meta.get("max_train_samples") else data

    def evaluate(
        self, *, data_dir=None, seed: int | None = None, allow_modified_data: bool = False, **files: str | os.PathLike
    ) -> dict[str, float]:
        """The test metrics, recomputed on the preset's data (see `load_data`, its seed
        check and its `files`)."""
        data = self.load_data(data_dir=data_dir, seed=seed, allow_modified_data=allow_modified_data, **files)
        return evaluate(self.model, self.task, data=data)

    def as_result(self, *, data_dir=None, **files: str | os.PathLike) -> TrainResult:
        """The preset as a `TrainResult` on its task's data, with the metrics recomputed
        there and the training record from its metadata: what `train` would have returned,
        without the training (the notebooks use it)."""
        data = self.load_data(data_dir=data_dir, **files)
        meta, record = self.metadata, self.metadata.get("training", {})
        wall = record.get("wall_time_s", 0.0)
        return TrainResult(
            task=self.task,
            model=self.model,
            data=data,
            history=record.get("history", {}),
            metrics=evaluate(self.model, self.task, data=data),
            baseline=data.baseline_scores(),
            baseline_name=data.baseline_name,
            epochs=meta["epochs"],
            batch_size=meta["batch_size"],
            seed=meta["seed"],
            overrides=meta["overrides"],
            wall_time_s=wall,
            samples_per_s=samples_per_second(data, meta["batch_size"], meta["epochs"], wall),
            data_options=meta["data_options"],
            max_train_samples=meta["max_train_samples"],
            parent=meta.get("parent"),  # (a fine-tuned preset's)
        )


def check_evaluation_seed(meta: dict, seed) -> None:
    """Another seed than the preset's is refused where the task draws its split with the
    seed: most of that test split would be rows the preset was trained on. (Where the split
    is fixed, or the data generated afresh from the seed, any seed is honest.)"""
    if seed is None or seed == meta["seed"]:
        return
    check_seed(seed)
    if data_class(meta["task"]).split_depends_on_seed:
        raise InvalidOverrideError(
            f"task {meta['task']!r} draws its test split with the seed: seed {seed} would score this preset "
            f"(trained with seed {meta['seed']}) partly on its own training rows; evaluate it with seed "
            f"{meta['seed']}, or train a preset with seed {seed}"
        )


def check_same_data(meta: dict, data: TaskData, *, allow: bool = False) -> None:
    """The data a preset is scored on is the data it recorded (its sha256), or another copy
    of the same published dataset (the same content, in another format); else a DataError,
    unless modified data is allowed. Generated data is generated again from the seed."""
    recorded = meta.get("dataset", {}).get("sha256")
    if data.source == "generated" or recorded is None or modified_data_allowed(allow):
        return
    _check_same_columns(meta, data)
    got = data_fingerprint(data)[1]
    if got == recorded or (data.published and not meta["dataset"].get("modified")):
        return
    raise DataError(
        f"{data.source}: sha256 {got[:16]}... is not the data this preset was trained and tested on "
        f"({recorded[:16]}..., in its metadata.json), so its metrics would not be the preset's; pass "
        f"{ALLOW_MODIFIED_FLAG} (allow_modified_data=True) to score it anyway"
    )


def _check_same_columns(meta: dict, data: TaskData) -> None:
    """The columns read (`dataset.columns`: {"price": "Open"}) are those the preset recorded:
    another column of the same file is other data (a DataError, like another file)."""
    recorded, got = meta["dataset"].get("columns"), getattr(data, "columns", None)
    if not isinstance(recorded, dict) or not isinstance(got, dict):
        return
    for role, column in got.items():
        if role in recorded and recorded[role] != column:
            raise DataError(
                f"{data.source}: its {role} column {column!r} is not the one this preset was trained and tested on "
                f"({recorded[role]!r}, in its metadata.json), so its metrics would not be the preset's; pass "
                f"{ALLOW_MODIFIED_FLAG} (allow_modified_data=True) to score it anyway"
            )


# A data option that names a column of such a file (price_column=, text_column=, ...).
_COLUMN_OPTION = re.compile(r"_column$")


def checked_data_options(recorded: dict, files: dict) -> dict:
    """The data options a preset's data is loaded with: those its metadata records, except
    the paths, which come from `files` (the user's) only; a recorded path not given is a
    DataError naming the option (never the path, which is not opened). `files` may name the
    columns of a file it gives (the same series, spelt another way in another file)."""
    unknown = sorted(key for key in files if not (_PATH_OPTION.search(key) or _COLUMN_OPTION.search(key)))
    if unknown:
        raise DataError(
            f"{', '.join(unknown)}: only the data files (e.g. csv_path=, path=) and their columns "
            "(e.g. price_column=) may be given here"
        )
    columns = [key for key, value in files.items() if _COLUMN_OPTION.search(key) and value is not None]
    if columns and not any(_PATH_OPTION.search(key) and value is not None for key, value in files.items()):
        raise DataError(f"{columns[0]} names a column of a file given with it: give the file too (e.g. csv_path=)")
    options = {k: v for k, v in recorded.items() if not _PATH_OPTION.search(k)}
    needed = [k for k in recorded if _PATH_OPTION.search(k) and k not in files]
    if needed:
        raise DataError(
            f"this preset was trained on a file of the user's own ({needed[0]} in its metadata.json); a preset's "
            f"metadata is never a path to open: pass the file yourself, Preset.evaluate({needed[0]}=...) or "
            f"load_data({needed[0]}=...)"
        )
    return {**options, **{k: v for k, v in files.items() if v is not None}}


def load_preset(name_or_path: str | os.PathLike, *, task: str | None = None) -> Preset:
    """The preset in a folder, or the shipped preset of a registered task name. With
    `task`, a preset of another task is refused. A preset whose headline metric is worse
    than its naive baseline's (its metadata says so) loads with a LosesToBaselineWarning (a UserWarning) that names
    the shipped preset of its family that beats its baseline, if one does. (The checks are
    `rnn_zoo.preset_loading.load_preset_parts`'s.)"""
    model, preprocessor, metadata, folder = load_preset_parts(name_or_path, task=task, stacklevel=3)
    return Preset(model, preprocessor, metadata, folder)


def _as_batch(inputs, spec, preprocessor: Preprocessor):
    """(batch array, whether one input was given) for the serving signature `spec`."""
    what = preprocessor.input_description
    if spec.dtype.name == "string":
        if isinstance(inputs, str):
            return np.array([inputs]), True
        batch = np.asarray(inputs, dtype=object)
        if batch.ndim != 1 or not all(isinstance(t, str) for t in batch):
            raise PresetError(f"expected {what} (a str) or a list of them")
        return batch.astype(str), False
    one = tuple(spec.shape[1:])
    try:
        batch = np.asarray(inputs)
    except ValueError:  # rows of different lengths
        raise PresetError(f"expected {what} of shape {one}, or a list of them all of that shape") from None
    if spec.dtype.name == "uint8" and batch.dtype != np.uint8:
        raise PresetError(f"expected uint8 pixels 0-255, got {batch.dtype}")
    if batch.dtype.kind not in "iuf":  # complex (its imaginary part would be dropped), text, objects
        raise PresetError(f"expected {what} as real numbers, got {batch.dtype} values")
    single = batch.shape == one
    if single:
        batch = batch[None]
    if batch.shape[1:] != one or not len(batch):
        shape = [d if d is not None else "n" for d in spec.shape]
        raise PresetError(f"expected {what} of shape {one} or a batch of shape {tuple(shape)}, got shape {batch.shape}")
    return batch.astype(spec.dtype.as_numpy_dtype), single


def _plain(value):
    """A tensor element as a plain Python value (str, int, float or list)."""
    value = value.numpy() if hasattr(value, "numpy") else value
    if isinstance(value, bytes):
        return value.decode()
    return np.asarray(value).tolist()


def _assertion_message(error) -> str:
    """The expectation inside a serving graph's failed check, without TensorFlow's trace."""
    import re

    found = re.search(r"assertion failed: \[(.*?)\]", error.message)
    if found:
        return found.group(1).strip().rstrip(".")
    found = re.search(r"^(.+?) : Tensor had (\w+) values", error.message, re.M)
    if found:
        return f"{found.group(1)} (got {found.group(2)})"
    return next(
        (line for line in error.message.splitlines() if line.strip() and "Graph execution" not in line),
        "the serving graph refused the input",
    )
