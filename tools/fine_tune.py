"""What fine-tuning buys on a small series of another stock: `stock_gru_returns` trained from
scratch against fine-tuned from its shipped preset (`train(..., from_preset=...)`), on the
first days of GOOG, with several seeds and the same epochs; each run's test RMSE beside the
naive forecast's (tomorrow = today). Writes results/fine_tune.json.

The prices are GOOG's daily prices 2004-2013 as the PyPI package `backtesting` bundles them
(backtesting/test/GOOG.csv; `pip install backtesting`), copied at run time in Yahoo's layout
(Date, Open, High, Low, Close, Adj Close, Volume; the file has no adjusted close, so Adj Close
repeats Close: `tools.own_series`'s copy, cut to its first days) into a temporary folder; no
price data is kept in this repository. The test splits are small, as a user's short series
would have them (the last 100 rows: 40 test windows of 60 days; the last 160: 100 windows):
both are measured, since which start wins can depend on the days tested.

    python -m tools.fine_tune                    # 10 seeds, 5 and 20 (the task's) epochs, 500 days, 100 and 160 test rows
    python -m tools.fine_tune --seeds 2 --epochs 5 --test-rows 100 --out /tmp/fine_tune.json
"""

from __future__ import annotations

import datetime
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .command import ToolParser, UsageError, log, run_tool
from .own_series import bundled_goog, write_yahoo_copy
from .reports import machine, write_results

MODULE = "tools.fine_tune"
COMMAND = "python -m tools.fine_tune"
RESULTS = Path("results/fine_tune.json")
TASK = "stock_gru_returns"


def first_days_of_goog(folder: Path, rows: int) -> Path:
    """The first `rows` days of the bundled GOOG prices, in Yahoo's layout (the copy
    `tools.own_series` makes), as a CSV in `folder`."""
    path = write_yahoo_copy(bundled_goog(), folder)
    lines = path.read_text().splitlines(keepends=True)
    if len(lines) - 1 < rows:
        raise UsageError(f"the bundled GOOG prices hold {len(lines) - 1} days, fewer than the {rows} asked for")
    path.write_text("".join(lines[: rows + 1]))
    return path


def _run(options: dict, *, seed: int, epochs: int, from_preset: str | None) -> dict:
    """One training run's test RMSE (and its wall time), from scratch or fine-tuned."""
    from rnn_zoo.training import train

    start = time.perf_counter()
    result = train(TASK, seed=seed, epochs=epochs, data_options=options, from_preset=from_preset, verbose=0)
    return {
        "rmse": result.metrics["rmse"],
        "naive_rmse": result.baseline["rmse"],
        "wall_time_s": round(time.perf_counter() - start, 2),
    }


def _parent_as_it_is(options: dict) -> float:
    """The shipped preset's own test RMSE on the series, with no training (its scaler kept)."""
    from rnn_zoo.data.loading import load_task_data
    from rnn_zoo.presets import load_preset
    from rnn_zoo.training import evaluate

    parent = load_preset(TASK)
    data = load_task_data(TASK, preprocessor=parent.preprocessor, **options)
    return evaluate(parent.model, TASK, data=data)["rmse"]


def _arms(options: dict, *, seeds: int, epochs: int, log) -> list[dict]:
    """Per seed, the run from scratch and the fine-tuned run, with the same epochs."""
    runs = []
    for seed in range(seeds):
        row = {"seed": seed}
        for arm, parent in (("scratch", None), ("fine_tuned", TASK)):
            row[arm] = _run(options, seed=seed, epochs=epochs, from_preset=parent)
            log(
                f"{epochs} epochs, seed {seed}, {arm:>10}: test RMSE {row[arm]['rmse']:.3f} "
                f"({row[arm]['wall_time_s']:.1f} s)"
            )
        runs.append(row)
    return runs


def task_window() -> int:
    """The task's window (its model's input length): the test rows that only feed the first window."""
    from rnn_zoo.registry import get_task

    return get_task(TASK).input_shape[0]


def series_record(path: Path) -> dict:
    """The copy's sha256 and the version of the package its prices come from."""
    from importlib.metadata import version

    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "backtesting": version("backtesting")}


def _split(path: Path, rows: int, test_rows: int, *, seeds: int, epochs: list[int], log) -> dict:
    """Both arms on one split of the series, for each number of epochs, with the naive
    forecast and the shipped preset as it is beside them."""
    window = task_window()  # the first `window` test rows only feed the first test window
    options = {"csv_path": str(path), "date_column": "Date", "price_column": "Close", "test_rows": test_rows}
    log(f"{test_rows} test rows ({test_rows - window} test windows), {rows - test_rows} training rows:")
    as_it_is = _parent_as_it_is(options)
    by_epochs = [{"epochs": e, "runs": _arms(options, seeds=seeds, epochs=e, log=log)} for e in epochs]
    naive = by_epochs[0]["runs"][0]["scratch"]["naive_rmse"]
    for part in by_epochs:
        part["summary"] = _summary(part["runs"], naive)
    return {
        "test_rows": test_rows,
        "test_windows": test_rows - window,
        "training_rows": rows - test_rows,
        "naive_rmse": naive,
        "parent_as_it_is_rmse": as_it_is,
        "by_epochs": by_epochs,
    }


def measure(*, seeds: int, epochs: list[int], rows: int, test_rows: list[int], log=log) -> dict:
    """Both arms on the same series and seeds, for each split and number of epochs."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = first_days_of_goog(Path(folder), rows)
        record = series_record(path)
        splits = [_split(path, rows, n, seeds=seeds, epochs=epochs, log=log) for n in test_rows]
    return {
        "task": TASK,
        "series": f"GOOG daily Close, the first {rows} days (from the PyPI package backtesting's GOOG.csv)",
        "rows": rows,
        **record,
        "seeds": seeds,
        "parent": f"the shipped {TASK} preset (trained on SH600519)",
        "splits": splits,
        "wall_time_s": round(time.perf_counter() - start, 1),
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
    }


def _summary(runs: list[dict], naive: float) -> dict:
    """Each arm's mean and standard deviation of the test RMSE, how many of its seeds beat the
    naive forecast, and for how many seeds fine-tuning gave the lower RMSE."""
    summary = {}
    for arm in ("scratch", "fine_tuned"):
        values = [row[arm]["rmse"] for row in runs]
        summary[arm] = {
            "mean_rmse": statistics.fmean(values),
            "sd_rmse": statistics.stdev(values) if len(values) > 1 else 0.0,
            "beats_naive": sum(v < naive for v in values),
        }
    summary["fine_tuned_wins"] = sum(row["fine_tuned"]["rmse"] < row["scratch"]["rmse"] for row in runs)
    differences = [row["fine_tuned"]["rmse"] - row["scratch"]["rmse"] for row in runs]
    summary["mean_difference"] = statistics.fmean(differences)  # fine-tuned - scratch, per seed
    return summary


def fine_tune_table(results: dict) -> str:
    """The results as a Markdown table, one block of rows a split, then the series in words."""
    n = results["seeds"]
    lines = [
        "| test windows | start | epochs | test RMSE, mean ± sd over seeds | seeds beating naive "
        "| seeds where it is the better start |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    words = {"scratch": "from scratch", "fine_tuned": f"fine-tuned from the shipped {results['task']}"}
    for split in results["splits"]:
        windows = split["test_windows"]
        for part in split["by_epochs"]:
            s = part["summary"]
            for arm in ("scratch", "fine_tuned"):
                wins = s["fine_tuned_wins"] if arm == "fine_tuned" else n - s["fine_tuned_wins"]
                lines.append(
                    f"| {windows} | {words[arm]} | {part['epochs']} | {s[arm]['mean_rmse']:.3f} ± "
                    f"{s[arm]['sd_rmse']:.3f} | {s[arm]['beats_naive']} of {n} | {wins} of {n} |"
                )
        lines.append(f"| {windows} | the shipped preset as it is | 0 | {split['parent_as_it_is_rmse']:.3f} | | |")
        lines.append(f"| {windows} | naive forecast (tomorrow = today) | | {split['naive_rmse']:.3f} | | |")
    lines.append("")
    lines.append(
        f"{results['series']}; the last {' or '.join(str(split['test_rows']) for split in results['splits'])} "
        f"rows tested (the first {task_window()} of them only feed the first window); "
        f"seeds 0-{n - 1}; {results['wall_time_s']:.0f} s in all."
    )
    return "\n".join(lines)


def parser() -> ToolParser:
    p = ToolParser(MODULE, description=f"{TASK} from scratch vs fine-tuned from its preset on GOOG; writes {RESULTS}")
    p.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    p.add_argument(
        "--epochs",
        type=int,
        nargs="+",
        default=None,
        help="epochs of the runs, one or more (default: 5 and the task's)",
    )
    p.add_argument("--rows", type=int, default=500, help="the first days of GOOG used (default 500)")
    p.add_argument(
        "--test-rows",
        type=int,
        nargs="+",
        default=[100, 160],
        help="test rows of each split; the first WINDOW (60) only feed windows (default: 100 and 160)",
    )
    p.add_argument("--out", default=str(RESULTS), help=f"results file (default: {RESULTS})")
    return p


def fine_tune(args) -> None:
    from rnn_zoo.registry import get_task

    for key in ("seeds", "rows", "test_rows"):
        for value in getattr(args, key) if key == "test_rows" else [getattr(args, key)]:
            if value < 1:
                raise UsageError(f"--{key.replace('_', '-')} must be at least 1, got {value}")
    epochs = sorted({5, get_task(TASK).train.epochs}) if args.epochs is None else args.epochs
    results = measure(seeds=args.seeds, epochs=epochs, rows=args.rows, test_rows=args.test_rows)
    write_results(Path(args.out), results)
    print(fine_tune_table(results))
    print(f"wrote {args.out}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_tool(MODULE, lambda: fine_tune(args))


if __name__ == "__main__":
    sys.exit(main())
