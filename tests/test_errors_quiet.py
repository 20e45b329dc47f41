"""Errors in one line and a quiet library (issue 24): a non-UTF-8 message, an unknown Keras
backend, a cluster address without a port and a cluster whose processes do not all arrive
are each one line, exit 2; a long run says how long it will take; the Python API prints no
TensorFlow start-up lines and no terminal control codes into a pipe; an export downloads
nothing the user did not ask for."""

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import rnn_zoo
from rnn_zoo import distributed
from rnn_zoo.errors import ClusterTimeoutError, DataNotFoundError, InvalidOverrideError

ROOT = Path(__file__).resolve().parents[1]


def one_line(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("rnn-zoo: error: ") and "internal error" not in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- one line, exit 2 ----------------------------------------------------------------------


def test_predict_refuses_a_message_that_is_not_utf8(capsys):
    from rnn_zoo.cli import main

    # What Python makes of the bytes b"free \xff prize" on the command line (surrogateescape).
    code = main(["predict", "sms_spam_rnn", "free \udcff prize"])
    _, err = capsys.readouterr()
    assert code == 2 and one_line(err) and "b'free \\xff prize' is not valid UTF-8 text" in err, err


@pytest.mark.backend_free
def test_an_unknown_keras_backend_is_one_line():
    env = {**os.environ, "KERAS_BACKEND": "nonsense"}
    done = subprocess.run(
        [sys.executable, "-m", "rnn_zoo", "predict", "letters_4pre1", "abcd"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 2 and one_line(done.stderr), done.stderr
    assert "KERAS_BACKEND='nonsense' is not a Keras backend" in done.stderr


@pytest.mark.backend_free
@pytest.mark.parametrize("address", ["localhost", "10.0.0.1:", "10.0.0.1:http", "host:99999", "127.0.0.1:1,host2"])
def test_a_distributed_address_without_a_port_is_one_line(address, monkeypatch):
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", address)
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "0")
    with pytest.raises(InvalidOverrideError, match=r"is not HOST:PORT"):
        distributed._env_settings()


@pytest.mark.backend_free
@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "60", True])
def test_the_distributed_timeout_is_checked_first(timeout):
    with pytest.raises(InvalidOverrideError, match="distributed_timeout must be a positive number"):
        rnn_zoo.train("sine_regression", distributed_timeout=timeout, verbose=0)


def _rendezvous_all(address: str, n: int, ids: list[int], timeout_s: float) -> dict:
    """Processes `ids` of an `n`-process cluster meeting at `address`, each in a thread:
    {id: None (joined) or the error's message}."""
    results = {}

    def one(i):
        try:
            distributed.rendezvous(address, n, i, timeout_s)
            results[i] = None
        except ClusterTimeoutError as e:
            results[i] = str(e)

    threads = [threading.Thread(target=one, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout_s + 60)
    return results


@pytest.mark.backend_free
def test_a_cluster_meets_and_its_port_is_free_for_jax_afterwards():
    address = f"127.0.0.1:{free_port()}"
    assert _rendezvous_all(address, 3, [2, 0, 1], 20) == {0: None, 1: None, 2: None}
    with socket.create_server(("127.0.0.1", int(address.rsplit(":", 1)[1]))):  # JAX's coordinator binds it next
        pass


@pytest.mark.backend_free
def test_missing_processes_are_named_within_the_timeout():
    address = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    results = _rendezvous_all(address, 4, [0, 2], 2.0)
    assert time.monotonic() - start < 30
    expected = f"processes 1, 3 of 4 did not join the cluster at {address} within 2 s"
    assert results[0].startswith(expected) and results[2].startswith(expected), results
    # A process whose coordinator never comes says so, in its own time.
    alone = _rendezvous_all(f"127.0.0.1:{free_port()}", 2, [1], 1.0)
    assert "process 0 (the coordinator at 127.0.0.1:" in alone[1] and "did not answer within 1 s" in alone[1]


@pytest.mark.slow
@pytest.mark.backend_free
def test_cli_distributed_run_whose_peer_never_comes_fails_within_its_timeout(tmp_path):
    pytest.importorskip("jax")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("KERAS_DISTRIBUTION_")},
        "KERAS_BACKEND": "jax",
        "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{free_port()}",
        "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
        "KERAS_DISTRIBUTION_PROCESS_ID": "0",
    }
    command = [sys.executable, "-m", "rnn_zoo", "train", "sine_regression", "--distributed"]
    start = time.monotonic()
    done = subprocess.run(
        [*command, "--distributed-timeout", "3", "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
        cwd=ROOT,
    )
    assert done.returncode == 2 and one_line(done.stderr), done.stderr
    assert "process 1 of 2 did not join the cluster" in done.stderr and "within 3 s" in done.stderr
    assert time.monotonic() - start < 120
    assert not (tmp_path / "out").exists()


# -- a long run says how long; nothing for a terminal goes into a pipe ----------------------

LONG_RUN = textwrap.dedent(
    """
    import rnn_zoo

    train = rnn_zoo.train  # TensorFlow imported by rnn_zoo, quietly, before the user's own Keras
    import keras

    class StopAfterTwo(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch >= 1

    train("letters_4pre1", epochs=1_000_000_000, callbacks=[StopAfterTwo()])
    """
)


@pytest.mark.slow
def test_a_long_run_says_how_long_and_writes_no_control_codes_into_a_pipe():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # the library's own quiet
    done = subprocess.run(
        [sys.executable, "-c", LONG_RUN], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr and "\r" not in done.stdout + done.stderr
    assert done.stdout.startswith("epoch 1/1000000000 - "), done.stdout[:300]
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnn_zoo: epoch "), done.stderr
    assert "the 1,000,000,000 epochs of this run take about" in lines[0]
    # The pace is this machine's (0.004 s to 0.02 s an epoch here): the unit is whatever it gives.
    assert re.search(r"take about [\d.,]+ (h|days|months|years)$", lines[0]), lines[0]


def test_a_short_run_prints_no_estimate(capsys):
    rnn_zoo.train("letters_4pre1", epochs=3, verbose=2)
    assert "take about" not in capsys.readouterr().err


def test_the_python_api_prints_no_tensorflow_start_up_lines():
    code = "import rnn_zoo; rnn_zoo.load_preset('letters_4pre1').predict('abcd')"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    code = "from rnn_zoo.presets import load_preset; load_preset('letters_4pre1')"  # a module of its own
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr


# -- nothing downloads unless the user asked for data --------------------------------------


@pytest.mark.backend_free
def test_downloads_off_reads_only_the_disk(tmp_path, monkeypatch, capsys):
    from rnn_zoo.data.loading import load_task_data
    from rnn_zoo.data.sources import downloads_off

    def no_network(*args, **kwargs):
        raise AssertionError("a download was started")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    for task in ("sms_spam_rnn", "mnist_lstm"):
        with downloads_off(), pytest.raises(DataNotFoundError):
            load_task_data(task, data_dir=tmp_path / "empty")
    assert "downloading" not in capsys.readouterr().err
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())


@pytest.mark.slow
def test_an_onnx_export_without_local_data_downloads_nothing_and_says_so(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnxruntime")

    def no_network(*args, **kwargs):
        raise AssertionError("a download was started")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    monkeypatch.delenv("RNN_ZOO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    out = rnn_zoo.export(rnn_zoo.load_preset("sms_spam_rnn"), tmp_path / "onnx", format="onnx")
    err = capsys.readouterr().err
    assert "downloading" not in err
    assert err.count("\n") == 1 and "is not on disk (an export downloads nothing)" in err and "random inputs" in err
    check = json.loads((out / "rnn_zoo_export.json").read_text())["check"]
    assert check["random_inputs"] is True and "random inputs" in check["inputs"]
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.zip"))
