"""Letters, sine and sin->cos: generated data, and the tf.data pipeline contract."""

import numpy as np
import pytest
import tensorflow as tf

import rnn_zoo
from rnn_zoo.data.pipeline import interleave_streams
from rnn_zoo.tasks.letters import LetterCodec

pytestmark = pytest.mark.backend_free  # data and tf.data only (the models: test_data_feeds_models.py)


@pytest.mark.parametrize(
    "name", ["letters_1pre1", "letters_4pre1", "letters_embedding_1pre1", "letters_embedding_4pre1"]
)
def test_letters_hold_every_cyclic_pattern(name):
    data = rnn_zoo.load_task_data(name)
    codec = data.codec
    n = len(codec.alphabet)
    ids = data.x_train.argmax(-1) if codec.one_hot else data.x_train
    assert ids.shape == (n, codec.window)
    assert sorted(ids[:, 0]) == list(range(n))  # every letter starts one pattern
    for row, target in zip(ids, data.y_train):
        assert list(row) == [(row[0] + i) % n for i in range(codec.window)]
        assert target == (row[-1] + 1) % n
    np.testing.assert_array_equal(data.x_test, data.x_train)  # the task is to learn every pattern


def test_letter_codec_round_trip_and_errors():
    data = rnn_zoo.load_task_data("letters_4pre1")
    codec = data.codec
    x = codec.encode("abcd")
    assert x.shape == (4, 5) and x.dtype == np.float32
    np.testing.assert_array_equal(x.argmax(-1), [0, 1, 2, 3])
    assert codec.decode(np.eye(5)[4]) == "e"  # probabilities -> letter
    assert codec.decode(np.eye(5)[[4, 0]]) == ["e", "a"]  # a batch of them
    assert codec.decode(2) == "c"
    ids = rnn_zoo.load_task_data("letters_embedding_4pre1").codec
    np.testing.assert_array_equal(ids.encode("wxyz"), [22, 23, 24, 25])
    with pytest.raises(rnn_zoo.DataError, match="expected 4 letter"):
        codec.encode("abc")
    with pytest.raises(rnn_zoo.DataError, match="not in the alphabet"):
        codec.encode("abcz")
    with pytest.raises(rnn_zoo.DataError):
        codec.encode("")
    assert LetterCodec("abcde", 1, True).encode("e").shape == (1, 5)


def test_sine_regression_data():
    data = rnn_zoo.load_task_data("sine_regression", seed=3)
    assert data.x_train.shape == (1500, 10, 1) and data.x_test.shape == (500, 10, 1)
    assert data.y_train.shape == (1500, 1) and data.x_train.dtype == np.float32
    # sin(k + j) for consecutive j: recover k from the first two steps, check the target.
    x = np.concatenate([data.x_train, data.x_test])[..., 0].astype(np.float64)
    y = np.concatenate([data.y_train, data.y_test])[:, 0]
    k = np.arctan2(x[:, 0] * np.sin(1.0), x[:, 1] - x[:, 0] * np.cos(1.0))  # sin(k)/cos(k) from two samples
    np.testing.assert_allclose(np.sin(k + 10), y, atol=1e-5)
    same = rnn_zoo.load_task_data("sine_regression", seed=3)
    other = rnn_zoo.load_task_data("sine_regression", seed=4)
    np.testing.assert_array_equal(same.x_train, data.x_train)
    assert not np.allclose(other.x_train, data.x_train)


def test_sine_options_are_validated():
    assert rnn_zoo.load_task_data("sine_regression", num_sequences=100, num_train=80).x_test.shape == (20, 10, 1)
    with pytest.raises(rnn_zoo.InvalidOverrideError, match="valid options: num_sequences, num_train, steps"):
        rnn_zoo.load_task_data("sine_regression", num_seqs=100)


def test_sin_to_cos_chunks_continue_the_curve():
    data = rnn_zoo.load_task_data("sin_to_cos")
    assert data.x_train.shape == (1000, 10, 1) and data.x_test.shape == (100, 10, 1)
    assert data.stateful
    x = np.concatenate([data.x_train, data.x_test])[..., 0].ravel()
    y = np.concatenate([data.y_train, data.y_test])[..., 0].ravel()
    np.testing.assert_allclose(x**2 + y**2, 1, atol=1e-5)
    t = np.arange(len(x)) * np.pi / 10  # one evenly spaced curve, test right after train
    np.testing.assert_allclose(x, np.sin(t), atol=1e-4)
    np.testing.assert_allclose(y, np.cos(t), atol=1e-4)


def test_stateful_pipeline_keeps_order_and_fixed_batches():
    data = rnn_zoo.load_task_data("sin_to_cos")
    train_ds, test_ds = data.datasets(batch_size=1)
    xs = np.concatenate([x.numpy() for x, _ in train_ds])
    np.testing.assert_array_equal(xs, data.x_train)
    # Two rows: row j of each batch walks the j-th half of the sequence.
    train_ds, _ = data.datasets(batch_size=2)
    batches = [x.numpy() for x, _ in train_ds]
    assert all(b.shape == (2, 10, 1) for b in batches) and len(batches) == 500
    np.testing.assert_array_equal(np.stack([b[0] for b in batches]), data.x_train[:500])
    np.testing.assert_array_equal(np.stack([b[1] for b in batches]), data.x_train[500:])
    np.testing.assert_array_equal(interleave_streams(np.arange(7), 2), [0, 3, 1, 4, 2, 5])


def test_training_set_is_shuffled_with_the_seed_and_the_test_set_is_not():
    def order(seed):
        train_ds, test_ds = rnn_zoo.load_data("sine_regression", batch_size=500, seed=seed)
        return next(iter(train_ds))[0].numpy(), next(iter(test_ds))[0].numpy()

    data = rnn_zoo.load_task_data("sine_regression", seed=0)
    a_train, a_test = order(0)
    b_train, _ = order(0)
    np.testing.assert_array_equal(a_train, b_train)
    np.testing.assert_array_equal(a_test, data.x_test)
    assert not np.array_equal(a_train, data.x_train[:500])
    # Reshuffled every epoch, but the same sequence of epochs for the same seed.
    train_ds, _ = rnn_zoo.load_data("sine_regression", batch_size=1500, seed=0)
    first, second = (next(iter(train_ds))[0].numpy() for _ in range(2))
    assert not np.array_equal(first, second)


def _stages(ds):
    stages = []
    while ds is not None:
        stages.append(type(ds).__name__)
        ds = getattr(ds, "_input_dataset", None)
    return stages


def test_pipeline_is_cached_shuffled_batched_and_prefetched():
    train_ds, test_ds = rnn_zoo.load_data("letters_4pre1")
    assert _stages(train_ds) == [
        "_PrefetchDataset",
        "_BatchDataset",
        "_ShuffleDataset",
        "CacheDataset",
        "_TensorSliceDataset",
    ]
    assert _stages(test_ds) == ["_PrefetchDataset", "_BatchDataset", "CacheDataset", "_TensorSliceDataset"]
    assert isinstance(train_ds, tf.data.Dataset)
    assert next(iter(train_ds))[0].shape == (5, 4, 5)
