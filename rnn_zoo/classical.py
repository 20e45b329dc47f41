"""The strongest simple model beside every RNN: one scikit-learn (or closed-form) model per
family, fitted on the training split only and scored on the test split with the task's
own metrics.

Each family's data class says how (`TaskData.fit_classical`); this module holds what they
share: the fitted model's shape, a cache (several tasks and seeds share one split), and the
time-series cross-validation the stock model is tuned with."""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class ClassicalModel:
    """A fitted classical model. `name` is the same for every split (the table's column);
    `settings` are what tuning on the training split chose (they may differ by split);
    `predict(data)` returns outputs on `data`'s test inputs, in the form `data.score` takes."""

    name: str
    predict: Callable[[Any], np.ndarray]  # (stock: forecast prices, which PriceData.classical_metrics scores)
    settings: dict = dataclasses.field(default_factory=dict)


_CACHE: OrderedDict[str, ClassicalModel] = OrderedDict()
_CACHE_SIZE = 8


def _digest(data) -> str:
    """A key for the fields a family's classical model is fitted on (its training split)."""
    h = hashlib.sha1(f"{type(data).__module__}.{type(data).__qualname__}".encode())
    for field in data.classical_fields:
        value = np.asarray(getattr(data, field))
        h.update(f"{field}{value.shape}{value.dtype}".encode())
        if value.dtype.kind in "OU":  # strings, each prefixed by its length so that no two lists collide
            h.update("".join(f"{len(str(v))}:{v}" for v in value.ravel()).encode("utf-8", "surrogatepass"))
        else:
            h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


def fit_classical(data) -> ClassicalModel:
    """`data`'s classical model, fitted on its training split. Fits are cached by the
    content of that split, so tasks and seeds that share a split (MNIST, the stock file)
    fit once."""
    key = _digest(data)
    if key not in _CACHE:
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            # lbfgs on MNIST stops at max_iter short of its tolerance; the test score is what counts.
            warnings.simplefilter("ignore", ConvergenceWarning)
            _CACHE[key] = data.fit_classical()
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return _CACHE[key]


def classical_scores(data) -> dict:
    """{"name": ..., "settings": {...}, metric: value, ...} of `data`'s classical model on its test split."""
    model = fit_classical(data)
    return {"name": model.name, "settings": model.settings, **data.classical_metrics(model)}


def time_series_cv_mse(
    fit_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    target: np.ndarray | None = None,
    splits: int = 5,
) -> float:
    """Mean squared error of `fit_predict(x_fit, y_fit, x_val)` against `target` (default
    `y`) over expanding-window folds of rows in time order (sklearn's TimeSeriesSplit):
    every fold predicts rows after the ones it was fitted on."""
    from sklearn.model_selection import TimeSeriesSplit

    target = y if target is None else target
    errors = [
        np.mean((fit_predict(x[fit], y[fit], x[val]) - target[val]) ** 2)
        for fit, val in TimeSeriesSplit(n_splits=splits).split(x)
    ]
    return float(np.mean(errors))
