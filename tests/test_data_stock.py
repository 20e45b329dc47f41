"""Stock loader on tiny tushare- and Yahoo-format CSVs written here."""

import warnings

import numpy as np
import pytest
from fixtures import write_tushare_csv, write_yahoo_csv

import rnn_zoo
from rnn_zoo.tasks.stock import sliding_windows

pytestmark = pytest.mark.backend_free  # readers only (the models: test_data_feeds_models.py)

SMALL = dict(test_rows=30, window=10)


def test_tushare_csv_split_scaling_and_windows(tmp_path):
    frame = write_tushare_csv(tmp_path / "SH600519.csv", n=120)
    data = rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path, **SMALL)
    assert data.x_train.shape == (90 - 10, 10, 1) and data.y_train.shape == (80, 1)
    assert data.x_test.shape == (30 - 10, 10, 1) and data.y_test.shape == (20, 1)
    assert data.x_train.dtype == np.float32
    opens = frame["open"].to_numpy()
    np.testing.assert_array_equal(data.train_prices, opens[:90])
    np.testing.assert_array_equal(data.test_prices, opens[90:])
    # The scaler saw the training rows only: they span exactly [0, 1].
    train_scaled = np.concatenate([data.x_train[0, :, 0], data.y_train[:, 0]])
    assert train_scaled.min() == pytest.approx(0) and train_scaled.max() == pytest.approx(1)
    scaler = data.preprocessor
    assert scaler.to_prices(1.0) == pytest.approx(opens[:90].max())
    assert scaler.to_prices(0.0) == pytest.approx(opens[:90].min())
    # Each window is followed by its next value; the inverse transform gives prices back.
    np.testing.assert_allclose(data.to_prices(data.y_test[:, 0]), opens[100:], rtol=1e-5)
    np.testing.assert_allclose(data.to_prices(data.x_test[0, :, 0]), opens[90:100], rtol=1e-5)
    np.testing.assert_allclose(data.to_prices(data.x_train[1, -1, 0]), opens[10], rtol=1e-5)
    true, naive = data.naive_forecast()
    np.testing.assert_array_equal(true, opens[100:])
    np.testing.assert_array_equal(naive, opens[99:-1])


def test_test_prices_above_the_training_range_scale_above_one(tmp_path):
    write_tushare_csv(tmp_path / "SH600519.csv", n=120)  # an upward trend
    data = rnn_zoo.load_task_data("stock_gru", data_dir=tmp_path, **SMALL)
    assert data.y_test.max() > 1  # no leak: test rows were not used to fit the scaler


def test_yahoo_csv_with_price_column_chosen_by_name(tmp_path):
    frame = write_yahoo_csv(tmp_path / "AAPL.csv")
    data = rnn_zoo.load_task_data("stock_simplernn", csv_path=tmp_path / "AAPL.csv", price_column="Close", **SMALL)
    np.testing.assert_allclose(data.test_prices, frame["Close"].to_numpy()[-30:])
    lower = rnn_zoo.load_task_data("stock_simplernn", csv_path=tmp_path / "AAPL.csv", price_column="adj close", **SMALL)
    np.testing.assert_allclose(lower.test_prices, frame["Adj Close"].to_numpy()[-30:])
    default = rnn_zoo.load_task_data("stock_simplernn", csv_path=tmp_path / "AAPL.csv", **SMALL)
    np.testing.assert_allclose(default.test_prices, frame["Open"].to_numpy()[-30:])


def test_integer_dates_are_calendar_dates(tmp_path):
    frame = write_yahoo_csv(tmp_path / "a.csv")
    frame["Date"] = frame["Date"].str.replace("-", "").astype(int)  # tushare pro: trade_date 20190102
    frame.to_csv(tmp_path / "int_dates.csv", index=False)
    data = rnn_zoo.load_task_data("stock_lstm", csv_path=tmp_path / "int_dates.csv", **SMALL)
    assert str(data.dates[0])[:10] == "2019-01-02"


def test_unsorted_rows_are_sorted_with_a_warning(tmp_path):
    frame = write_yahoo_csv(tmp_path / "a.csv")
    frame.iloc[::-1].to_csv(tmp_path / "newest_first.csv", index=False)
    with pytest.warns(UserWarning, match="not in date order"):
        data = rnn_zoo.load_task_data("stock_lstm", csv_path=tmp_path / "newest_first.csv", **SMALL)
    np.testing.assert_allclose(data.test_prices, frame["Open"].to_numpy()[-30:])


def test_sorted_file_gives_no_warning(tmp_path):
    write_tushare_csv(tmp_path / "SH600519.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path, **SMALL)


def _broken(tmp_path, edit):
    frame = write_yahoo_csv(tmp_path / "ok.csv")
    frame = edit(frame.astype({"Open": object}))
    frame.to_csv(tmp_path / "bad.csv", index=False)
    return tmp_path / "bad.csv"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda f: f.drop(columns="Open"), "no price column named 'open'; columns are"),
        (lambda f: f.drop(columns="Date"), "no date column named 'date' or 'trade_date'"),
        (
            lambda f: f.assign(Open=f["Open"].where(f.index != 5, None)),
            "missing or non-numeric 'Open' on line(s) 7 (first value: '')",
        ),
        (lambda f: f.assign(Open=f["Open"].where(f.index != 3, "null")), "line(s) 5 (first value: 'null')"),
        (lambda f: f.assign(Open=f["Open"].where(f.index != 8, -1.0)), "non-positive 'Open' on line(s) 10"),
        (lambda f: f.assign(Date=f["Date"].where(f.index != 4, f["Date"][3])), "duplicated dates on line(s) 5, 6"),
        (lambda f: f.assign(Date=f["Date"].where(f.index != 2, "someday")), "unparseable or empty 'Date' on line(s) 4"),
        (lambda f: f.iloc[:60], "60 rows; need more than 10 training rows and 10 test rows"),
    ],
)
def test_malformed_csv_is_rejected_naming_file_and_line(tmp_path, edit, message):
    path = _broken(tmp_path, edit)
    test_rows = 55 if "60 rows" in message else 30
    with pytest.raises(rnn_zoo.DataError) as info:
        rnn_zoo.load_task_data("stock_lstm", csv_path=path, test_rows=test_rows, window=10)
    assert str(path) in str(info.value) and message in str(info.value)


def test_not_a_csv(tmp_path):
    (tmp_path / "SH600519.csv").write_bytes(b"\x00\x01\x02 binary \xff\xfe")
    with pytest.raises(rnn_zoo.DataError, match="SH600519.csv"):
        rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path, **SMALL)


def test_missing_file_says_how_to_get_one(tmp_path, monkeypatch):
    with pytest.raises(rnn_zoo.DataNotFoundError) as info:
        rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path)
    text = str(info.value)
    assert str(tmp_path) in text and "tushare" in text and "csv_path=" in text
    with pytest.raises(FileNotFoundError, match="does not exist"):
        rnn_zoo.load_task_data("stock_lstm", csv_path=tmp_path / "nope.csv")


def test_data_dir_defaults_to_the_environment_then_the_cache(tmp_path, monkeypatch):
    write_tushare_csv(tmp_path / "SH600519.csv")
    monkeypatch.setenv("RNN_ZOO_DATA", str(tmp_path))
    assert rnn_zoo.load_task_data("stock_lstm", **SMALL).source == str(tmp_path / "SH600519.csv")
    monkeypatch.delenv("RNN_ZOO_DATA")
    cache = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    (cache / "rnn_zoo").mkdir(parents=True)
    write_tushare_csv(cache / "rnn_zoo" / "SH600519.csv")
    assert rnn_zoo.load_task_data("stock_lstm", **SMALL).source == str(cache / "rnn_zoo" / "SH600519.csv")


def test_sliding_windows():
    x, y = sliding_windows(np.arange(6.0), 3)
    np.testing.assert_array_equal(x[..., 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y[:, 0], [3, 4, 5])
