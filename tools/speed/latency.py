"""`python -m tools.latency`: batch-1 latency of each task's shipped preset in every export
format, each in its own runtime: the SavedModel's `serve` (human input, preprocessing
included) in TensorFlow, the ONNX file in onnxruntime, the LiteRT file in the LiteRT
interpreter (model inputs). Writes results/latency.json and its table (`tools.pages`).

    python -m tools.latency [--tasks PATTERN] [--data-dir D] [--out F] [--no-tables]
"""

from __future__ import annotations

import datetime
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from rnn_zoo.errors import UnknownTaskError
from rnn_zoo.exporting import EXPORT_FORMATS
from rnn_zoo.registry import get_task, list_tasks
from rnn_zoo.standalone import FORMATS

from ..command import ToolParser, log, run_tool, tables_or_refuse
from ..pages import write_table
from ..reports import kept_rows, machine, run_dates, write_results
from .measure import time_calls

MODULE = "tools.latency"
COMMAND = f"python -m {MODULE}"
SAVED_MODEL_PATH = "saved_model_serve"
# latency.json's key for each export format's timed path: the SavedModel's `serve` signature,
# the ONNX file in onnxruntime, the LiteRT file in its interpreter.
PATH_KEYS = {"saved_model": SAVED_MODEL_PATH, "onnx": "onnxruntime", "litert": "litert"}


def path_of(format_name: str) -> str:
    """latency.json's key for the timed path of export format `format_name` (a format added to
    rnn_zoo.exporting fails here, at import, until it has one)."""
    return PATH_KEYS[format_name]


PATHS = tuple(path_of(f) for f in EXPORT_FORMATS)  # every export format, in rnn_zoo.exporting's order
ROUNDS = 5  # interleaved rounds per task; each path's median per call over >= 0.3 s per round
MIN_CALLS, MIN_SECONDS = 20, 0.3


def standalone_call(format_name: str, folder: Path, x):
    """(a call of the exported file in `folder` on model input `x` in its runtime, the
    latency row's size and check of the file)."""
    import numpy as np

    from rnn_zoo.outputs import EXPORT_MARKER
    from rnn_zoo.standalone import PREPROCESSING_FILE, runner

    spec = json.loads((folder / PREPROCESSING_FILE).read_text(encoding="utf-8"))
    feeds = {"inputs": x, **{i["name"]: np.zeros([1, *i["shape"][1:]], np.float32) for i in spec["inputs"][1:]}}
    run = runner(format_name, folder / spec["file"])
    record = json.loads((folder / EXPORT_MARKER).read_text())
    facts = {
        f"{format_name}_kb": round((folder / spec["file"]).stat().st_size / 1024),
        f"{format_name}_check": record["check"],
    }
    return (lambda: run(feeds)), facts


def latency_of_task(name: str, *, data_dir, rounds: int = ROUNDS) -> dict:
    """The task's shipped preset exported in every format (the checks on its test inputs
    where `data_dir` has them), then `rounds` interleaved rounds timing one call of each."""
    import numpy as np
    import tensorflow as tf

    from rnn_zoo import load_preset
    from rnn_zoo.exporting import export
    from rnn_zoo.standalone import check_inputs

    preset = load_preset(name)
    x = check_inputs(None, preset.model, n=1)[0]  # the runtimes' speed does not depend on the values
    row = {"task": name}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {f: export(preset, Path(tmp) / f, format=f, data_dir=data_dir) for f in EXPORT_FORMATS}
        calls = {}
        for format_name, folder in folders.items():
            if format_name in FORMATS:
                calls[path_of(format_name)], facts = standalone_call(format_name, folder, x)
                row.update(facts)
            else:
                serve = tf.saved_model.load(str(folder)).signatures["serve"]
                human = tf.constant(np.asarray([preset.preprocessor.example_input()]))
                calls[path_of(format_name)] = lambda serve=serve, human=human: serve(human)
        times = {path: [] for path in PATHS}
        for _ in range(rounds):
            for path in PATHS:
                times[path].append(time_calls(calls[path], min_calls=MIN_CALLS, min_seconds=MIN_SECONDS) * 1e3)
    row["latency_ms"] = {path: statistics.median(values) for path, values in times.items()}
    row["date"] = datetime.date.today().isoformat()
    return row


def run_latency_benchmark(
    pattern: str = "*",
    *,
    rounds: int = ROUNDS,
    data_dir=None,
    out="results/latency.json",
    tables: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Time every task matching `pattern`; rows of other tasks already in `out` are kept
    when they come from this machine with these settings. The latency table (`tools.pages`)
    is rewritten once `out` holds every registered task."""
    names = list_tasks(pattern)
    if not names:
        raise UnknownTaskError(f"no task matches {pattern!r}; `rnn-zoo list` shows the tasks")
    out = Path(out)
    settings = {
        "rounds": rounds,
        "batch": 1,
        "min_calls": MIN_CALLS,
        "min_seconds_per_round": MIN_SECONDS,
        "threads": "each runtime's default (onnxruntime: one per core; LiteRT: XNNPACK delegate)",
    }
    this_machine = {**machine(), "onnxruntime": version("onnxruntime"), "ai_edge_litert": version("ai-edge-litert")}
    rows = kept_rows(out, "rows", settings=settings, machine=this_machine)
    for name in names:
        log(f"{name}: exporting in every format, then timing one call of each")
        rows[name] = latency_of_task(name, data_dir=data_dir, rounds=rounds)
    results = {
        "command": COMMAND,
        "date": datetime.date.today().isoformat(),
        "machine": this_machine,
        "settings": settings,
        "rows": [rows[name] for name in list_tasks() if name in rows],
    }
    write_results(out, results)
    if tables and len(results["rows"]) == len(list_tasks()):
        write_table("latency", latency_table(results))
    return results


def latency_table(results: dict) -> str:
    """The latency table and the sentence that reads it, from results/latency.json."""
    rows = results["rows"]
    lines = [
        "| task | cell | SavedModel `serve` (ms) | onnxruntime (ms) | LiteRT (ms) | fastest | ONNX / LiteRT file (KB) "
        "| largest difference from Keras, ONNX / LiteRT |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    names = {"saved_model_serve": "SavedModel", "onnxruntime": "onnxruntime", "litert": "LiteRT"}
    fastest = {}
    for row in rows:
        ms = row["latency_ms"]
        best = min(PATHS, key=ms.get)
        fastest[row["task"]] = best
        spec = get_task(row["task"])
        cell = ("bi" if spec.model.bidirectional else "") + spec.model.cell
        lines.append(
            f"| {row['task']} | {cell} | {ms['saved_model_serve']:.2f} | {ms['onnxruntime']:.3f} | {ms['litert']:.3f} "
            f"| {names[best]} | {row['onnx_kb']} / {row['litert_kb']} "
            f"| {row['onnx_check']['max_abs_difference']:.1e} / {row['litert_check']['max_abs_difference']:.1e} |"
        )
    wins = {path: sum(best == path for best in fastest.values()) for path in PATHS}
    ratio = [
        row["latency_ms"][SAVED_MODEL_PATH] / min(row["latency_ms"][path] for path in PATHS if path != SAVED_MODEL_PATH)
        for row in rows
    ]
    checked = sorted({row[f"{f}_check"]["rows"] for row in rows for f in FORMATS})
    m, s = results["machine"], results["settings"]
    return "\n".join(
        [
            f"Batch-1 latency, median of {s['rounds']} interleaved rounds, each the median "
            f"call over at least {s['min_calls']} calls and {s['min_seconds_per_round']} s. "
            f"Machine: {m['cpu']}, {m['cores']} cores, TensorFlow {m['tensorflow']}, onnxruntime {m['onnxruntime']}, "
            f"ai-edge-litert {m['ai_edge_litert']}, each runtime with its default threads; run {run_dates(results)} "
            f"(`{COMMAND}`, results/latency.json). The SavedModel's `serve` takes a human input and "
            "includes the preprocessing; the ONNX and LiteRT files take model inputs. The differences are the "
            f"export checks', on the first {checked[-1]} test inputs"
            + (f" ({', '.join(map(str, checked[:-1]))} where the test split is smaller)." if len(checked) > 1 else "."),
            "",
            *lines,
            "",
            f"Fastest: LiteRT on {wins['litert']} tasks, onnxruntime on {wins['onnxruntime']}, the SavedModel on "
            f"{wins['saved_model_serve']}. The faster standalone file answers {min(ratio):.0f}-{max(ratio):.0f} times "
            "sooner than the SavedModel's `serve`, which pays for TensorFlow's function call and the preprocessing "
            "ops.",
        ]
    )


def parser() -> ToolParser:
    p = ToolParser(
        MODULE,
        description="Batch-1 latency of every shipped preset as a SavedModel, in onnxruntime and in LiteRT; "
        "writes results/latency.json and its table (needs the [export] extra).",
    )
    p.add_shared_options(tables="the latency table")
    p.add_argument("--out", default="results/latency.json", help="results file (default: results/latency.json)")
    return p


def latency(args) -> None:
    from rnn_zoo.standalone import require

    tables = tables_or_refuse(COMMAND, no_tables=args.no_tables, names=("latency",))
    for format_name in FORMATS:
        require(format_name)
    results = run_latency_benchmark(args.tasks, data_dir=args.data_dir, out=args.out, tables=tables, log=log)
    print(f"wrote {args.out}: {len(results['rows'])} task(s)")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_tool(MODULE, lambda: latency(args))


if __name__ == "__main__":
    sys.exit(main())
