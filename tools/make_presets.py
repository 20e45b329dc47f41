"""The shipped presets: seed 0 of a full run of every task on its real data, written into
the checkout's package (`rnn_zoo/pretrained/NAME/`, which the wheel carries), and listed in
the README's presets table, which is generated from their metadata.

    python -m tools.make_presets [--tasks PATTERN] [--data-dir D] [--no-readme]

It writes into this checkout only: never into an installed rnn_zoo (site-packages)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from rnn_zoo.errors import RnnZooError, UnknownTaskError
from rnn_zoo.metrics import fmt_number
from rnn_zoo.registry import list_tasks
from rnn_zoo.shipped import SHIPPED_DIR, list_presets, shipped_metadata, shipped_path, shipped_preprocessor

from .command import ToolParser, UsageError, log, readme_or_refuse, run_tool
from .reports import update_readme

MODULE = "tools.make_presets"
COMMAND = f"python -m {MODULE}"
CHECKOUT = Path(__file__).resolve().parents[1]
PRESETS_DIR = CHECKOUT / "rnn_zoo" / "pretrained"  # where this tool writes, whatever is imported
README_START, README_END = "<!-- presets:start -->", "<!-- presets:end -->"
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


def make_presets(pattern: str = "*", *, data_dir=None, readme=None, log: Callable[[str], None] = print) -> list[str]:
    """Train seed 0 of every task matching `pattern` with its own defaults and write each
    as the task's shipped preset in the checkout; rewrite the README table once every task has one."""
    from rnn_zoo import load_task_data
    from rnn_zoo.training import train

    check_checkout()
    if readme and README_START not in Path(readme).read_text():
        raise RnnZooError(f"{readme} has no {README_START} ... {README_END} markers to write the table between")
    names = list_tasks(pattern)
    if not names:
        raise UnknownTaskError(f"no task matches {pattern!r}; `rnn-zoo list` shows the tasks")
    for name in names:  # every dataset first: a missing one must not stop the run halfway
        load_task_data(name, data_dir=data_dir, seed=SHIPPED_SEED)
    for name in names:
        result = train(name, seed=SHIPPED_SEED, data_dir=data_dir, verbose=0)
        result.save_preset(PRESETS_DIR / name)
        shipped_preprocessor.cache_clear()  # build() in this process must see the new vocabulary
        meta = shipped_metadata(name)
        metric = meta["headline_metric"]
        log(
            f"{name}: {metric} {meta['metrics'][metric]:.6g} (baseline {meta['baseline'][metric]:.6g}), "
            f"{result.wall_time_s:.1f} s, {folder_bytes(PRESETS_DIR / name) / 1e3:.0f} kB"
        )
    if readme and list_presets() == list_tasks():
        update_readme(Path(readme), presets_table(), start=README_START, end=README_END)
    return names


def presets_table() -> str:
    """The README's table of shipped presets, made from their metadata."""
    rows = []
    total = 0
    for name in list_presets():
        meta, size = shipped_metadata(name), folder_bytes(shipped_path(name))
        total += size
        metric = meta["headline_metric"]
        rows.append(
            f"| `{name}` | {metric} | {fmt_number(meta['metrics'][metric])} | {fmt_number(meta['baseline'][metric])} "
            f"({meta['baseline']['name']}) | {meta['parameters']:,} | {size / 1e3:,.0f} kB | {meta['epochs']} "
            f"| {meta['seed']} | {meta['dataset']['source_file']} |"
        )
    versions = {tuple(shipped_metadata(n)["versions"].items()) for n in list_presets()}
    made = "; ".join(", ".join(f"{k} {v}" for k, v in sorted(dict(v).items())) for v in sorted(versions))
    return "\n".join(
        [
            f"Made by `{COMMAND}` ({made}); {total / 1e6:.2f} MB in all. Test metrics on the task's own "
            "test split; the baseline is the naive one, on the same split.",
            "",
            "| preset | metric | model | baseline | parameters | size | epochs | seed | trained on |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )


def parser() -> ToolParser:
    p = ToolParser(
        MODULE,
        description="Train seed 0 of every task on its real data; rewrite the checkout's shipped presets "
        "(rnn_zoo/pretrained/) and the README's presets table.",
    )
    p.add_argument("--tasks", default="*", help="fnmatch pattern of tasks (default: all)")
    p.add_argument("--data-dir", help="folder with the datasets (default: $RNN_ZOO_DATA, then the cache)")
    p.add_argument("--no-readme", action="store_true", help="do not rewrite the README's presets table")
    return p


def make(args) -> None:
    readme = readme_or_refuse(COMMAND, no_readme=args.no_readme, holds="the presets table")
    check_checkout()  # before training, not after
    made = make_presets(args.tasks, data_dir=args.data_dir, readme=readme, log=log)
    print(f"wrote {len(made)} preset(s): {', '.join(made)}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_tool(MODULE, lambda: make(args))


if __name__ == "__main__":
    sys.exit(main())
