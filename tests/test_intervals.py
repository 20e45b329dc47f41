"""Prediction intervals (`rnn_zoo.intervals`): the conformal quantile, its coverage, the
calibration scores a stock preset stores, and the intervals of the walk-forward backtest."""

import dataclasses
import decimal
import fractions
import json
import math
import shutil

import numpy as np
import pytest
from fixtures import write_yahoo_csv

import rnn_zoo
from rnn_zoo.errors import DataError, InvalidOverrideError, PresetError
from rnn_zoo.intervals import (
    MAX_SCORES,
    band,
    calibration_scores,
    check_level,
    conformal_quantile,
    coverage,
    highest_level,
    interval,
    least_scores,
    mean_width,
    rank,
    relative_scores,
    too_few_note,
)
from rnn_zoo.preprocessing import PREPROCESSOR_FILE, load_preprocessor
from rnn_zoo.shipped import shipped_path
from rnn_zoo.tasks.stock import ReturnScaler


@pytest.mark.backend_free
def test_the_quantile_is_the_score_of_rank_ceil_n_plus_one_times_level():
    scores = np.arange(1.0, 20.0)  # n = 19
    assert rank(19, 0.9) == 18 and conformal_quantile(scores, 0.9) == 18.0
    assert conformal_quantile(scores[::-1], 0.9) == 18.0  # any order
    assert conformal_quantile(scores, 0.5) == 10.0  # ceil(20 * 0.5) = 10
    assert rank(9, 0.7) == 7  # 10 * 0.7 is 7.000000000000001 in floating point: still rank 7
    assert conformal_quantile(scores, 0.95) == 19.0  # ceil(19) = 19, the largest
    assert [least_scores(level) for level in (0.5, 0.8, 0.9, 0.95, 0.99)] == [1, 4, 9, 19, 99]
    lower, upper = interval(100.0, 50.0, [0.01, 0.02, 0.03], 0.5)  # rank 2: 0.02 x 50 = 1
    assert (lower, upper) == (99.0, 101.0)
    assert coverage([1, 2, 3, 4], [0, 0, 0, 5], [1.5, 1.5, 3, 6]) == 0.5
    assert mean_width([0, 1], [2, 5]) == 3.0
    assert relative_scores([110, 90], [100, 100], [100, 50]).tolist() == [0.1, 0.2]


@pytest.mark.backend_free
def test_exchangeable_residuals_are_covered_at_the_level():
    """Split conformal: on exchangeable days, the next day falls inside with probability at
    least `level` (and below level + 1 / (n + 1)); averaged over many draws."""
    rng = np.random.default_rng(0)
    n, level, trials = 99, 0.9, 4000
    draws = np.abs(rng.standard_t(3, size=(trials, n + 1)))
    inside = [draw[-1] <= conformal_quantile(draw[:-1], level) for draw in draws]
    assert level - 0.015 <= np.mean(inside) <= level + 1 / (n + 1) + 0.015


@pytest.mark.backend_free
@pytest.mark.parametrize(
    "level", [0, 1, 1.5, -0.1, math.nan, True, "0.9", None, np.bool_(True), decimal.Decimal("NaN"), np.float64("nan")]
)
def test_a_level_outside_zero_to_one_is_one_line(level):
    with pytest.raises(InvalidOverrideError, match="level must be a number between 0 and 1") as caught:
        check_level(level)
    assert "\n" not in str(caught.value)


@pytest.mark.backend_free
@pytest.mark.parametrize("level", [np.float32(0.9), np.float64(0.9), decimal.Decimal("0.9"), fractions.Fraction(9, 10)])
def test_a_real_number_of_any_kind_is_a_level(level):
    assert check_level(level) == 0.9 and check_level(level, 9) == 0.9


@pytest.mark.backend_free
def test_a_level_too_high_for_the_scores_names_the_least_count_and_the_highest_level():
    with pytest.raises(InvalidOverrideError, match="needs at least 99 .*there are 20.*at most 0.9523$"):
        conformal_quantile(np.ones(20), 0.99)  # (20 / 21 = 0.95238: rounded down, to a level allowed)
    assert check_level(0.9, 9) == 0.9


@pytest.mark.backend_free
def test_the_highest_level_suggested_is_one_that_is_accepted():
    with pytest.raises(InvalidOverrideError, match="at most 0.9958$"):
        check_level(0.99999, 240)
    assert check_level(0.9958, 240) == 0.9958
    assert all(check_level(highest_level(n), n) == highest_level(n) for n in range(1, 3000))


@pytest.mark.backend_free
def test_a_tiny_level_gives_the_smallest_score_not_the_largest():
    scores = np.arange(1.0, 241.0)
    assert rank(240, 1e-12) == 1 and conformal_quantile(scores, 1e-12) == 1.0
    assert conformal_quantile(scores, 0.001) == 1.0  # ceil(241 * 0.001) = 1


@pytest.mark.backend_free
def test_the_lower_bound_of_a_price_is_never_below_zero():
    lower, upper = band([10.0, 12.0], [10.0, 10.0], 0.5)
    assert lower.tolist() == [5.0, 7.0] and upper.tolist() == [15.0, 17.0]
    lower, upper = interval(10.0, 10.0, [2.0, 3.0, 5.0], 0.5)  # q = 3: 10 - 30 is below 0
    assert (lower, upper) == (0.0, 40.0)
    assert _scaler([2.0, 3.0, 5.0]).interval(np.full(60, 10.0), 10.0, 0.5) == {
        "lower": 0.0,
        "upper": 40.0,
        "level": 0.5,
    }


@pytest.mark.backend_free
def test_too_few_scores_for_the_default_level_is_said_in_one_line():
    note = too_few_note(5)
    assert "5 calibration residual(s)" in note and "at least 9" in note and "at most 0.8333" in note
    assert "\n" not in note and too_few_note(9) == "" and too_few_note(240) == ""


@pytest.mark.backend_free
def test_calibration_scores_are_sorted_bounded_and_the_most_recent():
    true = np.arange(1.0, MAX_SCORES + 11)
    scores = calibration_scores(true, true + 1, np.ones_like(true))
    assert len(scores) == MAX_SCORES and scores == tuple(sorted(scores))
    assert calibration_scores([3.0, 1.0], [1.0, 1.0], [1.0, 1.0]) == (0.0, 2.0)


def _scaler(scores=()) -> ReturnScaler:
    return ReturnScaler(60, 0.02, input_range=(0.5, 500_000.0), calibration_scores=scores)


@pytest.mark.backend_free
def test_the_scores_round_trip_through_the_preprocessor_file(tmp_path):
    scaler = _scaler([0.001, 0.002, 0.01])
    scaler.save(tmp_path)
    again = load_preprocessor(tmp_path)
    assert again == scaler and again.calibration_scores == (0.001, 0.002, 0.01)
    record = json.loads((tmp_path / PREPROCESSOR_FILE).read_text())
    del record["config"]["calibration_scores"]  # a preset from before the intervals
    (tmp_path / PREPROCESSOR_FILE).write_text(json.dumps(record))
    assert load_preprocessor(tmp_path).calibration_scores == ()


@pytest.mark.backend_free
@pytest.mark.parametrize(
    ("scores", "words"),
    [
        ([0.02, 0.01], "sorted"),
        ([-0.01, 0.01], ">= 0"),
        ([0.01, 1e9], "<= 1000"),
        ([0.01, "x"], r'a list of finite numbers >= 0 and <= 1000, got "x" at \[1\]'),
        ([math.nan, 0.1], r"a list of finite numbers >= 0 and <= 1000, got nan at \[0\]"),
        (["7e-05"], r'a list of finite numbers >= 0 and <= 1000, got "7e-05" at \[0\]'),
        ([True, False], r"a list of finite numbers >= 0 and <= 1000, got true at \[0\]"),
        ([0.01] * (MAX_SCORES + 1), f"at most {MAX_SCORES}"),
    ],
)
def test_tampered_scores_are_refused_in_one_line(tmp_path, scores, words):
    _scaler().save(tmp_path)
    path = tmp_path / PREPROCESSOR_FILE
    record = json.loads(path.read_text())
    record["config"]["calibration_scores"] = scores
    path.write_text(json.dumps(record))
    with pytest.raises(PresetError, match=words) as caught:
        load_preprocessor(tmp_path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "calibration_scores" in message


@pytest.mark.backend_free
def test_the_interval_uses_the_windows_last_price_and_shows_on_the_command_line():
    scaler = _scaler([0.01, 0.02, 0.03])
    window = np.linspace(100.0, 200.0, 60)
    found = scaler.interval(window, 205.0, 0.5)
    assert found == {"lower": pytest.approx(201.0), "upper": pytest.approx(209.0), "level": 0.5}
    assert scaler.format_output({"prediction": 205.0, **found}) == "205 (50% interval 201 to 209)"
    assert _scaler().interval(window, 205.0, 0.5) == {}
    assert _scaler().format_output({"prediction": 205.0}) == "205"


@pytest.mark.filterwarnings("ignore::rnn_zoo.shipped.LosesToBaselineWarning")
def test_preset_predict_gives_an_interval_at_the_level_asked(tmp_path):
    folder = tmp_path / "stock_gru_returns"
    shutil.copytree(shipped_path("stock_gru_returns"), folder)
    preset = rnn_zoo.load_preset(folder)
    scores = tuple(np.linspace(0.001, 0.05, 240).round(6))
    preset.preprocessor = dataclasses.replace(preset.preprocessor, calibration_scores=scores)
    window = np.linspace(1000.0, 1050.0, 60)
    point = preset.predict(window, level=None)
    assert set(point) == {"prediction"}
    one = preset.predict(window)
    q = conformal_quantile(scores, 0.9)
    assert one["level"] == 0.9 and one["prediction"] == pytest.approx(point["prediction"])
    assert one["lower"] == pytest.approx(one["prediction"] - q * 1050.0)
    assert one["upper"] == pytest.approx(one["prediction"] + q * 1050.0)
    wider = preset.predict([window, window * 1.1], level=0.99)
    assert len(wider) == 2 and wider[0]["upper"] - wider[0]["lower"] > one["upper"] - one["lower"]
    with pytest.raises(InvalidOverrideError, match="needs at least 999"):
        preset.predict(window, level=0.999)
    with pytest.raises(InvalidOverrideError, match="between 0 and 1"):
        preset.predict(window, level=90)
    tiny = preset.predict(window, level=1e-12)  # rank 1: the smallest score, the narrowest interval
    assert tiny["upper"] - tiny["lower"] == pytest.approx(2 * scores[0] * 1050.0)
    preset.preprocessor = dataclasses.replace(preset.preprocessor, calibration_scores=())
    assert set(preset.predict(window)) == {"prediction"}  # the default: the point alone
    with pytest.raises(InvalidOverrideError, match="level 0.95: this stock_gru_returns preset holds no calibration"):
        preset.predict(window, level=0.95)  # a level given: refused, not ignored


@pytest.mark.slow  # (5.5 s on 2 cores: a training run, a preset saved and loaded)
@pytest.mark.filterwarnings("ignore::rnn_zoo.shipped.LosesToBaselineWarning")  # (one epoch)
def test_train_calibrates_on_the_test_days_and_the_preset_keeps_the_scores(tiny_data_dir, tmp_path):
    result = rnn_zoo.train("stock_gru_returns", epochs=1, max_train_samples=64, data_dir=tiny_data_dir, verbose=0)
    data = result.data
    true, last = data.naive_forecast()
    predicted = data.predicted_prices(rnn_zoo.predict_test(result.model, data))
    scores = result.preprocessor.calibration_scores
    assert len(scores) == len(data.x_test) and scores == calibration_scores(true, predicted, last)
    preset = rnn_zoo.load_preset(result.save_preset(tmp_path / "preset"))
    assert preset.preprocessor.calibration_scores == scores
    window = data.test_prices[-60:]
    one = preset.predict(window)
    half = conformal_quantile(scores, 0.9) * float(np.float32(window[-1]))
    assert one["upper"] - one["prediction"] == pytest.approx(half, rel=1e-6)


@pytest.mark.slow  # (about 4 s on 2 cores: a training run)
@pytest.mark.filterwarnings("ignore::rnn_zoo.shipped.LosesToBaselineWarning")  # (one epoch)
def test_a_run_with_too_few_test_days_for_a_90_percent_interval_says_so(tmp_path):
    options = {**_yahoo(tmp_path), "test_rows": 65}  # 5 test windows: 5 scores, 9 needed at 90%
    result = rnn_zoo.train("stock_gru_returns", epochs=1, max_train_samples=64, verbose=0, data_options=options)
    assert len(result.preprocessor.calibration_scores) == 5
    assert too_few_note(5) in result.summary().splitlines()


def _yahoo(tmp_path, n=200):
    path = tmp_path / "prices.csv"
    write_yahoo_csv(path, n=n)
    return {"csv_path": str(path), "price_column": "Close", "date_column": "Date"}


def test_a_series_too_short_for_the_backtest_gives_its_minimum_length(tmp_path):
    from rnn_zoo.backtest import walk_forward

    with pytest.raises(DataError, match="200 rows; a backtest of 3 fold.* needs at least 261") as caught:
        walk_forward("stock_gru_returns", folds=3, forecast_days=50, data_options=_yahoo(tmp_path), log=print)
    assert "\n" not in str(caught.value)
    shorter = _yahoo(tmp_path, n=100)  # (long enough for the last fold alone: the backtest's minimum all the same)
    with pytest.raises(DataError, match="100 rows; a backtest of 2 fold.* needs at least 211"):
        walk_forward("stock_gru_returns", folds=2, forecast_days=50, data_options=shorter)
    with pytest.raises(InvalidOverrideError, match="test_rows"):
        walk_forward("stock_gru_returns", data_options={**_yahoo(tmp_path), "test_rows": 50})
    with pytest.raises(InvalidOverrideError, match="needs at least 9"):
        walk_forward("stock_gru_returns", folds=2, forecast_days=5, data_options=_yahoo(tmp_path))
    tiny = _yahoo(tmp_path, n=20)  # (shorter than one fold: the backtest's minimum, in the user's terms)
    with pytest.raises(DataError, match="20 rows; a backtest of 2 fold.* needs at least 211") as caught:
        walk_forward("stock_gru_returns", folds=2, forecast_days=50, data_options=tiny)
    assert "skip_last" not in str(caught.value)


@pytest.mark.backend_free
def test_tiny_prices_keep_their_digits_and_a_tie_is_a_tie():
    from rnn_zoo.backtest import DIGITS, _rounded, forecast_errors, verdict_line

    prices = np.array([1.234567891e-7, 2.5e-9, 1234.56789012])
    assert _rounded(prices) == [1.2345679e-07, 2.5e-09, 1234.5679] and DIGITS == 8
    true, forecast = _rounded(prices[:2] * 1e3), _rounded(prices[:2] * 1.01e3)
    assert forecast_errors(true, forecast, 1e-6)["rmse"] > 0  # (to 4 decimals both were 0: RMSE 0)
    assert json.loads(json.dumps(true)) == true  # the stored days give the figures back exactly
    tests = {key: {"p_value": 1.0, "statistic": 0.0} for key in ("rnn", "drift", "mean_return", "classical")}
    overall = {key: {"rmse": 2.0} for key in ("rnn", "naive", "drift", "mean_return", "classical")}
    overall["rnn"] = overall["naive"] = {"rmse": 1.0}
    line = verdict_line({"overall": overall, "diebold_mariano": tests})
    assert line == "Verdict: a tie on RMSE: model and naive (1 each); none wins."


@pytest.mark.slow  # (3.4 s alone on 2 cores, 8.5 s beside other work: over the fast suite's 5 s)
def test_a_tiny_backtest_on_a_yahoo_csv_reports_recomputable_intervals(tmp_path):
    from rnn_zoo.backtest import backtest_table, pooled_intervals, walk_forward, write_backtest

    lines = []
    bt = walk_forward(
        "stock_gru_returns", folds=2, forecast_days=30, epochs=1, data_options=_yahoo(tmp_path), log=lines.append
    )
    assert [line.split(" (")[0] for line in lines] == [
        "stock_gru_returns calibration fold 0: training on 110 rows ...",  # (200 - 3 x 30)
        "stock_gru_returns calibration fold 0",
        "stock_gru_returns fold 1/2: training on 140 rows ...",
        "stock_gru_returns fold 1/2",
        "stock_gru_returns fold 2/2: training on 170 rows ...",
        "stock_gru_returns fold 2/2",
    ]
    assert [fold["train_rows"] for fold in (bt["calibration_fold"], *bt["folds"])] == [110, 140, 170]
    assert bt["series"] == "prices.csv" and bt["level"] == 0.9 and len(bt["folds"]) == 2
    assert bt["columns"] == {"date": "Date", "price": "Close"} and len(bt["sha256"]) == 64
    assert bt["data_options"] == {"csv_path": "prices.csv", "price_column": "Close", "date_column": "Date"}
    assert str(tmp_path) not in json.dumps(bt)  # (a file by its name, never a local path)
    assert bt["calibration_fold"]["last_day"] < bt["folds"][0]["first_day"]
    stored = json.loads(json.dumps(bt))  # the stored days give every interval figure back
    assert pooled_intervals(stored["calibration_fold"], stored["folds"], 0.9) == bt["intervals"]
    for key in ("rnn", "naive"):
        assert 0 <= bt["intervals"][key]["coverage"] <= 1 and bt["intervals"][key]["mean_width"] > 0
    table = backtest_table(bt)
    assert "coverage" in table and table.splitlines()[-1].startswith("Verdict: ")
    written = write_backtest(bt, tmp_path / "bt")
    assert [p.name for p in written] == ["backtest.json", "backtest.png"] and all(p.is_file() for p in written)
    assert json.loads(written[0].read_text())["intervals"] == bt["intervals"]
    write_backtest(bt, tmp_path / "bt")  # its own output is replaced
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's")
    with pytest.raises(rnn_zoo.errors.OutputExistsError):
        write_backtest(bt, tmp_path / "mine")


@pytest.mark.backend_free
@pytest.mark.parametrize("where", ["own_series", "results"])
def test_the_measured_backtests_cover_within_three_points_of_the_level(where):
    """results/own_series.json (GOOG, a Yahoo-layout CSV) and the SH600519 backtest of
    stock_gru_returns in results/results.json: the intervals' figures are recomputed from the
    stored days, and the model's pooled coverage is the level's within 3 points (the goal)."""
    from pathlib import Path

    from rnn_zoo.backtest import pooled_intervals

    record = json.loads((Path(__file__).resolve().parents[1] / "results" / f"{where}.json").read_text())
    if where == "results":
        record = next(row for row in record["rows"] if row["task"] == "stock_gru_returns")
    backtest = record["backtest"]
    again = pooled_intervals(backtest["calibration_fold"], backtest["folds"], backtest["level"])
    for key, found in again.items():
        assert backtest["intervals"][key] == pytest.approx(found)
    assert abs(backtest["intervals"]["rnn"]["coverage"] - backtest["level"]) <= 0.03
