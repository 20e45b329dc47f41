"""The shipped presets: seed 0 of a full run of every task on its real data, written into
the checkout's package (`rnn_zoo/pretrained/NAME/`, which the wheel carries) with its model
card (`tools.model_cards`), and listed in the presets table (the README's and the docs',
`tools.pages`), which is generated from their metadata and results/results.json.

    python -m tools.make_presets [--tasks PATTERN] [--data-dir D] [--no-tables]

It writes into this checkout only: never into an installed rnn_zoo (site-packages)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from rnn_zoo.errors import RnnZooError, UnknownTaskError
from rnn_zoo.intervals import conformal_quantile
from rnn_zoo.metrics import fmt_number
from rnn_zoo.registry import CELLS, list_tasks
from rnn_zoo.shipped import (
    MODEL_CARD_FILE,
    SHIPPED_DIR,
    LosesToBaselineWarning,
    baseline_flag,
    list_presets,
    shipped_metadata,
    shipped_path,
    shipped_preprocessor,
)

from .command import ToolParser, UsageError, log, run_tool, tables_or_refuse
from .model_cards import Facts, facts, results_rows, write_cards
from .pages import PAGES, markers, write_table

MODULE = "tools.make_presets"
COMMAND = f"python -m {MODULE}"
CHECKOUT = Path(__file__).resolve().parents[1]
PRESETS_DIR = CHECKOUT / "rnn_zoo" / "pretrained"  # where this tool writes, whatever is imported
TABLE = "presets"  # the name of its markers (`<!-- presets:start -->` ...) in its pages
SHIPPED_SEED = 0
MAX_TOTAL_BYTES = 8_000_000  # every shipped preset together, so that the wheel stays small


def check_checkout() -> None:
    """A UsageError unless the rnn_zoo imported is this checkout's: the presets are read
    back through the imported package, and written into the checkout only."""
    import rnn_zoo

    package = Path(rnn_zoo.__file__).resolve().parent
    if package != PRESETS_DIR.parent or SHIPPED_DIR.resolve() != PRESETS_DIR:
        raise UsageError(
            f"the rnn_zoo imported is {package}, not this checkout's {PRESETS_DIR.parent} (installed "
            f"non-editable?): run `{COMMAND}` from the checkout's root, with `pip install -e .`"
        )


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def make_presets(
    pattern: str = "*", *, data_dir=None, tables: bool = False, log: Callable[[str], None] = print
) -> list[str]:
    """Train seed 0 of every task matching `pattern` with its own defaults and write each
    as the task's shipped preset in the checkout, with the model cards; with `tables`,
    rewrite the presets table in its pages once every task has one."""
    from rnn_zoo import load_task_data
    from rnn_zoo.training import train

    check_checkout()
    start, end = markers(TABLE)
    for page in PAGES[TABLE] if tables else ():
        if start not in page.read_text(encoding="utf-8"):
            raise RnnZooError(f"{page} has no {start} ... {end} markers to write the table between")
    names = list_tasks(pattern)
    if not names:
        raise UnknownTaskError(f"no task matches {pattern!r}; `rnn-zoo list` shows the tasks")
    for name in names:  # every dataset first: a missing one must not stop the run halfway
        load_task_data(name, data_dir=data_dir, seed=SHIPPED_SEED)
    for name in names:
        result = train(name, seed=SHIPPED_SEED, data_dir=data_dir, verbose=0)
        result.save_preset(PRESETS_DIR / name)
        shipped_preprocessor.cache_clear()  # build() in this process must see the new vocabulary
        write_cards(PRESETS_DIR)  # its card, and its family's, whose better preset may have changed
        meta = shipped_metadata(name)
        metric = meta["headline_metric"]
        log(
            f"{name}: {metric} {meta['metrics'][metric]:.6g} (baseline {meta['baseline'][metric]:.6g}), "
            f"{result.wall_time_s:.1f} s, {folder_bytes(PRESETS_DIR / name) / 1e3:.0f} kB"
        )
    if tables and list_presets() == list_tasks():
        write_table(TABLE, presets_table())
    return names


def calibrate_presets(
    pattern: str = "stock_*", *, data_dir=None, tables: bool = False, log: Callable[[str], None] = print
) -> list[str]:
    """Recompute the calibration scores of every shipped preset matching `pattern` whose
    family has prediction intervals (the stock presets): the relative residuals of its own
    model on its own test split (inference only, nothing trained), written into its
    preprocessor.json; with `tables`, rewrite the presets table (the sizes change)."""
    import warnings

    from rnn_zoo.data.loading import data_class
    from rnn_zoo.presets import load_preset
    from rnn_zoo.training import predict_test

    check_checkout()
    names = [name for name in list_tasks(pattern) if name in list_presets() and data_class(name).calibrates]
    if not names:
        raise UnknownTaskError(f"no shipped preset with prediction intervals matches {pattern!r}")
    for name in names:
        with warnings.catch_warnings():  # (a preset that loses to its baseline says so: known here)
            warnings.simplefilter("ignore", LosesToBaselineWarning)
            preset = load_preset(name)
        data = preset.load_data(data_dir=data_dir)  # its own split, its own file (checked by sha256)
        preprocessor = data.calibrated(predict_test(preset.model, data)).preprocessor
        preprocessor.save(PRESETS_DIR / name)
        shipped_preprocessor.cache_clear()
        scores = preprocessor.calibration_scores
        log(f"{name}: {len(scores)} calibration scores, 90% quantile {conformal_quantile(scores, 0.9):.4g}")
    if tables and list_presets() == list_tasks():
        write_table(TABLE, presets_table())
    return names


def presets_table() -> str:
    """The table of shipped presets (the README's and the docs'), made from their metadata and results.json."""
    rows = []
    total = 0
    results = results_rows()
    for name in list_presets():
        size = folder_bytes(shipped_path(name))
        total += size
        rows.append(preset_row(facts(name, results), size))
    versions = {tuple(shipped_metadata(n)["versions"].items()) for n in list_presets()}
    made = "; ".join(", ".join(f"{k} {v}" for k, v in sorted(dict(v).items())) for v in sorted(versions))
    return "\n".join(
        [
            f"Made by `{COMMAND}` ({made}); {total / 1e6:.2f} MB in all. Model and baseline: the preset's test "
            "metrics (seed 0) on its task's own test split, the baseline the naive one on the same split. Classical: "
            "the classical model's mean over the seeds of `results/results.json`, beside the model's own mean over "
            "those seeds, on which who wins against it is judged (as in the results table). Every preset's model card "
            f"(`rnn_zoo/pretrained/NAME/{MODEL_CARD_FILE}`, by `python -m tools.model_cards`) says more.",
            "",
            "| preset | cell | metric | model | baseline | classical | who wins | flag | parameters | size |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )


def preset_row(f: Facts, size: int) -> str:
    """A preset's row of the presets table: its metric beside the baseline's and the classical model's."""
    meta, metric = f.meta, f.metric
    model, baseline = f.seed0()
    cell = CELLS[meta["spec"]["model"]["cell"]]
    cell = f"bidirectional {cell}" if meta["spec"]["model"].get("bidirectional") else cell
    classical = (
        "—"
        if f.row is None
        else f"{fmt_number(f.means()[2])} ({f.row['classical']['name']}; the model's mean: {fmt_number(f.means()[0])})"
    )
    wins = f"vs baseline: {f.against_baseline()}; vs classical: {'—' if f.row is None else f.against_classical()}"
    flag = "**loses to baseline**" if baseline_flag(meta) else ""
    return (
        f"| `{meta['task']}` | {cell} | {metric} | {fmt_number(model)} | {fmt_number(baseline)} "
        f"({meta['baseline']['name']}) | {classical} | {wins} | {flag} | {meta['parameters']:,} | {size / 1e3:,.0f} kB |"
    )


def parser() -> ToolParser:
    p = ToolParser(
        MODULE,
        description="Train seed 0 of every task on its real data; rewrite the checkout's shipped presets "
        "(rnn_zoo/pretrained/), their model cards and the presets table.",
    )
    p.add_shared_options(tables="the presets table (README, docs)")
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="train nothing: recompute the stock presets' calibration scores (their prediction intervals) "
        "on their own test split",
    )
    return p


def make(args) -> None:
    tables = tables_or_refuse(COMMAND, no_tables=args.no_tables, names=(TABLE,))
    if args.calibrate:
        pattern = "stock_*" if args.tasks == "*" else args.tasks
        done = calibrate_presets(pattern, data_dir=args.data_dir, tables=tables, log=log)
        print(f"calibrated {len(done)} preset(s): {', '.join(done)}")
        return
    check_checkout()  # before training, not after
    made = make_presets(args.tasks, data_dir=args.data_dir, tables=tables, log=log)
    print(f"wrote {len(made)} preset(s): {', '.join(made)}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_tool(MODULE, lambda: make(args))


if __name__ == "__main__":
    sys.exit(main())
