"""The README's tables that come from the code, not from a run: every registered task and
every family (from the registry) and every `build` override (from `rnn_zoo.models.OVERRIDES`).

    python -m tools.docs_tables [--check]

`--check` rewrites nothing and fails when the README is out of date (the tests run it)."""

from __future__ import annotations

import sys
import typing
from pathlib import Path

from rnn_zoo.registry import CELLS, ModelSpec, TaskSpec, TrainSpec, get_task, list_tasks

from .command import README, ToolParser, UsageError, log, readme_or_refuse, run_tool
from .reports import update_readme

MODULE = "tools.docs_tables"
TASKS_MARKERS = ("<!-- tasks:start -->", "<!-- tasks:end -->")
OVERRIDES_MARKERS = ("<!-- overrides:start -->", "<!-- overrides:end -->")
FAMILIES_MARKERS = ("<!-- families:start -->", "<!-- families:end -->")


def model_text(model: ModelSpec, input_shape: tuple[int, ...]) -> str:
    """A task's reference model in one line, input to output."""
    parts = []
    if model.embedding_dim is not None:
        parts.append(f"Embedding({model.embedding_input_dim or 'vocabulary'}, {model.embedding_dim})")
    if model.projection_units is not None:
        parts.append(f"Dense({model.projection_units}) per step")
    for units in model.units:
        layer = f"{CELLS[model.cell]}({units}{', linear' if model.activation is None else ''})"
        layer = f"Bidirectional({layer})" if model.bidirectional else layer
        parts.append(("stateful " if model.stateful else "") + layer)
        if model.dropout:
            parts.append(f"Dropout({model.dropout:g})")
    head = f"Dense({model.head_units}{', ' + model.head_activation if model.head_activation else ''})"
    parts.append(head + (" per step" if model.return_sequences else ""))
    return f"{input_shape} → " + " → ".join(parts)


def training_text(train: TrainSpec) -> str:
    schedule = " with cosine decay" if train.lr_schedule == "cosine" else ""
    from rnn_zoo.models import OPTIMIZERS  # (Keras: loaded quietly by run_tool first)

    optimizer = OPTIMIZERS[train.optimizer].__name__
    return (
        f"{optimizer} {train.learning_rate:g}{schedule}, {train.loss}, {train.epochs} epoch(s), "
        f"batch {train.batch_size}"
    )


def task_row(spec: TaskSpec) -> str:
    return (
        f"| `{spec.name}` | {spec.family} | {spec.variant_of or ''} | {spec.description} | "
        f"{model_text(spec.model, spec.input_shape)} | {training_text(spec.train)} | {spec.target} |"
    )


def tasks_table() -> str:
    """Every registered task: its family, what it is a variant of, its model and training."""
    return "\n".join(
        [
            "| task | family | variant of | what | reference model | training | target |",
            "|---|---|---|---|---|---|---|",
            *(task_row(get_task(name)) for name in list_tasks()),
        ]
    )


def families_table() -> str:
    """Every family: its tasks, where its data comes from, and the classes `load_task_data`
    returns (read from each loader's annotations)."""
    families: dict[str, list[TaskSpec]] = {}
    for name in list_tasks():
        spec = get_task(name)
        families.setdefault(spec.family, []).append(spec)
    rows = []
    for family, specs in families.items():
        hints = [typing.get_type_hints(spec.loader) for spec in specs]
        kinds = {h["return"].__name__: None for h in hints}  # in order, once each
        preprocessors = {
            k.__name__: None for h in hints for k in typing.get_args(h["preprocessor"]) if k is not type(None)
        }
        tasks = ", ".join(f"`{spec.name}`" for spec in specs)
        rows.append(
            f"| {family} | {tasks} | {specs[0].data_source} | {', '.join(f'`{k}`' for k in kinds)} | "
            f"{', '.join(f'`{p}`' for p in preprocessors)} |"
        )
    return "\n".join(["| family | tasks | data | data object | preprocessor |", "|---|---|---|---|---|", *rows])


def overrides_table() -> str:
    """Every keyword `build` (and `train`, and `rnn-zoo train --set`) accepts."""
    from rnn_zoo.models import OVERRIDES

    rows = [f"| `{key}` | {override.does} | {override.takes} |" for key, override in OVERRIDES.items()]
    return "\n".join(["| override | does | takes |", "|---|---|---|", *rows])


def tables() -> dict[tuple[str, str], str]:
    return {TASKS_MARKERS: tasks_table(), OVERRIDES_MARKERS: overrides_table(), FAMILIES_MARKERS: families_table()}


def stale(readme: Path) -> list[str]:
    """The markers whose README block differs from the generated table."""
    text = readme.read_text(encoding="utf-8")
    return [
        start
        for (start, end), table in tables().items()
        if start not in text or text.split(start)[1].split(end)[0].strip() != table.strip()
    ]


def write_tables(args) -> None:
    readme = readme_or_refuse(f"python -m {MODULE}", no_readme=False, holds="the tables")
    if args.check:
        out_of_date = stale(readme)
        if out_of_date:
            raise UsageError(f"{README} is out of date at {', '.join(out_of_date)}: run `python -m {MODULE}`")
        log(f"{README}: the generated tables are up to date")
        return
    for (start, end), table in tables().items():
        update_readme(readme, table, start=start, end=end)
    log(f"wrote the tasks, families and overrides tables of {README}")


def main(argv: list[str] | None = None) -> int:
    parser = ToolParser(MODULE, description="Rewrite the README's tasks and overrides tables from the code.")
    parser.add_argument("--check", action="store_true", help="rewrite nothing; fail if the README is out of date")
    args = parser.parse_args(argv)
    return run_tool(MODULE, lambda: write_tables(args))


if __name__ == "__main__":
    sys.exit(main())
