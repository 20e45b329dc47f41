"""Honest baselines: the classical model of every task, the walk-forward stock backtest,
the Diebold-Mariano test, and what the linear RNN variants learned."""

import dataclasses
import json
import math

import keras
import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.backtest import diebold_mariano, forecast_errors, pooled_errors, walk_forward
from rnn_zoo.classical import classical_scores, fit_classical
from rnn_zoo.registry import Goal
from rnn_zoo.tasks.sine import learned_response
from rnn_zoo.tasks.stock import load_stock, return_lags
from tools.reports import significance, verdict


def _scrambled(value, rng):
    """Garbage of the same shape and type: what a test field may hold without the fit noticing."""
    value = np.asarray(value)
    if value.dtype.kind in "OUS":
        return np.array(["lorem ipsum " * (i % 3) + "£££ 0800" for i in range(len(value))], dtype=value.dtype)
    if value.dtype.kind in "iu":
        return rng.integers(0, max(int(value.max()), 1) + 1, size=value.shape).astype(value.dtype)
    return (rng.random(value.shape) * 100 + 1).astype(value.dtype)


@pytest.mark.parametrize("name", rnn_zoo.list_tasks())
@pytest.mark.backend_free
def test_every_classical_model_is_fitted_on_the_training_split_only(name, tiny_data_dir):
    """Fitted again on data whose test fields are garbage, the classical model predicts the
    real test inputs exactly as before: nothing of the test split went into the fit."""
    data = rnn_zoo.load_task_data(name, data_dir=tiny_data_dir)
    model = data.fit_classical()
    expected = model.predict(data)
    rng = np.random.default_rng(0)
    test_fields = {f.name: _scrambled(getattr(data, f.name), rng) for f in dataclasses.fields(data) if "test" in f.name}
    assert {"x_test", "y_test"} <= set(test_fields)
    refit = dataclasses.replace(data, **test_fields).fit_classical()
    np.testing.assert_array_equal(refit.predict(data), expected)
    assert refit.settings == model.settings
    scores = classical_scores(data)
    assert scores["name"] == model.name and set(scores) - {"name", "settings"} == set(data.baseline_scores())
    assert all(math.isfinite(v) for k, v in scores.items() if k not in ("name", "settings"))


@pytest.mark.parametrize("name", rnn_zoo.list_tasks())
@pytest.mark.backend_free
def test_every_task_has_one_classical_name_whatever_the_split(name, tiny_data_dir):
    names = {classical_scores(rnn_zoo.load_task_data(name, data_dir=tiny_data_dir, seed=s))["name"] for s in (0, 1)}
    assert len(names) == 1


@pytest.mark.backend_free
def test_fits_are_cached_by_training_content(tiny_data_dir):
    a = rnn_zoo.load_task_data("stock_gru", data_dir=tiny_data_dir)
    b = rnn_zoo.load_task_data("stock_lstm", data_dir=tiny_data_dir)  # the same training rows
    assert fit_classical(a) is fit_classical(b)
    shorter = dataclasses.replace(a, train_prices=a.train_prices[:-1])
    assert fit_classical(shorter) is not fit_classical(a)
    # The window bounds the lags the stock model may choose: it is part of the key.
    narrow = rnn_zoo.load_task_data("stock_gru", data_dir=tiny_data_dir, window=10)
    np.testing.assert_array_equal(narrow.train_prices, a.train_prices)
    assert fit_classical(narrow) is not fit_classical(a)
    assert max(int(k[3:-1]) for k in fit_classical(narrow).settings["cv_rmse"] if k.startswith("AR")) < 10
    assert np.isfinite(classical_scores(narrow)["rmse"])


@pytest.mark.backend_free
def test_a_slice_of_stock_training_data_keeps_its_prices(tiny_data_dir):
    """max_train_samples: the classical model sees the prices behind the windows the RNN trains on."""
    data = rnn_zoo.load_task_data("stock_gru", data_dir=tiny_data_dir)
    head = data.head(20)
    assert len(head.train_prices) == 20 + data.window
    np.testing.assert_allclose(head.preprocessor.windows(head.train_prices)[0], head.x_train)


@pytest.mark.parametrize("name", ["sine_regression", "sin_to_cos"])
@pytest.mark.backend_free
def test_the_sine_targets_are_linear_so_the_classical_model_is_exact(name):
    scores = classical_scores(rnn_zoo.load_task_data(name))
    assert scores["rmse"] < 1e-6 and scores["mse"] < 1e-12


@pytest.mark.backend_free
def test_sin_to_cos_filter_learns_the_identity_weights():
    """cos(x) = (cos(h) sin(x) - sin(x - h)) / sin(h), h = pi / 10."""
    weights = classical_scores(rnn_zoo.load_task_data("sin_to_cos"))["settings"]["weights"]
    h = np.pi / 10
    np.testing.assert_allclose(weights, [np.cos(h) / np.sin(h), -1 / np.sin(h)], rtol=1e-4)


@pytest.mark.backend_free
def test_letters_lookup_table_is_exact_and_falls_back_to_the_majority():
    data = rnn_zoo.load_task_data("letters_4pre1")
    assert classical_scores(data)["accuracy"] == 1.0
    model = dataclasses.replace(data, x_train=data.x_train[:2], y_train=data.y_train[:2]).fit_classical()
    predicted = model.predict(data).argmax(-1)
    assert list(predicted[:2]) == list(data.y_test[:2])  # seen windows
    assert set(predicted[2:]) == {min(data.y_train[:2])}  # unseen: the majority (ties: lowest id)


@pytest.mark.backend_free
def test_return_lags_are_the_returns_before_each_day():
    prices = np.array([100.0, 110.0, 99.0, 99.0, 108.9])
    x, y, last = return_lags(prices, 2)
    np.testing.assert_allclose(x, [[-0.1, 0.1], [0.0, -0.1]])  # newest first
    np.testing.assert_allclose(y, [0.0, 0.1])
    np.testing.assert_allclose(last, [99.0, 99.0])


@pytest.mark.backend_free
def test_stock_classical_model_follows_a_steady_trend(tmp_path):
    """On prices growing 1% a day with small noise, drift or an AR on returns is far better
    than 'tomorrow = today', and whatever it picks is fitted on the training rows."""
    import pandas as pd

    n = 600
    rng = np.random.default_rng(0)
    prices = 100 * np.cumprod(1 + 0.01 + rng.normal(0, 1e-4, n))
    pd.DataFrame({"date": pd.bdate_range("2010-01-04", periods=n).strftime("%Y-%m-%d"), "open": prices}).to_csv(
        tmp_path / "trend.csv", index=False
    )
    data = load_stock(csv_path=tmp_path / "trend.csv", test_rows=200)
    scores = classical_scores(data)
    assert scores["rmse"] < 0.05 * data.baseline_scores()["rmse"]
    assert scores["settings"]["chosen"] in scores["settings"]["cv_rmse"]


@pytest.mark.backend_free
def test_walk_forward_folds_train_on_every_row_before_their_days(tiny_data_dir):
    rows = 420  # the tiny tushare file
    folds = [load_stock(data_dir=tiny_data_dir, forecast_days=40, skip_last=skip) for skip in (40, 0)]
    for fold, skip in zip(folds, (40, 0)):
        end = rows - skip
        assert len(fold.train_prices) == end - 40 and len(fold.test_prices) == 40 + fold.window
        np.testing.assert_array_equal(fold.test_prices[: fold.window], fold.train_prices[-fold.window :])
        assert len(fold.y_test) == 40 and len(fold.dates) == end
        # Scaling fitted on this fold's training rows only.
        assert fold.preprocessor == fold.preprocessor.fit(fold.train_prices, fold.window)
    np.testing.assert_array_equal(
        folds[1].train_prices, np.concatenate([folds[0].train_prices, folds[0].test_prices[folds[0].window :]])
    )
    with pytest.raises(rnn_zoo.errors.DataError, match="training rows"):
        load_stock(data_dir=tiny_data_dir, forecast_days=200, skip_last=200)
    with pytest.raises(rnn_zoo.errors.DataError, match="forecast_days must be"):
        load_stock(data_dir=tiny_data_dir, forecast_days=0)
    with pytest.raises(rnn_zoo.errors.DataError, match="give forecast_days"):
        load_stock(data_dir=tiny_data_dir, skip_last=40)
    with pytest.raises(rnn_zoo.errors.DataError, match="not both"):
        load_stock(data_dir=tiny_data_dir, forecast_days=40, test_rows=100)


@pytest.mark.slow
def test_walk_forward_backtest_reports_consecutive_folds_and_recomputable_figures(tiny_data_dir):
    bt = walk_forward(
        "stock_gru_returns", folds=2, forecast_days=40, epochs=1, data_dir=tiny_data_dir, log=lambda _: None
    )
    first, second = bt["folds"]
    assert first["forecast_days"] == second["forecast_days"] == 40
    assert second["train_rows"] == first["train_rows"] + 40 and first["last_day"] < second["first_day"]
    assert set(first["forecasts"]) == {"rnn", "naive", "drift", "mean_return", "classical"}
    for fold in bt["folds"]:
        for key, forecast in fold["forecasts"].items():
            assert fold["metrics"][key] == forecast_errors(fold["true"], forecast, fold["scale"])
    stored = json.loads(json.dumps(bt))  # what results.json keeps gives every figure back
    again = pooled_errors(stored["folds"])
    assert again["overall"] == bt["overall"] and again["diebold_mariano"] == bt["diebold_mariano"]
    # The last fold's naive forecast is the loader's own baseline on the same days.
    last = load_stock(data_dir=tiny_data_dir, target="return", forecast_days=40)
    assert second["metrics"]["naive"]["rmse"] == pytest.approx(last.baseline_scores()["rmse"], rel=1e-6)
    assert bt["p_value"] == bt["diebold_mariano"]["rnn"]["p_value"] and 0 <= bt["p_value"] <= 1
    with pytest.raises(rnn_zoo.errors.InvalidOverrideError, match="for stock tasks"):
        walk_forward("sine_regression")


@pytest.mark.backend_free
def test_mase_of_the_naive_forecast_is_one_in_sample():
    prices = np.array([10.0, 11.0, 10.5, 12.0, 11.0])
    scale = np.mean(np.abs(np.diff(prices)))
    assert forecast_errors(prices[1:], prices[:-1], scale)["mase"] == pytest.approx(1.0)


@pytest.mark.backend_free
def test_diebold_mariano():
    rng = np.random.default_rng(0)
    reference = rng.normal(0, 1, 500)
    assert diebold_mariano(reference, reference) == {"statistic": 0.0, "p_value": 1.0}
    better = diebold_mariano(reference * 0.5, reference)
    assert better["statistic"] < 0 and better["p_value"] < 1e-6
    worse = diebold_mariano(reference, reference * 0.5)
    assert worse["statistic"] == pytest.approx(-better["statistic"])
    assert worse["p_value"] == pytest.approx(better["p_value"])
    noise = diebold_mariano(reference + rng.normal(0, 0.01, 500), reference)
    assert noise["p_value"] > 0.01
    # By hand, for a tiny sample: d = e1^2 - e2^2 = [-3, 3, -2, 0]; mean -0.5, variance 5.25;
    # the small-sample factor is sqrt((n - 1) / n).
    d = diebold_mariano(np.array([1.0, 2.0, 1.0, 1.0]), np.array([2.0, 1.0, 3.0**0.5, 1.0]))
    assert d["statistic"] == pytest.approx(-0.5 / math.sqrt(5.25 / 4) * math.sqrt(3 / 4))
    assert "better" in significance({"statistic": -3.0, "p_value": 0.001})
    assert "worse" in significance({"statistic": 3.0, "p_value": 0.001})
    assert "no significant" in significance({"statistic": -1.0, "p_value": 0.3})


@pytest.mark.backend_free
def test_verdicts():
    assert verdict("accuracy", 0.9913, 0.9874, higher_is_better=True) == "RNN by 0.39 pts"
    assert verdict("accuracy", 0.98, 0.99, higher_is_better=True) == "classical by 1.00 pts"
    assert verdict("accuracy", 1.0, 1.0, higher_is_better=True) == "tie"
    assert verdict("rmse", 3.75e-4, 2e-8, higher_is_better=False) == "classical, 1.88e+04x lower"
    assert verdict("rmse", 19.52, 19.55, higher_is_better=False) == "RNN, 0.15% lower"
    assert verdict("mse", 0.0, 1e-9, higher_is_better=False) == "RNN (exact)"


@pytest.mark.backend_free
def test_goals_relative_to_the_classical_model():
    goal = Goal("rmse", "<=", 10.0, over="mean", relative_to="classical")
    assert goal.describe() == "mean: rmse <= 10 x classical"
    assert goal.met([1e-7, 2e-7], [2e-8, 2e-8]) and not goal.met([1e-6, 1e-6], [2e-8, 2e-8])
    rows = [{"metrics": {"rmse": 1e-7}, "classical": {"rmse": 2e-8}, "baseline": {"rmse": 0.6}}]
    assert goal.met_by(rows)
    with pytest.raises(ValueError, match="needs the classical"):
        goal.met([1.0])
    with pytest.raises(ValueError):
        Goal("rmse", "<=", 1.0, relative_to="tutorial")


def _linear_rnn(units, kernel, recurrent, head):
    model = keras.Sequential(
        [keras.Input((10, 1)), keras.layers.SimpleRNN(units, activation=None), keras.layers.Dense(1, name="head")]
    )
    weights = [np.array(kernel, "float32"), np.array(recurrent, "float32"), np.zeros(units, "float32")]
    model.layers[0].set_weights(weights)
    model.layers[1].set_weights([np.array(head, "float32"), np.zeros(1, "float32")])
    return model


def test_learned_response_of_the_exact_recurrence():
    """h = (x_t, x_t-1) and y = 2 cos(1) x_t - x_t-1: sin(k + 10) from the window, a filter of
    gain 1 advancing the phase by one step (1 radian)."""
    model = _linear_rnn(2, [[1.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]], [[2 * np.cos(1.0)], [-1.0]])
    k = np.linspace(1, 50, 7)
    x = np.sin(k[:, None] + np.arange(10))[..., None].astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0)[:, 0], np.sin(k + 10), atol=1e-5)
    response = learned_response(model, 1.0, steps=10)
    assert response["gain"] == pytest.approx(1.0, abs=1e-6) and response["phase"] == pytest.approx(1.0, abs=1e-6)
    assert response["offset"] == 0.0
    tanh = keras.Sequential([keras.Input((10, 1)), keras.layers.SimpleRNN(2), keras.layers.Dense(1, name="head")])
    with pytest.raises(ValueError, match="not linear"):
        learned_response(tanh, 1.0)
    stacked = keras.Sequential(
        [
            keras.Input((10, 1)),
            keras.layers.SimpleRNN(2, activation=None, return_sequences=True),
            keras.layers.SimpleRNN(2, activation=None),
            keras.layers.Dense(1, name="head"),
        ]
    )
    with pytest.raises(ValueError, match="one SimpleRNN layer"):
        learned_response(stacked, 1.0)
    # The shift register above has eigenvalues 0: a state carried without end converges.
    assert learned_response(model, 1.0)["gain"] == pytest.approx(1.0, abs=1e-6)
    growing = _linear_rnn(2, [[1.0, 0.0]], [[1.5, 0.0], [0.0, 0.5]], [[1.0], [1.0]])
    with pytest.raises(ValueError, match="unit circle"):
        learned_response(growing, 1.0)


def test_linear_variants_are_simple_rnns_without_tanh():
    for name in ("sine_regression_linear", "sin_to_cos_linear"):
        model = rnn_zoo.build(name)
        rnn = model.layers[0]
        assert isinstance(rnn, keras.layers.SimpleRNN) and rnn.cell.activation.__name__ == "linear"
    with pytest.raises(rnn_zoo.errors.InvalidOverrideError, match="linear recurrence"):
        rnn_zoo.build("sine_regression_linear", cell="lstm")


def test_the_docs_state_what_the_shipped_linear_presets_learned():
    """The sine page's figures for the linear variants, recomputed from the shipped presets."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "docs" / "families" / "sine.md").read_text()
    sine = learned_response(rnn_zoo.load_preset("sine_regression_linear").model, 1.0, steps=10)
    s2c = learned_response(rnn_zoo.load_preset("sin_to_cos_linear").model, np.pi / 10)
    claims = [
        f"gain {sine['gain']:.7f}",
        f"by {sine['phase']:.7f} radian",
        f"offset {sine['offset']:.1e}",
        f"gain {s2c['gain']:.7f}",
        f"lead of {s2c['phase']:.7f} = π/2",
    ]
    for claim in claims:
        assert claim in " ".join(readme.split()), claim
    assert abs(s2c["phase"] - np.pi / 2) < 1e-6 and abs(sine["phase"] - 1.0) < 1e-6
