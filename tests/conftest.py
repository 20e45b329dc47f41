"""The suite's rules, fixtures and parametrizations.

Two markers sort the tests (registered in setup.cfg):
- `slow`: deselected by default (`-m "not slow"` in setup.cfg's addopts); `pytest -m slow`
  runs them, `pytest -m ""` runs everything. CI runs both.
- `backend_free`: the outcome does not depend on the Keras backend (data readers, CLI
  parsing, the registry, generated tables, the notebooks' committed text, processes that
  choose their own backend). Under any backend but the default it is deselected, so a
  `KERAS_BACKEND=jax` run repeats only what the backend can change.
"""

import os
from pathlib import Path


def _share_the_cores():
    """Under pytest-xdist, each worker (and every process it starts) gets its share of the
    cores for its thread pools. TensorFlow, XLA and OpenBLAS otherwise each size theirs to
    the whole machine in every worker, and the threads of two workers fight for two cores:
    a logistic regression beside a training run took four times as long. Set before numpy,
    TensorFlow or JAX load; a variable already set is left alone."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if not workers:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = str(max(1, cores // workers))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ.setdefault(name, threads)
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    os.environ.setdefault(
        "XLA_FLAGS",
        f"--xla_cpu_multi_thread_eigen={'true' if threads != '1' else 'false'} intra_op_parallelism_threads={threads}",
    )


_share_the_cores()

import numpy as np  # noqa: E402  (after the thread settings above)
import pytest  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite writes tiny copies of the published datasets (SMS, MNIST) under their own names:
# modified data by design. The tests of the sha256 check delete this (`strict_data`).
os.environ["RNN_ZOO_ALLOW_MODIFIED_DATA"] = "1"

DEFAULT_BACKEND = "tensorflow"
# pytest-timeout's limit for a slow test that names none of its own (setup.cfg's `timeout`
# is the fast tests' limit).
SLOW_TIMEOUT_S = 600


def pytest_collection_modifyitems(config, items):
    import rnn_zoo

    backend = rnn_zoo.backend.name()
    timeouts = config.pluginmanager.hasplugin("timeout")  # (absent with -p no:timeout)
    kept, dropped = [], []
    for item in items:
        if backend != DEFAULT_BACKEND and item.get_closest_marker("backend_free"):
            dropped.append(item)
            continue
        if timeouts and item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_report_header(config):
    import rnn_zoo

    backend = rnn_zoo.backend.name()
    if backend != DEFAULT_BACKEND:
        return f"keras backend: {backend} (tests marked backend_free are deselected: they ran on {DEFAULT_BACKEND})"
    return f"keras backend: {backend}"


def one_per_family(names):
    """The first task of each kind in `names`: a family, stateful or not (letters, mnist,
    sin->cos, sine, sms, stock)."""
    import rnn_zoo

    kinds = {}
    for name in names:
        spec = rnn_zoo.get_task(name)
        kinds.setdefault((spec.family, spec.model.stateful), name)
    return [name for name in names if name in kinds.values()]


def fast_per_family(names):
    """`names` as pytest parameters: `one_per_family(names)` on the fast path, every other
    task marked slow. The default suite then covers every family and CI covers every task."""
    fast = set(one_per_family(names))
    return [pytest.param(name, id=name, marks=[] if name in fast else [pytest.mark.slow]) for name in names]


# Captured before the isolation fixture below removes it from the environment.
REAL_DATA = os.environ.get("RNN_ZOO_DATA")


@pytest.fixture(autouse=True)
def isolated_data_env(tmp_path_factory, monkeypatch):
    """No test sees the user's RNN_ZOO_DATA, cache or TFDS folder unless it asks."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.delenv("RNN_ZOO_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(home / "tfds"))


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The folder of real datasets ($RNN_ZOO_DATA); tests using it skip without it."""
    if not REAL_DATA or not Path(REAL_DATA).is_dir():
        pytest.skip("RNN_ZOO_DATA does not point at the real datasets")
    return Path(REAL_DATA)


def random_batch(spec, model_spec=None, n: int = 8, seed: int = 0):
    """A correctly shaped random (inputs, targets) batch for a task's reference model."""
    from rnn_zoo.models import resolve, sized_overrides

    rng = np.random.default_rng(seed)
    m = model_spec or resolve(spec, sized_overrides(spec, None, {}))[0]  # sizes from the shipped preset
    if spec.input_dtype.startswith("int"):
        x = rng.integers(0, m.embedding_input_dim, size=(n, *spec.input_shape)).astype(spec.input_dtype)
    else:
        x = rng.random((n, *spec.input_shape), dtype=np.float32)
    out_steps = (spec.input_shape[0],) if m.return_sequences else ()
    if spec.train.loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, m.head_units, size=(n, *out_steps)).astype(np.int32)
    else:
        y = rng.random((n, *out_steps, m.head_units), dtype=np.float32)
    return x, y


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """One folder with a tiny file in each real format: a tushare CSV, the UCI SMS file
    and the four MNIST IDX files, so that every task can train without the real data."""
    from fixtures import SMS_LINES, write_mnist_idx, write_sms, write_tushare_csv

    folder = tmp_path_factory.mktemp("tiny_data")
    write_tushare_csv(folder / "SH600519.csv", n=420)
    write_sms(folder / "SMSSpamCollection", SMS_LINES * 12)  # words seen >= 10 times
    write_mnist_idx(folder, n_train=40, n_test=20)
    return folder


@pytest.fixture(scope="session")
def tiny_run(tiny_data_dir):
    """tiny_run(name): `rnn_zoo.train(name)` for one epoch of one batch of the tiny
    real-format data (generated data for letters and sine), made once per test process and
    shared by the tests that only read it."""
    import rnn_zoo

    runs = {}

    def run(name):
        if name not in runs:
            batch = rnn_zoo.get_task(name).train.batch_size
            runs[name] = rnn_zoo.train(name, epochs=1, data_dir=tiny_data_dir, verbose=0, max_train_samples=batch)
        return runs[name]

    return run
