"""The shipped presets: made by `rnn-zoo make-presets` from seed 0 of a full run of every
task on its real data, written into the package (`rnn_zoo/pretrained/NAME/`), and listed
in the README's presets table, which is generated from their metadata."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .bench import update_readme
from .errors import RnnZooError, UnknownTaskError
from .metrics import fmt_number
from .registry import list_tasks
from .shipped import SHIPPED_DIR, list_presets, shipped_metadata, shipped_path, shipped_preprocessor

README_START, README_END = "<!-- presets:start -->", "<!-- presets:end -->"
SHIPPED_SEED = 0
MAX_TOTAL_BYTES = 8_000_000  # every shipped preset together, so that the wheel stays small


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def make_presets(pattern: str = "*", *, data_dir=None, readme=None, log: Callable[[str], None] = print) -> list[str]:
    """Train seed 0 of every task matching `pattern` with its own defaults and write each
    as the task's shipped preset; rewrite the README table once every task has one."""
    from .training import train

    if readme and README_START not in Path(readme).read_text():
        raise RnnZooError(f"{readme} has no {README_START} ... {README_END} markers to write the table between")
    from . import load_task_data

    names = list_tasks(pattern)
    if not names:
        raise UnknownTaskError(f"no task matches {pattern!r}; `rnn-zoo list` shows the tasks")
    for name in names:  # every dataset first: a missing one must not stop the run halfway
        load_task_data(name, data_dir=data_dir, seed=SHIPPED_SEED)
    for name in names:
        result = train(name, seed=SHIPPED_SEED, data_dir=data_dir, verbose=0)
        result.save_preset(SHIPPED_DIR / name)
        shipped_preprocessor.cache_clear()  # build() in this process must see the new vocabulary
        meta = shipped_metadata(name)
        metric = meta["headline_metric"]
        log(
            f"{name}: {metric} {meta['metrics'][metric]:.6g} (baseline {meta['baseline'][metric]:.6g}), "
            f"{result.wall_time_s:.1f} s, {folder_bytes(SHIPPED_DIR / name) / 1e3:.0f} kB"
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
            f"Made by `rnn-zoo make-presets` ({made}); {total / 1e6:.2f} MB in all. Test metrics on the task's own "
            "test split; the baseline is the naive one, on the same split.",
            "",
            "| preset | metric | model | baseline | parameters | size | epochs | seed | trained on |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
