"""The shipped presets' model cards: `rnn_zoo/pretrained/NAME/MODEL_CARD.md`, made from the
preset's metadata.json and its task's row of results/results.json (the means over seeds),
in plain Markdown, with the limitations said from the facts.

    python -m tools.model_cards [--check]

`--check` rewrites nothing and fails when a card is out of date (the tests check it too).
`python -m tools.make_presets` rewrites the cards after it writes a preset."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from rnn_zoo.metrics import fmt_number
from rnn_zoo.registry import ModelSpec, get_task
from rnn_zoo.shipped import (
    CARD_SUMMARY,
    MODEL_CARD_FILE,
    SHIPPED_DIR,
    baseline_flag,
    family_leader,
    higher_is_better,
    list_presets,
    shipped_metadata,
)

from .command import ToolParser, UsageError, log, run_tool
from .reports import verdict
from .spec_text import model_text

MODULE = "tools.model_cards"
COMMAND = f"python -m {MODULE}"
CHECKOUT = Path(__file__).resolve().parents[1]
PRESETS_DIR = CHECKOUT / "rnn_zoo" / "pretrained"  # where this tool writes, whatever is imported
RESULTS = CHECKOUT / "results" / "results.json"
GENERATED_SOURCE = "generated"  # a generated dataset's source_file in the metadata

# What a family's presets must not be used for, beyond any production decision.
NOT_FOR = {
    "stock": "trading or investment decisions: it forecasts one stock's daily price in a tutorial's split, "
    "and is no financial advice",
}


def results_rows(path: Path = RESULTS) -> dict[str, dict]:
    """The rows of results.json by task (none when there is no file)."""
    if not path.is_file():
        return {}
    return {row["task"]: row for row in json.loads(path.read_text(encoding="utf-8"))["rows"]}


def versus(metric: str, model: float, other: float, *, higher: bool, other_name: str) -> str:
    """`tools.reports.verdict` of the model against `other_name` (the baseline, the classical model)."""
    said = verdict(metric, model, other, higher_is_better=higher)
    return other_name + said[len("classical") :] if said.startswith("classical") else said


@dataclasses.dataclass
class Facts:
    """What a card says, gathered once: the preset's metadata and its results row (when that
    row scores the preset's headline metric)."""

    meta: dict
    row: dict | None

    @property
    def metric(self) -> str:
        return self.meta["headline_metric"]

    @property
    def higher(self) -> bool:
        return higher_is_better(self.meta["task"], self.metric)

    def seed0(self) -> tuple[float, float]:
        """The preset's headline metric and its naive baseline's, on its own test split."""
        return self.meta["metrics"][self.metric], self.meta["baseline"][self.metric]

    def means(self) -> tuple[float, float, float]:
        """The model's, the baseline's and the classical model's means over the row's seeds."""
        row, metric = self.row, self.metric
        return row["summary"][metric]["mean"], row["baseline"][metric], row["classical"][metric]

    def seeds(self) -> str:
        return ", ".join(map(str, self.row["seeds"]))

    def against_baseline(self) -> str:
        model, baseline = self.seed0()
        return versus(self.metric, model, baseline, higher=self.higher, other_name="baseline")

    def against_classical(self) -> str:
        model, _, classical = self.means()
        return versus(self.metric, model, classical, higher=self.higher, other_name="classical")

    def goals(self) -> str:
        if not self.row["goals"]:
            return "none set (an honest report)"
        return f"{'; '.join(self.row['goals'])}: {'met' if self.row['goals_met'] else 'not met'}"


def facts(name: str, rows: dict[str, dict]) -> Facts:
    meta = shipped_metadata(name)
    row = rows.get(name)
    return Facts(meta, row if row and meta["headline_metric"] in row["summary"] else None)


def header(f: Facts) -> str:
    meta = f.meta
    return (
        f"# {meta['task']}\n\n{meta['description']}\n\n"
        f'The model card of the preset `rnn_zoo.load_preset("{meta["task"]}")`, shipped with rnn_zoo '
        f"{meta['versions']['rnn_zoo']} in `rnn_zoo/pretrained/{meta['task']}/`. Made by `{COMMAND}` from the "
        "preset's `metadata.json` and `results/results.json`; not edited by hand."
    )


def summary(f: Facts) -> str:
    """The card's key lines (`rnn-zoo info NAME` prints them)."""
    metric, (model, baseline) = f.metric, f.seed0()
    lines = [
        f"- **Test {metric}, seed 0:** {fmt_number(model)} (model) vs {fmt_number(baseline)} (naive baseline: "
        f"{f.meta['baseline']['name']}); who wins: {f.against_baseline()}"
    ]
    if f.row is None:
        lines.append("- **Over seeds:** results/results.json has no row for this task")
    else:
        mean, base, classical = f.means()
        lines += [
            f"- **Over seeds {f.seeds()}:** {metric} {fmt_number(mean)} (model), {fmt_number(base)} (naive "
            f"baseline), {fmt_number(classical)} (classical: {f.row['classical']['name']}); who wins against "
            f"the classical model: {f.against_classical()}",
            f"- **Goals:** {f.goals()}",
        ]
    flag = baseline_flag(f.meta) or "none: it beats its naive baseline on its own test split"
    return "\n".join([CARD_SUMMARY, "", *lines, f"- **Flag:** {flag}"])


def intended_use(f: Facts) -> str:
    spec = get_task(f.meta["task"])
    variant = f"; a variant of `{spec.variant_of}`" if spec.variant_of else ""
    not_for = "production decisions" + (f"; in particular {NOT_FOR[spec.family]}" if spec.family in NOT_FOR else "")
    return "\n".join(
        [
            "## Intended use",
            "",
            "- **For:** learning how a recurrent network does this tutorial task, and a reference to compare "
            "other models with on the same data and split.",
            f"- **Recipe:** {spec.recipe}{variant}.",
            f"- **Not for:** {not_for}.",
        ]
    )


def data_section(f: Facts) -> str:
    data = f.meta["dataset"]
    options = {**f.meta["spec"].get("data_options", {}), **f.meta["data_options"]}
    lines = [
        "## Data",
        "",
        f"- **Dataset:** {data['name']}",
        f"- **Licence and terms:** {data['license']}",
        f"- **Citation:** {data['citation'] or 'none of its own (generated data): cite rnn_zoo (CITATION.cff)'}",
        *([f"- **URL:** {data['url']}"] if data["url"] else []),
        f"- **Source file:** `{data['source_file']}` (sha256 `{data['sha256']}`)",
        f"- **Data options:** {', '.join(f'{k}={v!r}' for k, v in options.items()) or 'the loader defaults'}",
    ]
    return "\n".join(lines)


def metrics_section(f: Facts) -> str:
    baseline = f.meta["baseline"]
    lines = [
        "## Metrics",
        "",
        f"The preset (seed 0) on its task's test split, beside the naive baseline ({baseline['name']}) on the same "
        "split:",
        "",
        "| metric | model | naive baseline |",
        "|---|---|---|",
        *(
            f"| {k}{' (headline)' if k == f.metric else ''} | {fmt_number(v)} | {fmt_number(baseline[k])} |"
            for k, v in f.meta["metrics"].items()
        ),
    ]
    return "\n".join(lines + seeds_lines(f))


def seeds_lines(f: Facts) -> list[str]:
    """The headline metric over the seeds of results.json, and who wins."""
    if f.row is None:
        return ["", "results/results.json has no row for this task: no means over seeds."]
    s, row = f.row["summary"][f.metric], f.row
    model, base, classical = f.means()
    return [
        "",
        f"{f.metric} over seeds {f.seeds()} (`python -m tools.bench`, {row['date']}; means over the seeds' splits):",
        "",
        "| | mean | std | min | max |",
        "|---|---|---|---|---|",
        f"| model | {' | '.join(fmt_number(s[k]) for k in ('mean', 'std', 'min', 'max'))} |",
        f"| naive baseline ({row['baseline']['name']}) | {fmt_number(base)} | | | |",
        f"| classical ({row['classical']['name']}) | {fmt_number(classical)} | | | |",
        "",
        f"- **Who wins (means):** against the baseline: "
        f"{versus(f.metric, model, base, higher=f.higher, other_name='baseline')}; against the classical model: "
        f"{f.against_classical()}",
        f"- **Target:** {row['target'] or 'none stated'}",
        f"- **Goals:** {f.goals()}",
    ]


def training_section(f: Facts) -> str:
    meta = f.meta
    model, train = meta["spec"]["model"], meta["spec"]["train"]
    known = {field.name for field in dataclasses.fields(ModelSpec)}
    spec = ModelSpec(**{k: tuple(v) if k == "units" else v for k, v in model.items() if k in known})
    schedule = ", cosine decay" if train.get("lr_schedule") == "cosine" else ""
    overrides = ", ".join(f"{k}={v!r}" for k, v in meta["overrides"].items()) or "none"
    wall = meta.get("training", {}).get("wall_time_s")
    limit = meta["max_train_samples"]
    return "\n".join(
        [
            "## How it was trained",
            "",
            f"- **Model:** {model_text(spec, get_task(meta['task']).input_shape)}",
            f"- **Training:** {train['optimizer']}, learning rate {train['learning_rate']:g}{schedule}, "
            f"loss {train['loss']}",
            f"- **Epochs:** {meta['epochs']}; **batch size:** {meta['batch_size']}; **seed:** {meta['seed']}"
            + (f"; **training samples:** the first {limit}" if limit else ""),
            f"- **Overrides:** {overrides}",
            f"- **Parameters:** {meta['parameters']:,}" + (f"; **wall time:** {wall:.0f} s" if wall else ""),
            f"- **Versions:** {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}",
            f"- **Date:** {meta['date']}",
            f"- **Reproduce:** `{meta['command']}`",
        ]
    )


def limitations(f: Facts) -> str:
    """The limitations that the facts show, in plain words."""
    meta, metric = f.meta, f.metric
    said = []
    if baseline_flag(meta):
        (model, baseline), leader = f.seed0(), family_leader(meta["family"])
        said.append(
            f"Loses to the naive baseline ({meta['baseline']['name']}) on its own test split: {metric} "
            f"{fmt_number(model)} vs {fmt_number(baseline)}."
            + (f" Its family's preset that beats its baseline by the most is `{leader}`." if leader else "")
        )
    if f.row is not None:
        model, _, classical = f.means()
        if f.against_classical().startswith("classical"):
            said.append(
                f"Loses to the classical model ({f.row['classical']['name']}) over seeds {f.seeds()}: {metric} "
                f"{fmt_number(model)} vs {fmt_number(classical)}."
            )
        if f.row["goals"] and not f.row["goals_met"]:
            said.append(f"Misses its goals: {'; '.join(f.row['goals'])}.")
    said.append(one_run(f))
    data = meta["dataset"]
    if data["source_file"] == GENERATED_SOURCE:
        said.append("Trained and tested on generated data only: it has seen no real-world data.")
    else:
        said.append(
            f"Trained and tested on one dataset only ({data['name']}): nothing is known of how it does on other data."
        )
    return "\n".join(["## Limitations", "", *(f"- {line}" for line in said)])


def one_run(f: Facts) -> str:
    """That the preset is one training run, and how far the other seeds' runs went."""
    text = f"Trained on one split with one seed ({f.meta['seed']}): its test metrics are one run's"
    if f.row is None:
        return text + "."
    low, high = (fmt_number(f.row["summary"][f.metric][k]) for k in ("min", "max"))
    spread = f"was {low} on every one" if low == high else f"ranged from {low} to {high}"
    return f"{text}; over seeds {f.seeds()} its {f.metric} {spread}."


def model_card(name: str, rows: dict[str, dict] | None = None) -> str:
    """The model card of task `name`'s shipped preset, in Markdown (`rows`: results.json's rows by task)."""
    f = facts(name, results_rows() if rows is None else rows)
    parts = (header, summary, intended_use, data_section, metrics_section, training_section, limitations)
    return "\n\n".join(part(f) for part in parts) + "\n"


def cards(folder: Path = PRESETS_DIR) -> dict[Path, str]:
    """Every shipped preset's card, by the path it is written to under `folder`."""
    rows = results_rows()
    return {folder / name / MODEL_CARD_FILE: model_card(name, rows) for name in list_presets()}


def stale_cards(folder: Path = PRESETS_DIR) -> list[Path]:
    """The cards that are missing or differ from what the metadata and results make."""
    return [path for path, text in cards(folder).items() if not path.is_file() or path.read_text("utf-8") != text]


def write_cards(folder: Path = PRESETS_DIR) -> list[Path]:
    """Write every shipped preset's card that is out of date; returns those written."""
    written = []
    for path, text in cards(folder).items():
        if not path.is_file() or path.read_text("utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def make_cards(args) -> None:
    if SHIPPED_DIR.resolve() != CHECKOUT / "rnn_zoo" / "pretrained":
        raise UsageError(
            f"the rnn_zoo imported is not this checkout's ({CHECKOUT / 'rnn_zoo'}): run `{COMMAND}` from the "
            "checkout's root, with `pip install -e .`"
        )
    if args.check:
        stale = stale_cards(PRESETS_DIR)
        if stale:
            shown = ", ".join(f"{p.parent.name}/{p.name}" for p in stale[:3]) + (", ..." if len(stale) > 3 else "")
            raise UsageError(f"{len(stale)} model card(s) out of date ({shown}): run `{COMMAND}`")
        log(f"the {len(list_presets())} model cards are up to date")
        return
    written = write_cards(PRESETS_DIR)
    log(f"wrote {len(written)} model card(s) of {len(list_presets())} shipped presets")


def main(argv: list[str] | None = None) -> int:
    parser = ToolParser(MODULE, description="Write the shipped presets' model cards from their metadata and results.")
    parser.add_argument("--check", action="store_true", help="rewrite nothing; fail if a card is out of date")
    args = parser.parse_args(argv)
    return run_tool(MODULE, lambda: make_cards(args))


if __name__ == "__main__":
    sys.exit(main())
