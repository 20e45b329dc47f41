"""The `rnn-zoo` command: train -> predict end to end, and one-line errors with exit code 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained_letters(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "letters_4pre1"
    assert main(["train", "letters_4pre1", "--out", str(out), "--verbose", "0"]) == 0
    return out


def test_train_writes_a_preset_an_export_and_plots(trained_letters):
    names = {p.name for p in trained_letters.iterdir()}
    assert {"model.keras", "preprocessor.json", "metadata.json", "saved_model", "history.png", "confusion.png"} <= names
    assert (trained_letters / "saved_model" / "saved_model.pb").is_file()
    metrics = json.loads((trained_letters / "metadata.json").read_text())
    assert metrics["task"] == "letters_4pre1" and metrics["metrics"]["accuracy"] == 1.0
    assert metrics["baseline"] == {"name": "majority class", "accuracy": 0.2}
    assert metrics["epochs"] == 100 and metrics["parameters"] == 47
    backend = rnn_zoo.backend.name()  # a run on another backend is reproduced on that backend
    assert (
        metrics["command"]
        == ("" if backend == "tensorflow" else f"KERAS_BACKEND={backend} ") + "rnn-zoo train letters_4pre1 --seed 0"
    )
    assert not [p for p in trained_letters.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_predict_prints_the_next_letter(trained_letters, capsys):
    code, out, _ = run(capsys, "predict", "letters_4pre1", "abcd", "eabc", "--model", str(trained_letters))
    assert code == 0 and out.split() == ["e", "d"]
    code, out, _ = run(capsys, "predict", "letters_4pre1", "abcd", "--json", "--model", str(trained_letters))
    row = json.loads(out)
    assert row["prediction"] == "e" and len(row["probabilities"]) == 5


def test_evaluate_and_export_from_the_preset(trained_letters, tmp_path, capsys):
    import tensorflow as tf

    code, out, _ = run(capsys, "evaluate", "letters_4pre1", "--model", str(trained_letters))
    assert code == 0 and "accuracy" in out and "majority class" in out
    code, out, _ = run(
        capsys, "export", "letters_4pre1", "--model", str(trained_letters), "--out", str(tmp_path / "again")
    )
    assert code == 0 and (tmp_path / "again" / "saved_model.pb").is_file()
    serve = tf.saved_model.load(str(tmp_path / "again")).signatures["serve"]
    assert serve(text=tf.constant(["bcde"]))["prediction"].numpy()[0] == b"a"


def test_default_model_is_the_shipped_preset(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # nothing trained here
    code, out, _ = run(capsys, "predict", "letters_4pre1", "cdea")
    assert code == 0 and out.strip() == "b"
    code, out, _ = run(capsys, "export", "letters_4pre1", "--out", "exported")
    assert code == 0 and (tmp_path / "exported" / "saved_model.pb").is_file()


def test_train_numbers_task_with_overrides_and_predict(tmp_path, capsys):
    out_dir = tmp_path / "sine"
    code, out, _ = run(
        capsys,
        "train",
        "sine_regression",
        "--epochs",
        "2",
        "--out",
        str(out_dir),
        "--verbose",
        "0",
        "--set",
        "cell=gru",
        "--set",
        "units=[8, 4]",
    )
    assert code == 0 and "last input value" in out
    metrics = json.loads((out_dir / "metadata.json").read_text())
    assert metrics["overrides"] == {"cell": "gru", "units": [8, 4]}
    assert (out_dir / "predictions.png").is_file()
    values = ",".join(f"{np.sin(3 + j):.5f}" for j in range(10))
    code, out, _ = run(capsys, "predict", "sine_regression", values, "--model", str(out_dir))
    assert code == 0 and -1.5 < float(out) < 1.5
    code, _, err = run(capsys, "predict", "sine_regression", "1,2,3", "--model", str(out_dir))
    assert code == 2 and "expected 10 numbers" in err


def test_stock_train_writes_the_forecast_plot(tiny_data_dir, tmp_path, capsys):
    code, out, _ = run(
        capsys,
        "train",
        "stock_gru",
        "--epochs",
        "1",
        "--data-dir",
        str(tiny_data_dir),
        "--out",
        str(tmp_path / "stock"),
        "--verbose",
        "0",
        "--set",
        "units=8",
    )
    assert code == 0 and "tomorrow = today" in out and "mape" in out
    assert (tmp_path / "stock" / "forecast.png").is_file()
    prices = ",".join(str(p) for p in np.linspace(100, 110, 60))
    code, out, _ = run(capsys, "predict", "stock_gru", prices, "--model", str(tmp_path / "stock"))
    assert code == 0 and float(out.split()[0]) > 0 and "90% interval" in out  # calibrated on its test rows


def test_sms_and_mnist_predict_from_human_inputs(tiny_data_dir, tmp_path, capsys):
    assert (
        run(
            capsys,
            "train",
            "sms_spam_rnn",
            "--epochs",
            "1",
            "--data-dir",
            str(tiny_data_dir),
            "--out",
            str(tmp_path / "sms"),
            "--verbose",
            "0",
        )[0]
        == 0
    )
    code, out, _ = run(
        capsys,
        "predict",
        "sms_spam_rnn",
        "WINNER!! claim your prize now",
        "ok see you at home",
        "--model",
        str(tmp_path / "sms"),
    )
    lines = [line.split("\t") for line in out.strip().splitlines()]
    assert code == 0 and len(lines) == 2 and all(lab in ("spam", "ham") and 0 <= float(p) <= 1 for lab, p in lines)
    assert (
        run(
            capsys,
            "train",
            "mnist_lstm",
            "--epochs",
            "1",
            "--data-dir",
            str(tiny_data_dir),
            "--out",
            str(tmp_path / "mnist"),
            "--verbose",
            "0",
        )[0]
        == 0
    )
    assert (tmp_path / "mnist" / "confusion.png").is_file()
    np.save(tmp_path / "digit.npy", np.zeros((28, 28), dtype=np.uint8))
    code, out, _ = run(capsys, "predict", "mnist_lstm", str(tmp_path / "digit.npy"), "--model", str(tmp_path / "mnist"))
    assert code == 0 and out.strip() in list("0123456789")
    np.save(tmp_path / "float.npy", np.zeros((28, 28), dtype=np.float32))
    code, _, err = run(capsys, "predict", "mnist_lstm", str(tmp_path / "float.npy"), "--model", str(tmp_path / "mnist"))
    assert code == 2 and "expected uint8" in err
    np.save(tmp_path / "small.npy", np.zeros((8, 8), dtype=np.uint8))
    code, _, err = run(capsys, "predict", "mnist_lstm", str(tmp_path / "small.npy"), "--model", str(tmp_path / "mnist"))
    assert code == 2 and "expected (28, 28)" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "letterz_4pre1"], "unknown task 'letterz_4pre1'. Did you mean 'letters_4pre1'"),
        (["train", "letters_4pre1", "--set", "unitz=3"], "unknown override 'unitz'"),
        (["train", "letters_4pre1", "--set", "units"], "--set expects key=value"),
        (["train", "letters_4pre1", "--set", "cell=transformer"], "cell='transformer' is invalid"),
        (["predict", "letters_4pre1", "abcd", "--model", "/nonexistent"], "no preset folder at /nonexistent"),
        (["evaluate", "letters_4pre1", "--model", "/nonexistent"], "no preset folder at /nonexistent"),
        (["train", "stock_lstm", "--data-dir", "/nonexistent"], "SH600519.csv was not found"),
    ],
)
@pytest.mark.backend_free
def test_user_mistakes_exit_2_with_one_line(argv, message, capsys):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("rnn-zoo: error: ") and message in err
    assert "Traceback" not in err


def test_bad_letters_input_is_one_line(trained_letters, capsys):
    code, _, err = run(capsys, "predict", "letters_4pre1", "abz1", "--model", str(trained_letters))
    assert code == 2 and "letters must be in abcde" in err and len(err.strip().splitlines()) == 1


@pytest.mark.backend_free
def test_console_script_lists_the_registry():
    exe = Path(sys.executable).with_name("rnn-zoo")
    if not exe.exists():
        pytest.skip("the package is not installed with its console script")
    proc = subprocess.run([str(exe), "list", "stock_*"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    lines = proc.stdout.strip().splitlines()
    header = ["name", "family", "cell", "parameters", "preset", "(test)", "baseline", "vs", "baseline", "data"]
    assert lines[0].split() == header
    table = lines[1 : lines.index("")]  # then a line for each preset that loses to its naive baseline
    assert [line.split()[0] for line in table] == rnn_zoo.list_tasks("stock_*")
    assert "98,741" in proc.stdout  # stock_lstm's reference parameter count
    assert "! stock_lstm loses to its naive baseline" in proc.stdout


USER_COMMANDS = ["list", "info", "train", "evaluate", "export", "predict", "backtest"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.backend_free
def test_help_lists_exactly_the_user_commands(capsys):
    import re

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    commands = out.split("positional arguments:", 1)[1].split("options:", 1)[0]
    assert re.findall(r"^ {4}([a-z][\w-]*)", commands, re.M) == USER_COMMANDS
    with pytest.raises(SystemExit) as done:  # the maintainers' tools are not user commands
        main(["bench"])
    assert done.value.code == 2 and "invalid choice: 'bench'" in capsys.readouterr().err


@pytest.mark.backend_free
def test_the_package_leaves_the_tools_out():
    import setuptools

    assert 'include = ["rnn_zoo*"]' in (ROOT / "pyproject.toml").read_text()  # what the wheel and sdist pack
    packed = setuptools.find_packages(where=str(ROOT), include=["rnn_zoo*"])
    assert "rnn_zoo" in packed and not [p for p in packed if p.split(".")[0] != "rnn_zoo"]
    assert "tools" in setuptools.find_packages(where=str(ROOT), exclude=["tests*", "build*"])  # it is a package


@pytest.mark.parametrize("module", ["tools.bench", "tools.make_presets", "tools.speed", "tools.latency"])
@pytest.mark.backend_free
def test_each_tool_runs_as_a_module_from_the_checkout(module):
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60, env=environ
    )
    assert done.returncode == 0 and done.stdout.startswith(f"usage: python -m {module} "), done.stderr
    assert "--no-tables" in done.stdout and done.stderr == ""


def tool_run(capsys, tool, *argv):
    code = tool.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.backend_free
def test_tool_mistakes_exit_2_with_one_line(capsys, tmp_path, monkeypatch):
    import importlib.util

    from tools import bench, latency, make_presets
    from tools.speed import benchmark as speed

    mistakes = [
        (bench, ["--tasks", "nothing*", "--no-tables"], "tools.bench: error: no task matches 'nothing*'"),
        (bench, ["--seeds", "0,x", "--no-tables"], "--seeds expects comma-separated integers"),
        (latency, ["--tasks", "nothing*", "--no-tables"], "tools.latency: error: no task matches 'nothing*'"),
        (make_presets, ["--tasks", "nothing*", "--no-tables"], "tools.make_presets: error: no task matches"),
        (
            speed,
            ["--repeats", "0", "--no-tables"],
            "--repeats must be at least 1" if importlib.util.find_spec("torch") else "pip install torch",
        ),
    ]
    for tool, argv, message in mistakes:
        code, _, err = tool_run(capsys, tool, *argv)
        assert code == 2 and message in err and err.count("\n") == 1, err
    with pytest.raises(SystemExit) as done:  # a flag of the results benchmark, not of the speed one
        speed.main(["--quick"])
    assert done.value.code == 2 and "unrecognized arguments: --quick" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # no README.md here: the tables cannot be rewritten
    for tool, module in ((bench, "tools.bench"), (make_presets, "tools.make_presets"), (speed, "tools.speed")):
        code, _, err = tool_run(capsys, tool, "--tasks", "nothing*")
        assert code == 2 and f"run `python -m {module}` from the repository root" in err and err.count("\n") == 1


@pytest.mark.backend_free
def test_make_presets_writes_into_the_checkout_only(capsys, tmp_path, monkeypatch):
    from rnn_zoo.shipped import SHIPPED_DIR
    from tools import make_presets

    assert make_presets.PRESETS_DIR == SHIPPED_DIR.resolve() == ROOT / "rnn_zoo" / "pretrained"
    # An rnn_zoo imported from elsewhere (installed non-editable: site-packages) is refused before any training.
    monkeypatch.setattr(make_presets, "PRESETS_DIR", tmp_path / "checkout" / "rnn_zoo" / "pretrained")
    code, _, err = tool_run(capsys, make_presets, "--tasks", "letters_4pre1", "--no-tables")
    assert code == 2 and "not this checkout's" in err and err.count("\n") == 1
    assert not (tmp_path / "checkout").exists()


def test_the_backtest_help_gives_the_backtests_own_defaults(capsys):
    from rnn_zoo.backtest import FOLDS, FORECAST_DAYS
    from rnn_zoo.cli import BACKTEST_DEFAULTS
    from rnn_zoo.intervals import DEFAULT_LEVEL

    assert BACKTEST_DEFAULTS == {"folds": FOLDS, "days": FORECAST_DAYS}
    with pytest.raises(SystemExit):
        main(["backtest", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        f"(default {FOLDS})" in text and f"(default {FORECAST_DAYS})" in text and f"(default {DEFAULT_LEVEL:g}" in text
    )
    assert "sms" not in text and "the preset's own" not in text  # a backtest trains: no preset, no texts
