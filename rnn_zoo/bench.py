"""The results benchmark: every task on its real data, over seeds, against its goals.

Writes results/results.json and the results table of the README (between its markers).
The file is produced here only, never edited by hand."""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import RnnZooError, UnknownTaskError
from .metrics import HIGHER_IS_BETTER, fmt_number, primary_metric
from .registry import get_task, list_tasks

README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"
BACKTEST_START, BACKTEST_END = "<!-- backtest:start -->", "<!-- backtest:end -->"
QUICK_EPOCHS = 2


def machine() -> dict:
    import keras
    import tensorflow as tf

    cpu = platform.processor() or ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "platform": platform.platform(),
    }


def raw_text_scores(result, folder: Path) -> dict:
    """SMS metrics of the exported raw-string model: the SavedModel, reloaded, reads the
    raw test messages (cleaning, vocabulary and padding inside)."""
    import tensorflow as tf

    from .exporting import export

    path = export(result, folder / result.task)
    serve = tf.saved_model.load(str(path)).signatures["serve"]
    spam = serve(text=tf.constant(result.data.text_test))["spam_probability"].numpy()
    return result.data.score(np.stack([1 - spam, spam], axis=-1))


def run_task(name: str, seeds, *, quick: bool, data_dir, log: Callable[[str], None]) -> dict:
    from .training import train

    spec = get_task(name)
    epochs = min(spec.train.epochs, QUICK_EPOCHS) if quick else spec.train.epochs
    per_seed = []
    for seed in seeds:
        # No per-epoch test pass: it changes no weight, and the benchmark reads only the final scores.
        result = train(name, seed=seed, epochs=epochs, data_dir=data_dir, verbose=0, validate=False)
        metrics = result.metrics
        if spec.family == "sms":
            with tempfile.TemporaryDirectory() as tmp:
                metrics = raw_text_scores(result, Path(tmp))
        classical = result.classical
        per_seed.append(
            {
                "seed": seed,
                "metrics": metrics,
                "baseline": result.baseline,
                "classical": {k: v for k, v in classical.items() if k != "name"},
                "wall_time_s": round(result.wall_time_s, 2),
                "samples_per_s": round(result.samples_per_s, 1),
            }
        )
        metric = primary_metric(spec, metrics)
        log(
            f"{name} seed {seed}: {metric} {metrics[metric]:.6g} (baseline {result.baseline[metric]:.6g}, "
            f"classical {classical[metric]:.6g}), {result.wall_time_s:.1f} s"
        )
    metric = primary_metric(spec, per_seed[0]["metrics"])
    values = {k: [r["metrics"][k] for r in per_seed] for k in per_seed[0]["metrics"]}
    baselines = {k: [r["baseline"][k] for r in per_seed] for k in per_seed[0]["baseline"]}
    classicals = {k: [r["classical"][k] for r in per_seed] for k in values}
    model = spec.model
    row = {
        "task": name,
        "family": spec.family,
        "variant_of": spec.variant_of,
        "description": spec.description,
        "metric": metric,
        "summary": {
            k: {"mean": float(np.mean(v)), "std": float(np.std(v)), "min": float(np.min(v)), "max": float(np.max(v))}
            for k, v in values.items()
        },
        "baseline": {"name": result.baseline_name, **{k: float(np.mean(v)) for k, v in baselines.items()}},
        "classical": {"name": classical["name"], **{k: float(np.mean(v)) for k, v in classicals.items()}},
        "goals": [g.describe() for g in spec.goals],
        "goals_met": all(g.met_by(per_seed) for g in spec.goals),
        "target": spec.target,
        "tutorial_result": spec.tutorial_result,
        "settings": {
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
            "parameters": result.model.count_params(),
        },
        "seeds": list(seeds),
        "per_seed": per_seed,
        "wall_time_s": float(np.mean([r["wall_time_s"] for r in per_seed])),
        "samples_per_s": float(np.mean([r["samples_per_s"] for r in per_seed])),
    }
    if spec.family == "stock":
        from .backtest import FOLDS, FORECAST_DAYS, walk_forward

        folds, days = (2, 40) if quick else (FOLDS, FORECAST_DAYS)
        row["backtest"] = walk_forward(
            name, folds=folds, forecast_days=days, seed=seeds[0], epochs=epochs, data_dir=data_dir, log=log
        )
    return row


def verdict(metric: str, model: float, classical: float) -> str:
    """Who wins on `metric`, the RNN or the classical model, and by how much, in words."""
    if metric in HIGHER_IS_BETTER:
        points = 100 * (model - classical)
        return "tie" if abs(points) < 0.005 else f"{'RNN' if points > 0 else 'classical'} by {abs(points):.2f} pts"
    low, high = sorted((model, classical))
    if high == low or (low > 0 and high / low < 1.0005):
        return "tie"
    winner = "RNN" if model < classical else "classical"
    if low <= 0:
        return f"{winner} (exact)"
    ratio = high / low
    return f"{winner}, {ratio:,.3g}x lower" if ratio >= 1.5 else f"{winner}, {100 * (ratio - 1):.2g}% lower"


def _header(results: dict) -> str:
    m = results["machine"]
    return (
        f"Measured by `{results['command']}` on {results['date']}: {m['cpu']}, {m['cores']} cores, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, Python {m['python']}"
    )


def results_table(results: dict) -> str:
    """The README's results table, made from results.json."""
    lines = [
        f"{_header(results)}; seeds {', '.join(map(str, results['seeds']))} (mean ± std, then min–max). The "
        "baseline is the naive forecast; the classical model is fitted on the same training split (means over "
        "the seeds' splits). Times are per seed, on CPU.",
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
        lines.append(
            f"| `{row['task']}` | {row['variant_of'] or ''} | {metric} | {model} | {baseline} | {classical} | "
            f"{verdict(metric, s['mean'], row['classical'][metric])} | {row['tutorial_result']} | {goals} | {met} | "
            f"{row['settings']['epochs']} | {row['wall_time_s']:.0f} s | {row['samples_per_s']:,.0f} |"
        )
    return "\n".join(lines)


def significance(test: dict, level: float = 0.05) -> str:
    """A Diebold-Mariano result in words, against the naive forecast."""
    if test["p_value"] >= level:
        return f"no significant difference (p = {test['p_value']:.2g})"
    return f"significantly {'better' if test['statistic'] < 0 else 'worse'} (p = {test['p_value']:.2g})"


BACKTEST_FORECASTS = (
    ("rnn", "RNN"),
    ("naive", "naive"),
    ("drift", "drift"),
    ("mean_return", "mean return"),
    ("classical", "classical"),
)


def backtest_table(results: dict) -> str:
    """The README's walk-forward table: every stock row's backtest, over all its folds."""
    rows = [row for row in results["rows"] if "backtest" in row]
    if not rows:
        return "No stock task has a backtest in results.json yet: run `rnn-zoo bench 'stock_*'`."
    first = rows[0]["backtest"]
    days = first["folds"]
    lines = [
        f"{_header(results)}. Walk-forward: {first['fold_count']} consecutive folds of {first['days_per_fold']} "
        f"forecast days ({days[0]['first_day']} to {days[-1]['last_day']}), each model retrained on every row "
        f"before its fold (seed {first['seed']}), scaling fitted on those rows. RMSE and MAE in price units, "
        "MAPE in %, MASE against the naive forecast's in-sample MAE; Diebold-Mariano test of squared errors "
        "against the naive forecast, over all forecast days.",
        "",
        "| task | RMSE: " + " / ".join(label for _, label in BACKTEST_FORECASTS) + " | RNN MAE | RNN MAPE | RNN MASE "
        "| naive MASE | RNN vs naive | classical vs naive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        bt = row["backtest"]
        overall, tests = bt["overall"], bt["diebold_mariano"]
        rmse = " / ".join(fmt_number(overall[key]["rmse"]) for key, _ in BACKTEST_FORECASTS)
        rnn = overall["rnn"]
        lines.append(
            f"| `{row['task']}` | {rmse} | {fmt_number(rnn['mae'])} | {fmt_number(rnn['mape'])} | "
            f"{fmt_number(rnn['mase'])} | {fmt_number(overall['naive']['mase'])} | {significance(tests['rnn'])} | "
            f"{significance(tests['classical'])} |"
        )
    return "\n".join(lines)


def write_results(out: Path, results: dict) -> None:
    """`results` as JSON at `out`, written whole or not at all (a partial file renamed into place)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.partial")
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    os.replace(tmp, out)


def kept_rows(out: Path, key: str, **same) -> dict[str, dict]:
    """The rows (by task) of the results file `out` under `key`, if its values of `same`
    match these (the same settings, the same machine); else none."""
    if not out.is_file():
        return {}
    previous = json.loads(out.read_text())
    if any(previous.get(name) != value for name, value in same.items()):
        return {}
    return {row["task"]: row for row in previous.get(key, [])}


def update_readme(readme: Path, table: str, *, start: str = README_START, end: str = README_END) -> None:
    """Replace what lies between the `start` and `end` markers of `readme` with `table`."""
    text = readme.read_text()
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise RnnZooError(f"{readme} has no {start} ... {end} markers to write the table between")
    readme.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", text))


def run_benchmark(
    pattern: str = "*",
    *,
    seeds=(0, 1, 2),
    quick: bool = False,
    data_dir=None,
    out="results/results.json",
    readme="README.md",
    log: Callable[[str], None] = print,
) -> dict:
    """Train every task matching `pattern` for each seed and write `out`. Rows of other
    tasks already in `out` are kept, so a partial run refreshes just its own rows; the
    README table is rewritten once `out` holds a row for every registered task.
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
        "command": "rnn-zoo bench" + (" --quick" if quick else ""),
        "date": datetime.date.today().isoformat(),
        "quick": quick,
        "seeds": list(seeds),
        "machine": machine(),
        "rows": [rows[name] for name in list_tasks() if name in rows],  # registry order; drops old tasks
    }
    write_results(out, results)
    if readme and not quick and len(results["rows"]) == len(list_tasks()):
        update_readme(Path(readme), results_table(results))
        update_readme(Path(readme), backtest_table(results), start=BACKTEST_START, end=BACKTEST_END)
    return results
