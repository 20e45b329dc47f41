"""Integration on the real datasets, when RNN_ZOO_DATA points at them (CI: ../shared/data)."""

import numpy as np
import pytest

import rnn_zoo

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


@pytest.mark.backend_free
def test_sh600519_windows_and_naive_forecast(real_data_dir):
    data = rnn_zoo.load_task_data("stock_lstm", data_dir=real_data_dir)
    assert data.x_train.shape == (2066, 60, 1) and data.x_test.shape == (240, 60, 1)
    assert len(data.dates) == 2426
    assert data.train_prices.max() == pytest.approx(788.8)
    assert (data.test_prices.min(), data.test_prices.max()) == pytest.approx((677.5, 1250.0))
    true, naive = data.naive_forecast()
    err = true - naive
    assert np.sqrt(np.mean(err**2)) == pytest.approx(19.62, abs=0.005)
    assert np.mean(np.abs(err)) == pytest.approx(14.71, abs=0.005)
    assert 100 * np.mean(np.abs(err) / true) == pytest.approx(1.39, abs=0.005)


def test_sms_collection_counts(real_data_dir):
    data = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=real_data_dir)
    assert len(data.y_train) + len(data.y_test) == 5574
    assert data.y_train.sum() + data.y_test.sum() == 747
    assert len(data.y_test) == 1115
    # The shipped preset's vocabulary is this split's (seed 0): the default size of build().
    assert data.vocab_size == rnn_zoo.build("sms_spam_rnn").get_layer("embedding").input_dim == 861
    assert data.preprocessor == rnn_zoo.load_preset("sms_spam_rnn").preprocessor


def test_tuned_sms_vocabulary_matches_its_default(real_data_dir):
    data = rnn_zoo.load_task_data("sms_spam_tuned", data_dir=real_data_dir)
    assert data.vocab_size == rnn_zoo.build("sms_spam_tuned").get_layer("embedding").input_dim == 3568
    assert data.preprocessor == rnn_zoo.load_preset("sms_spam_tuned").preprocessor
    assert data.x_train.shape == (4459, 80) and "0" in data.vocabulary  # digits kept as a symbol


@pytest.mark.backend_free
def test_stock_returns_representation_is_scale_free(real_data_dir):
    data = rnn_zoo.load_task_data("stock_gru_returns", data_dir=real_data_dir)
    assert data.x_train.shape == (2066, 60, 1) and data.x_test.shape == (240, 60, 1)
    # Predicting a zero return is exactly the naive forecast.
    assert data.score(np.zeros((240, 1))) == pytest.approx(data.baseline_scores())
    # The return scale was fitted on the training rows only.
    train = data.train_prices
    assert data.preprocessor.return_scale == pytest.approx(np.std(np.diff(train) / train[:-1]))


@pytest.mark.backend_free
def test_mnist_counts_and_official_label_counts(real_data_dir):
    data = rnn_zoo.load_task_data("mnist_lstm", data_dir=real_data_dir)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert np.bincount(data.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(data.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert data.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.isclose(data.x_train.mean() * 255, 33.3184, atol=1e-3)


@pytest.mark.backend_free
def test_mnist_idx_files_equal_the_npz(real_data_dir):
    idx_dir = real_data_dir / "mnist_idx"
    if not idx_dir.is_dir():
        pytest.skip("no mnist_idx/ folder beside mnist.npz")
    from_idx = rnn_zoo.load_task_data("mnist_lstm", data_dir=idx_dir)
    from_npz = rnn_zoo.load_task_data("mnist_lstm", data_dir=real_data_dir)
    np.testing.assert_array_equal(from_idx.x_test, from_npz.x_test)
    np.testing.assert_array_equal(from_idx.y_train, from_npz.y_train)


@pytest.mark.parametrize("name", rnn_zoo.list_tasks())
def test_one_epoch_on_a_slice_of_the_real_data(name, real_data_dir):
    spec = rnn_zoo.get_task(name)
    data = rnn_zoo.load_task_data(name, data_dir=real_data_dir)
    train_ds, test_ds = data.datasets(spec.train.batch_size)
    model = rnn_zoo.build(name, preprocessor=data.preprocessor)
    history = model.fit(train_ds.take(3), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    metrics = model.evaluate(test_ds.take(2), verbose=0, return_dict=True)
    assert np.isfinite(metrics["loss"])
