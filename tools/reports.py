"""What the benchmarks share: the machine record, results files written whole, rows kept
from an earlier run of the same kind, the README tables rewritten between their markers,
and verdicts in words."""

from __future__ import annotations

import json
import os
import platform
import re
from pathlib import Path

from rnn_zoo.errors import RnnZooError


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


def run_dates(results: dict) -> str:
    """When a results file's rows were measured: one date, or the first and the last where
    rows were kept from earlier runs of the same settings on the same kind of machine (each
    row holds its own)."""
    rows = results.get("rows") or results.get("training") or []
    dates = sorted({row.get("date") or results["date"] for row in rows} or {results["date"]})
    return dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]} (each task's date is in its row)"


def measured_by(command: str, results: dict) -> str:
    """The first words of a results table: the command, the date and the machine."""
    m = results["machine"]
    return (
        f"Measured by `{command}` on {run_dates(results)}: {m['cpu']}, {m['cores']} cores, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, Python {m['python']}"
    )


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
    if any(_comparable(name, previous.get(name)) != _comparable(name, value) for name, value in same.items()):
        return {}
    return {row["task"]: {"date": previous.get("date"), **row} for row in previous.get(key, [])}


def _comparable(name: str, value):
    """A setting as rows are kept by: a machine by its CPU, cores and versions, not by the
    kernel build in its platform string (one cloud machine type boots several)."""
    if name == "machine" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "platform"}
    return value


def update_readme(readme: Path, table: str, *, start: str, end: str) -> None:
    """Replace what lies between the `start` and `end` markers of `readme` with `table`."""
    text = readme.read_text()
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise RnnZooError(f"{readme} has no {start} ... {end} markers to write the table between")
    readme.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", text))


def verdict(metric: str, model: float, classical: float, *, higher_is_better: bool) -> str:
    """Who wins on `metric`, the RNN or the classical model, and by how much, in words
    (`higher_is_better`: the family's data class says so of the metric)."""
    if higher_is_better:
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


def significance(test: dict, level: float = 0.05) -> str:
    """A Diebold-Mariano result in words, against the naive forecast."""
    if test["p_value"] >= level:
        return f"no significant difference (p = {test['p_value']:.2g})"
    return f"significantly {'better' if test['statistic'] < 0 else 'worse'} (p = {test['p_value']:.2g})"
