"""Training beyond one process: keras.distribution on JAX across two processes on 127.0.0.1,
TensorFlow's MirroredStrategy on one machine, and the refusals in between."""

import json
import os
import re
import socket
import subprocess
import sys
import textwrap

import pytest

import rnn_zoo
from rnn_zoo import distributed

TIMEOUT_S = 420


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_together(commands: list[list[str]], envs: list[dict], cwd) -> list[subprocess.CompletedProcess]:
    """Start every command at once (a cluster waits for all its processes), wait for all
    within TIMEOUT_S, and never leave one running."""
    procs = [
        subprocess.Popen(c, env=e, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c, e in zip(commands, envs)
    ]
    try:
        outs = [p.communicate(timeout=TIMEOUT_S) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return [subprocess.CompletedProcess(p.args, p.returncode, o, e) for p, (o, e) in zip(procs, outs)]


def jax_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_DISTRIBUTION_")}
    return {**env, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def metric_lines(stdout: str) -> list[str]:
    """The summary's metric rows (model, baseline, classical): what every process must agree on."""
    return [line for line in stdout.splitlines() if re.match(r"^(rmse|mae|mape|accuracy|r2)\b", line)]


@pytest.mark.slow
@pytest.mark.backend_free
def test_two_processes_train_as_one_and_only_process_0_writes(tmp_path):
    pytest.importorskip("jax")
    port = free_port()
    addresses = f"127.0.0.1:{port},127.0.0.1:{free_port()}"
    out = tmp_path / "preset"
    command = [
        sys.executable,
        "-m",
        "rnn_zoo",
        "train",
        "sine_regression",
        "--epochs",
        "2",
        "--distributed",
        "--out",
        str(out),
        "--verbose",
        "2",
    ]
    envs = [
        jax_env(
            KERAS_DISTRIBUTION_JOB_ADDRESSES=addresses,
            KERAS_DISTRIBUTION_NUM_PROCESSES="2",
            KERAS_DISTRIBUTION_PROCESS_ID=str(i),
        )
        for i in range(2)
    ]
    # The same run in one process, for the numbers: sharding + averaged gradients = one batch of 20.
    alone = tmp_path / "alone"
    single = [
        sys.executable,
        "-m",
        "rnn_zoo",
        "train",
        "sine_regression",
        "--epochs",
        "2",
        "--out",
        str(alone),
        "--verbose",
        "2",
    ]
    first, second, one = run_together([command, command, single], [*envs, jax_env()], tmp_path)
    for proc in (first, second, one):
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert "data-parallel over 2 processes, 2 devices in all" in first.stdout
    assert metric_lines(first.stdout) and metric_lines(first.stdout) == metric_lines(second.stdout)
    assert "process 1 of 2: process 0 writes" in second.stdout and "wrote" not in second.stdout
    # Process 0 wrote the preset; it evaluates to what both printed and records how it trained.
    preset = rnn_zoo.load_preset(out)
    assert preset.metadata["command"].startswith("KERAS_BACKEND=jax rnn-zoo train sine_regression")
    assert "--distributed" in preset.metadata["command"] and preset.metadata["versions"]["keras_backend"] == "jax"
    rmse = float(metric_lines(first.stdout)[0].split()[1])
    assert preset.metadata["metrics"]["rmse"] == pytest.approx(rmse, rel=1e-5)
    alone_rmse = rnn_zoo.load_preset(alone).metadata["metrics"]["rmse"]
    assert rmse == pytest.approx(alone_rmse, rel=1e-3)
    assert json.loads((out / "saved_model" / "rnn_zoo_export.json").read_text())["keras_backend"] == "jax"


@pytest.mark.slow
@pytest.mark.backend_free
def test_each_process_reads_its_half_of_every_batch(tmp_path):
    """What Keras makes of the zoo's tf.data pipeline in a two-process DataParallel run."""
    pytest.importorskip("jax")
    script = textwrap.dedent("""
        import json
        from rnn_zoo import distributed, load_task_data
        cluster = distributed.start()
        data = load_task_data("sine_regression")
        train_ds, _ = data.datasets(20, whole_batches=True)
        shard = cluster.distribution.distribute_dataset(train_ds)
        x = next(iter(shard))[0]
        print(json.dumps({"process": cluster.process_id, "rows": int(x.shape[0]),
                          "first": float(x[0, 0, 0]), "batches": sum(1 for _ in shard)}))
    """)
    addresses = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    envs = [
        jax_env(
            KERAS_DISTRIBUTION_JOB_ADDRESSES=addresses,
            KERAS_DISTRIBUTION_NUM_PROCESSES="2",
            KERAS_DISTRIBUTION_PROCESS_ID=str(i),
        )
        for i in range(2)
    ]
    procs = run_together([[sys.executable, "-c", script]] * 2, envs, tmp_path)
    for proc in procs:
        assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = (json.loads(p.stdout.strip().splitlines()[-1]) for p in procs)
    assert (a["process"], b["process"]) == (0, 1)
    assert a["rows"] == b["rows"] == 10 and a["batches"] == b["batches"]
    assert a["first"] != b["first"]  # different rows, not the same batch twice


def test_distributed_without_jax_or_the_cluster_variables_is_one_line(monkeypatch):
    for name in distributed.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    if rnn_zoo.backend.name() != "jax":
        with pytest.raises(rnn_zoo.InvalidOverrideError, match=r"needs the JAX backend.*keras#20585"):
            rnn_zoo.train("sine_regression", distributed=True, verbose=0)
    else:
        with pytest.raises(rnn_zoo.InvalidOverrideError, match="KERAS_DISTRIBUTION_JOB_ADDRESSES"):
            rnn_zoo.train("sine_regression", distributed=True, verbose=0)
    with pytest.raises(rnn_zoo.InvalidOverrideError, match="stateful"):
        rnn_zoo.train("sin_to_cos", distributed=True, verbose=0)
    with pytest.raises(rnn_zoo.InvalidOverrideError, match="BackupAndRestore has no process 0"):
        rnn_zoo.train("sine_regression", distributed=True, checkpoint_dir="never", verbose=0)


@pytest.mark.slow
@pytest.mark.backend_free
def test_cli_distributed_on_tensorflow_points_to_jax_and_upstream(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    proc = subprocess.run(
        [sys.executable, "-m", "rnn_zoo", "train", "sine_regression", "--distributed", "--out", str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "KERAS_BACKEND=jax" in proc.stderr and "keras#20585" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.backend_free
def test_tensorflow_multi_worker_strategy_is_refused_in_one_line():
    """Made in a fresh TensorFlow process: the strategy starts a server for its (one) worker."""
    script = textwrap.dedent(
        """
        import json, os
        os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": ["127.0.0.1:%d"]},
                                              "task": {"type": "worker", "index": 0}})
        import tensorflow as tf
        import rnn_zoo
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        try:
            rnn_zoo.train("sine_regression", epochs=1, strategy=strategy, verbose=0)
        except rnn_zoo.InvalidOverrideError as e:
            print("REFUSED", e)
    """
        % free_port()
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    refusal = proc.stdout.strip().splitlines()[-1]
    assert refusal.startswith("REFUSED MultiWorkerMirroredStrategy")
    assert "keras#20585" in refusal and "KERAS_BACKEND=jax" in refusal and "--distributed" in refusal


@pytest.mark.slow
@pytest.mark.backend_free
def test_mirrored_strategy_over_two_logical_cpus():
    """One machine's devices, on TensorFlow (whatever backend the suite runs on)."""
    # Logical devices must be configured before TensorFlow starts, so in a fresh process.
    script = textwrap.dedent("""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import rnn_zoo
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        result = rnn_zoo.train("sine_regression", epochs=2, batch_size=20, strategy=strategy, verbose=0)
        assert strategy.num_replicas_in_sync == 2
        assert result.model.distribute_strategy is strategy
        print("RMSE", result.metrics["rmse"])
    """)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RMSE" in proc.stdout
