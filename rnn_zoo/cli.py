"""The `rnn-zoo` command line. A user mistake prints one line on stderr and exits with 2; a run
that diverges, or any other failure, prints a short message and exits with 1."""

from __future__ import annotations

import argparse
import ast
import contextlib
import inspect
import json
import os
import re
import sys
import warnings
from pathlib import Path

from . import (
    backend,
    tasks,  # noqa: F401  (registers every task)
)
from ._version import __version__
from .classical import classical_scores
from .data.loading import check_positive, check_seed, data_class
from .distributed import DEFAULT_TIMEOUT_S, env_process_id
from .errors import ExportCheckError, RnnZooError, TrainingDivergedError, UnknownTaskError, one_line
from .exporting import EXPORT_FORMATS, SAVED_MODEL, export, write_export
from .intervals import DEFAULT_LEVEL, check_level
from .metrics import fmt_number
from .outputs import EXPORT_MARKER, atomic_directory, check_destination, claim
from .plots import plot_results
from .preset_files import write_preset
from .provenance import DATA_FLAGS, TRAIN_FLAGS, who_wins
from .registry import get_task, list_tasks
from .shipped import (
    MODEL_CARD_FILE,
    LosesToBaselineWarning,
    baseline_flag,
    baseline_margin,
    card_summary,
    shipped_metadata,
    shipped_path,
    shipped_preprocessor,
)
from .standalone import FORMATS, require
from .tasks.stock import DEFAULT_TEST_ROWS

# models, training and presets import Keras (and with it TensorFlow): they are imported in the
# commands that use them, so that `rnn-zoo list`, `--help` and a mistyped command answer at once.

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
    names = list_tasks(args.pattern)
    if not names:
        raise UnknownTaskError(f"no task matches {args.pattern!r}; `rnn-zoo list` shows them all")
    rows, flags = [], []
    for name in names:
        spec = get_task(name)
        meta = shipped_metadata(name)
        if meta is not None:  # the preset knows its size: no need to build (and import Keras)
            metric = meta["headline_metric"]
            params = f"{meta['parameters']:,}"
            preset = f"{metric} {fmt_number(meta['metrics'][metric])}"
            baseline = fmt_number(meta["baseline"][metric])
            flag = baseline_flag(meta)
            flags += [flag] if flag else []
            mark = "loses !" if flag else "beats" if baseline_margin(meta) > 0 else "ties"
        else:
            params, preset, baseline, mark = _built_parameters(name), "none", "-", ""
        rows.append((name, spec.family, spec.model.cell, params, preset, baseline, mark, spec.data_source))
    print(_table(rows, ("name", "family", "cell", "parameters", "preset (test)", "baseline", "vs baseline", "data")))
    if flags:
        print("\n" + "\n".join(f"! {flag}" for flag in flags))


def _built_parameters(name: str) -> str:
    """The parameter count of task `name`'s model, built (Keras): for a task that ships no preset."""
    from .models import build

    try:
        return f"{build(name, compile=False).count_params():,}"
    except RnnZooError:  # sized by its data, and no preset to take the size from
        return "?"


def _cmd_info(args) -> None:
    from .models import OVERRIDES, build

    spec = get_task(args.name)
    model = build(args.name)
    print(f"{spec.name}: {spec.description}")
    print(f"  family:    {spec.family}\n  recipe:    {spec.recipe}\n  data:      {spec.data_source}")
    print(f"  input:     {spec.input_shape} {spec.input_dtype}\n  target:    {spec.target}")
    preprocessor = shipped_preprocessor(args.name)
    if preprocessor is not None:
        print(f"  predict:   {preprocessor.input_description} (rnn-zoo predict {args.name} INPUT)")
    _print_card(args.name)
    t = spec.train
    print(f"  training:  {t.optimizer} lr {t.learning_rate}, loss {t.loss}, {t.epochs} epochs, batch {t.batch_size}")
    print(f"  overrides: {', '.join(OVERRIDES)} (--set KEY=VALUE)")
    model.summary(print_fn=lambda line, *a, **k: print("  " + line))


def _print_card(name: str) -> None:
    """The shipped preset's standing: its model card's summary (metric beside the baseline's,
    who wins against the classical model, the flag)."""
    summary = card_summary(name)  # every shipped preset has its card (the tests check it)
    if summary is None:
        return
    print(f"  card:      {shipped_path(name) / MODEL_CARD_FILE}")
    for line in summary:
        print(f"    {line}")


def _load_preset(args):
    """The preset folder given by --model, else the task's shipped one; of task args.name only."""
    from .presets import load_preset

    get_task(args.name)  # an unknown name fails here, with suggestions
    with warnings.catch_warnings():  # `list` and `info` flag a preset that loses to its baseline
        warnings.simplefilter("ignore", LosesToBaselineWarning)
        if args.model is None:
            return load_preset(args.name)
        return load_preset(Path(args.model), task=args.name)


def _cmd_train(args) -> None:
    get_task(args.name)  # an unknown name fails here, with suggestions
    _checked_set(args)
    args.data_options = _data_options(args)
    out = Path(args.out or Path("saved_models") / args.name)
    # In a distributed run process 0 writes; the others (maybe on machines of their own) only train.
    writes = not args.distributed or env_process_id() == 0
    # The folder is claimed from before training to its rename: another writer to it is refused.
    with claim(out) if writes else contextlib.nullcontext():
        if writes:
            check_destination(out, kind="preset", overwrite=args.overwrite)  # before training, not after
        _train_and_write(args, out)


def _train_and_write(args, out: Path) -> None:
    from .training import train

    # Piped to a file, a progress bar is a stream of control characters: one line per epoch.
    verbose = args.verbose if args.verbose is not None else (1 if sys.stdout.isatty() else 2)
    result = train(
        args.name,
        epochs=args.epochs,
        batch_size=args.batch_size,
        data_dir=args.data_dir,
        seed=args.seed,
        verbose=verbose,
        checkpoint_dir=args.checkpoint_dir,
        distributed=args.distributed,
        distributed_timeout=args.distributed_timeout,
        allow_modified_data=args.allow_modified_data,
        **({"data_options": args.data_options} if args.data_options else {}),
        **({"from_preset": args.from_preset} if args.from_preset is not None else {}),
        **_parse_set(args.set),
    )
    # The classical model is fitted now, on the same training split (up to a minute on MNIST).
    print("fitting the classical model on the training split, to compare ...", flush=True)
    print(result.summary())
    if not result.writes:
        print(f"process {result.cluster.process_id} of {result.cluster.num_processes}: process 0 writes {out}/")
        return
    plots = _write_train_output(result, out, overwrite=args.overwrite)
    print(
        f"wrote {out}/: preset (model.keras, preprocessor, metadata.json), {SAVED_MODEL_DIR}/, "
        + ", ".join(p.name for p in plots)
    )


def _write_train_output(result, out: Path, *, overwrite: bool) -> list[Path]:
    """`out` written whole: the run's preset, its SavedModel and its figures; returns the figures."""
    from .training import predict_test

    with atomic_directory(out, kind="preset", overwrite=overwrite) as staging:
        predictions = predict_test(result.model, result.data)
        write_preset(staging, result.model, result.preprocessor, result.metadata())
        saved_model = staging / SAVED_MODEL_DIR
        saved_model.mkdir()
        details = {"keras_backend": backend.name()}
        write_export(
            SAVED_MODEL,
            result.model,
            saved_model,
            result.preprocessor,
            task=result.task,
            x_test=None,
            details=details,
        )
        return plot_results(result.task, result.data, predictions, result.history, staging)


def _cmd_evaluate(args) -> None:
    from .training import evaluate

    options = _data_options(args)
    preset = _load_preset(args)
    _check_file_given(preset.metadata, options)
    data = preset.load_data(
        data_dir=args.data_dir, seed=args.seed, allow_modified_data=args.allow_modified_data, **options
    )
    metrics = evaluate(preset.model, args.name, data=data)
    baseline, classical = data.baseline_scores(), classical_scores(data)
    rows = [(k, f"{v:.6g}", f"{baseline[k]:.6g}", f"{classical[k]:.6g}") for k, v in metrics.items()]
    print(_table(rows, ("metric", "model", f"baseline: {data.baseline_name}", f"classical: {classical['name']}")))
    verdict = who_wins(args.name, metrics, baseline, classical)
    if verdict:
        print(verdict)


def _check_file_given(metadata: dict, options: dict) -> None:
    """A preset trained on a file of the user's own is scored on a file given again (its
    metadata names the file, never a path to open): refused up front without --csv."""
    recorded = metadata.get("data_options", {})
    if isinstance(recorded, dict) and recorded.get("csv_path") and "csv_path" not in options:
        raise UsageError(
            f"this preset was trained on {recorded['csv_path']!r}, a file of the user's own: give it with "
            f"{DATA_FLAGS['csv_path']} FILE (a preset's metadata names the file, never a path to open)"
        )


def _loader_takes(name: str):
    """The options task `name`'s loader takes (whether a data flag applies to it)."""
    return inspect.signature(get_task(name).loader).parameters


def _columns(options: dict) -> dict:
    """The column options (`price_column`, `text_column`, ...) among data options."""
    return {key: value for key, value in options.items() if key.endswith("_column")}


def _data_options(args) -> dict:
    """The data options the command's data flags give (--csv, its columns, --test-rows), each
    checked against the task before anything is read: a flag of another family, or a
    column without the file, is one line."""
    given = {key: getattr(args, key) for key in DATA_FLAGS if getattr(args, key, None) is not None}
    takes = _loader_takes(args.name)
    for key in given:
        if key not in takes:
            raise UsageError(f"{DATA_FLAGS[key]} applies to {_tasks_taking(key)}, not to {args.name}")
    column = next(iter(_columns(given)), None)
    if column is not None and "csv_path" not in given:
        raise UsageError(
            f"{DATA_FLAGS[column]} names a column of the file given by {DATA_FLAGS['csv_path']}: give the file too"
        )
    for key in set(COUNT_FLAGS) & set(given):
        check_positive(DATA_FLAGS[key], given[key], error=UsageError)
    return given


def _tasks_taking(option: str) -> str:
    """Which tasks a data option applies to, in words: "the stock tasks", "the sms and stock tasks"."""
    families = sorted({get_task(n).family for n in list_tasks() if option in _loader_takes(n)})
    return f"the {' and '.join(families)} tasks" if families else "no task"


def _checked_set(args) -> None:
    """`--set` gives model overrides; a data option given there is refused, naming its flag."""
    takes = _loader_takes(args.name)
    for key in _parse_set(args.set):
        if key in DATA_FLAGS:
            raise UsageError(f"{key} is a data option, not a model override: give it as {DATA_FLAGS[key]}, not --set")
        if key in takes and key not in ("data_dir", "seed", "preprocessor"):
            raise UsageError(
                f"{key} is a data option of {args.name}, not a model override; the command line does not set it: "
                f"use rnn_zoo.train({args.name!r}, data_options={{{key!r}: ...}})"
            )


def _cmd_export(args) -> None:
    if args.format != SAVED_MODEL:
        print(f"exporting to {args.format}: converting, then checking the file in its own runtime ...", flush=True)
    out = export(_load_preset(args), args.out, format=args.format, overwrite=args.overwrite, data_dir=args.data_dir)
    if args.format == SAVED_MODEL:
        print(f"wrote {out}")
        return
    check = json.loads((Path(out) / EXPORT_MARKER).read_text())["check"]
    print(
        f"wrote {out} (largest difference from the Keras model in {check['runtime']}: "
        f"{check['max_abs_difference']:.2g}, on {check['inputs']})"
    )


def _cmd_predict(args) -> None:
    """Each input as the task's family reads it from the command line, and each output as
    it writes one (hooks of its preprocessor); a series task's --csv: the day after its last row."""
    options = _data_options(args)
    level = _checked_level(args)
    if bool(args.inputs) == ("csv_path" in options):
        raise UsageError("give the inputs, or --csv FILE (a series: the day after its last row), one of the two")
    if options and not data_class(args.name).supports_backtest:
        raise UsageError(f"predict --csv applies to the series tasks (the stock tasks), not to {args.name}")
    preset = _load_preset(args)
    if options:
        _predict_next_day(args, preset, options, level)
        return
    shape = tuple(preset.input_spec.shape[1:])
    parse = preset.preprocessor.parse_input
    if args.raw and "raw" not in inspect.signature(parse).parameters:
        raise UsageError(f"--raw applies to image inputs (the mnist tasks), not to {args.name}'s")
    parse_options = {"raw": True} if args.raw else {}
    items = [parse(text, shape, **parse_options) for text in args.inputs]  # all read before any answer
    for text, item in zip(args.inputs, items):
        if isinstance(item, str):
            _check_utf8(text)
    for text, item in zip(args.inputs, items):
        try:
            out = preset.predict(item, **level)
        except RnnZooError as e:
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise UsageError(f"{shown!r}: {e}") from None
        print(json.dumps({"input": text, **out}) if args.json else preset.preprocessor.format_output(out))


def _checked_level(args) -> dict:
    """{"level": --level} once it is a level a series task's interval takes; {} without it."""
    if args.level is None:
        return {}
    if not getattr(data_class(args.name), "calibrates", False):
        raise UsageError(f"--level applies to the series tasks (the stock tasks' intervals), not to {args.name}")
    return {"level": check_level(args.level)}


def _predict_next_day(args, preset, options: dict, level: dict) -> None:
    """The forecast of the day after the last row of --csv, from its last window."""
    from .tasks.stock import last_window

    recorded = preset.metadata.get("data_options", {})
    columns = {**(_columns(recorded) if isinstance(recorded, dict) else {}), **_columns(options)}
    day, prices = last_window(options["csv_path"], preset.preprocessor.window, **columns)
    try:
        out = preset.predict(prices, **level)
    except RnnZooError as e:
        raise UsageError(f"{options['csv_path']}: its last {len(prices)} prices: {e}") from None
    name = Path(options["csv_path"]).name
    if args.json:
        print(json.dumps({"input": name, "last_day": day, **out}))
    else:
        print(f"the day after {day} (the last row of {name}): {preset.preprocessor.format_output(out)}")


def _cmd_backtest(args) -> None:
    """Walk-forward folds of a series task on its data or --csv, with progress per fold; the
    table, then backtest.json and backtest.png written whole to --out."""
    options = _data_options(args)
    spec = get_task(args.name)
    if not data_class(args.name).supports_backtest:
        raise UsageError(
            f"backtest applies to the series tasks (the stock tasks), not to {args.name}, a {spec.family} task"
        )
    from .backtest import FOLDS, FORECAST_DAYS

    args.folds = FOLDS if args.folds is None else args.folds
    args.days = FORECAST_DAYS if args.days is None else args.days
    for flag, value in (("--folds", args.folds), ("--days", args.days)):
        check_positive(flag, value, error=UsageError)
    check_positive("--epochs", args.epochs, optional=True, error=UsageError)
    check_seed(args.seed)
    level = check_level(args.level)
    out = Path(args.out or Path("backtests") / args.name)
    with claim(out):
        check_destination(out, kind=BACKTEST_KIND, overwrite=args.overwrite)  # before training, not after
        _backtest_and_write(args, options, level, out)


def _backtest_and_write(args, options: dict, level: float, out: Path) -> None:
    from .backtest import backtest_table, walk_forward, write_backtest

    def log(line: str) -> None:
        print(line, flush=True)

    result = walk_forward(
        args.name,
        folds=args.folds,
        forecast_days=args.days,
        seed=args.seed,
        epochs=args.epochs,
        data_dir=args.data_dir,
        log=log,
        data_options=options or None,
        level=level,
    )
    print(backtest_table(result))
    written = write_backtest(result, out, overwrite=args.overwrite)
    print(f"wrote {out}/: " + ", ".join(Path(p).name for p in written))


def _check_utf8(text: str) -> None:
    """A text input that is not UTF-8 (bytes the shell passed undecoded) is refused in one line."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        shown = raw if len(raw) <= 40 else raw[:37] + b"..."
        raise UsageError(f"input {shown!r} is not valid UTF-8 text; give it as UTF-8") from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnn-zoo", description="Classic RNN tutorials as reproducible baselines.")
    parser.add_argument("--version", action="version", version=f"rnn-zoo {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("list", help="list the registered tasks")
    p.add_argument("pattern", nargs="?", help="fnmatch filter, e.g. 'stock_*'")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("info", help="show a task's spec and model")
    p.add_argument("name")
    p.set_defaults(func=_cmd_info)
    _add_train(sub)
    _add_evaluate(sub)
    _add_export(sub)
    _add_predict(sub)
    _add_backtest(sub)
    return parser


DATA_DIR_HELP = "folder with the dataset (default: $RNN_ZOO_DATA, then the cache)"
MODEL_HELP = "preset folder (written by `rnn-zoo train --out`; default: the task's shipped preset)"
OVERWRITE_HELP = "replace --out even if it is not an rnn_zoo output"
# The data flags each command takes (DATA_FLAGS gives their names), and what each says.
COMMAND_DATA = {
    "train": ("csv_path", "date_column", "price_column", "test_rows", "text_column", "label_column", "min_count"),
    "evaluate": ("csv_path", "date_column", "price_column", "text_column", "label_column"),
    "predict": ("csv_path", "date_column", "price_column"),
    "backtest": ("csv_path", "date_column", "price_column"),
}
# "{preset}" is "the preset's own, else " where the command loads a preset (evaluate, predict).
DATA_HELP = {
    "csv_path": (
        "FILE",
        "a file of your own instead of the task's data: stock, a daily CSV with a date and a price column; "
        "sms, a CSV or TSV with a text and a label column",
    ),
    "date_column": (
        "NAME",
        "stock: the date column of --csv (default: {preset}date, trade_date, datetime, timestamp or time; "
        "a time-zone offset after a time is dropped, keeping each row's local date)",
    ),
    "price_column": ("NAME", "stock: the price column of --csv, the one forecast (default: {preset}open)"),
    "test_rows": (
        "N",
        f"stock: the last N rows are the test rows (default {DEFAULT_TEST_ROWS}); they must outnumber the window",
    ),
    "text_column": ("NAME", "sms: the text column of --csv"),
    "label_column": ("NAME", "sms: the label column of --csv"),
    "min_count": ("N", "sms: a word enters the vocabulary if seen N times in the training texts (default: the task's)"),
}
# The data flags that take a whole number >= 1.
COUNT_FLAGS = ("test_rows", "min_count")
# What `backtest --out` holds, for the check that it may be replaced.
BACKTEST_KIND = "backtest"


# A series-only command's --csv (predict, backtest): a price file.
SERIES_CSV_HELP = "a daily price CSV of your own instead of the task's data, with a date and a price column"


def _add_data_flags(p, command: str) -> None:
    group = p.add_argument_group("your own data")
    for key in COMMAND_DATA[command]:
        metavar, text = DATA_HELP[key]
        if key == "csv_path" and "text_column" not in COMMAND_DATA[command]:
            text = SERIES_CSV_HELP
        text = text.replace("{preset}", "the preset's own, else " if command in ("evaluate", "predict") else "")
        group.add_argument(
            DATA_FLAGS[key], dest=key, metavar=metavar, type=int if key in COUNT_FLAGS else str, help=text
        )


LEVEL_HELP = f"the prediction interval's level, between 0 and 1 (default {DEFAULT_LEVEL:g}: {100 * DEFAULT_LEVEL:g}%%)"
# The backtest's defaults (rnn_zoo.backtest.FOLDS and FORECAST_DAYS; that module imports Keras,
# so they are read when the command runs: tests/test_cli.py checks these words against them).
BACKTEST_DEFAULTS = {"folds": 4, "days": 240}
ALLOW_MODIFIED_HELP = (
    "use a copy of a published dataset (SMS, MNIST) whose sha256 is not the published one, "
    "or (evaluate) data that is not the one the preset records"
)


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a task; write it as a preset, with a SavedModel and plots")
    p.add_argument("name")
    p.add_argument(TRAIN_FLAGS["epochs"], type=int)
    p.add_argument(TRAIN_FLAGS["batch_size"], type=int)
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument(TRAIN_FLAGS["seed"], type=int, default=0, help="seed of the data split and of training (default 0)")
    p.add_argument("--out", help="output folder, a preset (default: saved_models/NAME)")
    p.add_argument("--checkpoint-dir", help="resume from / back up to this folder")
    p.add_argument(
        TRAIN_FLAGS["distributed"],
        action="store_true",
        help="data-parallel over the processes that KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES and "
        "_PROCESS_ID describe (KERAS_BACKEND=jax; run the same command on each); process 0 writes",
    )
    p.add_argument(
        "--distributed-timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"with --distributed: how long to wait for every process to arrive (default {DEFAULT_TIMEOUT_S:g})",
    )
    p.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        help="0 silent, 1 progress bar, 2 a line per epoch (default: 1 on a terminal, else 2)",
    )
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.add_argument(TRAIN_FLAGS["allow_modified_data"], action="store_true", help=ALLOW_MODIFIED_HELP)
    help_set = "model override, repeatable (`rnn-zoo info NAME` lists them)"
    p.add_argument(TRAIN_FLAGS["overrides"], action="append", default=[], metavar="KEY=VALUE", help=help_set)
    p.add_argument(
        TRAIN_FLAGS["from_preset"],
        metavar="NAME_OR_DIR",
        help="start from this preset's weights and preprocessing (a shipped preset's name, or a folder "
        "written by train) instead of from scratch",
    )
    _add_data_flags(p, "train")
    p.set_defaults(func=_cmd_train)


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="test metrics of a preset beside the naive baseline (needs the data)")
    p.add_argument("name")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument(
        "--seed",
        type=int,
        help="seed of the data (default: the preset's own; another is refused where the split depends on it)",
    )
    p.add_argument(TRAIN_FLAGS["allow_modified_data"], action="store_true", help=ALLOW_MODIFIED_HELP)
    _add_data_flags(p, "evaluate")
    p.set_defaults(func=_cmd_evaluate)


def _add_export(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a preset as a SavedModel (human inputs), or an ONNX or LiteRT file "
        "(model inputs, with its preprocessing JSON)",
    )
    p.add_argument("name")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default=EXPORT_FORMATS[0],
        help=f'{EXPORT_FORMATS[0]} (default); {" or ".join(FORMATS)} need `pip install ".[export]"`',
    )
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument(
        "--data-dir",
        help=f"folder with the dataset whose test inputs check an {' or '.join(FORMATS)} file "
        "(default: $RNN_ZOO_DATA, then the cache; random inputs without it)",
    )
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.set_defaults(func=_cmd_export)


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="run a preset on human inputs, or forecast the day after a CSV's last row")
    p.add_argument("name")
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="letters ('abcd'), a message, comma-separated numbers, or an image path: what the task takes "
        "(`rnn-zoo info NAME` says); none with --csv",
    )
    p.add_argument("--level", type=float, help=LEVEL_HELP)
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--json", action="store_true", help="print every output as JSON, one line per input")
    p.add_argument(
        "--raw",
        action="store_true",
        help="images: take a 28x28 grey image as it is (white digit on black), without MNIST's preprocessing",
    )
    _add_data_flags(p, "predict")
    p.set_defaults(func=_cmd_predict)


def _add_backtest(sub) -> None:
    p = sub.add_parser(
        "backtest",
        help="walk-forward folds of a series task: each retrained on the rows before it, beside naive, drift "
        "and the classical model; writes backtest.json and backtest.png",
    )
    p.add_argument("name")
    folds, days = BACKTEST_DEFAULTS["folds"], BACKTEST_DEFAULTS["days"]
    p.add_argument("--folds", type=int, help=f"forecast folds, the last ending at the file's end (default {folds})")
    p.add_argument("--days", type=int, help=f"forecast days per fold (default {days})")
    p.add_argument("--level", type=float, default=DEFAULT_LEVEL, help=LEVEL_HELP)
    p.add_argument(TRAIN_FLAGS["epochs"], type=int, help="epochs per fold (default: the task's)")
    p.add_argument(TRAIN_FLAGS["seed"], type=int, default=0, help="seed of every fold's training (default 0)")
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--out", help="folder for backtest.json and backtest.png (default: backtests/NAME)")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    _add_data_flags(p, "backtest")
    p.set_defaults(func=_cmd_backtest)


# A negative number ("-1000,998.5,...", "-inf") on the predict command line is an input, not an
# option; after an option that takes a value (--level -0.5) it is that value, as argparse reads it.
_NEGATIVE = re.compile(r"^-(\.?\d|inf|nan)", re.I)
_PREDICT_SWITCHES = ("--json", "--raw", "-h", "--help")


def _an_input(argv: list[str], i: int) -> bool:
    before = argv[i - 1]
    return _NEGATIVE.match(argv[i]) is not None and (
        not before.startswith("-") or before in _PREDICT_SWITCHES or _NEGATIVE.match(before) is not None
    )


def _parse(argv: list[str]) -> argparse.Namespace:
    hidden = {f"\0{i}": argv[i] for i in range(1, len(argv)) if _an_input(argv, i)} if argv[:1] == ["predict"] else {}
    shown = {v: k for k, v in hidden.items()}
    parser = _parser()
    args, extra = parser.parse_known_args([shown.get(a, a) for a in argv])
    # predict's inputs may follow its options (`predict NAME --model DIR abcd`): argparse takes
    # the positionals once, before the options, so the rest are inputs too; anything else is a mistake.
    if extra and argv[:1] == ["predict"] and not any(a.startswith("-") for a in extra):
        args.inputs = [*args.inputs, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(hidden.get(a, a) for a in extra)}")
    for key, value in vars(args).items():
        if isinstance(value, str):
            setattr(args, key, hidden.get(value, value))
        elif isinstance(value, list):
            setattr(args, key, [hidden.get(v, v) if isinstance(v, str) else v for v in value])
    return args


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 done, 2 a user mistake (one line on stderr), 1 anything else (a short
    message; RNN_ZOO_DEBUG=1 shows the traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parse(argv)

    warnings.filterwarnings("ignore", module=r"keras(\.|$)")  # Keras's advice is for its own API users
    with _one_line_warnings():
        return _run(args)


@contextlib.contextmanager
def _one_line_warnings():
    """A warning on the command line is one line, `rnn-zoo: warning: ...` (no source line)."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"rnn-zoo: warning: {one_line(message) if isinstance(message, Warning) else message}", file=sys.stderr)

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def _run(args) -> int:
    """The command, with the exit code of its outcome (see `main`)."""
    try:
        if args.command == "export" and args.format != SAVED_MODEL:
            require(args.format)  # a missing extra is named before TensorFlow takes seconds to load
        if args.command != "list":
            backend.check_keras_backend()  # before Keras fails on it
            backend.import_tensorflow_quietly()
        args.func(args)
    except (TrainingDivergedError, ExportCheckError) as e:
        print(f"rnn-zoo: error: {one_line(e)}", file=sys.stderr)
        return 1
    except (UsageError, RnnZooError, FileExistsError) as e:
        print(f"rnn-zoo: error: {one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # a folder that cannot be written, a path that is a file, ...
        print(f"rnn-zoo: error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnn-zoo: stopped; nothing half-written was left behind", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("RNN_ZOO_DEBUG"):
            raise
        message = one_line(e)[:300]
        print(
            f"rnn-zoo: internal error: {type(e).__name__}: {message} (RNN_ZOO_DEBUG=1 shows the traceback; "
            "please report it)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
