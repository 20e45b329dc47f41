"""The docs' tables that come from the code (`tools.pages` says where each lives): every
registered task, every family and each family's own page (from the registry, with its rows
of results/results.json), every `build` override (`rnn_zoo.models.OVERRIDES`), and the
model cards of the shipped presets.

    python -m tools.docs_tables [--check]

`--check` rewrites nothing and fails when a table is out of date (the tests run it)."""

from __future__ import annotations

import json
import sys
import typing
import warnings
from pathlib import Path

from rnn_zoo.registry import TaskSpec, get_task, list_tasks

from . import pages
from .command import ToolParser, UsageError, log, run_tool
from .digit_photos import published_table as digit_photos_table
from .make_presets import presets_table
from .spec_text import model_text, training_text

MODULE = "tools.docs_tables"


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


def family_table(family: str, results: dict | None) -> str:
    """A family page's table: its tasks, and its rows of the results benchmark."""
    from .bench import results_table

    names = [name for name in list_tasks() if get_task(name).family == family]
    lines = [
        "| task | variant of | what | reference model | training | target |",
        "|---|---|---|---|---|---|",
        *(task_row(get_task(name)).replace(f" | {family} |", " |", 1) for name in names),
    ]
    rows = [row for row in (results or {}).get("rows", []) if row["task"] in names]
    if rows:
        lines += ["", results_table({**results, "rows": rows})]
    return "\n".join(lines)


def cards_block() -> str:
    """A line per shipped preset: its model card's page, its description, and its flag."""
    from rnn_zoo.shipped import list_presets, loses_to_baseline, shipped_metadata

    lines = []
    for name in list_presets():
        flag = loses_to_baseline(name)
        note = " **Loses to its naive baseline.**" if flag else ""
        lines.append(f"- [`{name}`](cards/{name}.md): {shipped_metadata(name)['description']}.{note}")
    return "\n".join(lines)


def card_pages() -> dict[Path, str]:
    """The docs page of each shipped preset's model card: the card itself, included from the
    preset's folder (`MODEL_CARD.md`, written by `python -m tools.model_cards`)."""
    from rnn_zoo.shipped import list_presets

    return {
        pages.DOCS / "cards" / f"{name}.md": f'--8<-- "rnn_zoo/pretrained/{name}/MODEL_CARD.md"\n'
        for name in list_presets()
    }


def serving_table() -> str:
    """Each family's `serve` signature (one shipped preset of each family, stateful or not):
    the human input it takes and the outputs it returns, on the family's example input."""
    from rnn_zoo.presets import load_preset
    from rnn_zoo.shipped import LosesToBaselineWarning, list_presets

    kinds = {}
    for name in list_presets():
        spec = get_task(name)
        kinds.setdefault((spec.family, spec.model.stateful), name)
    rows = []
    for (family, stateful), name in kinds.items():
        with warnings.catch_warnings():  # (a preset that loses to its baseline says so: known here)
            warnings.simplefilter("ignore", LosesToBaselineWarning)
            preset = load_preset(name)
        spec = preset.input_spec
        shape = ", ".join("n" if d is None else str(d) for d in spec.shape)
        # The `serve` signature's outputs: the point forecast (the intervals are Preset.predict's own).
        outputs = ", ".join(f"`{key}`" for key in preset.predict(preset.preprocessor.example_input(), level=None))
        what = f"{'stateful, ' if stateful else ''}e.g. `{name}`"
        rows.append(
            f"| {family} ({what}) | `{spec.name}`: `[{shape}]` {spec.dtype.name}, "
            f"{preset.preprocessor.input_description} | {outputs} |"
        )
    return "\n".join(["| family | `serve` input | outputs |", "|---|---|---|", *rows])


def tables() -> dict[str, str]:
    return {
        "tasks": tasks_table(),
        "overrides": overrides_table(),
        "families": families_table(),
        "cards": cards_block(),
        "serving": serving_table(),
        "presets": presets_table(),
        "digit-photos": digit_photos_table(),
    }


def family_tables(results: dict | None) -> dict[str, str]:
    """The `family` table of each family's page, by family."""
    return {family: family_table(family, results) for family in dict.fromkeys(get_task(n).family for n in list_tasks())}


def load_results() -> dict | None:
    path = Path("results/results.json")
    return json.loads(path.read_text()) if path.is_file() else None


def stale(root: Path = Path(".")) -> list[str]:
    """The pages whose generated tables differ from the code's (and the results file's)."""
    results = json.loads((root / "results/results.json").read_text())
    out = pages.stale(tables(), root=root)
    for family, table in family_tables(results).items():
        page = pages.family_page(family)
        if not (root / page).is_file() or pages.read_table("family", root=root, page=page) != table.strip():
            out.append(f"{page} (family)")
    folder = root / pages.DOCS / "cards"
    wanted = card_pages()
    out += [
        str(page) for page, text in wanted.items() if not (root / page).is_file() or (root / page).read_text() != text
    ]
    out += [str(extra) for extra in folder.glob("*.md") if extra.relative_to(root) not in wanted]
    return out


def write_tables(args) -> None:
    if args.check:
        out_of_date = stale()
        if out_of_date:
            raise UsageError(f"out of date: {', '.join(out_of_date)}: run `python -m {MODULE}`")
        log("the generated tables of the README and the docs are up to date")
        return
    for name, table in tables().items():
        pages.write_table(name, table)
    for family, table in family_tables(load_results()).items():
        pages.write_table("family", table, page=pages.family_page(family))
    folder = pages.DOCS / "cards"
    folder.mkdir(exist_ok=True)
    for extra in set(folder.glob("*.md")) - set(card_pages()):
        extra.unlink()  # a preset no longer shipped
    for page, text in card_pages().items():
        page.write_text(text)
    log("wrote the tasks, families, family, overrides and model-card tables of the docs")


def main(argv: list[str] | None = None) -> int:
    parser = ToolParser(
        MODULE, description="Rewrite the docs' tables that come from the code: tasks, families, overrides."
    )
    parser.add_argument("--check", action="store_true", help="rewrite nothing; fail if a table is out of date")
    args = parser.parse_args(argv)
    return run_tool(MODULE, lambda: write_tables(args))


if __name__ == "__main__":
    sys.exit(main())
