"""The `rnn-zoo` command line. A user mistake prints one line on stderr and exits with 2; a run
that diverges, or any other failure, prints a short message and exits with 1."""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import warnings
from pathlib import Path

# Before TensorFlow is first imported (`import rnn_zoo` does not import it): keep its
# start-up chatter (CPU features, no CUDA driver) out of the command's output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Where `train` puts the SavedModel inside its output folder, beside the preset's files.
SAVED_MODEL_DIR = "saved_model"


class UsageError(Exception):
    """A mistake on the command line."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its mistakes in the CLI's one-line form (no usage block)."""

    def error(self, message):
        self.exit(2, f"rnn-zoo: error: {message} (see `{self.prog} --help`)\n")


def _parse_set(items: list[str]) -> dict:
    """--set key=value pairs; values are Python literals (3, 0.2, [64, 64], True) or strings."""
    overrides = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UsageError(f"--set expects key=value, got {item!r}")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def _table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(f"{str(c):<{w}}" for c, w in zip(r, widths)).rstrip() for r in [header, *rows])


def _cmd_list(args) -> None:
    import rnn_zoo
    from rnn_zoo.metrics import fmt_number
    from rnn_zoo.shipped import shipped_metadata

    names = rnn_zoo.list_tasks(args.pattern)
    if not names:
        raise rnn_zoo.UnknownTaskError(f"no task matches {args.pattern!r}; `rnn-zoo list` shows them all")
    rows = []
    for name in names:
        spec = rnn_zoo.get_task(name)
        meta = shipped_metadata(name)
        if meta is not None:  # the preset knows its size: no need to build (and import Keras)
            params = f"{meta['parameters']:,}"
            preset = f"{meta['headline_metric']} {fmt_number(meta['metrics'][meta['headline_metric']])}"
        else:
            try:
                params = f"{rnn_zoo.build(name, compile=False).count_params():,}"
            except rnn_zoo.RnnZooError:  # sized by its data, and no preset to take the size from
                params = "?"
            preset = "none"
        rows.append((name, spec.family, spec.model.cell, params, preset, spec.data_source))
    print(_table(rows, ("name", "family", "cell", "parameters", "preset (test)", "data")))


def _cmd_info(args) -> None:
    import rnn_zoo

    spec = rnn_zoo.get_task(args.name)
    model = rnn_zoo.build(args.name)
    print(f"{spec.name}: {spec.description}")
    print(f"  family:    {spec.family}\n  tutorial:  {spec.source}\n  data:      {spec.data_source}")
    print(f"  input:     {spec.input_shape} {spec.input_dtype}\n  target:    {spec.target}")
    t = spec.train
    print(f"  training:  {t.optimizer} lr {t.learning_rate}, loss {t.loss}, {t.epochs} epochs, batch {t.batch_size}")
    model.summary(print_fn=lambda line, *a, **k: print("  " + line))


def _load_preset(args):
    """The preset folder given by --model, else the task's shipped one; of task args.name only."""
    import rnn_zoo

    rnn_zoo.get_task(args.name)  # an unknown name fails here, with suggestions
    if args.model is None:
        return rnn_zoo.load_preset(args.name)
    return rnn_zoo.load_preset(Path(args.model), task=args.name)


def _cmd_train(args) -> None:
    import rnn_zoo
    from rnn_zoo import backend
    from rnn_zoo.exporting import write_export
    from rnn_zoo.outputs import atomic_directory, check_destination
    from rnn_zoo.plots import plot_results
    from rnn_zoo.presets import write_preset
    from rnn_zoo.training import predict_test

    rnn_zoo.get_task(args.name)  # an unknown name fails here, with suggestions
    out = Path(args.out or Path("saved_models") / args.name)
    # In a distributed run process 0 writes; the others (maybe on machines of their own) only train.
    from rnn_zoo.distributed import env_process_id

    writes = not args.distributed or env_process_id() == 0
    if writes:
        check_destination(out, kind="preset", overwrite=args.overwrite)  # before training, not after
    # Piped to a file, a progress bar is a stream of control characters: one line per epoch.
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)
    result = rnn_zoo.train(
        args.name,
        epochs=args.epochs,
        batch_size=args.batch_size,
        data_dir=args.data_dir,
        seed=args.seed,
        verbose=verbose,
        checkpoint_dir=args.checkpoint_dir,
        distributed=args.distributed,
        **_parse_set(args.set),
    )
    # The classical model is fitted now, on the same training split (up to a minute on MNIST).
    print("fitting the classical model on the training split, to compare ...", flush=True)
    print(result.summary())
    if not result.writes:
        print(f"process {result.cluster.process_id} of {result.cluster.num_processes}: process 0 writes {out}/")
        return
    with atomic_directory(out, kind="preset", overwrite=args.overwrite) as staging:
        predictions = predict_test(result.model, result.data)
        write_preset(staging, result.model, result.preprocessor, result.metadata())
        saved_model = staging / SAVED_MODEL_DIR
        saved_model.mkdir()
        write_export(
            "saved_model",
            result.model,
            saved_model,
            result.preprocessor,
            task=args.name,
            x_test=None,
            details={"keras_backend": backend.name()},
        )
        plots = plot_results(args.name, result.data, predictions, result.history, staging)
    print(
        f"wrote {out}/: preset (model.keras, preprocessor, metadata.json), {SAVED_MODEL_DIR}/, "
        + ", ".join(p.name for p in plots)
    )


def _cmd_evaluate(args) -> None:
    import rnn_zoo

    preset = _load_preset(args)
    data = preset.load_data(data_dir=args.data_dir, seed=args.seed)
    metrics = rnn_zoo.evaluate(preset.model, args.name, data=data)
    from rnn_zoo.classical import classical_scores

    baseline, classical = data.baseline_scores(), classical_scores(data)
    rows = [(k, f"{v:.6g}", f"{baseline[k]:.6g}", f"{classical[k]:.6g}") for k, v in metrics.items()]
    print(_table(rows, ("metric", "model", f"baseline: {data.baseline_name}", f"classical: {classical['name']}")))


def _cmd_export(args) -> None:
    if args.format != "saved_model":
        print(f"exporting to {args.format}: converting, then checking the file in its own runtime ...", flush=True)
    out = _load_preset(args).export(args.out, format=args.format, overwrite=args.overwrite, data_dir=args.data_dir)
    if args.format == "saved_model":
        print(f"wrote {out}")
        return
    from rnn_zoo.outputs import EXPORT_MARKER

    check = json.loads((Path(out) / EXPORT_MARKER).read_text())["check"]
    print(
        f"wrote {out} (largest difference from the Keras model in {check['runtime']}: "
        f"{check['max_abs_difference']:.2g}, on {check['inputs']})"
    )


def _parse_inputs(preset, inputs: list[str]):
    """Command-line strings -> one human input each, in the form `preset.predict` takes."""
    import numpy as np

    spec = preset.input_spec
    if spec.dtype.name == "string":
        return list(inputs)
    if spec.dtype.name == "uint8":
        return [_read_image(path, tuple(spec.shape[1:])) for path in inputs]
    n = spec.shape[-1]
    parsed = []
    for text in inputs:
        try:
            values = [float(v) for v in text.replace(",", " ").split()]
        except ValueError:
            raise UsageError(f"expected {n} numbers separated by commas, got {text!r}") from None
        if len(values) != n:
            raise UsageError(f"expected {n} numbers separated by commas, got {len(values)} in {text[:40]!r}")
        parsed.append(np.array(values, dtype=np.float32))
    return parsed


def _read_image(path: str, shape: tuple):
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"no image file {path}")
    if p.suffix == ".npy":
        try:
            image = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise UsageError(f"{path} is not a readable .npy array ({e})") from None
    else:
        import tensorflow as tf

        try:
            image = tf.io.decode_image(p.read_bytes(), channels=1, expand_animations=False).numpy()[..., 0]
        except tf.errors.InvalidArgumentError:
            raise UsageError(f"{path} is not a PNG, JPEG, GIF or BMP image (or a .npy array)") from None
    if image.shape != shape:
        raise UsageError(f"{path}: image of shape {image.shape}; expected {shape} (grey, white digit on black)")
    if image.dtype != np.uint8:
        raise UsageError(f"{path}: pixels of type {image.dtype}; expected uint8 values 0-255")
    return image


def _cmd_predict(args) -> None:
    from rnn_zoo.errors import RnnZooError

    preset = _load_preset(args)
    for text, item in zip(args.inputs, _parse_inputs(preset, args.inputs)):
        try:
            out = preset.predict(item)
        except RnnZooError as e:
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise UsageError(f"{shown!r}: {e}") from None
        prediction = out["prediction"]
        if args.json:
            print(json.dumps({"input": text, **out}))
        elif "spam_probability" in out:
            print(f"{prediction}\t{out['spam_probability']:.4f}")
        elif isinstance(prediction, list):
            print(" ".join(f"{v:.6g}" for v in prediction))
        else:
            print(prediction if isinstance(prediction, (str, int)) else f"{prediction:.6g}")


def _cmd_make_presets(args) -> None:
    if not Path("README.md").is_file() and not args.no_readme:
        raise UsageError(
            "run `rnn-zoo make-presets` from the repository root (its README.md holds the presets "
            "table), or pass --no-readme"
        )
    from rnn_zoo.shipping import make_presets

    made = make_presets(
        args.tasks,
        data_dir=args.data_dir,
        readme=None if args.no_readme else Path("README.md"),
        log=lambda line: print(line, flush=True),
    )
    print(f"wrote {len(made)} preset(s): {', '.join(made)}")


def _cmd_speed(args) -> None:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise UsageError(
            "the speed benchmark compares with PyTorch, which is not installed: "
            "pip install torch==2.13.0 (a CPU build; benchmark only)"
        )
    if args.quick or args.seeds != "0,1,2":
        raise UsageError("--quick and --seeds are for the results benchmark; --speed seeds each repetition itself")
    if args.repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {args.repeats}")
    from rnn_zoo import backend
    from rnn_zoo.speed.benchmark import results_path, run_speed_benchmark

    out = args.out or results_path(backend.name())
    results = run_speed_benchmark(
        args.tasks,
        repeats=args.repeats,
        data_dir=args.data_dir,
        out=out,
        readme=None if args.no_readme else Path("README.md"),
        log=lambda line: print(line, flush=True),
    )
    slower = [row["task"] for row in results["training"] if not row["ratio_goal_met"]]
    print(
        f"wrote {out}: {len(results['training'])} task(s)"
        + (f"; slower than PyTorch: {', '.join(slower)}" if slower else "")
    )


def _cmd_latency(args) -> None:
    from rnn_zoo.standalone import require

    if args.speed or args.quick or args.seeds != "0,1,2":
        raise UsageError("--latency takes --tasks, --data-dir, --out and --no-readme only")
    require("onnx")
    require("litert")
    from rnn_zoo.speed.latency import run_latency_benchmark

    out = args.out or "results/latency.json"
    results = run_latency_benchmark(
        args.tasks,
        data_dir=args.data_dir,
        out=out,
        readme=None if args.no_readme else Path("README.md"),
        log=lambda line: print(line, flush=True),
    )
    print(f"wrote {out}: {len(results['rows'])} task(s)")


def _cmd_bench(args) -> None:
    if not args.no_readme and not Path("README.md").is_file():
        raise UsageError(
            "run `rnn-zoo bench` from the repository root (its README.md holds the table), or pass --no-readme"
        )
    if args.latency:
        return _cmd_latency(args)
    if args.speed:
        return _cmd_speed(args)
    from rnn_zoo.bench import run_benchmark

    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise UsageError(f"--seeds expects comma-separated integers, got {args.seeds!r}") from None
    from rnn_zoo import backend

    out = args.out or ("results/quick.json" if args.quick else "results/results.json")
    readme = None if args.no_readme else Path("README.md")
    if backend.name() != "tensorflow":  # the published results are TensorFlow's: another backend's go apart
        out = args.out or str(Path(out).with_name(f"{Path(out).stem}_{backend.name()}.json"))
        readme = None
    results = run_benchmark(
        args.tasks,
        seeds=seeds,
        quick=args.quick,
        data_dir=args.data_dir,
        out=out,
        readme=readme,
        log=lambda line: print(line, flush=True),
    )
    failed = [row["task"] for row in results["rows"] if row["goals"] and not row["goals_met"]]
    print(f"wrote {out}: {len(results['rows'])} task(s)" + (f"; goals missed: {', '.join(failed)}" if failed else ""))


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="rnn-zoo", description="Classic RNN tutorials as reproducible baselines.")
    parser.add_argument("--version", action="version", version=f"rnn-zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_args(p):
        p.add_argument("--data-dir", help="folder with the dataset (default: $RNN_ZOO_DATA, then the cache)")
        p.add_argument("--seed", type=int, default=0, help="seed of the data split and of training (default 0)")

    p = sub.add_parser("list", help="list the registered tasks")
    p.add_argument("pattern", nargs="?", help="fnmatch filter, e.g. 'stock_*'")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("info", help="show a task's spec and model")
    p.add_argument("name")
    p.set_defaults(func=_cmd_info)
    p = sub.add_parser("train", help="train a task; write it as a preset, with a SavedModel and plots")
    p.add_argument("name")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    data_args(p)
    p.add_argument("--out", help="output folder, a preset (default: saved_models/NAME)")
    p.add_argument("--checkpoint-dir", help="resume from / back up to this folder")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel over the processes that KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and "
        "_PROCESS_ID describe (KERAS_BACKEND=jax; run the same command on each); process 0 writes",
    )
    p.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        help="0 silent, 1 progress bar, 2 a line per epoch (default: 1 on a terminal, else 2)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace --out even if it is not an rnn_zoo output")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="model override, repeatable")
    p.set_defaults(func=_cmd_train)
    model_help = "preset folder (written by `rnn-zoo train --out`; default: the task's shipped preset)"
    p = sub.add_parser("evaluate", help="test metrics of a preset beside the naive baseline (needs the data)")
    p.add_argument("name")
    p.add_argument("--model", help=model_help)
    p.add_argument("--data-dir", help="folder with the dataset (default: $RNN_ZOO_DATA, then the cache)")
    p.add_argument("--seed", type=int, help="seed of the data split (default: the preset's own)")
    p.set_defaults(func=_cmd_evaluate)
    p = sub.add_parser(
        "export",
        help="export a preset as a SavedModel (human inputs), or an ONNX or LiteRT file "
        "(model inputs, with its preprocessing JSON)",
    )
    p.add_argument("name")
    p.add_argument("--model", help=model_help)
    p.add_argument(
        "--format",
        choices=("saved_model", "onnx", "litert"),
        default="saved_model",
        help='saved_model (default); onnx or litert need `pip install "rnn_zoo[export]"`',
    )
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument(
        "--data-dir",
        help="folder with the dataset whose test inputs check an onnx or litert file "
        "(default: $RNN_ZOO_DATA, then the cache; random inputs without it)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace --out even if it is not an rnn_zoo output")
    p.set_defaults(func=_cmd_export)
    p = sub.add_parser("predict", help="run a preset on human inputs")
    p.add_argument("name")
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="letters ('abcd'), a message, comma-separated numbers, or an image path",
    )
    p.add_argument("--model", help=model_help)
    p.add_argument("--json", action="store_true", help="print every output as JSON, one line per input")
    p.set_defaults(func=_cmd_predict)
    p = sub.add_parser("bench", help="train every task on its real data over seeds; write results and the README table")
    p.add_argument("--tasks", default="*", help="fnmatch pattern of tasks (default: all)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--quick", action="store_true", help="first seed only, at most 2 epochs; writes results/quick.json")
    p.add_argument(
        "--speed",
        action="store_true",
        help="time training against plain PyTorch, and the serving paths; writes results/speed.json (needs torch)",
    )
    p.add_argument(
        "--latency",
        action="store_true",
        help="batch-1 latency of every shipped preset as a SavedModel, in onnxruntime and in LiteRT; "
        "writes results/latency.json and the README table (needs rnn_zoo[export])",
    )
    p.add_argument("--repeats", type=int, default=5, help="--speed: interleaved repetitions per task (default 5)")
    p.add_argument("--data-dir", help="folder with the datasets (default: $RNN_ZOO_DATA, then the cache)")
    p.add_argument("--out", help="results file (default: results/results.json, or results/speed.json)")
    p.add_argument("--no-readme", action="store_true", help="do not rewrite the README's tables")
    p.set_defaults(func=_cmd_bench)
    p = sub.add_parser(
        "make-presets",
        help="train seed 0 of every task on its real data; rewrite the shipped presets and the README's presets table",
    )
    p.add_argument("--tasks", default="*", help="fnmatch pattern of tasks (default: all)")
    p.add_argument("--data-dir", help="folder with the datasets (default: $RNN_ZOO_DATA, then the cache)")
    p.add_argument("--no-readme", action="store_true", help="do not rewrite the README's presets table")
    p.set_defaults(func=_cmd_make_presets)
    return parser


def _import_tensorflow_quietly() -> None:
    """TensorFlow's C++ start-up lines (absl, oneDNN, CUDA probing) are written to file
    descriptor 2 before any Python setting can stop them: hide them while TensorFlow loads
    and looks for devices. Its own Python warnings (retracing notes) are kept to errors."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                import tensorflow as tf

                tf.get_logger().setLevel("ERROR")
                tf.config.list_physical_devices()
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


# A negative number ("-1000,998.5,...", "-inf") on the predict command line is an input, not an option.
_NEGATIVE = re.compile(r"^-(\.?\d|inf|nan)", re.I)


def _parse(argv: list[str]) -> argparse.Namespace:
    hidden = {f"\0{i}": a for i, a in enumerate(argv) if _NEGATIVE.match(a)} if argv[:1] == ["predict"] else {}
    shown = {v: k for k, v in hidden.items()}
    args = _parser().parse_args([shown.get(a, a) for a in argv])
    for key, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, key, hidden.get(value, value))
        elif isinstance(value, list):
            setattr(args, key, [hidden.get(v, v) if isinstance(v, str) else v for v in value])
    return args


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 2 a user mistake (one line on stderr), 1 anything else (a short
    message; RNN_ZOO_DEBUG=1 shows the traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)
    from .errors import ExportCheckError, RnnZooError, TrainingDivergedError

    warnings.filterwarnings("ignore", module=r"keras(\.|$)")  # Keras's advice is for its own API users
    try:
        if args.command == "export" and args.format != "saved_model":
            from .standalone import require

            require(args.format)  # a missing extra is named before TensorFlow takes seconds to load
        if args.command != "list":
            _import_tensorflow_quietly()
        args.func(args)
    except (TrainingDivergedError, ExportCheckError) as e:
        print(f"rnn-zoo: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except (UsageError, RnnZooError, FileExistsError) as e:
        print(f"rnn-zoo: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # a folder that cannot be written, a path that is a file, ...
        print(f"rnn-zoo: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnn-zoo: stopped; nothing half-written was left behind", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("RNN_ZOO_DEBUG"):
            raise
        message = _one_line(e)[:300]
        print(
            f"rnn-zoo: internal error: {type(e).__name__}: {message} (RNN_ZOO_DEBUG=1 shows the traceback; "
            "please report it)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
