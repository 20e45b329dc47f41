"""The `rnn-zoo` command line. User mistakes print one line on stderr and exit with 2."""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
from pathlib import Path

# Before TensorFlow is first imported (`import rnn_zoo` does not import it): keep its
# start-up chatter (CPU features, no CUDA driver) out of the command's output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class UsageError(Exception):
    """A mistake on the command line."""


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

    rows = []
    for name in rnn_zoo.list_tasks(args.pattern):
        spec = rnn_zoo.get_task(name)
        rows.append((name, spec.family, spec.model.cell, f"{rnn_zoo.build(name, compile=False).count_params():,}",
                     spec.data_source))
    print(_table(rows, ("name", "family", "cell", "parameters", "data")))


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


def _load_keras_model(path: str):
    import keras

    p = Path(path)
    if p.is_dir():
        p = p / "model.keras"
    if not p.is_file():
        raise UsageError(f"no Keras model at {path} (expected a .keras file or a folder holding model.keras)")
    return keras.saving.load_model(p, safe_mode=True)


def _cmd_train(args) -> None:
    import rnn_zoo
    from rnn_zoo.saved_model import atomic_directory, write_saved_model
    from rnn_zoo.plots import plot_results
    from rnn_zoo.training import predict_test

    result = rnn_zoo.train(
        args.name, epochs=args.epochs, batch_size=args.batch_size, data_dir=args.data_dir,
        seed=args.seed, verbose=args.verbose, checkpoint_dir=args.checkpoint_dir, **_parse_set(args.set),
    )
    print(result.summary())
    out = Path(args.out or Path("saved_models") / args.name)
    with atomic_directory(out) as staging:
        predictions = predict_test(result.model, result.data)
        write_saved_model(result.model, staging, result.data, stateful=rnn_zoo.get_task(args.name).model.stateful)
        result.model.save(staging / "model.keras")
        (staging / "metrics.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
        plots = plot_results(args.name, result.data, predictions, result.history, staging)
    print(f"wrote {out}/: SavedModel, model.keras, metrics.json, " + ", ".join(p.name for p in plots))


def _cmd_evaluate(args) -> None:
    import rnn_zoo

    model = _load_keras_model(args.model or str(Path("saved_models") / args.name))
    data = rnn_zoo.load_task_data(args.name, data_dir=args.data_dir, seed=args.seed)
    metrics = rnn_zoo.evaluate(model, args.name, data=data)
    baseline = data.baseline_scores()
    rows = [(k, f"{v:.6g}", f"{baseline[k]:.6g}") for k, v in metrics.items()]
    print(_table(rows, ("metric", "model", f"baseline: {data.baseline_name}")))


def _cmd_export(args) -> None:
    import rnn_zoo

    model = _load_keras_model(args.model)
    out = rnn_zoo.export(model, args.out, task=args.name, data_dir=args.data_dir, seed=args.seed)
    print(f"wrote {out}")


def _parse_inputs(spec, inputs: list[str]):
    """Command-line strings -> a batch matching the `serve` input signature."""
    import numpy as np

    if spec.dtype.name == "string":
        return [np.array([text]) for text in inputs]
    if spec.dtype.name == "uint8":
        return [_read_image(path, tuple(spec.shape[1:]))[None] for path in inputs]
    n = spec.shape[-1]
    batches = []
    for text in inputs:
        try:
            values = [float(v) for v in text.replace(",", " ").split()]
        except ValueError:
            raise UsageError(f"expected {n} numbers separated by commas, got {text!r}") from None
        if len(values) != n:
            raise UsageError(f"expected {n} numbers separated by commas, got {len(values)} in {text[:40]!r}")
        batches.append(np.array([values], dtype=np.float32))
    return batches


def _read_image(path: str, shape: tuple):
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"no image file {path}")
    if p.suffix == ".npy":
        image = np.load(p)
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
    import numpy as np
    import tensorflow as tf

    import rnn_zoo

    rnn_zoo.get_task(args.name)  # an unknown name fails here, with suggestions
    folder = Path(args.model or Path("saved_models") / args.name)
    if not (folder / "saved_model.pb").is_file():
        raise UsageError(f"no SavedModel at {folder}: run `rnn-zoo train {args.name}` first, or pass --model")
    serve = tf.saved_model.load(str(folder)).signatures["serve"]
    (key, spec), = serve.structured_input_signature[1].items()
    for text, batch in zip(args.inputs, _parse_inputs(spec, args.inputs)):
        try:
            out = {k: v.numpy() for k, v in serve(**{key: tf.constant(batch)}).items()}
        except tf.errors.InvalidArgumentError as e:
            # The serving graph's input checks fail with "assertion failed: [what was expected]".
            found = re.search(r"assertion failed: \[(.*?)\]", e.message)
            raise UsageError(f"{text!r}: {found.group(1) if found else e.message.splitlines()[0]}") from None
        prediction = out["prediction"][0]
        prediction = prediction.decode() if isinstance(prediction, bytes) else prediction
        if args.json:
            print(json.dumps({"input": text, **{k: np.asarray(v[0]).tolist() for k, v in out.items()}},
                             default=lambda b: b.decode()))
        elif "spam_probability" in out:
            print(f"{prediction}\t{out['spam_probability'][0]:.4f}")
        elif np.ndim(prediction):
            print(" ".join(f"{v:.6g}" for v in prediction))
        else:
            print(prediction if isinstance(prediction, (str, np.integer)) else f"{prediction:.6g}")


def _cmd_speed(args) -> None:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise UsageError("the speed benchmark compares with PyTorch, which is not installed: "
                         "pip install torch==2.13.0 (a CPU build; benchmark only)")
    if args.quick or args.seeds != "0,1,2":
        raise UsageError("--quick and --seeds are for the results benchmark; --speed seeds each repetition itself")
    if args.repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {args.repeats}")
    from rnn_zoo.speed.benchmark import run_speed_benchmark

    out = args.out or "results/speed.json"
    results = run_speed_benchmark(args.tasks, repeats=args.repeats, data_dir=args.data_dir, out=out,
                                  readme=None if args.no_readme else Path("README.md"),
                                  log=lambda line: print(line, flush=True))
    slower = [row["task"] for row in results["training"] if not row["ratio_goal_met"]]
    print(f"wrote {out}: {len(results['training'])} task(s)"
          + (f"; slower than PyTorch: {', '.join(slower)}" if slower else ""))


def _cmd_bench(args) -> None:
    if not args.no_readme and not Path("README.md").is_file():
        raise UsageError("run `rnn-zoo bench` from the repository root (its README.md holds the table), or pass --no-readme")
    if args.speed:
        return _cmd_speed(args)
    from rnn_zoo.bench import run_benchmark

    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        raise UsageError(f"--seeds expects comma-separated integers, got {args.seeds!r}") from None
    out = args.out or ("results/quick.json" if args.quick else "results/results.json")
    readme = Path("README.md")
    results = run_benchmark(args.tasks, seeds=seeds, quick=args.quick, data_dir=args.data_dir, out=out,
                            readme=None if args.no_readme else readme,
                            log=lambda line: print(line, flush=True))
    failed = [row["task"] for row in results["rows"] if row["goals"] and not row["goals_met"]]
    print(f"wrote {out}: {len(results['rows'])} task(s)" + (f"; goals missed: {', '.join(failed)}" if failed else ""))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnn-zoo", description="Classic RNN tutorials as reproducible baselines.")
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
    p = sub.add_parser("train", help="train a task; write its export, model.keras, metrics.json and plots")
    p.add_argument("name")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    data_args(p)
    p.add_argument("--out", help="output folder (default: saved_models/NAME)")
    p.add_argument("--checkpoint-dir", help="resume from / back up to this folder")
    p.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="0 silent, 1 progress bar, 2 a line per epoch")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="model override, repeatable")
    p.set_defaults(func=_cmd_train)
    p = sub.add_parser("evaluate", help="test metrics of a trained model beside the naive baseline")
    p.add_argument("name")
    p.add_argument("--model", help=".keras file or train output folder (default: saved_models/NAME)")
    data_args(p)
    p.set_defaults(func=_cmd_evaluate)
    p = sub.add_parser("export", help="export a .keras model as a SavedModel with a human-input signature")
    p.add_argument("name")
    p.add_argument("--model", required=True, help=".keras file or train output folder")
    p.add_argument("--out", required=True, help="SavedModel folder to write")
    data_args(p)
    p.set_defaults(func=_cmd_export)
    p = sub.add_parser("predict", help="run an exported model on human inputs")
    p.add_argument("name")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="letters ('abcd'), a message, comma-separated numbers, or an image path")
    p.add_argument("--model", help="SavedModel folder (default: saved_models/NAME)")
    p.add_argument("--json", action="store_true", help="print every output as JSON, one line per input")
    p.set_defaults(func=_cmd_predict)
    p = sub.add_parser("bench", help="train every task on its real data over seeds; write results and the README table")
    p.add_argument("--tasks", default="*", help="fnmatch pattern of tasks (default: all)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--quick", action="store_true", help="first seed only, at most 2 epochs; writes results/quick.json")
    p.add_argument("--speed", action="store_true",
                   help="time training against plain PyTorch, and the serving paths; writes results/speed.json "
                        "(needs torch)")
    p.add_argument("--repeats", type=int, default=5, help="--speed: interleaved repetitions per task (default 5)")
    p.add_argument("--data-dir", help="folder with the datasets (default: $RNN_ZOO_DATA, then the cache)")
    p.add_argument("--out", help="results file (default: results/results.json, or results/speed.json)")
    p.add_argument("--no-readme", action="store_true", help="do not rewrite the README's tables")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .errors import RnnZooError

    try:
        args.func(args)
    except (UsageError, RnnZooError, FileExistsError) as e:
        print(f"rnn-zoo: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
