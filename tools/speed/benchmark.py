"""`python -m tools.speed`: per task, interleaved repetitions of the zoo's training and of
its plain-PyTorch equivalent; then inference paths and import time. Writes
results/speed.json (results/speed_jax.json on JAX) and the speed tables (`tools.pages`) (between
their markers).

    python -m tools.speed [--tasks PATTERN] [--repeats 5] [--data-dir D] [--out F] [--no-tables]
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from rnn_zoo.errors import UnknownTaskError
from rnn_zoo.registry import get_task, list_tasks

from ..command import ToolParser, UsageError, log, run_tool, tables_or_refuse
from ..pages import write_table
from ..reports import kept_rows, machine, run_dates, write_results
from . import measure

MODULE = "tools.speed"
COMMAND = f"python -m {MODULE}"


def results_path(backend_name: str) -> str:
    """Where a speed run on `backend_name` writes by default (one file per backend)."""
    return "results/speed.json" if backend_name == "tensorflow" else f"results/speed_{backend_name}.json"


# Steady-state speed does not depend on the epoch's length, so the big sets are cut.
MAX_SAMPLES = 6000
# Each repetition times at least MIN_TIMED_EPOCHS epochs after a warm-up epoch (tracing,
# caches), and at least MIN_TIMED_S seconds of the zoo's training (this machine's speed
# drifts by tens of percent within a minute, so short windows are noisy).
MIN_TIMED_EPOCHS, MAX_TIMED_EPOCHS, MIN_TIMED_S = 3, 40, 2.0
TINY_EPOCHS = 100  # one-batch epochs (the letters tasks): the tutorial's 100
GOAL_RATIO, GOAL_OVERHEAD_MS = 1.0, 2.0
FRAMEWORKS = ("zoo", "torch")


def _median(values):
    return statistics.median(values) if values else None


@dataclasses.dataclass
class Timings:
    """One framework's numbers on one task, a value per repetition."""

    samples_per_s: list[float] = dataclasses.field(default_factory=list)
    epoch_ms: list[float] = dataclasses.field(default_factory=list)
    step_ms: list[float] = dataclasses.field(default_factory=list)  # the bare compiled step (one-batch tasks)
    overhead_ms: list[float] = dataclasses.field(default_factory=list)  # epoch minus bare step

    def add(self, samples_per_s: float, epoch: float, step_s: float | None) -> None:
        self.samples_per_s.append(samples_per_s)
        self.epoch_ms.append(epoch * 1e3)
        if step_s is not None:
            self.step_ms.append(step_s * 1e3)
            self.overhead_ms.append((epoch - step_s) * 1e3)

    def summary(self) -> dict:
        return {
            "samples_per_s": self.samples_per_s,
            "median_samples_per_s": _median(self.samples_per_s),
            "median_epoch_ms": _median(self.epoch_ms),
        }


def calibrated_epochs(name: str, data_dir) -> int:
    """Epochs per repetition of task `name`: one warm-up, then enough for MIN_TIMED_S seconds
    of the zoo's training, from one warm-up and one timed epoch of it."""
    first = measure.zoo_training(name, epochs=2, seed=0, data_dir=data_dir, max_train_samples=MAX_SAMPLES)[1][0]
    return 1 + min(MAX_TIMED_EPOCHS, max(MIN_TIMED_EPOCHS, math.ceil(MIN_TIMED_S / first)))


def time_training(framework: str, name: str, seed: int, *, epochs: int, data_dir, time_step: bool):
    """One repetition of `framework` ("zoo" or "torch") on task `name`: (the zoo's
    TrainResult, or None for PyTorch; the timed epochs' seconds; the bare step's seconds,
    or None unless `time_step`)."""
    if framework == "zoo":
        result, times = measure.zoo_training(
            name, epochs=epochs, seed=seed, data_dir=data_dir, max_train_samples=MAX_SAMPLES
        )
        return result, times, measure.zoo_step_time(result) if time_step else None
    from rnn_zoo import load_task_data

    data = load_task_data(name, data_dir=data_dir, seed=seed).head(MAX_SAMPLES)
    trainer = measure.torch_trainer(name, data, seed=seed, epochs=epochs)
    times = measure.torch_training(trainer, epochs=epochs)
    return None, times, measure.torch_step_time(trainer) if time_step else None


def epoch_ms_with_test_pass(name: str, *, epochs: int, repeats: int, data_dir) -> float:
    """What `rnn_zoo.train(name)` costs per epoch as it is called by default: with the
    per-epoch test pass the tutorials do (not part of the comparison with PyTorch)."""
    with_test = [
        statistics.median(
            measure.zoo_training(
                name, epochs=epochs, seed=rep, data_dir=data_dir, max_train_samples=MAX_SAMPLES, validate=True
            )[1]
        )
        for rep in range(repeats)
    ]
    return _median(with_test) * 1e3


def time_task(name: str, *, repeats: int, data_dir, log: Callable[[str], None]) -> dict:
    """Task `name`'s row of speed.json: `repeats` interleaved repetitions of the zoo's training
    and PyTorch's, their ratio; on one-batch tasks the loop's overhead; the inference paths."""
    from rnn_zoo import backend, load_task_data
    from rnn_zoo.training import MAX_STEPS_PER_EXECUTION, samples_per_second

    spec = get_task(name)
    probe = load_task_data(name, data_dir=data_dir).head(MAX_SAMPLES)
    batch, samples = spec.train.batch_size, len(probe.x_train)
    steps = probe.steps_per_epoch(batch)
    # The bare compiled step is timed through TensorFlow's train_function (JAX's takes the
    # whole training state as arguments): the overhead columns are TensorFlow's only.
    time_steps = steps == 1 and backend.name() == "tensorflow"
    epochs = TINY_EPOCHS if steps == 1 else calibrated_epochs(name, data_dir)
    timings, ratios, result = {framework: Timings() for framework in FRAMEWORKS}, [], None
    for rep in range(repeats):
        # Alternate who goes first, so that a slow stretch of the machine hits both.
        for framework in FRAMEWORKS if rep % 2 == 0 else FRAMEWORKS[::-1]:
            trained, times, step = time_training(
                framework, name, rep, epochs=epochs, data_dir=data_dir, time_step=time_steps
            )
            result = trained if trained is not None else result
            epoch = statistics.median(times)  # both frameworks' speed by the rule `train` reports its own by
            timings[framework].add(samples_per_second(probe, batch, 1, epoch), epoch, step)
        zoo, torch = timings["zoo"].samples_per_s[-1], timings["torch"].samples_per_s[-1]
        ratios.append(zoo / torch)
        log(f"{name} repetition {rep + 1}/{repeats}: zoo {zoo:,.0f} samples/s, PyTorch {torch:,.0f} samples/s")
    row = {
        "task": name,
        "cell": spec.model.cell,
        "bidirectional": spec.model.bidirectional,
        "samples_per_epoch": samples,
        "batch_size": batch,
        "steps_per_epoch": steps,
        "zoo_steps_per_execution": min(steps, MAX_STEPS_PER_EXECUTION),
        "epochs_per_repetition": epochs,
        "parameters": result.model.count_params(),
        **{framework: timings[framework].summary() for framework in FRAMEWORKS},
    }
    row["ratio"] = row["zoo"]["median_samples_per_s"] / row["torch"]["median_samples_per_s"]
    row["ratio_per_repetition"] = ratios  # each from two back-to-back runs
    row["ratio_goal_met"] = row["ratio"] >= GOAL_RATIO
    if time_steps:
        for framework in FRAMEWORKS:
            row[framework]["median_step_ms"] = _median(timings[framework].step_ms)
            row[framework]["median_overhead_ms_per_epoch"] = _median(timings[framework].overhead_ms)
        row["overhead_goal_met"] = row["zoo"]["median_overhead_ms_per_epoch"] < GOAL_OVERHEAD_MS
        row["zoo"]["median_epoch_ms_with_test_pass"] = epoch_ms_with_test_pass(
            name, epochs=epochs, repeats=repeats, data_dir=data_dir
        )
    row["inference"] = measure.inference_times(result)
    return row


def speed_settings(repeats: int) -> dict:
    return {
        "repeats": repeats,
        "max_samples_per_epoch": MAX_SAMPLES,
        "min_timed_epochs": MIN_TIMED_EPOCHS,
        "max_timed_epochs": MAX_TIMED_EPOCHS,
        "min_timed_s": MIN_TIMED_S,
        "tiny_task_epochs": TINY_EPOCHS,
        "validate": False,
        "verbose": 0,
        "goal_ratio": GOAL_RATIO,
        "goal_overhead_ms": GOAL_OVERHEAD_MS,
    }


def speed_machine() -> dict:
    """The machine record, with PyTorch's version and threads, and the Keras backend's when it is not TensorFlow."""
    import torch

    from rnn_zoo import backend

    record = {**machine(), "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    if backend.name() != "tensorflow":
        import importlib.metadata

        record.update(keras_backend=backend.name(), jax=importlib.metadata.version("jax"))
    return record


def run_speed_benchmark(
    pattern: str = "*",
    *,
    repeats: int = 5,
    data_dir=None,
    out=None,
    tables: bool = True,
    log: Callable[[str], None] = print,
    import_repeats: int = 5,
) -> dict:
    """Benchmark every task matching `pattern` on the Keras backend in use; rows of other
    tasks already in `out` (default: `results_path(backend)`) are kept. The speed tables
    (`tools.pages`) are rewritten once `out` holds every registered task."""
    from rnn_zoo import backend

    names = list_tasks(pattern)
    if not names:
        raise UnknownTaskError(f"no task matches {pattern!r}; `rnn-zoo list` shows the tasks")
    if repeats < 3:
        log(f"note: {repeats} repetition(s); the published table uses at least 3")
    out = Path(out or results_path(backend.name()))
    settings, this_machine = speed_settings(repeats), speed_machine()
    # Keep other tasks' rows only from a run with the same settings on the same machine,
    # so that the file always describes one kind of run.
    rows = kept_rows(out, "training", settings=settings, machine=this_machine)
    for name in names:
        rows[name] = {
            **time_task(name, repeats=repeats, data_dir=data_dir, log=log),
            "date": datetime.date.today().isoformat(),
        }
    results = {
        "command": COMMAND,
        "date": datetime.date.today().isoformat(),
        "machine": this_machine,
        "settings": settings,
        "training": [rows[name] for name in list_tasks() if name in rows],
        "import": measure.import_times(import_repeats),
    }
    write_results(out, results)
    if tables and len(results["training"]) == len(list_tasks()):
        write_speed_tables(results, backend.name())
    return results


def write_speed_tables(results: dict, backend_name: str) -> None:
    """The speed tables of this run on `backend_name` (the JAX table compares with the
    published TensorFlow run, results/speed.json, so it is rewritten after either run)."""
    other = Path(results_path("jax" if backend_name == "tensorflow" else "tensorflow"))
    other = json.loads(other.read_text()) if other.is_file() else None
    tf_results, jax_results = (results, other) if backend_name == "tensorflow" else (other, results)
    if backend_name == "tensorflow":
        write_table("speed", speed_tables(tf_results))
    if tf_results is not None and jax_results is not None:
        write_table("speed-jax", backend_tables(jax_results, tf_results))


def _n(value, digits=3):
    return "—" if value is None else f"{value:,.{digits}g}" if value < 1000 else f"{value:,.0f}"


def _span(values, fmt="{:.2f}") -> str:
    return f"{fmt.format(min(values))} to {fmt.format(max(values))}"


def _cell(row: dict) -> str:
    return ("bi-" if row["bidirectional"] else "") + row["cell"]


def _ratio_span(row: dict) -> str:
    return f"{min(row['ratio_per_repetition']):.2f}–{max(row['ratio_per_repetition']):.2f}"


def summary_lines(results: dict) -> list[str]:
    """The verdicts of the run in words, from the same numbers as the table."""
    rows = results["training"]

    def names(selected, with_ratio=True):
        return ", ".join(f"`{r['task']}`" + (f" ({r['ratio']:.2f})" if with_ratio else "") for r in selected) or "none"

    faster = [r for r in rows if r["ratio_goal_met"]]
    slower = [r for r in rows if not r["ratio_goal_met"]]
    always_behind = [r for r in slower if max(r["ratio_per_repetition"]) < 1]
    both_sides = [r for r in rows if min(r["ratio_per_repetition"]) < 1 <= max(r["ratio_per_repetition"])]
    lines = [
        f"- Faster than PyTorch (median ratio ≥ 1): {names(faster)}.",
        f"- Slower: {names(slower)}.",
        f"- Behind in every repetition: {names(always_behind, False)}. On both sides of 1 across "
        f"repetitions (within this machine's drift): {names(both_sides, False)}.",
    ]
    tiny = [r for r in rows if "overhead_goal_met" in r]
    if tiny:
        met = [r for r in tiny if r["overhead_goal_met"]]
        lines.append(
            f"- One-batch tasks: the zoo's bare compiled training step takes "
            f"{_span([r['zoo']['median_step_ms'] for r in tiny])} ms, PyTorch's whole epoch "
            f"{_span([r['torch']['median_epoch_ms'] for r in tiny])} ms. Keras's `fit` adds "
            f"{_span([r['zoo']['median_overhead_ms_per_epoch'] for r in tiny])} ms per epoch "
            f"(goal < {results['settings']['goal_overhead_ms']:g} ms: met by "
            f"{names(met, False)}). As `train` runs by default, with the test pass, "
            f"an epoch takes {_span([r['zoo']['median_epoch_ms_with_test_pass'] for r in tiny])} ms."
        )
    return lines


def serving_summary(rows: list[dict], paths) -> str:
    """The fastest way to serve, in words, from the inference numbers."""
    latency = {p: [r["inference"][p]["batch1_latency_ms"] for r in rows] for p in paths}
    batched = [r["inference"] for r in rows if "batch256_samples_per_s" in r["inference"]["tf_function_call"]]
    best = [max(inf[p]["batch256_samples_per_s"] for p in paths) for inf in batched]
    tf_share = [inf["tf_function_call"]["batch256_samples_per_s"] / b for inf, b in zip(batched, best)]
    over_predict = [
        inf["tf_function_call"]["batch256_samples_per_s"] / inf["model_predict"]["batch256_samples_per_s"]
        for inf in batched
    ]
    fastest = sum(share == 1 for share in tf_share)
    direct = latency["model_predict_on_batch"] + latency["tf_function_call"]
    return (
        f"The fastest way to serve: for one request, `model.predict` costs {_span(latency['model_predict'], '{:.0f}')} "
        f"ms, because it builds an input pipeline on every call. The SavedModel's `serve` takes "
        f"{_span(latency['saved_model_serve'], '{:.1f}')} ms, preprocessing included; in Python, "
        f"`model.predict_on_batch(x)` or a `tf.function` around `model(x, training=False)` take "
        f"{_span(direct, '{:.1f}')} ms. At batch 256 (the {len(batched)} tasks that are not stateful), the "
        f"`tf.function` call is the fastest on {fastest} and gives at least {min(tf_share):.0%} of the fastest "
        f"on the others, {_span(over_predict, '{:.0f}')} times the throughput of `predict`."
    )


def _ms(value: float) -> str:
    # Epoch minus bare step can come out a hair below 0 where the loop costs nothing.
    return f"{value:.2f}" if value >= 0.05 else "≈ 0"


def training_table(results: dict) -> list[str]:
    """The training table against PyTorch, with the sentence that reads it first."""
    m, s = results["machine"], results["settings"]
    lines = [
        f"Measured by `{COMMAND}` on {run_dates(results)}: {m['cpu']}, {m['cores']} cores, no GPU; "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, PyTorch {m['torch']} ({m['torch_threads']} threads), "
        f"Python {m['python']}. Medians of {s['repeats']} interleaved repetitions; each times the epochs "
        f"after a warm-up epoch: at least {s['min_timed_epochs']} and {s['min_timed_s']:g} s of the zoo's "
        f"training ({s['tiny_task_epochs'] - 1} epochs for one-batch tasks), on at most "
        f"{s['max_samples_per_epoch']:,} training samples, without the per-epoch test pass. "
        f"Goal: ratio ≥ {s['goal_ratio']:g}; per-epoch overhead < {s['goal_overhead_ms']:g} ms on one-batch tasks "
        "(epoch minus the bare compiled step). The last column is a one-batch task's epoch as `train` runs it by "
        "default, with the per-epoch test pass.",
        "",
        "| task | cell | batch × steps | timed epochs | zoo samples/s | PyTorch samples/s | zoo / PyTorch "
        "| per repetition | ratio goal | overhead per epoch, zoo / PyTorch (ms) | zoo epoch with the test pass (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["training"]:
        overhead = with_test = "—"
        if "overhead_goal_met" in row:
            with_test = f"{row['zoo']['median_epoch_ms_with_test_pass']:.2f}"
            overhead = (
                f"{_ms(row['zoo']['median_overhead_ms_per_epoch'])} / "
                f"{_ms(row['torch']['median_overhead_ms_per_epoch'])}"
                + ("" if row["overhead_goal_met"] else " (**over**)")
            )
        lines.append(
            f"| `{row['task']}` | {_cell(row)} | {row['batch_size']} × {row['steps_per_epoch']} | "
            f"{row['epochs_per_repetition'] - 1} | "
            f"{_n(row['zoo']['median_samples_per_s'])} | {_n(row['torch']['median_samples_per_s'])} | "
            f"{row['ratio']:.2f} | {_ratio_span(row)} | "
            f"{'met' if row['ratio_goal_met'] else '**not met**'} | {overhead} | {with_test} |"
        )
    return lines


# The ways to run a trained model that the inference table compares (keys of measure.inference_times).
INFERENCE_PATHS = ("saved_model_serve", "model_predict", "model_predict_on_batch", "tf_function_call")


def inference_table(results: dict) -> list[str]:
    """The inference table, between its sentence and the serving summary."""
    paths = INFERENCE_PATHS
    lines = [
        "Inference (the same trained models): batch-1 latency in ms, then batch-256 samples/s. `serve` is "
        "the reloaded SavedModel with its pre- and post-processing; the others take model inputs.",
        "",
        "| task | "
        + " | ".join(f"{p} (ms)" for p in paths)
        + " | "
        + " | ".join(f"{p} (samples/s)" for p in paths)
        + " |",
        "|---|" + "---|" * (2 * len(paths)),
    ]
    for row in results["training"]:
        inf = row["inference"]
        lat = [_n(inf[p].get("batch1_latency_ms")) for p in paths]
        thr = [_n(inf[p].get("batch256_samples_per_s")) for p in paths]
        lines.append(f"| `{row['task']}` | " + " | ".join(lat + thr) + " |")
    return [*lines, "", serving_summary(rows=results["training"], paths=paths)]


def import_paragraph(imp: dict) -> str:
    """Import times and the heavy modules each import loads, in words."""
    heavy = {k: ", ".join(v) or "none" for k, v in imp["heavy_modules"].items()}
    extra = set(imp["heavy_modules"]["import_rnn_zoo_training"]) - set(imp["heavy_modules"]["import_tensorflow_keras"])
    beyond = imp["rnn_zoo_beyond_tensorflow_s"]
    return (
        f"Import (fresh interpreter, median of {imp['repeats']}): `import rnn_zoo` {imp['import_rnn_zoo_s']:.2f} s, "
        f"loading no heavy module ({heavy['import_rnn_zoo']}; TensorFlow waits until it is needed). "
        f"`import tensorflow, keras` takes {imp['import_tensorflow_keras_s']:.2f} s and itself loads "
        f"{heavy['import_tensorflow_keras']}. `import rnn_zoo.training, rnn_zoo.saved_model` (all that "
        f"training and export need) takes {imp['import_rnn_zoo_training_s']:.2f} s: "
        + (
            f"{beyond:.2f} s beyond TensorFlow's own"
            if beyond > 0
            else f"nothing measurable beyond TensorFlow's own (the difference, {beyond:.2f} s, is run-to-run noise)"
        )
        + f", and it loads {heavy['import_rnn_zoo_training']}"
        + (
            f", beyond TensorFlow's: {', '.join(sorted(extra))}."
            if extra
            else ", nothing beyond what TensorFlow loads."
        )
    )


def speed_tables(results: dict) -> str:
    """The speed section, made from speed.json."""
    lines = [*training_table(results), "", *summary_lines(results), "", *inference_table(results)]
    return "\n".join([*lines, "", import_paragraph(results["import"])])


def backend_tables(jax_results: dict, tf_results: dict) -> str:
    """The section on the JAX backend, from speed_jax.json beside speed.json. Each
    run compares its backend with PyTorch in interleaved repetitions; JAX against TensorFlow
    is the quotient of the two ratios, PyTorch being the yardstick both runs share (the two
    runs were not interleaved with each other)."""
    m, s = jax_results["machine"], jax_results["settings"]
    tf_rows = {row["task"]: row for row in tf_results["training"]}
    differs = sorted(k for k, v in tf_results["machine"].items() if m.get(k) != v)
    lines = [
        f"Measured by `KERAS_BACKEND=jax {COMMAND}` on {run_dates(jax_results)}: {m['cpu']}, "
        f"{m['cores']} cores, no GPU; JAX {m['jax']}, Keras {m['keras']}, PyTorch {m['torch']} "
        f"({m['torch_threads']} threads). The same settings as the TensorFlow table: medians of {s['repeats']} "
        "repetitions interleaved with PyTorch. JAX / TensorFlow is (JAX / PyTorch) ÷ (TensorFlow / PyTorch), "
        f"each from its own run; the TensorFlow run is from {run_dates(tf_results)}"
        + (f" and its machine record differs in {', '.join(differs)}." if differs else ", on the same machine record."),
        "",
        "| task | cell | batch × steps | JAX samples/s | PyTorch samples/s | JAX / PyTorch | per repetition "
        "| TensorFlow / PyTorch | JAX / TensorFlow | faster on CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    faster = []
    for row in jax_results["training"]:
        tf_row = tf_rows.get(row["task"])
        versus = row["ratio"] / tf_row["ratio"] if tf_row else None
        winner = "—" if versus is None else "JAX" if versus > 1 else "TensorFlow"
        if winner == "JAX":
            faster.append((row["task"], versus))
        lines.append(
            f"| `{row['task']}` | {_cell(row)} | {row['batch_size']} × {row['steps_per_epoch']} | "
            f"{_n(row['zoo']['median_samples_per_s'])} | {_n(row['torch']['median_samples_per_s'])} | "
            f"{row['ratio']:.2f} | {_ratio_span(row)} | "
            + (f"{tf_row['ratio']:.2f} | {versus:.2f} | {winner} |" if tf_row else "— | — | — |")
        )
    jax_wins = [f"`{r['task']}` ({r['ratio']:.2f})" for r in jax_results["training"] if r["ratio_goal_met"]]
    lines += [
        "",
        f"- JAX faster than TensorFlow: {', '.join(f'`{t}` ({v:.2f}×)' for t, v in faster) or 'none'}. "
        "Choose it with `KERAS_BACKEND=jax` in the environment of any command (see "
        "[Backends](backends.md)).",
        f"- JAX faster than PyTorch (ratio ≥ {s['goal_ratio']:g}): {', '.join(jax_wins) or 'none'}.",
    ]
    return "\n".join(lines)


def parser() -> ToolParser:
    p = ToolParser(
        MODULE,
        description="Time every task's training against plain PyTorch, and its serving paths; write "
        "results/speed.json (results/speed_jax.json on JAX) and the speed tables (`tools.pages`) (needs torch).",
    )
    p.add_shared_options(tables="the speed tables")
    p.add_argument("--repeats", type=int, default=5, help="interleaved repetitions per task (default 5)")
    p.add_argument("--out", help="results file (default: results/speed.json, results/speed_jax.json on JAX)")
    return p


def speed(args) -> None:
    import importlib.util

    tables = tables_or_refuse(COMMAND, no_tables=args.no_tables, names=("speed", "speed-jax"))
    if importlib.util.find_spec("torch") is None:
        raise UsageError(
            "the speed benchmark compares with PyTorch, which is not installed: "
            "pip install torch==2.13.0 (a CPU build; benchmark only)"
        )
    if args.repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {args.repeats}")
    from rnn_zoo import backend

    out = args.out or results_path(backend.name())
    results = run_speed_benchmark(
        args.tasks, repeats=args.repeats, data_dir=args.data_dir, out=out, tables=tables, log=log
    )
    slower = [row["task"] for row in results["training"] if not row["ratio_goal_met"]]
    print(
        f"wrote {out}: {len(results['training'])} task(s)"
        + (f"; slower than PyTorch: {', '.join(slower)}" if slower else "")
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_tool(MODULE, lambda: speed(args))


if __name__ == "__main__":
    sys.exit(main())
