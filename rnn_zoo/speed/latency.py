"""`rnn-zoo bench --latency`: batch-1 latency of each task's shipped preset in every export
format, each in its own runtime: the SavedModel's `serve` (human input, preprocessing
included) in TensorFlow, the ONNX file in onnxruntime, the LiteRT file in the LiteRT
interpreter (model inputs). Writes results/latency.json and the README's latency table."""

from __future__ import annotations

import datetime
import json
import statistics
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from ..bench import kept_rows, machine, update_readme, write_results
from ..errors import UnknownTaskError
from ..registry import get_task, list_tasks
from .measure import time_calls

README_START, README_END = "<!-- latency:start -->", "<!-- latency:end -->"
PATHS = ("saved_model_serve", "onnxruntime", "litert")
ROUNDS = 5  # interleaved rounds per task; each path's median per call over >= 0.3 s per round


def bench_task(name: str, *, data_dir, rounds: int = ROUNDS) -> dict:
    """The task's shipped preset exported in every format (the checks on its test inputs
    where `data_dir` has them), then `rounds` interleaved rounds timing one call of each."""
    import numpy as np
    import tensorflow as tf

    from .. import load_preset
    from ..outputs import EXPORT_MARKER
    from ..standalone import PREPROCESSING_FILE, check_inputs, runner

    preset = load_preset(name)
    model = preset.model
    x = check_inputs(None, model, n=1)[0]  # the runtimes' speed does not depend on the values
    with tempfile.TemporaryDirectory() as tmp:
        folders = {
            f: preset.export(Path(tmp) / f, format=f, data_dir=data_dir) for f in ("saved_model", "onnx", "litert")
        }
        serve = tf.saved_model.load(str(folders["saved_model"])).signatures["serve"]
        human = tf.constant(np.asarray([preset.preprocessor.example_input()]))
        calls, row = {"saved_model_serve": lambda: serve(human)}, {"task": name}
        for path, format_name in (("onnxruntime", "onnx"), ("litert", "litert")):
            folder = folders[format_name]
            spec = json.loads((folder / PREPROCESSING_FILE).read_text(encoding="utf-8"))
            feeds = {"inputs": x, **{i["name"]: np.zeros([1, *i["shape"][1:]], np.float32) for i in spec["inputs"][1:]}}
            run = runner(format_name, folder / spec["file"])
            calls[path] = lambda run=run, feeds=feeds: run(feeds)
            record = json.loads((folder / EXPORT_MARKER).read_text())
            row[f"{format_name}_kb"] = round((folder / spec["file"]).stat().st_size / 1024)
            row[f"{format_name}_check"] = record["check"]
        times = {path: [] for path in PATHS}
        for _ in range(rounds):
            for path in PATHS:
                times[path].append(time_calls(calls[path], min_calls=20, min_seconds=0.3) * 1e3)
    row["latency_ms"] = {path: statistics.median(values) for path, values in times.items()}
    row["date"] = datetime.date.today().isoformat()
    return row


def run_latency_benchmark(
    pattern: str = "*",
    *,
    rounds: int = ROUNDS,
    data_dir=None,
    out="results/latency.json",
    readme="README.md",
    log: Callable[[str], None] = print,
) -> dict:
    """Time every task matching `pattern`; rows of other tasks already in `out` are kept
    when they come from this machine with these settings. The README table is rewritten
    once `out` holds every registered task."""
    names = list_tasks(pattern)
    if not names:
        raise UnknownTaskError(f"no task matches {pattern!r}; `rnn-zoo list` shows the tasks")
    out = Path(out)
    settings = {
        "rounds": rounds,
        "batch": 1,
        "min_calls": 20,
        "min_seconds_per_round": 0.3,
        "threads": "each runtime's default (onnxruntime: one per core; LiteRT: XNNPACK delegate)",
    }
    this_machine = {**machine(), "onnxruntime": version("onnxruntime"), "ai_edge_litert": version("ai-edge-litert")}
    rows = kept_rows(out, "rows", settings=settings, machine=this_machine)
    for name in names:
        log(f"{name}: exporting in every format, then timing one call of each")
        rows[name] = bench_task(name, data_dir=data_dir, rounds=rounds)
    results = {
        "command": "rnn-zoo bench --latency",
        "date": datetime.date.today().isoformat(),
        "machine": this_machine,
        "settings": settings,
        "rows": [rows[name] for name in list_tasks() if name in rows],
    }
    write_results(out, results)
    if readme and len(results["rows"]) == len(list_tasks()):
        update_readme(Path(readme), latency_table(results), start=README_START, end=README_END)
    return results


def latency_table(results: dict) -> str:
    """The README's latency table and the sentence that reads it, from results/latency.json."""
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
        row["latency_ms"]["saved_model_serve"] / min(row["latency_ms"]["onnxruntime"], row["latency_ms"]["litert"])
        for row in rows
    ]
    checked = sorted({row[f"{f}_check"]["rows"] for row in rows for f in ("onnx", "litert")})
    m = results["machine"]
    return "\n".join(
        [
            f"Batch-1 latency, median of {results['settings']['rounds']} interleaved rounds, each the median "
            f"call over at least {results['settings']['min_calls']} calls and {results['settings']['min_seconds_per_round']} s. "
            f"Machine: {m['cpu']}, {m['cores']} cores, TensorFlow {m['tensorflow']}, onnxruntime {m['onnxruntime']}, "
            f"ai-edge-litert {m['ai_edge_litert']}, each runtime with its default threads; run {results['date']} "
            f"(`{results['command']}`, results/latency.json). The SavedModel's `serve` takes a human input and "
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
