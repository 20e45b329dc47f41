"""Bad input, as a careless user or an attacker would give it: a clear one-line error or
the right answer, never a deleted folder, a silent wrong result or a raw traceback. Each
test backs a row of the bad-input table (docs/bad-input.md) (a test below checks the table)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fixtures import SMS_LINES, write_mnist_idx, write_tushare_csv
from harness import one_line_error

import rnn_zoo
from rnn_zoo.cli import main
from rnn_zoo.errors import DataError, InvalidOverrideError, OutputExistsError, PresetError, TrainingDivergedError
from rnn_zoo.outputs import atomic_directory

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- nothing a user owns is deleted --------------------------------------------------


def test_out_folder_of_the_user_is_never_replaced(tmp_path, capsys):
    mine = tmp_path / "my_folder"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    for argv in (
        ["train", "letters_4pre1", "--out", str(mine), "--epochs", "1"],
        ["export", "letters_4pre1", "--out", str(mine)],
    ):
        code, _, err = run(capsys, *argv)
        assert one_line_error(err, code) and "not an rnn_zoo output" in err
        assert (mine / "thesis.tex").read_text() == "years of work"
    # Said explicitly, it is replaced; a zoo output is replaced without asking.
    assert run(capsys, "export", "letters_4pre1", "--out", str(mine), "--overwrite")[0] == 0
    assert (mine / "saved_model.pb").is_file() and not (mine / "thesis.tex").exists()
    assert run(capsys, "export", "letters_4pre1", "--out", str(mine))[0] == 0


def test_an_export_never_replaces_a_trained_preset(tmp_path, capsys):
    trained = rnn_zoo.load_preset("letters_4pre1").save(tmp_path / "saved_models" / "letters_4pre1")
    code, _, err = run(capsys, "export", "letters_4pre1", "--out", str(trained))
    assert one_line_error(err, code) and "holds an rnn_zoo preset; refusing to replace it with an export" in err
    assert (trained / "model.keras").is_file()
    with pytest.raises(OutputExistsError, match="holds an rnn_zoo export"):
        rnn_zoo.load_preset("letters_4pre1").save(rnn_zoo.export(rnn_zoo.load_preset("letters_4pre1"), tmp_path / "e"))


@pytest.mark.backend_free
def test_an_older_train_output_may_be_replaced(tmp_path):
    from rnn_zoo.outputs import check_destination

    old = tmp_path / "letters_4pre1"  # what rnn_zoo 0.1's `rnn-zoo train` wrote
    old.mkdir()
    for name in ("saved_model.pb", "model.keras"):
        (old / name).write_bytes(b"")
    (old / "metrics.json").write_text(json.dumps({"task": "letters_4pre1", "metrics": {}}))
    check_destination(old, kind="preset")  # no error: `rnn-zoo train` may write there again


def test_working_folder_is_never_an_output(tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "notes.txt").write_text("keep")
    monkeypatch.chdir(work / "sub")
    for out in (".", "..", str(work)):
        code, _, err = run(capsys, "export", "letters_4pre1", "--out", out, "--overwrite")
        assert one_line_error(err, code) and "working folder" in err
    assert (work / "notes.txt").read_text() == "keep"


def test_export_never_replaces_its_own_preset(tmp_path, capsys):
    preset = rnn_zoo.load_preset("letters_4pre1").save(tmp_path / "trained")
    for out in (preset, preset / "inner"):
        code, _, err = run(capsys, "export", "letters_4pre1", "--model", str(preset), "--out", str(out))
        assert one_line_error(err, code) and "would overwrite the preset" in err
    assert rnn_zoo.load_preset(preset).predict("abcd")["prediction"] == "e"


@pytest.mark.backend_free
def test_interrupted_write_leaves_no_staging_folder(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        with atomic_directory(target, kind="export") as staging:
            (staging / "half").write_text("x")
            os.kill(os.getpid(), signal.SIGTERM)  # a job killed politely
            time.sleep(1)
    assert list(tmp_path.iterdir()) == []
    # A run killed outright (SIGKILL) cannot clean up: the next write to the same place does,
    # and it leaves alone the staging folder of a live writer, here or of a look-alike name.
    stale = tmp_path / ".out.999999999.abc.partial"
    stale.mkdir()
    live = [tmp_path / f".out.{os.getpid()}.xyz.partial", tmp_path / ".out.9.999999999.abc.partial"]
    for folder in live:
        folder.mkdir()
    with atomic_directory(target, kind="export") as staging:
        (staging / "done").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", *(p.name for p in live)])


def test_a_folder_of_the_user_with_a_metadata_json_is_not_a_zoo_output(tmp_path):
    mine = tmp_path / "results"
    mine.mkdir()
    (mine / "metadata.json").write_text(json.dumps({"task": "classification"}))
    with pytest.raises(OutputExistsError, match="not an rnn_zoo output"):
        rnn_zoo.export(rnn_zoo.load_preset("letters_4pre1"), mine)
    assert (mine / "metadata.json").is_file()


# -- every input is checked before work starts ----------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "epochs must be a positive whole number, got 0"),
        (["--epochs", "-1"], "epochs must be a positive whole number, got -1"),
        (["--batch-size", "0"], "batch_size must be a positive whole number, got 0"),
        (["--seed", "-1"], "seed must be a whole number from 0 to 4294967295, got -1"),
        (["--set", "learning_rate=1e400"], "learning_rate=inf is invalid: expected a positive, finite float"),
        (["--set", "dropout=1.5"], "dropout=1.5 is invalid: expected a float in [0, 1)"),
        (["--set", "unitz=3"], "unknown override 'unitz' (did you mean 'units'?)"),
    ],
)
@pytest.mark.backend_free
def test_run_settings_are_checked_first(argv, message, tmp_path, capsys):
    code, out, err = run(capsys, "train", "letters_4pre1", "--out", str(tmp_path / "o"), *argv)
    assert one_line_error(err, code) and message in err
    assert not out and not (tmp_path / "o").exists()  # nothing trained, nothing written


@pytest.mark.backend_free
def test_vocabulary_size_that_contradicts_the_data_is_refused(tiny_data_dir, tmp_path, capsys):
    code, _, err = run(
        capsys,
        "train",
        "sms_spam_rnn",
        "--data-dir",
        str(tiny_data_dir),
        "--set",
        "vocab_size=5",
        "--out",
        str(tmp_path / "o"),
    )
    assert one_line_error(err, code) and "vocab_size=5 contradicts the preprocessor" in err


@pytest.mark.backend_free
def test_empty_split_is_refused(tiny_data_dir):
    with pytest.raises(DataError, match="the test split is empty"):
        rnn_zoo.load_task_data("sine_regression", num_sequences=100, num_train=100)
    with pytest.raises(DataError, match="the test split is empty"):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tiny_data_dir, test_fraction=0.0)
    with pytest.raises(DataError, match=r"data option window must be a positive whole number, got -3"):
        rnn_zoo.load_task_data("stock_lstm", data_dir=tiny_data_dir, window=-3)
    with pytest.raises(DataError, match=r"data options \{'price_column': 7\} were refused by its loader"):
        rnn_zoo.load_task_data("stock_lstm", data_dir=tiny_data_dir, price_column=7)


def test_checkpoint_folder_of_another_run_is_refused(tmp_path):
    ckpt = tmp_path / "ckpt"  # as a killed letters_4pre1 run leaves it
    ckpt.mkdir()
    (ckpt / "rnn_zoo_checkpoint.json").write_text(json.dumps({"task": "letters_4pre1", "overrides": {}}))
    with pytest.raises(InvalidOverrideError, match="holds a run of task 'letters_4pre1' with other settings"):
        rnn_zoo.train("letters_1pre1", epochs=2, verbose=0, checkpoint_dir=ckpt)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.csv").write_text("keep")
    with pytest.raises(InvalidOverrideError, match="not an rnn_zoo checkpoint; Keras deletes it"):
        rnn_zoo.train("letters_4pre1", epochs=2, verbose=0, checkpoint_dir=mine)
    assert (mine / "data.csv").read_text() == "keep"


def test_diverging_run_stops_and_writes_nothing(tmp_path, capsys):
    code, out, err = run(
        capsys,
        "train",
        "sine_regression",
        "--epochs",
        "3",
        "--out",
        str(tmp_path / "o"),
        "--set",
        "learning_rate=1e30",
        "--verbose",
        "0",
    )
    assert one_line_error(err, code, expected=1) and "training of sine_regression diverged" in err
    assert not (tmp_path / "o").exists()


def test_a_model_with_non_finite_weights_is_never_saved(tmp_path):
    preset = rnn_zoo.load_preset("sine_regression")
    weights = preset.model.get_weights()
    preset.model.set_weights([w * np.nan for w in weights])
    with pytest.raises(TrainingDivergedError, match="weights are not finite"):
        rnn_zoo.export(preset, tmp_path / "export")
    with pytest.raises(TrainingDivergedError, match="weights are not finite"):
        preset.save(tmp_path / "preset")
    assert list(tmp_path.iterdir()) == []


# -- serving checks shape and domain before touching any state ------------------------


def test_serving_refuses_bad_prices():
    preset = rnn_zoo.load_preset("stock_gru_returns")
    good = preset.preprocessor.example_input()
    for bad, message in (
        (-good, "prices must be positive"),
        (0 * good, "prices must be positive"),
        (np.where(np.arange(60) == 3, np.inf, good), "prices must be finite numbers (got Inf)"),
        (np.where(np.arange(60) == 3, np.nan, good), "prices must be finite numbers (got NaN)"),
        (good[:59], "expected a window of prices of shape (60,)"),
    ):
        with pytest.raises(PresetError, match=re.escape(message)):
            preset.predict(bad)


def test_cli_refuses_bad_prices_in_one_line(capsys):
    for values, message in (
        ("-1," * 59 + "-1", "prices must be positive"),
        ("nan," + "1," * 58 + "1", "prices must be finite numbers (got NaN)"),
    ):
        code, _, err = run(capsys, "predict", "stock_gru_returns", values)
        assert one_line_error(err, code) and message in err


def test_refused_chunk_leaves_the_state_alone():
    preset = rnn_zoo.load_preset("sin_to_cos_tuned")
    chunk = preset.preprocessor.example_input()
    first = preset.predict(chunk)["prediction"]
    preset.reset_state()
    with pytest.raises(PresetError, match="values must be finite"):
        preset.predict(np.full(10, np.nan, dtype=np.float32))
    assert np.array_equal(preset.predict(chunk)["prediction"], first)  # as if the NaN chunk never came


def test_images_and_letters_are_checked(tmp_path, capsys):
    np.save(tmp_path / "float.npy", np.zeros((28, 28), dtype=np.float32))
    np.save(tmp_path / "small.npy", np.zeros((8, 8), dtype=np.uint8))
    for path, message in ((tmp_path / "float.npy", "expected uint8"), (tmp_path / "small.npy", "expected (28, 28)")):
        code, _, err = run(capsys, "predict", "mnist_lstm", str(path))
        assert one_line_error(err, code) and message in err
    code, _, err = run(capsys, "predict", "letters_4pre1", "abz1")
    assert one_line_error(err, code) and "letters must be in abcde" in err


def test_negative_numbers_are_inputs_not_options(capsys):
    values = ",".join(f"{v:.4f}" for v in -np.sin(np.arange(10)))
    code, out, err = run(capsys, "predict", "sine_regression", values)
    assert code == 0 and -1.5 < float(out) < 1.5, err


def test_predict_runs_only_presets(tmp_path, capsys):
    """A SavedModel runs its own graph (a crafted one can read and write files), so
    `predict --model` takes only a preset, whose Keras file loads in safe mode."""
    exported = rnn_zoo.export(rnn_zoo.load_preset("letters_4pre1"), tmp_path / "savedmodel")
    code, _, err = run(capsys, "predict", "letters_4pre1", "abcd", "--model", str(exported))
    assert one_line_error(err, code) and "not an rnn_zoo preset" in err


def test_unsafe_keras_file_is_refused(tmp_path):
    import keras

    folder = rnn_zoo.load_preset("sine_regression").save(tmp_path / "p")
    model = keras.Sequential([keras.Input((10, 1)), keras.layers.Lambda(lambda x: x[:, -1, :] * 2)])
    model.save(folder / "model.keras")
    with pytest.raises(PresetError, match="could not be loaded safely"):
        rnn_zoo.load_preset(folder)


# -- readers --------------------------------------------------------------------------


@pytest.mark.backend_free
def test_sms_reader_accepts_a_bom_and_any_line_ends(tmp_path):
    from rnn_zoo.tasks.sms import read_sms_collection

    text = "\n".join(SMS_LINES)
    for name, raw in (
        ("bom", b"\xef\xbb\xbf" + text.encode()),
        ("crlf", text.replace("\n", "\r\n").encode()),
        ("cr", text.replace("\n", "\r").encode()),
    ):
        (tmp_path / name).write_bytes(raw)
        labels, texts = read_sms_collection(tmp_path / name)
        assert len(texts) == len(SMS_LINES) and labels[0] == "ham" and texts[0].startswith("Go until"), name


@pytest.mark.backend_free
def test_price_csv_with_infinite_prices_is_refused(tmp_path):
    frame = write_tushare_csv(tmp_path / "SH600519.csv", n=420)
    frame.loc[frame.index[7], "open"] = np.inf
    frame.to_csv(tmp_path / "SH600519.csv")
    with pytest.raises(DataError, match="infinite 'open' on line\\(s\\) 9; expected finite prices"):
        rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path)


@pytest.mark.backend_free
def test_npz_with_scaled_images_is_refused(tmp_path):
    arrays = {
        "x_train": np.random.rand(4, 28, 28),
        "y_train": np.arange(4),
        "x_test": np.random.rand(2, 28, 28),
        "y_test": np.arange(2),
    }
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(DataError, match="x_train holds float64 pixels; expected uint8 values 0-255"):
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)


@pytest.mark.backend_free
def test_out_of_range_labels_are_named(tmp_path):
    arrays = write_mnist_idx(tmp_path)
    from fixtures import write_idx

    labels = arrays["t10k-labels-idx1-ubyte"].copy()
    labels[[1, 3]] = [12, 200]
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(DataError, match=re.escape("test labels [12, 200] are out of range; expected digits 0..9")):
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)


# -- a quiet, readable command line ---------------------------------------------------


def _cli(*argv, **env):
    """The command line in a fresh process, as a user runs it (TF_CPP_MIN_LOG_LEVEL unset)."""
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-m", "rnn_zoo", *argv], capture_output=True, text=True, timeout=300, env={**environ, **env}
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["predict", "stock_lstm", "1,2,3"], "expected 60 numbers"),
        (["train", "letters_4pre1", "--epochs", "abc"], "invalid int value: 'abc'"),
        (["no_such_command"], "invalid choice: 'no_such_command'"),
        (["predict", "sine_regression", "-inf,1"], "expected 10 numbers"),
        (["list", "nothing*"], "no task matches 'nothing*'"),
    ],
)
@pytest.mark.slow
def test_cli_stderr_is_one_line_and_tensorflow_is_silent(argv, message):
    done = _cli(*argv)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("rnn-zoo: error: ") and message in done.stderr, done.stderr


@pytest.mark.slow
def test_cli_is_silent_when_all_is_well():
    done = _cli("predict", "letters_4pre1", "abcd")
    assert done.returncode == 0 and done.stdout == "e\n" and done.stderr == ""
    assert _cli("--version").stdout.startswith("rnn-zoo ")


@pytest.mark.slow
def test_train_output_when_piped(tmp_path):
    done = _cli("train", "letters_4pre1", "--epochs", "5", "--out", str(tmp_path / "o"))
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" - ")[0] for line in lines[:5]] == [f"epoch {i}/5" for i in range(1, 6)]
    assert "\x1b" not in done.stdout and "\r" not in done.stdout  # no terminal control codes in a log
    # On a terminal (--verbose 1), a task whose epoch is one tiny step shows one bar over the epochs.
    code = "import rnn_zoo; rnn_zoo.train('letters_4pre1', epochs=5, verbose=1)"
    bar = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert bar.stdout.count("Epoch") == 0 and "5/5" in bar.stdout


@pytest.mark.backend_free
def test_the_bad_input_table_is_backed_by_tests():
    readme = (ROOT / "docs" / "bad-input.md").read_text()
    table = readme.split("<!-- bad-input:start -->")[1].split("<!-- bad-input:end -->")[0]
    named = re.findall(r"`(test_\w+)`", table)
    sources = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    defined = set(re.findall(r"^def (test_\w+)", sources, re.M))
    assert len(named) >= 20 and set(named) <= defined, set(named) - defined
