import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
