"""Presets: a trained model travelling with its preprocessing and its provenance.

A preset is a folder (the layout of keras-hub's presets):

    model.keras          the Keras model, loadable with safe_mode=True (no optimizer state)
    preprocessor.json    the family's preprocessing state as plain data ...
    assets/              ... and its files, e.g. the SMS vocabulary
    metadata.json        task, spec, seed, metrics beside the baseline's, dataset and its
                         terms, versions, date, the command that reproduces it

The zoo ships one for every task inside the package (`rnn_zoo/pretrained/NAME/`), made by
`rnn-zoo make-presets` from seed 0 of a full run on the real data.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import platform
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PresetError, UnknownTaskError
from .preprocessing import PREPROCESSOR_FILE, Preprocessor, check_preprocessor, load_preprocessor
from .registry import get_task, list_tasks
from .shipped import (
    FORMAT_VERSION,
    METADATA_FILE,
    MODEL_FILE,
    check_metadata,
    read_metadata,
    shipped_path,
)


def resolve_preset(name_or_path) -> Path:
    """A preset folder: the shipped preset of a registered task name (a str), else a path
    (write `./NAME` for a folder named like a task)."""
    if isinstance(name_or_path, str) and name_or_path in list_tasks():
        found = shipped_path(name_or_path)
        if found is None:
            raise PresetError(
                f"task {name_or_path!r} ships no trained preset; train one with "
                f"`rnn-zoo train {name_or_path} --out DIR` and load DIR"
            )
        return found
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    if isinstance(name_or_path, str) and "/" not in name_or_path and path.suffix == "":
        raise UnknownTaskError(
            f"{name_or_path!r} is neither a preset folder nor a registered task (`rnn-zoo list` shows the tasks)"
        )
    raise PresetError(f"no preset folder at {name_or_path}")


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

    def predict(self, inputs):
        """Human inputs -> human outputs; one input gives one dict, a batch a list of them."""
        import tensorflow as tf

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
        return rows[0] if single else rows

    def reset_state(self) -> None:
        """A stateful model (sin_to_cos) starts a new sequence."""
        from .training import reset_states

        reset_states(self.model)

    def export(self, path, *, format: str = "saved_model", overwrite: bool = False, data_dir=None) -> Path:
        """Export into the folder `path`: a SavedModel whose `serve` signature takes and
        returns human values, or an ONNX / LiteRT file taking model inputs with its
        preprocessing JSON (see `rnn_zoo.export`)."""
        from .exporting import export

        return export(self, path, format=format, overwrite=overwrite, data_dir=data_dir)

    def save(self, folder, *, overwrite: bool = False) -> Path:
        return save_preset(folder, self.model, self.preprocessor, self.metadata, overwrite=overwrite)

    def load_data(self, *, data_dir=None, seed: int | None = None):
        """The data the preset was trained and tested on: its task's, with the data options
        it was trained with, split with its seed (or `seed`), encoded with its preprocessor."""
        from . import load_task_data

        meta = self.metadata
        seed = meta["seed"] if seed is None else seed
        data = load_task_data(
            self.task, data_dir=data_dir, seed=seed, preprocessor=self.preprocessor, **meta.get("data_options", {})
        )
        # A stateful model reads the training stretch before the test one: the same stretch.
        return data.head(meta["max_train_samples"]) if meta.get("max_train_samples") else data

    def evaluate(self, *, data_dir=None, seed: int | None = None) -> dict[str, float]:
        """The test metrics, recomputed on the preset's data (see `load_data`)."""
        from .training import evaluate

        return evaluate(self.model, self.task, data=self.load_data(data_dir=data_dir, seed=seed))

    def as_result(self, *, data_dir=None):
        """The preset as a `TrainResult` on its task's data, with the metrics recomputed
        there and the training record from its metadata: what `train` would have returned,
        without the training (the notebooks use it)."""
        from .training import TrainResult, evaluate

        data = self.load_data(data_dir=data_dir)
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
            samples_per_s=len(data.x_train) * meta["epochs"] / wall if wall else 0.0,
            data_options=meta["data_options"],
            max_train_samples=meta["max_train_samples"],
        )


def load_preset(name_or_path, *, task: str | None = None) -> Preset:
    """The preset in a folder, or the shipped preset of a registered task name. With
    `task`, a preset of another task is refused."""
    import keras

    folder = resolve_preset(name_or_path)
    missing = [f for f in (MODEL_FILE, PREPROCESSOR_FILE, METADATA_FILE) if not (folder / f).is_file()]
    if missing:
        raise PresetError(
            f"{folder} is not an rnn_zoo preset: it lacks {', '.join(missing)} (a preset holds "
            f"{MODEL_FILE}, {PREPROCESSOR_FILE} and {METADATA_FILE}, as `rnn-zoo train --out` writes)"
        )
    metadata = read_metadata(folder)
    if task is not None and metadata["task"] != task:
        raise PresetError(f"{folder} holds a model of task {metadata['task']!r}, not {task!r}")
    spec = get_task(metadata["task"])
    preprocessor = load_preprocessor(folder)
    check_preprocessor(spec, preprocessor)
    try:
        model = keras.saving.load_model(folder / MODEL_FILE, compile=False, safe_mode=True)
    except Exception as e:  # Keras raises many kinds for a file it will not load
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise PresetError(f"{folder / MODEL_FILE} could not be loaded safely: {reason}") from None
    shape = tuple(model.input_shape[1:])
    if shape != spec.input_shape:  # (check_preprocessor made the preprocessor's shape the task's)
        raise PresetError(
            f"{folder}: the model takes inputs of shape {shape}, its preprocessor makes "
            f"{tuple(preprocessor.input_shape)} and task {spec.name!r} expects {spec.input_shape}"
        )
    return Preset(model, preprocessor, metadata, folder)


def save_preset(folder, model, preprocessor: Preprocessor, metadata: dict, *, overwrite: bool = False) -> Path:
    """Write a preset folder in one rename. An existing folder is replaced only if it is a
    zoo output or empty, or with `overwrite`."""
    from .outputs import atomic_directory

    check_metadata(metadata)
    with atomic_directory(folder, kind="preset", overwrite=overwrite) as staging:
        write_preset(staging, model, preprocessor, metadata)
    return Path(folder)


def write_preset(folder: Path, model, preprocessor: Preprocessor, metadata: dict) -> None:
    """The preset's files in an existing `folder`. The model is saved without its
    optimizer: a preset is for predicting, and Adam's slots would triple its size."""
    from .saved_model import check_finite_weights
    from .training import local_copy

    check_finite_weights(model)
    local_copy(model).save(folder / MODEL_FILE)  # uncompiled (clone_model would compile it)
    preprocessor.save(folder)
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=1) + "\n")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(data) -> tuple[str, str]:
    """(source name, sha256): the data file's own hash when the data came from one plain
    file (SH600519.csv, SMSSpamCollection, mnist.npz), else the hash of the arrays the
    model saw (generated data, a zip, IDX files, a TFDS copy). Never a local path."""
    source = Path(data.source)
    if data.source != "generated" and source.is_file() and source.suffix != ".zip":
        return source.name, file_sha256(source)
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    return source.name, digest.hexdigest()


def reproduce_command(result) -> str:
    """The `rnn-zoo train` command line that retrains `result` the same way; the Python
    call where the command line cannot say it (data options, a slice of the data)."""
    from . import backend

    spec = get_task(result.task)
    distributed = (
        getattr(result, "cluster", None) is not None
    )  # (the same run on as many devices: KERAS_DISTRIBUTION_*)
    # A run on another backend is reproduced on that backend (seeds draw differently per backend).
    env = [] if backend.name() == "tensorflow" else [f"KERAS_BACKEND={backend.name()}"]
    if result.data_options or result.max_train_samples is not None:
        args = [
            repr(result.task),
            f"seed={result.seed}",
            f"epochs={result.epochs}",
            f"batch_size={result.batch_size}",
            f"data_options={_jsonable(result.data_options)!r}",
            f"max_train_samples={result.max_train_samples!r}",
            *(["distributed=True"] if distributed else []),
            *(f"{k}={v!r}" for k, v in result.overrides.items() if k != "batch_size"),
        ]
        return " ".join([*env, f"rnn_zoo.train({', '.join(args)})"])
    parts = [*env, "rnn-zoo", "train", result.task, "--seed", str(result.seed)]
    if distributed:
        parts.append("--distributed")
    if result.epochs != spec.train.epochs:
        parts += ["--epochs", str(result.epochs)]
    if result.batch_size != spec.train.batch_size:
        parts += ["--batch-size", str(result.batch_size)]
    for key, value in result.overrides.items():
        if key != "batch_size":  # a stateful task's, already given above
            parts += ["--set", f"{key}={value!r}"]
    return " ".join(env + [shlex.join(parts[len(env) :])])


def backend_versions() -> dict:
    """The Keras backend and its version, where it is not TensorFlow (whose version is always recorded)."""
    from importlib.metadata import version

    from . import backend

    name = backend.name()
    return {} if name == "tensorflow" else {"keras_backend": name, name: version(name)}


def preset_metadata(result, *, headline_metric: str | None = None) -> dict:
    """The metadata of a training result (`rnn_zoo.TrainResult`)."""
    import keras
    import tensorflow as tf

    from . import __version__
    from .metrics import primary_metric
    from .models import resolve, sized_overrides

    spec = get_task(result.task)
    model_spec, train_spec = resolve(spec, sized_overrides(spec, result.preprocessor, result.overrides))
    train_spec = dataclasses.replace(train_spec, epochs=result.epochs, batch_size=result.batch_size)
    source_file, sha256 = data_fingerprint(result.data)
    dataset = {**dataclasses.asdict(spec.dataset), "source_file": source_file, "sha256": sha256}
    if result.data_options:  # the user's own data: its terms are not the registered dataset's
        dataset.update(
            name=f"user data ({source_file}), loaded with data options",
            license="unknown: data supplied by the user",
            citation="",
            url="",
        )
    return {
        "format_version": FORMAT_VERSION,
        "task": result.task,
        "family": spec.family,
        "description": spec.description,
        "spec": {
            "model": _jsonable(dataclasses.asdict(model_spec)),
            "train": _jsonable(dataclasses.asdict(train_spec)),
            "data_options": _jsonable({**spec.data_options, **result.data_options}),
        },
        "data_options": _jsonable(result.data_options),
        "max_train_samples": result.max_train_samples,
        "overrides": _jsonable(result.overrides),
        "seed": result.seed,
        "epochs": result.epochs,
        "batch_size": result.batch_size,
        "parameters": int(result.model.count_params()),
        "metrics": result.metrics,
        "baseline": {"name": result.baseline_name, **result.baseline},
        "headline_metric": headline_metric or primary_metric(spec, result.metrics),
        "dataset": dataset,
        "versions": {
            "rnn_zoo": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
            **backend_versions(),
        },
        "date": datetime.date.today().isoformat(),
        "command": reproduce_command(result),
        "training": {"wall_time_s": round(result.wall_time_s, 2), "history": result.history},
    }


def _jsonable(value):
    """Specs and overrides as JSON values: tuples as lists, other objects by repr."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value) if isinstance(value, Path) else repr(value)


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
