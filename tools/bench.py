"""The results benchmark: every task on its real data, over seeds, against its goals.

    python -m tools.bench [--tasks PATTERN] [--seeds 0,1,2] [--quick] [--data-dir D] [--out F] [--no-tables]

Writes results/results.json and the results and backtest tables of the docs (`tools.pages`; between
their markers). The file is produced here only, never edited by hand."""

from __future__ import annotations

import datetime
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rnn_zoo.data.loading import data_class
from rnn_zoo.errors import UnknownTaskError
from rnn_zoo.metrics import fmt_number, primary_metric
from rnn_zoo.registry import get_task, list_tasks

from .command import ToolParser, UsageError, log, run_tool, tables_or_refuse
from .pages import write_table
from .reports import kept_rows, machine, measured_by, significance, verdict, write_results

MODULE = "tools.bench"
COMMAND = f"python -m {MODULE}"
QUICK_EPOCHS = 2


def command_line(quick: bool) -> str:
    """The command that makes a results file (written in it, and in the tables' header)."""
    return COMMAND + (" --quick" if quick else "")


def final_scores(result) -> dict:
    """The test metrics a run is judged on: the model's own, or, for a family scored through
    its export (SMS), those of its SavedModel, reloaded, on the raw test inputs (cleaning,
    vocabulary and padding inside)."""
    if not result.data.scored_through_export:
        return result.metrics
    import tensorflow as tf

    from rnn_zoo.exporting import export

    with tempfile.TemporaryDirectory() as tmp:
        path = export(result, Path(tmp) / result.task)
        return result.data.served_scores(tf.saved_model.load(str(path)).signatures["serve"])


def run_seed(name: str, seed: int, *, epochs: int, data_dir, log: Callable[[str], None]):
    """(the TrainResult, its per-seed row) of one training run of task `name`."""
    from rnn_zoo.training import train

    # No per-epoch test pass: it changes no weight, and the benchmark reads only the final scores.
    result = train(name, seed=seed, epochs=epochs, data_dir=data_dir, verbose=0, validate=False)
    metrics = final_scores(result)
    classical = result.classical
    row = {
        "seed": seed,
        "metrics": metrics,
        "baseline": result.baseline,
        "classical": {k: v for k, v in classical.items() if k != "name"},
        "wall_time_s": round(result.wall_time_s, 2),
        "samples_per_s": round(result.samples_per_s, 1),
    }
    metric = primary_metric(get_task(name), metrics)
    log(
        f"{name} seed {seed}: {metric} {metrics[metric]:.6g} (baseline {result.baseline[metric]:.6g}, "
        f"classical {classical[metric]:.6g}), {result.wall_time_s:.1f} s"
    )
    return result, row


def spread(values) -> dict:
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
    }


def mean_over_seeds(per_seed: list[dict], part: str, keys) -> dict:
    """The mean over the seeds of each of `keys` in every row's `part` (baseline, classical)."""
    return {k: float(np.mean([r[part][k] for r in per_seed])) for k in keys}


def run_settings(spec, *, epochs: int, parameters: int) -> dict:
    model = spec.model
    return {
        "cell": model.cell,
        "units": list(model.units),
        "bidirectional": model.bidirectional,
        "dropout": model.dropout,
        "optimizer": spec.train.optimizer,
        "learning_rate": spec.train.learning_rate,
        "lr_schedule": spec.train.lr_schedule,
        "loss": spec.train.loss,
        "epochs": epochs,
        "batch_size": spec.train.batch_size,
        "data_options": dict(spec.data_options),
        "parameters": parameters,
    }


def backtest(name: str, *, seed: int, epochs: int, quick: bool, data_dir, log: Callable[[str], None]) -> dict:
    """The walk-forward backtest of task `name` (quick: 2 folds of 40 days)."""
    from rnn_zoo.backtest import FOLDS, FORECAST_DAYS, walk_forward

    folds, days = (2, 40) if quick else (FOLDS, FORECAST_DAYS)
    return walk_forward(name, folds=folds, forecast_days=days, seed=seed, epochs=epochs, data_dir=data_dir, log=log)


def run_task(name: str, seeds, *, quick: bool, data_dir, log: Callable[[str], None]) -> dict:
    """The results row of task `name`: one training run per seed, their spread, the
    baseline's and the classical model's means, the goals; the backtest where the family has one."""
    spec = get_task(name)
    epochs = min(spec.train.epochs, QUICK_EPOCHS) if quick else spec.train.epochs
    per_seed = []
    for seed in seeds:  # one run held at a time: the last one's model and data describe the row
        result, seed_row = run_seed(name, seed, epochs=epochs, data_dir=data_dir, log=log)
        per_seed.append(seed_row)
    metrics = per_seed[0]["metrics"]
    row = {
        "task": name,
        "date": datetime.date.today().isoformat(),
        "family": spec.family,
        "variant_of": spec.variant_of,
        "description": spec.description,
        "metric": primary_metric(spec, metrics),
        "summary": {k: spread([r["metrics"][k] for r in per_seed]) for k in metrics},
        "baseline": {"name": result.baseline_name, **mean_over_seeds(per_seed, "baseline", per_seed[0]["baseline"])},
        "classical": {"name": result.classical["name"], **mean_over_seeds(per_seed, "classical", metrics)},
        "goals": [g.describe() for g in spec.goals],
        "goals_met": all(g.met_by(per_seed) for g in spec.goals),
        "target": spec.target,
        "tutorial_result": spec.tutorial_result,
        "settings": run_settings(spec, epochs=epochs, parameters=result.model.count_params()),
        "seeds": list(seeds),
        "per_seed": per_seed,
        "wall_time_s": float(np.mean([r["wall_time_s"] for r in per_seed])),
        "samples_per_s": float(np.mean([r["samples_per_s"] for r in per_seed])),
    }
    if result.data.supports_backtest:
        row["backtest"] = backtest(name, seed=seeds[0], epochs=epochs, quick=quick, data_dir=data_dir, log=log)
    return row


def results_table(results: dict) -> str:
    """The results table (docs: tasks and results), made from results.json."""
    lines = [
        f"{measured_by(command_line(results['quick']), results)}; seeds {', '.join(map(str, results['seeds']))} "
        "(mean ± std, then min–max). The baseline is the naive forecast; the classical model is fitted on the same "
        "training split (means over the seeds' splits). Times are per seed, on CPU.",
        "",
        "| task | variant of | metric | model | baseline | classical | who wins | tutorial reported | target | met "
        "| epochs | train time | samples/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        metric = row["metric"]
        s = row["summary"][metric]
        model = f"{fmt_number(s['mean'])} ± {fmt_number(s['std'])} ({fmt_number(s['min'])}–{fmt_number(s['max'])})"
        baseline = f"{fmt_number(row['baseline'][metric])} ({row['baseline']['name']})"
        classical = f"{fmt_number(row['classical'][metric])} ({row['classical']['name']})"
        goals = "; ".join(row["goals"]) or "honest report"
        met = ("yes" if row["goals_met"] else "**no**") if row["goals"] else "—"
        higher = metric in data_class(row["task"]).higher_is_better
        lines.append(
            f"| `{row['task']}` | {row['variant_of'] or ''} | {metric} | {model} | {baseline} | {classical} | "
            f"{verdict(metric, s['mean'], row['classical'][metric], higher_is_better=higher)} | {row['tutorial_result']} | {goals} | {met} | "
            f"{row['settings']['epochs']} | {row['wall_time_s']:.0f} s | {row['samples_per_s']:,.0f} |"
        )
    return "\n".join(lines)


BACKTEST_FORECASTS = (
    ("rnn", "RNN"),
    ("naive", "naive"),
    ("drift", "drift"),
    ("mean_return", "mean return"),
    ("classical", "classical"),
)


def backtest_table(results: dict) -> str:
    """The walk-forward table: every backtest row's, over all its folds."""
    rows = [row for row in results["rows"] if "backtest" in row]
    if not rows:
        return f"No stock task has a backtest in results.json yet: run `{COMMAND} --tasks 'stock_*'`."
    first = rows[0]["backtest"]
    days = first["folds"]
    lines = [
        f"{measured_by(command_line(results['quick']), {**results, 'rows': rows})}. Walk-forward: "
        f"{first['fold_count']} consecutive "
        f"folds of {first['days_per_fold']} forecast days ({days[0]['first_day']} to {days[-1]['last_day']}), each "
        f"model retrained on every row before its fold (seed {first['seed']}), scaling fitted on those rows. RMSE "
        "and MAE in price units, MAPE in %, MASE against the naive forecast's in-sample MAE; Diebold-Mariano test "
        "of squared errors against the naive forecast, over all forecast days. Intervals: split conformal on the "
        "relative absolute residuals of the fold before (a calibration fold before the first), for the RNN and for "
        "the naive forecast; coverage is the share of forecast days inside, width the mean in price units.",
        "",
        "| task | RMSE: " + " / ".join(label for _, label in BACKTEST_FORECASTS) + " | RNN MAE | RNN MAPE | RNN MASE "
        "| naive MASE | RNN vs naive | classical vs naive | interval | RNN coverage / width "
        "| naive coverage / width |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        bt = row["backtest"]
        overall, tests = bt["overall"], bt["diebold_mariano"]
        rmse = " / ".join(fmt_number(overall[key]["rmse"]) for key, _ in BACKTEST_FORECASTS)
        rnn = overall["rnn"]
        lines.append(
            f"| `{row['task']}` | {rmse} | {fmt_number(rnn['mae'])} | {fmt_number(rnn['mape'])} | "
            f"{fmt_number(rnn['mase'])} | {fmt_number(overall['naive']['mase'])} | {significance(tests['rnn'])} | "
            f"{significance(tests['classical'])} | {interval_cells(bt)} |"
        )
    return "\n".join(lines)


def interval_cells(backtest: dict) -> str:
    """The level, and the RNN's and the naive forecast's interval coverage and mean width
    (dashes for a row from before the intervals)."""
    if "intervals" not in backtest:
        return "— | — | —"
    cells = [f"{100 * backtest['level']:g}%"]
    for key in ("rnn", "naive"):
        found = backtest["intervals"][key]
        cells.append(f"{100 * found['coverage']:.1f}% / {fmt_number(found['mean_width'])}")
    return " | ".join(cells)


def run_benchmark(
    pattern: str = "*",
    *,
    seeds=(0, 1, 2),
    quick: bool = False,
    data_dir=None,
    out="results/results.json",
    tables: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Train every task matching `pattern` for each seed and write `out`. Rows of other
    tasks already in `out` are kept, so a partial run refreshes just its own rows; the
    results and backtest tables (`tools.pages`) are rewritten once `out` holds a row for
    every registered task.
    `quick`: the first seed only, at most 2 epochs."""
    names = list_tasks(pattern)
    if not names:
        raise UnknownTaskError(f"no task matches {pattern!r}; `rnn-zoo list` shows the tasks")
    seeds = tuple(seeds)[:1] if quick else tuple(seeds)
    out = Path(out)
    rows = kept_rows(out, "rows", quick=quick, seeds=list(seeds))
    for name in names:
        rows[name] = run_task(name, seeds, quick=quick, data_dir=data_dir, log=log)
    results = {
        "command": command_line(quick),
        "date": datetime.date.today().isoformat(),
        "quick": quick,
        "seeds": list(seeds),
        "machine": machine(),
        "rows": [rows[name] for name in list_tasks() if name in rows],  # registry order; drops old tasks
    }
    write_results(out, results)
    if tables and not quick and len(results["rows"]) == len(list_tasks()):
        write_table("results", results_table(results))
        write_table("backtest", backtest_table(results))
    return results


def parser() -> ToolParser:
    p = ToolParser(MODULE, description="Train every task on its real data over seeds; write results and their tables.")
    p.add_shared_options(tables="the results and backtest tables")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--quick", action="store_true", help="first seed only, at most 2 epochs; writes results/quick.json")
    p.add_argument("--out", help="results file (default: results/results.json, or results/quick.json)")
    return p


def bench(args) -> None:
    tables = tables_or_refuse(COMMAND, no_tables=args.no_tables, names=("results", "backtest"))
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise UsageError(f"--seeds expects comma-separated integers, got {args.seeds!r}") from None
    from rnn_zoo import backend

    out = args.out or ("results/quick.json" if args.quick else "results/results.json")
    if backend.name() != "tensorflow":  # the published results are TensorFlow's: another backend's go apart
        out = args.out or str(Path(out).with_name(f"{Path(out).stem}_{backend.name()}.json"))
        tables = False
    results = run_benchmark(
        args.tasks, seeds=seeds, quick=args.quick, data_dir=args.data_dir, out=out, tables=tables, log=log
    )
    failed = [row["task"] for row in results["rows"] if row["goals"] and not row["goals_met"]]
    print(f"wrote {out}: {len(results['rows'])} task(s)" + (f"; goals missed: {', '.join(failed)}" if failed else ""))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_tool(MODULE, lambda: bench(args))


if __name__ == "__main__":
    sys.exit(main())
