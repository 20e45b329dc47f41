"""A walk-forward backtest of a stock task: consecutive forecast folds, each model retrained
on every row before its fold (an expanding window), beside the naive, drift and
mean-return forecasts and the classical model, with a Diebold-Mariano test of each against
"tomorrow = today".

The last fold's forecast days are the tutorial's test days (the last 240 of the file); the
others walk back from there. Scaling is fitted on each fold's training rows, by the loader."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .classical import fit_classical
from .data.loading import data_class
from .errors import InvalidOverrideError
from .registry import get_task
from .training import predict_test, train

FOLDS, FORECAST_DAYS = 4, 240
REFERENCE = "naive"


def forecast_errors(true, predicted, scale) -> dict[str, float]:
    """RMSE, MAE (price units), MAPE (%) and MASE: each absolute error divided by `scale`,
    the mean absolute one-day change of the training rows (the naive forecast's in-sample
    MAE; one per day when days of several folds are pooled), then averaged."""
    true = np.asarray(true, dtype=np.float64)
    err = np.abs(np.asarray(predicted, dtype=np.float64) - true)
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(err)),
        "mape": float(100 * np.mean(err / true)),
        "mase": float(np.mean(err / scale)),
    }


def diebold_mariano(errors: np.ndarray, reference_errors: np.ndarray) -> dict[str, float]:
    """A Diebold-Mariano test of equal squared-error accuracy of one-step forecasts, with the
    Harvey-Leybourne-Newbold small-sample correction and a Student t(n-1) reference. A negative
    statistic means `errors` are the smaller; `p_value` is two-sided."""
    from scipy import stats

    d = np.asarray(errors, dtype=np.float64) ** 2 - np.asarray(reference_errors, dtype=np.float64) ** 2
    n = len(d)
    variance = float(np.var(d))  # lag-0 autocovariance: one-step forecast errors need no more
    if n < 2 or variance == 0:
        return {"statistic": 0.0, "p_value": 1.0}
    statistic = float(np.mean(d) / math.sqrt(variance / n) * math.sqrt((n - 1) / n))
    return {"statistic": statistic, "p_value": float(2 * stats.t.sf(abs(statistic), df=n - 1))}


def fold_forecasts(data, model_prices: np.ndarray) -> dict[str, np.ndarray]:
    """Every forecast of one fold's test days: the RNN's prices, then the baselines, all
    fitted on the fold's training rows only."""
    train = np.asarray(data.train_prices, dtype=np.float64)
    last = np.asarray(data.test_prices[data.window - 1 : -1], dtype=np.float64)
    return {
        "rnn": np.asarray(model_prices, dtype=np.float64),
        "naive": last,
        "drift": last + float(np.mean(np.diff(train))),
        "mean_return": last * (1 + float(np.mean(np.diff(train) / train[:-1]))),
        "classical": np.asarray(fit_classical(data).predict(data), dtype=np.float64),
    }


def _rounded(values) -> list[float]:
    return [round(float(v), 4) for v in values]


def pooled_errors(folds: list[dict]) -> dict:
    """Metrics over every forecast day of `folds` (results rows' `backtest.folds`), and each
    forecast's Diebold-Mariano test against the naive one: made from the stored days, so a
    results file can be checked against its own figures."""
    true = np.concatenate([f["true"] for f in folds])
    scale = np.concatenate([np.full(len(f["true"]), f["scale"]) for f in folds])
    forecasts = {k: np.concatenate([f["forecasts"][k] for f in folds]) for k in folds[0]["forecasts"]}
    overall = {key: forecast_errors(true, forecast, scale) for key, forecast in forecasts.items()}
    errors = {key: forecast - true for key, forecast in forecasts.items()}
    tests = {key: diebold_mariano(err, errors[REFERENCE]) for key, err in errors.items() if key != REFERENCE}
    return {"overall": overall, "diebold_mariano": tests}


def fold_record(fold: int, result) -> dict:
    """One fold of the backtest: its days, and every forecast's errors, from a trained run."""
    data = result.data
    # Rounded to 1e-4 first: the stored days then give back every figure exactly.
    predicted = data.predicted_prices(predict_test(result.model, data))
    forecasts = {k: _rounded(v) for k, v in fold_forecasts(data, predicted).items()}
    true = _rounded(data.test_prices[data.window :])
    scale = float(np.mean(np.abs(np.diff(np.asarray(data.train_prices, dtype=np.float64)))))
    dates = data.dates[-len(true) :]
    return {
        "fold": fold,
        "train_rows": len(data.train_prices),
        "forecast_days": len(true),
        "first_day": str(dates[0])[:10],
        "last_day": str(dates[-1])[:10],
        "classical": fit_classical(data).settings,
        "metrics": {k: forecast_errors(true, v, scale) for k, v in forecasts.items()},
        "scale": scale,
        "true": true,
        "forecasts": forecasts,
    }


def walk_forward(
    name: str,
    *,
    folds: int = FOLDS,
    forecast_days: int = FORECAST_DAYS,
    seed: int = 0,
    epochs: int | None = None,
    data_dir=None,
    log: Callable[[str], None] = print,
) -> dict:
    """Train forecasting task `name` (a stock task) once per fold (seed `seed`) and score
    every forecast per fold and over all folds. Returns the `backtest` object of the task's
    results row."""
    spec = get_task(name)
    if not data_class(name).supports_backtest:
        raise InvalidOverrideError(f"the walk-forward backtest is for stock tasks; {name!r} is a {spec.family} task")
    rows = []
    for fold in range(folds):
        options = {"forecast_days": forecast_days, "skip_last": (folds - 1 - fold) * forecast_days}
        result = train(
            name, seed=seed, epochs=epochs, data_dir=data_dir, verbose=0, validate=False, data_options=options
        )
        rows.append(fold_record(fold + 1, result))
        metrics = rows[-1]["metrics"]
        log(
            f"{name} fold {fold + 1}/{folds} ({rows[-1]['first_day']} to {rows[-1]['last_day']}): RMSE "
            f"{metrics['rnn']['rmse']:.4g}, naive {metrics['naive']['rmse']:.4g}"
        )
    pooled = pooled_errors(rows)
    return {
        "folds": rows,
        **pooled,
        "p_value": pooled["diebold_mariano"]["rnn"]["p_value"],
        "reference": "naive (tomorrow = today)",
        "loss": "squared error",
        "seed": seed,
        "epochs": result.epochs,
        "fold_count": folds,
        "days_per_fold": forecast_days,
        "classical_name": fit_classical(result.data).name,
    }
