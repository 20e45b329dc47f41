"""`rnn-zoo bench --speed`: per task, interleaved repetitions of the zoo's training and of
its plain-PyTorch equivalent; then inference paths and import time. Writes
results/speed.json and the README's speed tables (between their markers)."""

from __future__ import annotations

import datetime
import json
import math
import statistics
from collections.abc import Callable
from pathlib import Path

from ..bench import kept_rows, machine, update_readme, write_results
from ..errors import UnknownTaskError
from ..registry import get_task, list_tasks
from . import measure

README_START, README_END = "<!-- speed:start -->", "<!-- speed:end -->"
# The JAX backend's run: its own file (a run keeps rows of one backend) and README section.
JAX_README_START, JAX_README_END = "<!-- speed-jax:start -->", "<!-- speed-jax:end -->"


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


def _median(values):
    return statistics.median(values) if values else None


def bench_task(name: str, *, repeats: int, data_dir, log: Callable[[str], None]) -> dict:
    from .. import backend, load_task_data
    from ..training import MAX_STEPS_PER_EXECUTION

    spec = get_task(name)
    probe = load_task_data(name, data_dir=data_dir).head(MAX_SAMPLES)
    batch, samples = spec.train.batch_size, len(probe.x_train)
    steps = probe.steps_per_epoch(batch)
    tiny = steps == 1
    # The bare compiled step is timed through TensorFlow's train_function (JAX's takes the
    # whole training state as arguments): the overhead columns are TensorFlow's only.
    time_steps = tiny and backend.name() == "tensorflow"
    if tiny:
        epochs = TINY_EPOCHS
    else:  # calibrate: one warm-up and one timed epoch of the zoo
        first = measure.zoo_training(name, epochs=2, seed=0, data_dir=data_dir, max_train_samples=MAX_SAMPLES)[1][0]
        epochs = 1 + min(MAX_TIMED_EPOCHS, max(MIN_TIMED_EPOCHS, math.ceil(MIN_TIMED_S / first)))
    sps = {"zoo": [], "torch": []}
    epoch_ms = {"zoo": [], "torch": []}
    overhead = {"zoo": [], "torch": []}
    step_ms = {"zoo": [], "torch": []}
    result = None
    ratios = []
    for rep in range(repeats):
        # Alternate who goes first, so that a slow stretch of the machine hits both.
        for framework in ("zoo", "torch") if rep % 2 == 0 else ("torch", "zoo"):
            if framework == "zoo":
                result, times = measure.zoo_training(
                    name, epochs=epochs, seed=rep, data_dir=data_dir, max_train_samples=MAX_SAMPLES
                )
                step = measure.zoo_step_time(result) if time_steps else None
            else:
                data = load_task_data(name, data_dir=data_dir, seed=rep).head(MAX_SAMPLES)
                trainer = measure.torch_trainer(name, data, seed=rep, epochs=epochs)
                times = measure.torch_training(trainer, epochs=epochs)
                step = measure.torch_step_time(trainer) if time_steps else None
            epoch = statistics.median(times)
            sps[framework].append(samples / epoch)
            epoch_ms[framework].append(epoch * 1e3)
            if step is not None:
                step_ms[framework].append(step * 1e3)
                overhead[framework].append((epoch - step) * 1e3)
        ratios.append(sps["zoo"][-1] / sps["torch"][-1])
        log(
            f"{name} repetition {rep + 1}/{repeats}: zoo {sps['zoo'][-1]:,.0f} samples/s, "
            f"PyTorch {sps['torch'][-1]:,.0f} samples/s"
        )
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
        "zoo": {
            "samples_per_s": sps["zoo"],
            "median_samples_per_s": _median(sps["zoo"]),
            "median_epoch_ms": _median(epoch_ms["zoo"]),
        },
        "torch": {
            "samples_per_s": sps["torch"],
            "median_samples_per_s": _median(sps["torch"]),
            "median_epoch_ms": _median(epoch_ms["torch"]),
        },
    }
    row["ratio"] = row["zoo"]["median_samples_per_s"] / row["torch"]["median_samples_per_s"]
    row["ratio_per_repetition"] = ratios  # each from two back-to-back runs
    row["ratio_goal_met"] = row["ratio"] >= GOAL_RATIO
    if time_steps:
        for framework in ("zoo", "torch"):
            row[framework]["median_step_ms"] = _median(step_ms[framework])
            row[framework]["median_overhead_ms_per_epoch"] = _median(overhead[framework])
        row["overhead_goal_met"] = row["zoo"]["median_overhead_ms_per_epoch"] < GOAL_OVERHEAD_MS
        # What `rnn_zoo.train(name)` costs per epoch as it is called by default: with the
        # per-epoch test pass the tutorials do (not part of the comparison with PyTorch).
        with_test = [
            statistics.median(
                measure.zoo_training(
                    name, epochs=epochs, seed=rep, data_dir=data_dir, max_train_samples=MAX_SAMPLES, validate=True
                )[1]
            )
            for rep in range(repeats)
        ]
        row["zoo"]["median_epoch_ms_with_test_pass"] = _median(with_test) * 1e3
    row["inference"] = measure.inference_times(result)
    return row


def run_speed_benchmark(
    pattern: str = "*",
    *,
    repeats: int = 5,
    data_dir=None,
    out=None,
    readme="README.md",
    log: Callable[[str], None] = print,
    import_repeats: int = 5,
) -> dict:
    """Benchmark every task matching `pattern` on the Keras backend in use; rows of other
    tasks already in `out` (default: `results_path(backend)`) are kept. The README tables are
    rewritten once `out` holds every registered task."""
    import torch

    from .. import backend

    out = out or results_path(backend.name())

    names = list_tasks(pattern)
    if not names:
        raise UnknownTaskError(f"no task matches {pattern!r}; `rnn-zoo list` shows the tasks")
    if repeats < 3:
        log(f"note: {repeats} repetition(s); the published table uses at least 3")
    out = Path(out)
    settings = {
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
    this_machine = {**machine(), "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    if backend.name() != "tensorflow":
        import importlib.metadata

        this_machine.update(keras_backend=backend.name(), jax=importlib.metadata.version("jax"))
    # Keep other tasks' rows only from a run with the same settings on the same machine,
    # so that the file always describes one kind of run.
    rows = kept_rows(out, "training", settings=settings, machine=this_machine)
    for name in names:
        rows[name] = {
            **bench_task(name, repeats=repeats, data_dir=data_dir, log=log),
            "date": datetime.date.today().isoformat(),
        }
    results = {
        "command": "rnn-zoo bench --speed",
        "date": datetime.date.today().isoformat(),
        "machine": this_machine,
        "settings": settings,
        "training": [rows[name] for name in list_tasks() if name in rows],
        "import": measure.import_times(import_repeats),
    }
    write_results(out, results)
    if readme and len(results["training"]) == len(list_tasks()):
        update_speed_readme(Path(readme), results, backend.name())
    return results


def update_speed_readme(readme: Path, results: dict, backend_name: str) -> None:
    """The README sections of this run on `backend_name` (the JAX table compares with the
    published TensorFlow run, results/speed.json, so it is rewritten after either run)."""
    other = Path(results_path("jax" if backend_name == "tensorflow" else "tensorflow"))
    other = json.loads(other.read_text()) if other.is_file() else None
    tf_results, jax_results = (results, other) if backend_name == "tensorflow" else (other, results)
    if backend_name == "tensorflow":
        update_readme(readme, speed_tables(tf_results), start=README_START, end=README_END)
    if tf_results is not None and jax_results is not None:
        update_readme(readme, backend_tables(jax_results, tf_results), start=JAX_README_START, end=JAX_README_END)


def _n(value, digits=3):
    return "—" if value is None else f"{value:,.{digits}g}" if value < 1000 else f"{value:,.0f}"


def _span(values, fmt="{:.2f}") -> str:
    return f"{fmt.format(min(values))} to {fmt.format(max(values))}"


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


def speed_tables(results: dict) -> str:
    """The README's speed section, made from speed.json."""
    m, s = results["machine"], results["settings"]
    lines = [
        f"Measured by `{results['command']}` on {results['date']}: {m['cpu']}, {m['cores']} cores, no GPU; "
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
        cell = ("bi-" if row["bidirectional"] else "") + row["cell"]
        overhead = with_test = "—"
        if "overhead_goal_met" in row:
            with_test = f"{row['zoo']['median_epoch_ms_with_test_pass']:.2f}"
            overhead = (
                f"{_ms(row['zoo']['median_overhead_ms_per_epoch'])} / "
                f"{_ms(row['torch']['median_overhead_ms_per_epoch'])}"
                + ("" if row["overhead_goal_met"] else " (**over**)")
            )
        lines.append(
            f"| `{row['task']}` | {cell} | {row['batch_size']} × {row['steps_per_epoch']} | "
            f"{row['epochs_per_repetition'] - 1} | "
            f"{_n(row['zoo']['median_samples_per_s'])} | {_n(row['torch']['median_samples_per_s'])} | "
            f"{row['ratio']:.2f} | {min(row['ratio_per_repetition']):.2f}–{max(row['ratio_per_repetition']):.2f} | "
            f"{'met' if row['ratio_goal_met'] else '**not met**'} | {overhead} | {with_test} |"
        )
    lines += ["", *summary_lines(results)]
    paths = ("saved_model_serve", "model_predict", "model_predict_on_batch", "tf_function_call")
    lines += [
        "",
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
    lines += ["", serving_summary(rows=results["training"], paths=paths)]
    imp = results["import"]
    heavy = {k: ", ".join(v) or "none" for k, v in imp["heavy_modules"].items()}
    extra = set(imp["heavy_modules"]["import_rnn_zoo_training"]) - set(imp["heavy_modules"]["import_tensorflow_keras"])
    lines += [
        "",
        f"Import (fresh interpreter, median of {imp['repeats']}): `import rnn_zoo` {imp['import_rnn_zoo_s']:.2f} s, "
        f"loading no heavy module ({heavy['import_rnn_zoo']}; TensorFlow waits until it is needed). "
        f"`import tensorflow, keras` takes {imp['import_tensorflow_keras_s']:.2f} s and itself loads "
        f"{heavy['import_tensorflow_keras']}. `import rnn_zoo.training, rnn_zoo.saved_model` (all that "
        f"training and export need) takes {imp['import_rnn_zoo_training_s']:.2f} s: "
        + (
            f"{imp['rnn_zoo_beyond_tensorflow_s']:.2f} s beyond TensorFlow's own"
            if imp["rnn_zoo_beyond_tensorflow_s"] > 0
            else f"nothing measurable beyond TensorFlow's own (the difference, {imp['rnn_zoo_beyond_tensorflow_s']:.2f} s, "
            "is run-to-run noise)"
        )
        + ", and it loads "
        f"{heavy['import_rnn_zoo_training']}"
        + (
            f", beyond TensorFlow's: {', '.join(sorted(extra))}."
            if extra
            else ", nothing beyond what TensorFlow loads."
        ),
    ]
    return "\n".join(lines)


def backend_tables(jax_results: dict, tf_results: dict) -> str:
    """The README's section on the JAX backend, from speed_jax.json beside speed.json. Each
    run compares its backend with PyTorch in interleaved repetitions; JAX against TensorFlow
    is the quotient of the two ratios, PyTorch being the yardstick both runs share (the two
    runs were not interleaved with each other)."""
    m, s = jax_results["machine"], jax_results["settings"]
    tf_rows = {row["task"]: row for row in tf_results["training"]}
    differs = sorted(k for k, v in tf_results["machine"].items() if m.get(k) != v)
    lines = [
        f"Measured by `KERAS_BACKEND=jax {jax_results['command']}` on {jax_results['date']}: {m['cpu']}, "
        f"{m['cores']} cores, no GPU; JAX {m['jax']}, Keras {m['keras']}, PyTorch {m['torch']} "
        f"({m['torch_threads']} threads). The same settings as the TensorFlow table: medians of {s['repeats']} "
        "repetitions interleaved with PyTorch. JAX / TensorFlow is (JAX / PyTorch) ÷ (TensorFlow / PyTorch), "
        f"each from its own run; the TensorFlow run is from {tf_results['date']}"
        + (f" and its machine record differs in {', '.join(differs)}." if differs else ", on the same machine record."),
        "",
        "| task | cell | batch × steps | JAX samples/s | PyTorch samples/s | JAX / PyTorch | per repetition "
        "| TensorFlow / PyTorch | JAX / TensorFlow | faster on CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    faster = []
    for row in jax_results["training"]:
        cell = ("bi-" if row["bidirectional"] else "") + row["cell"]
        tf_row = tf_rows.get(row["task"])
        versus = row["ratio"] / tf_row["ratio"] if tf_row else None
        winner = "—" if versus is None else "JAX" if versus > 1 else "TensorFlow"
        if winner == "JAX":
            faster.append((row["task"], versus))
        lines.append(
            f"| `{row['task']}` | {cell} | {row['batch_size']} × {row['steps_per_epoch']} | "
            f"{_n(row['zoo']['median_samples_per_s'])} | {_n(row['torch']['median_samples_per_s'])} | "
            f"{row['ratio']:.2f} | {min(row['ratio_per_repetition']):.2f}–{max(row['ratio_per_repetition']):.2f} | "
            + (f"{tf_row['ratio']:.2f} | {versus:.2f} | {winner} |" if tf_row else "— | — | — |")
        )
    jax_wins = [f"`{r['task']}` ({r['ratio']:.2f})" for r in jax_results["training"] if r["ratio_goal_met"]]
    lines += [
        "",
        f"- JAX faster than TensorFlow: {', '.join(f'`{t}` ({v:.2f}×)' for t, v in faster) or 'none'}. "
        "Choose it with `KERAS_BACKEND=jax` in the environment of any command (see "
        "[Backends](#backends-tensorflow-or-jax)).",
        f"- JAX faster than PyTorch (ratio ≥ {s['goal_ratio']:g}): {', '.join(jax_wins) or 'none'}.",
    ]
    return "\n".join(lines)
