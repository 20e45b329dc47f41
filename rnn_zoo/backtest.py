"""A walk-forward backtest of a stock task: consecutive forecast folds, each model retrained
on every row before its fold (an expanding window), beside the naive, drift and
mean-return forecasts and the classical model, with a Diebold-Mariano test of each against
"tomorrow = today", and split conformal prediction intervals (`rnn_zoo.intervals`).

The last fold's forecast days are the tutorial's test days (the last 240 of the file); the
others walk back from there. Scaling is fitted on each fold's training rows, by the loader.
Fold k's interval is calibrated on fold k - 1's forecasts (days that model never trained on,
and that fold k's model trained on only as history); a calibration fold 0, before the first
reported fold, calibrates fold 1 and is not scored. The naive forecast's interval is
calibrated the same way on its own residuals."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ._version import __version__
from .classical import fit_classical
from .data.loading import data_class, load_task_data
from .errors import DataError, InvalidOverrideError
from .intervals import (
    DEFAULT_LEVEL,
    band,
    check_level,
    conformal_quantile,
    coverage,
    mean_width,
    percent,
    relative_scores,
)
from .metrics import fmt_number
from .outputs import BACKTEST_MARKER, atomic_directory
from .plots import plot_band
from .provenance import data_fingerprint, recorded_options
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


# Significant digits a stored price keeps: enough for any price's scale (a price of 1e-6 keeps
# its digits; rounding to decimals made it 0), few enough to keep backtest.json small.
DIGITS = 8


def _rounded(values) -> list[float]:
    return [float(f"{float(v):.{DIGITS}g}") for v in values]


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
    # Rounded first (DIGITS significant digits): the stored days then give back every figure exactly.
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
        "days": [str(day)[:10] for day in dates],
        "classical": fit_classical(data).settings,
        "metrics": {k: forecast_errors(true, v, scale) for k, v in forecasts.items()},
        "scale": scale,
        "true": true,
        "forecasts": forecasts,
    }


INTERVAL_FORECASTS = ("rnn", "naive")


def calibrated_quantiles(previous: dict, level: float) -> dict[str, float]:
    """The conformal quantile at `level` of the RNN's and the naive forecast's relative
    residuals on the days of `previous` (a fold, or the calibration fold)."""
    last = previous["forecasts"]["naive"]
    return {
        key: conformal_quantile(relative_scores(previous["true"], previous["forecasts"][key], last), level)
        for key in INTERVAL_FORECASTS
    }


def interval_bands(previous: dict, fold: dict, level: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(lower, upper) per day of `fold` for the RNN's and the naive forecast: forecast ∓ q x
    the last price, q calibrated on the fold before (`previous`); the lower bound at least 0."""
    last = np.asarray(fold["forecasts"]["naive"], dtype=np.float64)
    return {key: band(fold["forecasts"][key], last, q) for key, q in calibrated_quantiles(previous, level).items()}


def fold_intervals(previous: dict, fold: dict, level: float) -> dict:
    """Per forecast with an interval: its calibrated quantile, coverage and mean width on `fold`."""
    quantiles = calibrated_quantiles(previous, level)
    scores = interval_scores(fold["true"], interval_bands(previous, fold, level))
    return {key: {"quantile": quantiles[key], **scores[key]} for key in INTERVAL_FORECASTS}


def interval_scores(true, bands: dict) -> dict[str, dict[str, float]]:
    """Coverage (the share of days inside) and mean width of each forecast's band."""
    return {key: {"coverage": coverage(true, *band), "mean_width": mean_width(*band)} for key, band in bands.items()}


def pooled_intervals(calibration: dict, folds: list[dict], level: float) -> dict:
    """Coverage and mean width over every forecast day of `folds`, each fold's band
    calibrated on the fold before it (`calibration` before the first): made from the stored
    days, as `pooled_errors`."""
    per_fold = [interval_bands(prev, fold, level) for prev, fold in zip([calibration, *folds], folds)]
    true = np.concatenate([f["true"] for f in folds])
    joined = {k: tuple(np.concatenate([b[k][i] for b in per_fold]) for i in (0, 1)) for k in INTERVAL_FORECASTS}
    return interval_scores(true, joined)


def _checked_options(name: str, data_options, level) -> tuple[dict, float]:
    """(the walk-forward's data options (a user's CSV and its columns), the level as a float),
    once the task is a stock task, the options place no split of their own and `level` is a level."""
    spec = get_task(name)
    if not data_class(name).supports_backtest:
        raise InvalidOverrideError(f"the walk-forward backtest is for stock tasks; {name!r} is a {spec.family} task")
    options = dict(data_options or {})
    placed = sorted({"test_rows", "forecast_days", "skip_last"} & options.keys())
    if placed:
        raise InvalidOverrideError(
            f"{', '.join(placed)}: the backtest places its own test days (folds x days); leave them out"
        )
    return options, check_level(level)


def _check_length(name: str, options: dict, folds: int, days: int, data_dir, level: float) -> int:
    """One line, before any training, where the series is too short for the folds (with the
    calibration fold) or a fold has too few days to calibrate an interval at `level`.
    Returns the count of the calibration fold's training rows."""
    for key, value in (("folds", folds), ("forecast_days", days)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidOverrideError(f"{key} must be a whole number >= 1, got {value!r}")
    check_level(level, days)
    window = options.get("window", get_task(name).input_shape[0])
    needed = (folds + 1) * days + window + 1
    try:  # the calibration fold, the earliest: the series is long enough when it loads
        data = load_task_data(name, data_dir=data_dir, forecast_days=days, skip_last=folds * days, **options)
    except DataError as short:
        series = _whole_series(name, options, data_dir)
        if series is None or len(series.dates) >= needed:
            raise short from None  # (a file that does not load, or not for its length: the loader says)
        raise DataError(
            f"{series.source}: {len(series.dates)} rows; a backtest of {folds} fold(s) of {days} days needs at least "
            f"{needed} ({folds} folds and a calibration fold of {days} days, after more than {window} "
            "training rows)"
        ) from None
    return len(data.train_prices)


def _whole_series(name: str, options: dict, data_dir):
    """The series read whole (every row but the last trains a window of 1), to count its rows
    for a message; None where it does not load."""
    try:
        return load_task_data(name, data_dir=data_dir, **{**options, "window": 1, "forecast_days": 1})
    except DataError:
        return None


def _fold_name(fold: int, folds: int) -> str:
    return "calibration fold 0" if fold == 0 else f"fold {fold}/{folds}"


def _fold_line(name: str, record: dict, folds: int) -> str:
    metrics = record["metrics"]
    line = (
        f"{name} {_fold_name(record['fold'], folds)} ({record['first_day']} to {record['last_day']}): RMSE "
        f"{metrics['rnn']['rmse']:.4g}, naive {metrics['naive']['rmse']:.4g}"
    )
    if "intervals" in record:
        line += f"; interval coverage {100 * record['intervals']['rnn']['coverage']:.1f}%"
    return line


def walk_forward(
    name: str,
    *,
    folds: int = FOLDS,
    forecast_days: int = FORECAST_DAYS,
    seed: int = 0,
    epochs: int | None = None,
    data_dir=None,
    log: Callable[[str], None] = print,
    data_options: dict | None = None,
    level: float = DEFAULT_LEVEL,
) -> dict:
    """Train forecasting task `name` (a stock task) once per fold (seed `seed`), plus once
    for the calibration fold before them, and score every forecast per fold and over all
    folds, with the RNN's and the naive forecast's intervals at `level`. `data_options`: a
    user's series (`csv_path`, `price_column`, `date_column`). Returns the `backtest` object
    of the task's results row (what `write_backtest` writes)."""
    options, level = _checked_options(name, data_options, level)
    first_rows = _check_length(name, options, folds, forecast_days, data_dir, level)
    records = []
    for fold in range(folds + 1):
        log(f"{name} {_fold_name(fold, folds)}: training on {first_rows + fold * forecast_days:,} rows ...")
        placed = {**options, "forecast_days": forecast_days, "skip_last": (folds - fold) * forecast_days}
        result = train(
            name, seed=seed, epochs=epochs, data_dir=data_dir, verbose=0, validate=False, data_options=placed
        )
        record = fold_record(fold, result)
        if records:
            record["intervals"] = fold_intervals(records[-1], record, level)
        records.append(record)
        log(_fold_line(name, record, folds))
    return _backtest(name, records, result, level=level, seed=seed, days=forecast_days, options=options)


def _backtest(name: str, records: list[dict], result, *, level: float, seed: int, days: int, options: dict) -> dict:
    """The backtest object: the series (its file's name and sha256, the columns read, the
    data options, a file by its name only), the reported folds, their pooled errors, tests
    and intervals."""
    calibration, folds = records[0], records[1:]
    pooled = pooled_errors(folds)
    series, sha256 = data_fingerprint(result.data)
    return {
        "task": name,
        "series": series,
        "sha256": sha256,
        "columns": result.data.columns,
        "data_options": recorded_options(options),
        "folds": folds,
        **pooled,
        "p_value": pooled["diebold_mariano"]["rnn"]["p_value"],
        "reference": "naive (tomorrow = today)",
        "loss": "squared error",
        "seed": seed,
        "epochs": result.epochs,
        "fold_count": len(folds),
        "days_per_fold": days,
        "classical_name": fit_classical(result.data).name,
        "level": level,
        "intervals": pooled_intervals(calibration, folds, level),
        "calibration_fold": calibration,
    }


BACKTEST_JSON, BACKTEST_PNG = BACKTEST_MARKER, "backtest.png"
LABELS = {"rnn": "model", "naive": "naive", "drift": "drift", "mean_return": "mean return", "classical": "classical"}
SIGNIFICANCE = 0.05


def write_backtest(result: dict, out, *, overwrite: bool = False) -> list[Path]:
    """`out`/backtest.json (the result of `walk_forward`, with the rnn_zoo version) and
    `out`/backtest.png (the real prices, the model's forecasts and its interval band over
    every reported fold), written whole or not at all (`rnn_zoo.outputs.atomic_directory`)."""
    out = Path(out)
    with atomic_directory(out, kind="backtest", overwrite=overwrite) as staging:
        record = {"rnn_zoo": __version__, **result}
        (staging / BACKTEST_JSON).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        _plot(result, staging / BACKTEST_PNG)
    return [out / BACKTEST_JSON, out / BACKTEST_PNG]


def _plot(result: dict, path: Path) -> Path:
    """The figure of `write_backtest`: each fold's band calibrated on the fold before."""
    folds, level = result["folds"], result["level"]
    bands = [
        interval_bands(prev, fold, level)["rnn"] for prev, fold in zip([result["calibration_fold"], *folds], folds)
    ]
    days = np.concatenate([_days(fold) for fold in folds])
    return plot_band(
        days,
        {
            "real": np.concatenate([f["true"] for f in folds]),
            "model": np.concatenate([f["forecasts"]["rnn"] for f in folds]),
        },
        (np.concatenate([b[0] for b in bands]), np.concatenate([b[1] for b in bands])),
        path,
        band_label=f"model's {percent(level)}% interval",
        title=f"{result['task']} on {result['series']}: walk-forward, {result['fold_count']} folds",
        ylabel="price",
    )


def _days(fold: dict) -> np.ndarray:
    """The fold's forecast days (a record without them: spread evenly from its first to its last)."""
    if "days" in fold:
        return np.array(fold["days"], dtype="datetime64[D]")
    first, last = np.datetime64(fold["first_day"]), np.datetime64(fold["last_day"])
    return first + np.linspace(0, (last - first).astype(int), len(fold["true"])).round().astype("timedelta64[D]")


def backtest_table(result: dict) -> str:
    """What `rnn-zoo backtest` prints: each forecast's pooled RMSE, MAE, MASE and
    Diebold-Mariano p-value against the naive forecast, the interval coverage and mean width
    of the model's and the naive forecast's, and one line saying who wins."""
    overall, tests, intervals = result["overall"], result["diebold_mariano"], result.get("intervals", {})
    folds = result["folds"]
    lines = [
        f"{result['task']} on {result['series']}: {result['fold_count']} fold(s) of {result['days_per_fold']} days "
        f"({folds[0]['first_day']} to {folds[-1]['last_day']}), each model retrained on the rows before its fold "
        f"(seed {result['seed']}, {result['epochs']} epoch{'' if result['epochs'] == 1 else 's'}). "
        f"Classical: {result['classical_name']}.",
        f"{'forecast':<12} {'RMSE':>10} {'MAE':>10} {'MASE':>8} {'DM p':>8} {'coverage':>9} {'mean width':>11}",
    ]
    for key, label in LABELS.items():
        m = overall[key]
        p = f"{tests[key]['p_value']:.3g}" if key in tests else "-"
        cover = f"{100 * intervals[key]['coverage']:.1f}%" if key in intervals else "-"
        width = fmt_number(intervals[key]["mean_width"]) if key in intervals else "-"
        lines.append(
            f"{label:<12} {fmt_number(m['rmse']):>10} {fmt_number(m['mae']):>10} {fmt_number(m['mase']):>8} "
            f"{p:>8} {cover:>9} {width:>11}"
        )
    if intervals:
        lines.append(
            f"Intervals at {percent(result['level'])}%, each fold's calibrated on the fold before (split conformal); "
            "DM p: Diebold-Mariano test of squared errors against the naive forecast."
        )
    lines.append(verdict_line(result))
    return "\n".join(lines)


def verdict_line(result: dict) -> str:
    """Who has the lowest pooled RMSE, and whether the Diebold-Mariano test against the
    naive forecast says that the difference is significant (p < 0.05)."""
    overall, tests = result["overall"], result["diebold_mariano"]
    best = min(LABELS, key=lambda key: overall[key]["rmse"])
    tied = [LABELS[key] for key in LABELS if overall[key]["rmse"] == overall[best]["rmse"]]
    if len(tied) > 1:
        return f"Verdict: a tie on RMSE: {' and '.join(tied)} ({fmt_number(overall[best]['rmse'])} each); none wins."
    if best == REFERENCE:
        test = tests["rnn"]
        return (
            f"Verdict: the naive forecast (tomorrow = today) wins on RMSE; the model's difference from it is "
            f"{'' if test['p_value'] < SIGNIFICANCE else 'not '}significant (DM p = {test['p_value']:.3g})."
        )
    test = tests[best]
    significant = test["p_value"] < SIGNIFICANCE and test["statistic"] < 0
    return (
        f"Verdict: {LABELS[best]} wins on RMSE ({fmt_number(overall[best]['rmse'])} against the naive "
        f"{fmt_number(overall[REFERENCE]['rmse'])}); the Diebold-Mariano test calls its lead over the naive forecast "
        f"{'significant' if significant else 'not significant'} (p = {test['p_value']:.3g})."
    )
