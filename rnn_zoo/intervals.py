"""Prediction intervals for a price forecast, by split conformal prediction.

The scores are relative absolute residuals, |true - forecast| / last price, of forecasts on
days the model did not train on (a preset's test split; in a backtest, the fold before).
The interval at `level` is forecast ± q * last price, where q is the score of rank
ceil((n + 1) * level) among the n sorted scores: the finite-sample conformal quantile, which
covers the next day with probability at least `level` when the days are exchangeable.

No library is used for this. MAPIE's `SplitConformalRegressor` takes an already fitted
model (`prefit=True`), but wants a scikit-learn regressor to call and keeps its scores inside
a Python object, and darts' conformal models calibrate a darts model on the series given at
prediction time; a preset stores its scores as plain JSON and answers with no data, and what
it needs from them is one order statistic."""

from __future__ import annotations

import decimal
import math
import numbers

import numpy as np

from .errors import InvalidOverrideError

DEFAULT_LEVEL = 0.9
# The most scores a preset keeps (the most recent days'): its preprocessor.json stays small.
MAX_SCORES = 10_000
# The largest score stored: a forecast off by 1000 times the last price says nothing more.
MAX_SCORE = 1000.0


def relative_scores(true, forecast, last) -> np.ndarray:
    """|true - forecast| / last, per day, in the days' order."""
    true, forecast, last = (np.asarray(v, dtype=np.float64).ravel() for v in (true, forecast, last))
    return np.abs(true - forecast) / last


def calibration_scores(true, forecast, last) -> tuple[float, ...]:
    """The scores a preset stores: the relative residuals of its most recent `MAX_SCORES`
    out-of-sample days, each to 6 significant digits (at most `MAX_SCORE`), sorted."""
    scores = np.minimum(relative_scores(true, forecast, last)[-MAX_SCORES:], MAX_SCORE)
    return tuple(sorted(float(f"{s:.6g}") for s in scores))


def rank(n: int, level: float) -> int:
    """ceil((n + 1) * level), the 1-based rank of the conformal quantile among n scores (a
    product that floating point puts a hair above a whole number, 10 * 0.7, counts as it),
    and at least 1: a tiny level gives the smallest score, never the largest."""
    return max(1, math.ceil((n + 1) * level - 1e-9))


def highest_level(scores: int) -> float:
    """The highest level `scores` scores allow, n / (n + 1), rounded down to 4 decimals (so
    that the level shown is one they allow)."""
    return math.floor(scores / (scores + 1) * 10_000) / 10_000


def least_scores(level: float) -> int:
    """The fewest scores that give a finite interval at `level`: the least n with rank <= n."""
    n = max(1, math.floor(level / (1 - level)) - 1)
    while rank(n, level) > n:
        n += 1
    return n


def check_level(level, scores: int | None = None) -> float:
    """`level` as a float, once it is a real number (an int, a float, a numpy float, a
    Decimal; not a bool, not a string) strictly between 0 and 1 and, with `scores` (their
    count), low enough for that many: else one line."""
    value = _real(level)
    if value is None or not 0 < value < 1:
        raise InvalidOverrideError(f"level must be a number between 0 and 1 (e.g. 0.9 for 90%), got {level!r}")
    if scores is not None and scores < least_scores(value):
        raise InvalidOverrideError(
            f"level {value:g} needs at least {least_scores(value)} calibration residuals for a finite interval; "
            f"there are {scores}: choose a level of at most {highest_level(scores):g}"
        )
    return value


def _real(value) -> float | None:
    """`value` as a float where it is a real number (NaN stays NaN), else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        return None
    try:  # (a float32's own digits: np.float32(0.9) is 0.9, not 0.8999999761581421)
        return float(str(value)) if isinstance(value, np.floating) else float(value)
    except (ValueError, OverflowError):  # (a signalling NaN Decimal)
        return None


def percent(level: float) -> str:
    """A level as a percentage, positional (1e-9 -> "0.0000001", 0.9 -> "90")."""
    return np.format_float_positional(100 * level, precision=6, fractional=False, trim="-")


def too_few_note(scores: int, level: float = DEFAULT_LEVEL) -> str:
    """One line where `scores` calibration scores are too few for an interval at `level`
    (a preset trained with few test rows), else ""."""
    if scores >= least_scores(level):
        return ""
    return (
        f"intervals: {scores} calibration residual(s) (the test days' forecasts) are too few for a "
        f"{percent(level)}% interval (at least {least_scores(level)}): predict refuses level {level:g}; "
        f"give it a level of at most {highest_level(scores):g} or train with more test rows"
    )


def conformal_quantile(scores, level: float) -> float:
    """The score of rank ceil((n + 1) * level) (1-based) among the n `scores`."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    level = check_level(level, len(ordered))
    return float(ordered[rank(len(ordered), level) - 1])


def interval(forecast, last, scores, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper): forecast ∓ q * last, q the conformal quantile of `scores` at `level`,
    the lower bound clipped at 0 (`band`)."""
    return band(forecast, last, conformal_quantile(scores, level))


def band(forecast, last, quantile: float) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper): forecast ∓ quantile * last, the lower bound clipped at 0: a price is
    never below 0, and a score may be up to `MAX_SCORE` (a forecast off by more than the
    last price), so forecast - quantile * last can be. Coverage of positive prices is the same
    clipped or not; the width is the clipped one."""
    half = quantile * np.asarray(last, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    return np.maximum(forecast - half, 0.0), forecast + half


def coverage(true, lower, upper) -> float:
    """The share of days whose true value lies inside [lower, upper]."""
    true = np.asarray(true, dtype=np.float64)
    return float(np.mean((np.asarray(lower) <= true) & (true <= np.asarray(upper))))


def mean_width(lower, upper) -> float:
    """The mean of upper - lower."""
    return float(np.mean(np.asarray(upper, dtype=np.float64) - np.asarray(lower, dtype=np.float64)))
