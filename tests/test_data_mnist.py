"""MNIST from tiny IDX files and a tiny mnist.npz written here."""

import gzip

import numpy as np
import pytest
from fixtures import write_idx, write_mnist_idx

import rnn_zoo
from rnn_zoo.tasks.mnist import read_idx

pytestmark = pytest.mark.backend_free  # readers only (the models: test_data_feeds_models.py)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files(tmp_path, gz):
    arrays = write_mnist_idx(tmp_path, gz=gz)
    data = rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)
    assert data.x_train.shape == (12, 28, 28) and data.x_test.shape == (6, 28, 28)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    assert 0 <= data.x_train.min() and data.x_train.max() <= 1
    np.testing.assert_allclose(data.x_train * 255, arrays["train-images-idx3-ubyte"], atol=1e-3)
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert data.source == str(tmp_path)


def test_read_idx_checks_magic_and_size(tmp_path):
    write_idx(tmp_path / "labels.gz", np.arange(10))
    np.testing.assert_array_equal(read_idx(tmp_path / "labels.gz", ndim=1), np.arange(10))
    write_idx(tmp_path / "bad_magic", np.arange(10), magic=0x0D01)  # float32 type code
    with pytest.raises(rnn_zoo.DataError, match="bad IDX magic number 3329; expected 2049"):
        read_idx(tmp_path / "bad_magic", ndim=1)
    with pytest.raises(rnn_zoo.DataError, match="expected 2051"):
        read_idx(tmp_path / "labels.gz", ndim=3)  # labels where images were expected
    raw = gzip.decompress((tmp_path / "labels.gz").read_bytes())
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(rnn_zoo.DataError, match=r"header says shape \(10,\) \(10 bytes\) but holds 7"):
        read_idx(tmp_path / "short", ndim=1)
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(rnn_zoo.DataError, match="too short"):
        read_idx(tmp_path / "tiny", ndim=1)
    (tmp_path / "truncated.gz").write_bytes((tmp_path / "labels.gz").read_bytes()[:-8])
    with pytest.raises(rnn_zoo.DataError, match="truncated.gz: cannot read IDX data"):
        read_idx(tmp_path / "truncated.gz", ndim=1)


def test_corrupt_idx_set_names_the_file(tmp_path):
    write_mnist_idx(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(rnn_zoo.DataError, match="t10k-images-idx3-ubyte.gz"):
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)


def test_mismatched_labels_are_rejected(tmp_path):
    write_mnist_idx(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(11) % 10)
    with pytest.raises(rnn_zoo.DataError, match=r"12 train images but labels of shape \(11,\)"):
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(12, 12))
    with pytest.raises(rnn_zoo.DataError, match=r"train labels \[12\] are out of range"):
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)


def test_truncated_npz(tmp_path):
    x = np.zeros((5, 28, 28), dtype=np.uint8)
    np.savez_compressed(tmp_path / "full.npz", x_train=x, y_train=np.zeros(5), x_test=x, y_test=np.zeros(5))
    (tmp_path / "mnist.npz").write_bytes((tmp_path / "full.npz").read_bytes()[:300])
    with pytest.raises(rnn_zoo.DataError, match="mnist.npz: not a readable mnist.npz"):
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)
    np.savez(tmp_path / "mnist.npz", x_train=x)
    with pytest.raises(rnn_zoo.DataError, match=r"missing arrays \['y_train', 'x_test', 'y_test'\]"):
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)


def test_offline_without_a_local_copy_fails_fast_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr("rnn_zoo.tasks.mnist.MIRROR", (tmp_path / "no_mirror").as_uri() + "/")
    with pytest.raises(rnn_zoo.DataNotFoundError) as info:
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path / "data")
    text = str(info.value)
    assert "mnist.npz" in text and "RNN_ZOO_DATA" in text and "could not download" in text
    assert not any((tmp_path / "data").iterdir())  # nothing half-written


def test_download_into_the_cache_with_checksums(tmp_path, monkeypatch):
    """The download path end to end, from a local 'mirror' whose checksums we publish."""
    import hashlib

    import rnn_zoo.tasks.mnist as mnist

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    write_mnist_idx(mirror)
    sums = {p.name[:-3]: hashlib.sha256(p.read_bytes()).hexdigest() for p in mirror.iterdir()}
    monkeypatch.setattr(mnist, "MIRROR", mirror.as_uri() + "/")
    monkeypatch.setattr(mnist, "IDX_SHA256", sums)
    data = rnn_zoo.load_task_data("mnist_lstm")  # no data_dir: the cache
    cache = rnn_zoo.data.cache_dir()
    assert data.source == str(cache) and data.x_train.shape == (12, 28, 28)
    assert sorted(p.name for p in cache.iterdir()) == sorted(p.name for p in mirror.iterdir())
    # A second load reads the cache; a bad checksum on a fresh download keeps nothing.
    monkeypatch.setattr(mnist, "MIRROR", (tmp_path / "gone").as_uri() + "/")
    assert rnn_zoo.load_task_data("mnist_lstm").x_test.shape == (6, 28, 28)
    monkeypatch.setattr(mnist, "MIRROR", mirror.as_uri() + "/")
    monkeypatch.setattr(mnist, "IDX_SHA256", {**sums, "t10k-images-idx3-ubyte": "0" * 64})
    with pytest.raises(rnn_zoo.DataError, match="does not match"):
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path / "fresh")
    assert "t10k-images-idx3-ubyte.gz" not in [p.name for p in (tmp_path / "fresh").iterdir()]
    assert not [p for p in (tmp_path / "fresh").iterdir() if p.name.endswith(".part")]
