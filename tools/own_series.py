"""The walk-forward backtest on a series of a user's own: the interval coverage check on a
Yahoo-layout CSV, made at run time from the GOOG daily prices (2004-2013) that the PyPI
package `backtesting` bundles (its test data; nothing of it is kept in this repository).

    pip install backtesting
    python -m tools.own_series [--task stock_gru_returns] [--folds 4] [--days 240] [--out F]

Writes results/own_series.json: the backtest (`rnn_zoo.backtest.walk_forward`, the same code
as the SH600519 table) with its intervals' coverage and mean width, the file's sha256 and
the machine. The file is produced here only, never edited by hand."""

from __future__ import annotations

import datetime
import hashlib
import sys
import tempfile
from pathlib import Path

from rnn_zoo.errors import MissingExtraError

from .command import ToolParser, log, run_tool
from .reports import machine, write_results

MODULE = "tools.own_series"
COMMAND = f"python -m {MODULE}"
OUT = Path("results") / "own_series.json"
COLUMNS = {"date_column": "Date", "price_column": "Close"}


def bundled_goog() -> Path:
    """The GOOG daily prices file of the `backtesting` package."""
    try:
        import backtesting
    except ImportError:
        raise MissingExtraError(
            f"{COMMAND} reads the GOOG prices of the `backtesting` package: pip install backtesting"
        )
    return Path(backtesting.__file__).parent / "test" / "GOOG.csv"


def write_yahoo_copy(source: Path, folder: Path) -> Path:
    """`source` (an unnamed date column, then Open, High, Low, Close, Volume) rewritten in
    Yahoo Finance's layout, Date, Open, High, Low, Close, Adj Close, Volume; the bundled file
    has no adjusted close, so Adj Close repeats Close."""
    import pandas as pd

    frame = pd.read_csv(source, index_col=0, parse_dates=True)
    frame.index.name = "Date"
    frame.insert(4, "Adj Close", frame["Close"])
    path = folder / "GOOG.csv"
    frame[["Open", "High", "Low", "Close", "Adj Close", "Volume"]].to_csv(path, date_format="%Y-%m-%d")
    return path


def own_series(task: str, *, folds: int, days: int, seed: int = 0, out: Path = OUT) -> dict:
    """The backtest of `task` on the Yahoo copy of GOOG, written to `out`."""
    from rnn_zoo.backtest import backtest_table, walk_forward

    with tempfile.TemporaryDirectory() as tmp:
        path = write_yahoo_copy(bundled_goog(), Path(tmp))
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        options = {"csv_path": str(path), **COLUMNS}
        backtest = walk_forward(task, folds=folds, forecast_days=days, seed=seed, data_options=options, log=log)
    results = {
        "command": f"{COMMAND} --task {task} --folds {folds} --days {days}",
        "date": datetime.date.today().isoformat(),
        "series": {
            "source": "GOOG daily prices 2004-08-19 to 2013-03-01, bundled with the PyPI package `backtesting` "
            "(backtesting/test/GOOG.csv), rewritten in the Yahoo Finance layout at run time",
            "file": "GOOG.csv",
            "sha256": sha256,
            **COLUMNS,
        },
        "machine": machine(),
        "backtest": backtest,
    }
    write_results(out, results)
    log(backtest_table(backtest))
    return results


def parser() -> ToolParser:
    p = ToolParser(MODULE, description="Walk-forward backtest, with interval coverage, on a Yahoo-layout GOOG CSV.")
    p.add_argument("--task", default="stock_gru_returns", help="a stock task (default stock_gru_returns)")
    p.add_argument("--folds", type=int, default=4, help="reported folds (default 4, as the SH600519 table)")
    p.add_argument("--days", type=int, default=240, help="forecast days per fold (default 240)")
    p.add_argument("--out", default=str(OUT), help=f"results file (default {OUT})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_tool(MODULE, lambda: own_series(args.task, folds=args.folds, days=args.days, out=Path(args.out)))


if __name__ == "__main__":
    sys.exit(main())
