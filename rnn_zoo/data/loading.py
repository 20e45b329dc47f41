"""A task's data by name: its arrays (`load_task_data`) or tf.data pipelines (`load_data`),
with the seed and the data options checked first."""

from __future__ import annotations

import inspect
import numbers
import os
import typing
from typing import TYPE_CHECKING, Any

from ..errors import DataError, InvalidOverrideError, RnnZooError, shown
from ..preprocessing import Preprocessor, check_preprocessor
from ..registry import get_task
from .taskdata import TaskData

if TYPE_CHECKING:
    import tensorflow as tf


ALLOW = "allow_modified_data"


def data_class(name: str) -> type[TaskData]:
    """The class of the data task `name`'s loader returns (its annotation), with what the
    family declares about it (metric directions, the benchmark's hooks), without loading it."""
    return typing.get_type_hints(get_task(name).loader)["return"]


def check_seed(seed) -> None:
    """Seeds are what numpy and TensorFlow accept: whole numbers from 0 to 2**32 - 1."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise InvalidOverrideError(f"seed must be a whole number from 0 to 4294967295, got {shown(seed)}")


def check_positive(key: str, value, *, optional: bool = False, error: type[RnnZooError] = InvalidOverrideError) -> None:
    """A one-line `error` unless `value` is a whole number >= 1 (or None, where `optional`)."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise error(f"{key} must be a positive whole number, got {shown(value)}")


def _check_sizes(name: str, params, task_options: dict, options: dict) -> None:
    """Sizes (a window, steps, a length, a count: options whose default, the task's or the
    loader's, is a whole number >= 1) must be whole numbers >= 1: 0 would give empty
    windows, not an error."""
    for key, value in options.items():
        default = task_options.get(key, params[key].default if key in params else None)
        if isinstance(default, numbers.Integral) and not isinstance(default, bool) and default >= 1:
            check_positive(f"task {name!r}: data option {key}", value, error=DataError)


def load_task_data(
    name: str,
    *,
    data_dir=None,
    seed: int = 0,
    preprocessor: Preprocessor | None = None,
    allow_modified_data: bool = False,
    **options: Any,
) -> TaskData:
    """Task `name`'s data as numpy arrays, with `.preprocessor`, the family's preprocessing
    state (letter codec, price scaler, vocabulary) fitted on the training split.

    `data_dir` defaults to $RNN_ZOO_DATA, then the user cache; `options` override the
    task's loader defaults (e.g. csv_path= and price_column= for the stock tasks). A given
    `preprocessor` (a trained model's) encodes the data instead of one fitted here. A copy
    of a published dataset (SMS, MNIST) whose sha256 is not the published one is refused,
    unless `allow_modified_data`."""
    spec = get_task(name)
    check_seed(seed)
    if preprocessor is not None:
        check_preprocessor(spec, preprocessor)
        options["preprocessor"] = preprocessor
    params = inspect.signature(spec.loader).parameters
    valid = sorted(set(params) - {"data_dir", "seed", "preprocessor", ALLOW})
    unknown = sorted(set(options) - set(valid) - {"preprocessor"})
    if unknown:
        raise InvalidOverrideError(
            f"unknown data option(s) {unknown} for task {name!r}; valid options: {', '.join(valid) or 'none'}"
        )
    _check_sizes(name, params, spec.data_options, options)
    if ALLOW in params:  # a loader of a published dataset, which it checks
        options[ALLOW] = allow_modified_data
    try:
        data = spec.loader(**{**spec.data_options, **options}, data_dir=data_dir, seed=seed)
    except (TypeError, ValueError, IndexError, AttributeError) as e:
        if isinstance(e, RnnZooError) or not set(options) - {ALLOW}:
            raise
        given = {k: v for k, v in options.items() if k not in ("preprocessor", ALLOW)}
        raise DataError(f"task {name!r}: data options {given} were refused by its loader ({e})") from None
    for part, x in (("training", data.x_train), ("test", data.x_test)):
        if len(x) == 0:
            raise DataError(
                f"task {name!r}: the {part} split is empty with these data options; nothing could be trained or scored"
            )
    return data


def load_data(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    **options: Any,
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """(train_ds, test_ds): batched, cached, prefetched tf.data pipelines of (inputs,
    targets) that feed `build(name)` directly. Only the training set is shuffled, with
    `seed`. `batch_size` defaults to the task's. The SMS tasks' vocabulary depends on the
    split seed: build the model for another seed than 0 with
    `build(name, preprocessor=load_task_data(name, seed=...).preprocessor)` (`train` does
    this)."""
    spec = get_task(name)
    check_positive("batch_size", batch_size, optional=True)
    data = load_task_data(name, data_dir=data_dir, seed=seed, **options)
    return data.datasets(spec.train.batch_size if batch_size is None else batch_size, seed=seed)
