"""A training run's record, as a preset's metadata keeps it: the spec it ran, the versions
it ran on, a fingerprint of its data, and the command that runs it again."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import platform
import re
import shlex
from pathlib import Path

import numpy as np

from . import backend
from ._version import __version__
from .data.sources import ALLOW_MODIFIED_FLAG
from .metrics import fmt_number, primary_metric
from .preset_files import FORMAT_VERSION
from .registry import get_task
from .shipped import higher_is_better


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(data) -> tuple[str, str]:
    """(source name, sha256): the data file's own hash when the data came from one plain
    file (SH600519.csv, SMSSpamCollection, mnist.npz), else the hash of the arrays the
    model saw (generated data, a zip, IDX files, a TFDS copy); the content's hash where the
    loader gives one (the SMS file inside a zip, MNIST from any copy). Never a local path."""
    source = Path(data.source)
    if getattr(data, "sha256", None):
        return source.name, data.sha256
    if data.source != "generated" and source.is_file() and source.suffix != ".zip":
        return source.name, file_sha256(source)
    digest = hashlib.sha256()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    return source.name, digest.hexdigest()


# The data options a flag gives on the command line (a file of the user's own, its columns,
# its split), by the data option each sets; a task takes those its loader takes.
DATA_FLAGS = {
    "csv_path": "--csv",
    "date_column": "--date-column",
    "price_column": "--price-column",
    "test_rows": "--test-rows",
    "text_column": "--text-column",
    "label_column": "--label-column",
    "min_count": "--min-count",
}

# The `rnn-zoo train` options that say how a run was made, by the `train` keyword (or data
# option) each sets: the command line defines its options from this table, and
# `reproduce_command` writes a run's command with it.
TRAIN_FLAGS = {
    "seed": "--seed",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "distributed": "--distributed",
    "overrides": "--set",
    "allow_modified_data": ALLOW_MODIFIED_FLAG,
    "from_preset": "--from-preset",
    **DATA_FLAGS,
}

# A data option that names a file or a folder (csv_path=, path=, data_dir=, ...): a preset
# records its name only, never a local path, and never opens it.
PATH_OPTION = re.compile(r"(^|_)(path|dir|file|folder)$")


# The data option that gives a file of the user's own instead of the task's dataset.
USER_FILE_OPTION = "csv_path"


def recorded_options(options: dict) -> dict:
    """Data options as a preset's metadata records them: a file or folder by its name only."""
    return {
        key: Path(value).name if PATH_OPTION.search(key) and isinstance(value, (str, Path)) else value
        for key, value in _jsonable(options).items()
    }


def reproduce_command(result) -> str:
    """The `rnn-zoo train` command line that retrains `result` the same way (a file of the
    user's own by its name: the command is run where the file is); the Python call where the
    command line cannot say it (other data options, a slice of the data)."""
    # A run on another backend is reproduced on that backend (seeds draw differently per backend).
    env = [] if backend.name() == "tensorflow" else [f"KERAS_BACKEND={backend.name()}"]
    distributed = getattr(result, "cluster", None) is not None  # the same run on as many devices
    # (A stateful task's batch_size override is the run's batch size, given already.)
    overrides = {k: v for k, v in result.overrides.items() if k != "batch_size"}
    modified = getattr(result.data, "published", None) is False  # a changed copy of a published dataset
    parent = getattr(result, "parent", None)
    options = recorded_options(result.data_options)
    if set(options) - set(DATA_FLAGS) or result.max_train_samples is not None:
        settings = {key: getattr(result, key) for key in ("seed", "epochs", "batch_size")}
        settings.update(data_options=options, max_train_samples=result.max_train_samples)
        settings.update({"from_preset": _parent_name(parent)} if parent else {})
        settings.update({"distributed": True} if distributed else {}, **overrides)
        settings.update({"allow_modified_data": True} if modified else {})
        args = [repr(result.task), *(f"{key}={value!r}" for key, value in settings.items())]
        return " ".join([*env, f"rnn_zoo.train({', '.join(args)})"])
    defaults = get_task(result.task).train
    parts = ["rnn-zoo", "train", result.task]
    parts += [TRAIN_FLAGS["from_preset"], _parent_name(parent)] if parent else []
    for key, value in options.items():
        parts += [DATA_FLAGS[key], str(value)] if value is not None else []  # (None: the loader's default)
    parts += [TRAIN_FLAGS["seed"], str(result.seed)]
    parts += [TRAIN_FLAGS["distributed"]] if distributed else []
    parts += [TRAIN_FLAGS["allow_modified_data"]] if modified else []
    for key in ("epochs", "batch_size"):
        if getattr(result, key) != getattr(defaults, key):
            parts += [TRAIN_FLAGS[key], str(getattr(result, key))]
    for key, value in overrides.items():
        parts += [TRAIN_FLAGS["overrides"], f"{key}={value!r}"]
    return " ".join([*env, shlex.join(parts)])


def _parent_name(parent: dict) -> str:
    """The parent as `--from-preset` takes it again: a shipped preset by its name, a folder of
    the user's as `./NAME` (run where the folder is), never read as the shipped preset of a
    task it is named like."""
    return parent["preset"] if parent.get("shipped") else f"./{parent['preset']}"


def who_wins(task: str, model: dict, baseline: dict, classical: dict) -> str:
    """One line saying which of the model, the naive baseline and the classical model is best
    on the task's headline metric, on this one test split ("" where one of them lacks it)."""
    metric = primary_metric(get_task(task), model)
    named = {"the model": model, "the baseline": baseline, "the classical model": classical}
    if not all(metric in values for values in named.values()):
        return ""
    scores = {who: values[metric] for who, values in named.items()}
    sign = -1 if higher_is_better(task, metric) else 1
    ranked = sorted(scores, key=lambda who: sign * scores[who])
    best = [who for who in ranked if scores[who] == scores[ranked[0]]]
    others = ", ".join(f"{who} ({fmt_number(scores[who])})" for who in ranked[len(best) :])
    winner = f"a tie of {' and '.join(best)}" if len(best) > 1 else best[0]
    line = f"who wins on {metric} ({'higher' if sign < 0 else 'lower'} is better): {winner} ({fmt_number(scores[best[0]])})"
    return line + (f", then {others}" if others else "")


def backend_versions() -> dict:
    """The Keras backend and its version, where it is not TensorFlow (whose version is always recorded)."""
    from importlib.metadata import version

    name = backend.name()
    return {} if name == "tensorflow" else {"keras_backend": name, name: version(name)}


def preset_metadata(result, *, headline_metric: str | None = None) -> dict:
    """The metadata of a training result (`rnn_zoo.TrainResult`)."""
    import keras
    import tensorflow as tf

    from .models import resolve, sized_overrides  # (Keras: heavy; this module is read by the command line)

    spec = get_task(result.task)
    model_spec, train_spec = resolve(spec, sized_overrides(spec, result.preprocessor, result.overrides))
    train_spec = dataclasses.replace(train_spec, epochs=result.epochs, batch_size=result.batch_size)
    dataset = _dataset_record(spec, result)
    return {
        "format_version": FORMAT_VERSION,
        "task": result.task,
        "family": spec.family,
        "description": spec.description,
        "spec": {
            "model": _jsonable(dataclasses.asdict(model_spec)),
            "train": _jsonable(dataclasses.asdict(train_spec)),
            "data_options": recorded_options({**spec.data_options, **result.data_options}),
        },
        "data_options": recorded_options(result.data_options),
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
        "training": {
            "wall_time_s": round(result.wall_time_s, 2),
            "history": result.history,
            **({"resumed": result.resumed} if getattr(result, "resumed", None) else {}),
        },
        **({"parent": result.parent} if getattr(result, "parent", None) is not None else {}),
    }


def _dataset_record(spec, result) -> dict:
    """The dataset's terms, its file's name and sha256, and the columns read from a file of the user's own."""
    source_file, sha256 = data_fingerprint(result.data)
    dataset = {**dataclasses.asdict(spec.dataset), "source_file": source_file, "sha256": sha256}
    # A file of the user's own: its terms are not the registered dataset's (other data options,
    # e.g. test_rows, only split the registered dataset another way).
    if result.data_options.get(USER_FILE_OPTION) is not None:
        dataset.update(
            name=f"user data ({source_file}), loaded with data options",
            license="unknown: data supplied by the user",
            citation="",
            url="",
        )
    if getattr(result.data, "columns", None):  # the header names read, as the file spells them
        dataset["columns"] = dict(result.data.columns)
    if getattr(result.data, "published", None) is False:  # used with allow_modified_data
        dataset.update(name=f"a modified copy of {spec.dataset.name} (its sha256 is not the published one)")
        dataset["modified"] = True
    return dataset


def _jsonable(value):
    """Specs and overrides as JSON values: tuples as lists, other objects by repr."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value) if isinstance(value, Path) else repr(value)
