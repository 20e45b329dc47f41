"""results/results.json, written by `python -m tools.bench`: every task has a row that meets its goals."""

import json
from pathlib import Path

import pytest

import rnn_zoo
from rnn_zoo.backtest import fold_intervals, forecast_errors, pooled_errors, pooled_intervals
from rnn_zoo.registry import Goal
from tools.bench import backtest_table, results_table
from tools.pages import markers, read_table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "results.json"


@pytest.fixture(scope="module")
def results():
    assert RESULTS.is_file(), "run `python -m tools.bench` to produce results/results.json"
    return json.loads(RESULTS.read_text())


@pytest.mark.backend_free
def test_a_full_run_over_three_seeds(results):
    assert results["quick"] is False and results["seeds"] == [0, 1, 2]
    assert results["machine"]["cpu"] and results["machine"]["tensorflow"]


@pytest.mark.parametrize("name", rnn_zoo.list_tasks())
@pytest.mark.backend_free
def test_every_task_has_a_row_meeting_its_goals(results, name):
    rows = {row["task"]: row for row in results["rows"]}
    assert name in rows, f"{name} has no row in results.json: rerun `python -m tools.bench`"
    row, spec = rows[name], rnn_zoo.get_task(name)
    assert row["metric"] in row["summary"] and row["metric"] in row["baseline"] and row["metric"] in row["classical"]
    assert row["settings"]["epochs"] == spec.train.epochs and row["settings"]["batch_size"] == spec.train.batch_size
    assert [r["seed"] for r in row["per_seed"]] == [0, 1, 2]
    # Recompute each goal from the per-seed numbers instead of trusting the stored flag.
    assert row["goals"] == [g.describe() for g in spec.goals]
    for goal in spec.goals:
        assert goal.met_by(row["per_seed"]), f"{name}: {goal.describe()} not met by {row['per_seed']}"
    assert row["goals_met"] == all(goal.met_by(row["per_seed"]) for goal in spec.goals)


@pytest.mark.parametrize("name", rnn_zoo.list_tasks())
@pytest.mark.backend_free
def test_every_row_carries_its_classical_model_on_every_seed(results, name):
    row = {row["task"]: row for row in results["rows"]}[name]
    for key, value in row["summary"].items():
        per_seed = [r["classical"][key] for r in row["per_seed"]]
        assert row["classical"][key] == pytest.approx(sum(per_seed) / len(per_seed), rel=1e-12)
        assert value["mean"] == pytest.approx(sum(r["metrics"][key] for r in row["per_seed"]) / len(per_seed))
    assert all(isinstance(r["classical"]["settings"], dict) for r in row["per_seed"])


@pytest.mark.parametrize("name", rnn_zoo.list_tasks("stock_*"))
@pytest.mark.backend_free
def test_stock_rows_carry_a_backtest_that_adds_up(results, name):
    """Every backtest figure is recomputed from the stored days: per fold, over all folds,
    and the Diebold-Mariano p-values."""
    backtest = {row["task"]: row for row in results["rows"]}[name]["backtest"]
    folds = backtest["folds"]
    assert len(folds) == backtest["fold_count"] >= 3 and backtest["seed"] == 0
    for previous, fold in zip(folds, folds[1:]):
        assert previous["last_day"] < fold["first_day"]
        assert fold["train_rows"] == previous["train_rows"] + previous["forecast_days"]  # expanding window
    for fold in folds:
        assert len(fold["true"]) == fold["forecast_days"] == backtest["days_per_fold"]
        for key, forecast in fold["forecasts"].items():
            assert fold["metrics"][key] == pytest.approx(forecast_errors(fold["true"], forecast, fold["scale"]))
    pooled = pooled_errors(folds)
    assert pooled["overall"].keys() == backtest["overall"].keys()
    for key, metrics in pooled["overall"].items():
        assert metrics == pytest.approx(backtest["overall"][key])
    for key, test in pooled["diebold_mariano"].items():
        assert backtest["diebold_mariano"][key] == pytest.approx(test)
    assert backtest["p_value"] == backtest["diebold_mariano"]["rnn"]["p_value"]
    if "intervals" in backtest:  # (rows from before the intervals have none)
        level, previous = backtest["level"], [backtest["calibration_fold"], *folds]
        assert previous[0]["last_day"] < folds[0]["first_day"]
        for before, fold in zip(previous, folds):
            for key, found in fold_intervals(before, fold, level).items():
                assert fold["intervals"][key] == pytest.approx(found)
        for key, found in pooled_intervals(previous[0], folds, level).items():
            assert backtest["intervals"][key] == pytest.approx(found)


@pytest.mark.backend_free
def test_the_docs_tables_are_the_ones_generated_from_the_results(results):
    assert read_table("results", root=ROOT) == results_table(results)
    assert read_table("backtest", root=ROOT) == backtest_table(results)


@pytest.mark.backend_free
def test_goal_checks():
    assert Goal("accuracy", ">=", 0.9).met([0.95, 0.91], [0.5, 0.5])
    assert not Goal("accuracy", ">=", 0.9).met([0.95, 0.89], [0.5, 0.5])
    assert Goal("accuracy", ">=", 0.9, over="mean").met([0.95, 0.89], [0.5, 0.5])
    relative = Goal("rmse", "<", 1.0, over="mean", relative_to="baseline")
    assert relative.met([19.5, 19.7], [19.62, 19.62]) and not relative.met([19.7, 19.7], [19.62, 19.62])
    assert Goal("rmse", "<=", 1.01, relative_to="baseline").describe() == "every seed: rmse <= 1.01 x baseline"


def test_quick_benchmark_writes_rows_and_a_table(tiny_data_dir, tmp_path):
    from tools.bench import run_benchmark
    from tools.reports import update_readme

    out = tmp_path / "quick.json"
    results = run_benchmark(
        "sms_spam_rnn", quick=True, data_dir=tiny_data_dir, out=out, tables=False, log=lambda _: None
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(results))
    (row,) = results["rows"]
    assert row["task"] == "sms_spam_rnn" and row["seeds"] == [0] and row["settings"]["epochs"] == 2
    assert set(row["summary"]) == {"accuracy", "spam_precision", "spam_recall", "spam_f1"}  # from the raw-text export
    assert row["classical"]["name"] and set(row["classical"]) - {"name"} == set(row["summary"])
    readme = tmp_path / "README.md"
    start, end = markers("results")
    readme.write_text(f"intro\n{start}\nold\n{end}\nrest\n")
    update_readme(readme, results_table(results), start=start, end=end)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "`sms_spam_rnn`" in text and "old" not in text
