"""Where each family's data meets the model: the tf.data pipelines feed the task's model
(shapes, dtypes, one fit step), and the SMS serving graph hands the model the ids that
`encode` gives. The readers themselves are tested in test_data_*.py, which do not depend on
the Keras backend; these do, so they run on every backend."""

import numpy as np
import pytest
from fixtures import EDGE_MESSAGES, SMS_LINES, write_mnist_idx, write_sms, write_tushare_csv

import rnn_zoo
from rnn_zoo.tasks import sms

GENERATED = [
    "letters_1pre1",
    "letters_4pre1",
    "letters_embedding_1pre1",
    "letters_embedding_4pre1",
    "sine_regression",
    "sin_to_cos",
]


@pytest.mark.parametrize("name", GENERATED)
def test_element_spec_matches_the_model(name):
    spec = rnn_zoo.get_task(name)
    train_ds, test_ds = rnn_zoo.load_data(name)
    model = rnn_zoo.build(name)
    for ds in (train_ds, test_ds):
        x_spec, y_spec = ds.element_spec
        assert tuple(x_spec.shape[1:]) == spec.input_shape
        assert x_spec.dtype.name == spec.input_dtype
        x, y = next(iter(ds))
        assert model(x).shape[:-1] == y.shape[: len(model.output_shape) - 1]
    history = model.fit(train_ds.take(1), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


def test_npz_is_preferred(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    np.savez_compressed(
        tmp_path / "mnist.npz",
        x_train=x,
        y_train=np.arange(5, dtype=np.uint8),
        x_test=x[:2],
        y_test=np.array([7, 2], dtype=np.uint8),
    )
    write_mnist_idx(tmp_path)
    data = rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)
    assert data.source.endswith("mnist.npz") and data.x_train.shape == (5, 28, 28)
    np.testing.assert_array_equal(data.y_test, [7, 2])
    train_ds, test_ds = rnn_zoo.load_data("mnist_lstm", data_dir=tmp_path, batch_size=4)
    model = rnn_zoo.build("mnist_lstm")
    assert np.isfinite(model.fit(train_ds, epochs=1, verbose=0, shuffle=False).history["loss"][0])


def test_ids_datasets_feed_the_reference_model(tmp_path):
    write_sms(tmp_path / "SMSSpamCollection")
    data = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, min_count=1)
    train_ds, _ = data.datasets(batch_size=4)
    model = rnn_zoo.build("sms_spam_rnn", preprocessor=data.preprocessor)
    assert np.isfinite(model.fit(train_ds, epochs=1, verbose=0, shuffle=False).history["loss"][0])


def test_stock_datasets_feed_the_model(tmp_path):
    write_tushare_csv(tmp_path / "SH600519.csv", n=400)
    train_ds, test_ds = rnn_zoo.load_data("stock_lstm", data_dir=tmp_path, batch_size=16)
    x, y = next(iter(train_ds))
    assert x.shape == (16, 60, 1) and y.shape == (16, 1)
    assert sum(int(b[0].shape[0]) for b in test_ds) == 240
    model = rnn_zoo.build("stock_lstm")
    assert np.isfinite(model.fit(train_ds.take(2), epochs=1, verbose=0, shuffle=False).history["loss"][0])


@pytest.mark.parametrize("tokens, digit_symbol", [("words", False), ("words", True), ("symbols", True)])
def test_the_serving_graph_gives_the_ids_encode_gives(tokens, digit_symbol):
    """The graph's regular expressions (RE2) and Python's give the same ids, odd
    whitespace, emoji and empty messages included."""
    import tensorflow as tf

    texts = EDGE_MESSAGES + [line.split("\t", 1)[1] for line in SMS_LINES]
    vocabulary = sms.SmsVocabulary.fit(texts, min_count=1, max_length=12, digit_symbol=digit_symbol, tokens=tokens)
    seen = {}

    def model(ids, training=False):
        seen["ids"] = ids
        return tf.zeros((tf.shape(ids)[0], 2))

    vocabulary.serving(model).fn(tf.constant(texts))
    np.testing.assert_array_equal(seen["ids"].numpy(), vocabulary.encode(texts))
    # Tabs, line breaks and every Unicode space (all that str.split() splits on) split words
    # in the graph too (RE2's \s is ASCII only).
    unicode = [f"free{c}prize{c}now" for c in sms.SPACE]
    messages = ["free\tprize\tnow", "free prize now", "Call now\nto claim", *unicode]
    vocabulary = sms.SmsVocabulary.fit(
        [*messages, "nowto"], min_count=1, max_length=4, digit_symbol=digit_symbol, tokens=tokens
    )
    vocabulary.serving(model).fn(tf.constant(messages))
    tabbed, spaced, broken, *spaces = seen["ids"].numpy()
    np.testing.assert_array_equal(tabbed, spaced)
    for c, ids in zip(sms.SPACE, spaces):
        np.testing.assert_array_equal(ids, spaced, err_msg=f"U+{ord(c):04X}")
    assert [vocabulary.vocabulary[i] for i in broken] == ["call", "now", "to", "claim"]
    np.testing.assert_array_equal(seen["ids"].numpy(), vocabulary.encode(messages))
