"""Next day's price from the previous 60 (Kweichow Moutai, SH600519, by default)."""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from pathlib import Path

import numpy as np

from ..backend import tf_call
from ..classical import ClassicalModel, time_series_cv_mse
from ..data import RegressionData, Serving, find_file, search_dirs
from ..data.labelled import check_column_option, check_widths, column_index, decoded, line_list, table_rows
from ..errors import DataError, DataNotFoundError, PresetError, one_line, shown
from ..intervals import MAX_SCORE, MAX_SCORES, calibration_scores, percent
from ..intervals import interval as conformal_interval
from ..plots import plot_series
from ..preprocessing import RANGE_MARGIN, Range, RangedInput
from ..registry import CELLS, DatasetInfo, Goal, ModelSpec, TaskSpec, TrainSpec, register

SOURCE = "PKU MOOC 'TensorFlow notes' class 6: p38_rnn_stock / p47_LSTM_stock / p56_GRU_stock"
DEFAULT_FILE = "SH600519.csv"
MOUTAI = DatasetInfo(
    name="Kweichow Moutai (600519.SH) daily k-line, 2010-04-26 to 2020-04-24, as saved by tushare get_k_data",
    license="market data retrieved with tushare; the file has no licence of its own and is redistributed "
    "with the PKU MOOC 'TensorFlow notes' course material",
    citation="tushare, get_k_data('600519', ktype='D')",
    url="http://tushare.org",
)

_NOT_FOUND = """\
{file} was not found in: {dirs}.
There is no public download of this file. Either
  * point RNN_ZOO_DATA (or data_dir=, --data-dir) at a folder holding {file}, or
  * download it with tushare: ts.get_k_data('600519', ktype='D', start='2010-04-26',
    end='2020-04-26').to_csv('{file}'), or
  * give any daily CSV with a date column and a price column: --csv FILE --price-column Close
    on the command line, csv_path= and price_column= in Python
    (e.g. a Yahoo Finance Date,Open,High,Low,Close,Adj Close,Volume file)."""


# -- the file format: a daily price CSV ---------------------------------------------------
# Column names tried, lowercase, when the caller does not name the date column.
DATE_COLUMNS = ("date", "trade_date", "datetime", "timestamp", "time")
LAYOUT = "a header row (e.g. Date,Open,High,Low,Close,Adj Close,Volume) and one row per day"


def _checked_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(the header's names, (line, row) for each row) of a comma-separated file, read as the
    labelled texts are (`rnn_zoo.data.labelled`: UTF-8, CSV quoting, a bad byte named by its
    line; `check_widths` once the columns are found). A DataError too for a file that is empty, or whose
    last line has no line break after it (a copy or a download cut short mid-row, where
    114.704 would be read as 11)."""
    text = decoded(path)
    if not text.strip():
        raise DataError(f"{path} is empty; a price CSV has {LAYOUT}")
    if not text.endswith(("\n", "\r")):
        raise DataError(
            f"{path}:{len(text.splitlines())}: the file ends inside this line, with no line break after it: the last "
            "row may be cut short; if it is whole, end the file with a line break"
        )
    (_, header), *rows = table_rows(path, text, ",")
    return [name.strip() for name in header], rows


def _price_frame(path: Path, price_column, date_column):
    """(the date and the price column as text, with the line of each row, the date column's
    name, the price column's name)."""
    import pandas as pd

    check_column_option("price_column", price_column)
    check_column_option("date_column", date_column)
    header, rows = _checked_rows(path)
    d = column_index(path, header, date_column, DATE_COLUMNS, "date", option="date_column")
    p = column_index(path, header, price_column, (), "price", option="price_column")
    check_widths(path, header, rows, ",")
    if not rows:
        raise DataError(f"{path}: a header and no rows; a price CSV has {LAYOUT}")
    # No NA guessing: a 'null' or empty price is reported as written, not as nan.
    frame = pd.DataFrame({"date": [row[d] for _, row in rows], "price": [row[p] for _, row in rows]})
    frame.index = np.array([line for line, _ in rows])
    return frame, header[d], header[p]


def _lines(series, bad) -> str:
    """The file lines of rows `bad` (positions in `series`, indexed by line)."""
    return line_list(series.index[bad])


# A time of day followed by a time-zone offset ("2018-01-02 00:00:00-05:00", as yfinance writes;
# "...Z"): the offset is dropped, so each row keeps its own local calendar date, even where the
# offset changes within the file (daylight saving).
_TZ_OFFSET = re.compile(r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)$", re.I)


def _parsed_dates(path: Path, raw, column: str):
    """The dates of `column`, tz-naive: a time-zone offset is dropped, keeping each row's local date."""
    import pandas as pd

    text = raw.str.strip().str.replace(_TZ_OFFSET, r"\1", regex=True)
    try:
        dates = pd.to_datetime(text, errors="coerce")
    except (ValueError, TypeError) as e:  # a format pandas refuses as a whole
        raise DataError(f"{path}: the dates of {column!r} cannot be read ({one_line(e)})") from None
    if getattr(dates.dtype, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    if dates.dtype == object:
        raise DataError(f"{path}: the dates of {column!r} mix time-zone offsets; give plain dates (e.g. 2018-01-02)")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if len(bad):
        raise DataError(f"{path}: unparseable or empty {column!r} on line(s) {_lines(raw, bad)}")
    return dates


# A number written with thousands separators ("2,002.5", quoted in a CSV).
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def read_price_csv(path: Path, price_column: str = "open", date_column: str | None = None):
    """(dates, prices, columns) from a daily CSV, oldest first; columns matched by name,
    ignoring case; `columns` names the two read, as the header spells them.

    Rejected with an error naming the file and the lines or the column: an empty file, a
    header with no rows, a column missing or named twice, unparseable dates, missing or
    non-numeric or non-positive prices, duplicated dates. Unsorted rows are sorted, with a
    warning."""
    import pandas as pd

    frame, date_col, price_col = _price_frame(path, price_column, date_column)
    dates = _parsed_dates(path, frame["date"], date_col)
    raw = frame["price"]
    prices = pd.to_numeric(raw.str.strip(), errors="coerce")
    bad = np.flatnonzero(prices.isna().to_numpy())
    if len(bad):
        first = raw.iloc[bad[0]]
        advice = (
            "remove the thousands separators (2,002.5 -> 2002.5)"
            if _THOUSANDS.match(first.strip())
            else "drop or fill those rows first"
        )
        raise DataError(
            f"{path}: missing or non-numeric {price_col!r} on line(s) {_lines(raw, bad)} "
            f"(first value: {first!r}); {advice}"
        )
    bad = np.flatnonzero(~np.isfinite(prices.to_numpy(dtype=np.float64)))
    if len(bad):
        raise DataError(f"{path}: infinite {price_col!r} on line(s) {_lines(raw, bad)}; expected finite prices")
    bad = np.flatnonzero((prices <= 0).to_numpy())
    if len(bad):
        raise DataError(f"{path}: non-positive {price_col!r} on line(s) {_lines(raw, bad)}")
    bad = np.flatnonzero(dates.duplicated(keep=False).to_numpy())
    if len(bad):
        raise DataError(f"{path}: duplicated dates on line(s) {_lines(raw, bad)}")
    if not dates.is_monotonic_increasing:
        warnings.warn(f"{path}: rows are not in date order; sorting them oldest first", stacklevel=3)
        order = np.argsort(dates.to_numpy(), kind="stable")
        dates, prices = dates.iloc[order], prices.iloc[order]
    columns = {"date": date_col, "price": price_col}
    return dates.to_numpy(), prices.to_numpy(dtype=np.float64), columns


def last_window(csv_path, window: int, *, price_column: str = "open", date_column: str | None = None):
    """(the last row's day, its last `window` prices) of a daily CSV: what a forecast of the
    day after the file's last row is made from."""
    path = _price_file(csv_path, None)
    dates, prices, _ = read_price_csv(path, price_column, date_column)
    if len(prices) < window:
        raise DataError(f"{path}: {len(prices)} rows; a forecast reads the last {window} (the model's window)")
    return np.datetime_as_string(dates[-1], unit="D"), prices[-window:]


def sliding_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Each run of `window` consecutive values -> the value after it.
    Returns x of shape (n - window, window, 1) and y of shape (n - window, 1)."""
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], window)
    return x[..., None].astype(np.float32), series[window:, None].astype(np.float32)


@dataclasses.dataclass
class PriceData(RegressionData):
    """Windows of `window` prices, each followed by the price to forecast, made by a
    `PriceScaler` (levels) or a `ReturnScaler` (returns). Metrics are in price units; the
    baseline is "tomorrow = today". `test_prices` are the raw test rows (the first
    `window` of them only feed the first test window)."""

    dates: np.ndarray
    train_prices: np.ndarray
    test_prices: np.ndarray
    window: int

    baseline_name = "tomorrow = today"
    supports_backtest = True
    calibrates = True

    def serving_examples(self, n):
        starts = self._test_rows(n, len(self.test_prices) - self.window)
        return {"prices": np.stack([self.test_prices[i : i + self.window] for i in starts]).astype(np.float32)}

    def naive_forecast(self) -> tuple[np.ndarray, np.ndarray]:
        """(true, predicted) next prices on the test windows for "tomorrow = today"."""
        return self.test_prices[self.window :], self.test_prices[self.window - 1 : -1]

    def plot_predictions(self, y_pred, folder, *, title):
        """The forecast over the test range, beside the real prices and "tomorrow = today"."""
        true, naive = self.naive_forecast()
        series = {"real": true, "predicted": self.predicted_prices(y_pred), "tomorrow = today": naive}
        x = self.dates[-len(true) :]
        return plot_series(series, folder / "forecast.png", x=x, title=f"{title}: test range", ylabel="price")

    def predicted_prices(self, y_pred) -> np.ndarray:
        """Model outputs on the test windows -> forecast prices."""
        return self.preprocessor.predicted_prices(y_pred, self.test_prices[self.window - 1 : -1])

    def calibrated(self, y_pred) -> PriceData:
        """This data with its preprocessor holding the calibration scores of model outputs
        `y_pred` on the test windows (days the model did not train on)."""
        true, last = self.naive_forecast()
        scores = calibration_scores(true, self.predicted_prices(y_pred), last)
        return dataclasses.replace(self, preprocessor=dataclasses.replace(self.preprocessor, calibration_scores=scores))

    @classmethod
    def price_scores(cls, true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
        mape = float(100 * np.mean(np.abs(np.asarray(predicted, dtype=np.float64) - true) / true))
        return {**cls.error_scores(true, predicted), "mape": mape}

    def score(self, y_pred):
        """MSE, RMSE, MAE in price units and MAPE in %."""
        return self.price_scores(self.test_prices[self.window :], self.predicted_prices(y_pred))

    def baseline_scores(self):
        return self.price_scores(*self.naive_forecast())  # exact prices, no scaling round trip

    classical_fields = ("train_prices", "window")  # the window bounds the lags
    AR_LAGS = (1, 2, 5, 10, 20)

    def head(self, n: int) -> PriceData:
        # The training prices behind the first n windows, so that the classical model sees
        # what the RNN sees.
        return dataclasses.replace(super().head(n), train_prices=self.train_prices[: n + self.window])

    def fit_classical(self):
        """Drift (today's price plus the mean daily change) or a ridge autoregression of the
        next daily return on the last p returns, whichever has the lower price MSE in
        time-series cross-validation on the training rows; p and the ridge penalty are chosen
        there too. Every candidate is fitted and compared on the same days (from the one after
        the longest lag on), and the winner is refitted on all of those days; its drift can
        therefore differ a little from the backtest's, which averages every training day."""

        lags = [p for p in self.AR_LAGS if p < self.window]
        x, y, last = return_lags(self.train_prices, max(lags, default=0))
        candidates = {"drift": (0, drift_forecast), **{f"AR({p})": (p, ridge_ar_forecast) for p in lags}}
        rows = np.column_stack([x, last])  # lagged returns, then the last price
        scores = {}
        for name, (p, forecast) in candidates.items():

            def fit_predict(fit, fit_y, new, p=p, forecast=forecast):
                return forecast(fit[:, :p], fit_y, fit[:, -1], new[:, :p], new[:, -1])

            # The CV target is the next price; fit_predict is given returns to fit on.
            scores[name] = time_series_cv_mse(fit_predict, rows, y, target=last * (1 + y))
        best = min(scores, key=scores.get)
        p, forecast = candidates[best]

        def predict(data):
            new_x, _, new_last = return_lags(data.test_prices, p, start=data.window)
            return forecast(x[:, :p], y, last, new_x, new_last)

        return ClassicalModel(
            "drift or ridge AR on daily returns (time-series CV)",
            predict,
            {"chosen": best, "cv_rmse": {k: round(float(np.sqrt(v)), 4) for k, v in scores.items()}},
        )

    def classical_metrics(self, model):
        return self.price_scores(self.test_prices[self.window :], model.predict(self))


def return_lags(prices, lags: int, start: int | None = None):
    """For each day t from `start` (default: the first with `lags` returns before it):
    (the `lags` daily returns before t, newest first; the return of day t; the price of day t-1)."""
    prices = np.asarray(prices, dtype=np.float64)
    returns = np.concatenate([[np.nan], prices[1:] / prices[:-1] - 1])  # returns[t] = p_t / p_{t-1} - 1
    start = lags + 1 if start is None else start
    if start <= lags:
        raise ValueError(f"{lags} lagged returns need {lags + 1} prices before the first day; start={start}")
    days = np.arange(start, len(prices))
    x = np.stack([returns[days - k] for k in range(1, lags + 1)], axis=1) if lags else np.zeros((len(days), 0))
    return x, returns[days], prices[days - 1]


def drift_forecast(x_fit, y_fit, last_fit, x_new, last_new):
    """Each new day's last price plus the mean daily price change of the fitted days."""
    return last_new + float(np.mean(last_fit * y_fit))


def ridge_ar_forecast(x_fit, y_fit, last_fit, x_new, last_new):
    """Each new day's last price grown by the return a ridge regression on the lagged
    returns predicts; its penalty is chosen by leave-one-out (RidgeCV) on standardised lags."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13))).fit(x_fit, y_fit)
    return last_new * (1 + model.predict(x_new))


@dataclasses.dataclass(frozen=True)
class PriceWindows(RangedInput, abstract=True):
    """What both price representations share: windows of `window` prices in, one price out;
    prices outside `input_range` ([lowest / 100, highest * 100] of the training prices) are
    refused."""

    window: int
    # Sorted relative residuals |true - forecast| / last price of days the model did not train
    # on (its test split's), for `rnn_zoo.intervals`; none in presets from before them.
    calibration_scores: tuple[float, ...] = dataclasses.field(default=(), kw_only=True)

    input_name = "prices"
    input_description = "a window of prices"
    ranges = {"window": Range(1, 100_000), "calibration_scores": Range(0, MAX_SCORE)}
    range_rule = f"the range of the training prices widened {RANGE_MARGIN:g}x each way"
    positive = True
    output_description = "the forecast price"

    def __post_init__(self):
        super().__post_init__()
        scores = tuple(float(v) for v in self.calibration_scores)
        object.__setattr__(self, "calibration_scores", scores)
        if len(scores) > MAX_SCORES:
            raise PresetError(f"config.calibration_scores holds {len(scores)} scores; at most {MAX_SCORES}")
        # (Scores outside their range, NaN among them, are check_values' to name.)
        if all(self.ranges["calibration_scores"].holds(v) for v in scores) and list(scores) != sorted(scores):
            raise PresetError("config.calibration_scores must be sorted from the smallest to the largest")

    def interval(self, inputs, prediction, level: float) -> dict:
        """The conformal interval at `level` of one forecast `prediction` from the window
        `inputs`: {"lower", "upper", "level"}; {} without calibration scores."""
        if not self.calibration_scores:
            return {}
        last = float(np.ravel(inputs)[-1])
        lower, upper = conformal_interval(prediction, last, self.calibration_scores, level)
        return {"lower": float(lower), "upper": float(upper), "level": level}

    def format_output(self, output: dict) -> str:
        """The forecast, and its interval where the output has one."""
        line = super().format_output(output)
        if "lower" not in output:
            return line
        return f"{line} ({percent(output['level'])}% interval {output['lower']:.6g} to {output['upper']:.6g})"

    @property
    def training_prices(self) -> tuple[float, float]:
        """The lowest and highest training price, read back from `input_range`."""
        low, high = self.input_range
        return low * RANGE_MARGIN, high / RANGE_MARGIN

    @property
    def input_shape(self):
        return (self.window, 1)

    def example_input(self):
        return np.linspace(1000.0, 1050.0, self.window, dtype=np.float32)

    @staticmethod
    def price_range(train_prices) -> tuple[float, float]:
        """The declared input range: [lowest / 100, highest * 100] of the training prices."""
        prices = np.asarray(train_prices, dtype=np.float64)
        return float(prices.min()) / RANGE_MARGIN, float(prices.max()) * RANGE_MARGIN

    def checked_prices(self, prices):
        """`prices`, once they are known a batch of windows of `window`, finite, positive and
        inside `input_range`: the model reads the checked tensor, so a refused request runs
        nothing else."""
        return self.in_range(prices, "prices", (self.window,))


@dataclasses.dataclass(frozen=True)
class PriceScaler(PriceWindows):
    """The tutorial's representation: prices scaled by a min-max scaling fitted on the
    training rows only, `scaled = price * scale + offset`; the model predicts the next
    scaled price (the level)."""

    scale: float
    offset: float
    ranges = {**PriceWindows.ranges, "scale": Range(1e-15, 1e15, above=True), "offset": Range(-1e15, 1e15)}

    def __post_init__(self):
        super().__post_init__()
        if all(self.ranges[k].holds(getattr(self, k)) for k in ("scale", "offset")):  # else check_values says
            self._check_min_max()

    def _check_min_max(self) -> None:
        """A PresetError unless `scale` and `offset` are the min-max scaling of the training
        prices that `input_range` declares: scale = 1 / (highest - lowest), offset = -lowest
        * scale (a tampered scale of 2e-15 with an offset of -1e15 answered 5e+29)."""
        lowest, highest = self.training_prices
        scale = 1.0 / (highest - lowest) if highest > lowest else math.inf
        for key, expected, rule in (
            ("scale", scale, "1 / (highest - lowest training price)"),
            ("offset", -lowest * scale, "-lowest training price x scale"),
        ):
            if not math.isclose(getattr(self, key), expected, rel_tol=1e-6):
                raise PresetError(
                    f"config.{key} must be {rule} = {expected:.9g}, the min-max scaling of the training prices "
                    f"that config.input_range declares ({lowest:.6g} to {highest:.6g}), got {getattr(self, key)!r}"
                )

    @classmethod
    def fit(cls, train_prices: np.ndarray, window: int) -> PriceScaler:
        from sklearn.preprocessing import MinMaxScaler

        fitted = MinMaxScaler().fit(np.reshape(train_prices, (-1, 1)))
        scale, offset = float(fitted.scale_[0]), float(fitted.min_[0])
        return cls(window, scale, offset, input_range=cls.price_range(train_prices))

    def transform(self, prices) -> np.ndarray:
        return np.asarray(prices, dtype=np.float64) * self.scale + self.offset

    def to_prices(self, scaled) -> np.ndarray:
        return (np.asarray(scaled, dtype=np.float64) - self.offset) / self.scale

    def windows(self, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return sliding_windows(self.transform(prices), self.window)

    def predicted_prices(self, y_pred, last_prices) -> np.ndarray:
        return self.to_prices(np.ravel(y_pred))

    def serving(self, model):
        """A window of `window` prices in price units -> the next price in price units."""
        import tensorflow as tf

        call = tf_call(model)

        scale, offset = self.scale, self.offset

        def serve(prices):
            prices = self.checked_prices(prices)
            scaled = call(prices[..., None] * scale + offset)
            return {"prediction": self.checked_prediction((scaled[:, 0] - offset) / scale)}

        return Serving(serve, [tf.TensorSpec([None, self.window], tf.float32, name=self.input_name)])


@dataclasses.dataclass(frozen=True)
class ReturnScaler(PriceWindows):
    """Scale-free windows: each price relative to the window's last one (p / p_last - 1),
    and the target is the next day's return, all divided by `return_scale`, the standard
    deviation of daily returns on the training rows. The forecast adds the predicted
    return back: p_last * (1 + return). Test prices far above the training range need no
    extrapolation here."""

    return_scale: float
    ranges = {**PriceWindows.ranges, "return_scale": Range(0, 10, above=True)}

    def __post_init__(self):
        super().__post_init__()
        lowest, highest = self.training_prices
        largest = highest / lowest - 1  # no daily return of the training prices is larger
        if self.ranges["return_scale"].holds(self.return_scale) and self.return_scale > largest:
            raise PresetError(
                f"config.return_scale must be at most {largest:.6g}: the standard deviation of daily returns "
                f"between the training prices that config.input_range declares ({lowest:.6g} to {highest:.6g}) "
                f"is never larger than highest / lowest - 1, got {self.return_scale!r}"
            )

    @classmethod
    def fit(cls, train_prices: np.ndarray, window: int) -> ReturnScaler:
        scale = float(np.std(np.diff(train_prices) / train_prices[:-1]))
        return cls(window, scale, input_range=cls.price_range(train_prices))

    def windows(self, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return relative_windows(prices, self.window, self.return_scale)

    def predicted_prices(self, y_pred, last_prices) -> np.ndarray:
        return last_prices * (1 + np.ravel(y_pred).astype(np.float64) * self.return_scale)

    def serving(self, model):
        """A window of `window` prices in price units -> the next price in price units."""
        import tensorflow as tf

        call = tf_call(model)

        scale = self.return_scale

        def serve(prices):
            prices = self.checked_prices(prices)
            last = prices[:, -1:]
            change = call((prices / last - 1)[..., None] / scale)
            return {"prediction": self.checked_prediction(last[:, 0] * (1 + change[:, 0] * scale))}

        return Serving(serve, [tf.TensorSpec([None, self.window], tf.float32, name=self.input_name)])


@dataclasses.dataclass
class StockData(PriceData):
    """Scaled price levels (`PriceScaler`)."""

    def to_prices(self, scaled) -> np.ndarray:
        return self.preprocessor.to_prices(scaled)


@dataclasses.dataclass
class StockReturnData(PriceData):
    """Scaled returns (`ReturnScaler`)."""


def relative_windows(prices: np.ndarray, window: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Windows relative to their last price, and the next day's return, divided by `scale`."""
    x, y = sliding_windows(prices, window)
    last = x[:, -1:, :].astype(np.float64)
    return ((x / last - 1) / scale).astype(np.float32), ((y / last[:, 0] - 1) / scale).astype(np.float32)


def load_stock(
    *,
    csv_path=None,
    price_column: str = "open",
    date_column: str | None = None,
    test_rows: int | None = None,
    window: int = 60,
    target: str = "level",
    forecast_days: int | None = None,
    skip_last: int = 0,
    data_dir=None,
    seed: int = 0,
    preprocessor: PriceScaler | ReturnScaler | None = None,
) -> PriceData:
    """Split by time, fit the scaling on the training rows only (scaling before splitting
    would leak the test range), and window each part separately.

    The tutorial's split (the default): the last `test_rows` rows (300) are the test rows;
    the first `window` of them only feed the first test window. A walk-forward fold
    (`forecast_days` given): the test forecasts are the `forecast_days` days that end
    `skip_last` rows before the end of the file, every row before them trains, and the first
    test windows reach back into the training rows (prices known on the day of the forecast).

    `target` is "level" (the tutorial's scaled price, `PriceScaler`) or "return"
    (`ReturnScaler`). A given `preprocessor` (a preset's) is used as it is, instead of one
    fitted here. `seed` does not change the data."""
    window = _checked_split_options(target, preprocessor, window, forecast_days, skip_last, test_rows)
    test_rows = DEFAULT_TEST_ROWS if test_rows is None else test_rows
    path = _price_file(csv_path, data_dir)
    dates, prices, columns = read_price_csv(path, price_column, date_column)
    train_end, test_start, test_end = _split_rows(path, len(prices), window, test_rows, forecast_days, skip_last)
    train_prices, test_prices = prices[:train_end], prices[test_start:test_end]
    _check_price_scale(path, dates[:test_end], prices[:test_end], train_end)
    scaler = preprocessor or _SCALERS[target].fit(train_prices, window)
    kind = StockReturnData if target == "return" else StockData
    # Rows after the test rows (a walk-forward fold's future) are not part of this data at all.
    return kind(
        *scaler.windows(train_prices),
        *scaler.windows(test_prices),
        source=str(path),
        dates=dates[:test_end],
        train_prices=train_prices,
        test_prices=test_prices,
        window=window,
        preprocessor=scaler,
        columns=columns,
    )


# Prices that span more than this ratio (largest over smallest) hold a wrong one: float32
# windows of them lose the others (a price of 1e300 scales every other price to 0).
MAX_PRICE_RATIO = 1e9


def _check_price_scale(path, dates, prices, train_end: int) -> None:
    """DataErrors, before any training, for prices no model can learn from: training prices
    that never change (no return to scale: NaN windows), and prices so far apart (or so
    large) that float32 windows lose them. Not the learning rate's fault."""
    train = prices[:train_end]
    if np.all(train == train[0]):
        raise DataError(
            f"{path}: the {len(train)} training prices are all {train[0]:g}: they never change, so there is "
            "nothing to forecast and no daily return to scale"
        )
    top = int(np.argmax(prices))
    if prices[top] > 1e30 or prices[top] / prices.min() > MAX_PRICE_RATIO:
        day = np.datetime_as_string(np.asarray(dates)[top], unit="D")
        raise DataError(
            f"{path}: the price on {day} ({prices[top]:g}) is {prices[top] / prices.min():.3g} times the smallest "
            f"({prices.min():g}); prices that far apart (over {MAX_PRICE_RATIO:g} times) hold a wrong one"
        )


# The tutorial's split: the last 300 rows are the test rows.
DEFAULT_TEST_ROWS = 300


def _checked_split_options(target, preprocessor, window, forecast_days, skip_last, test_rows) -> int:
    """`load_stock`'s options checked; returns the window (a given preprocessor's own)."""
    if target not in _SCALERS:
        raise DataError(f"target must be 'level' or 'return', got {target!r}")
    if preprocessor is not None:
        if type(preprocessor) is not _SCALERS[target]:
            raise PresetError(
                f"a {target} model takes a {_SCALERS[target].__name__}, not a {type(preprocessor).__name__}"
            )
        window = preprocessor.window
    for key, value, least in (("forecast_days", forecast_days, 1), ("skip_last", skip_last, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise DataError(f"{key} must be a whole number >= {least}, got {value!r}")
    if forecast_days is None and skip_last:
        raise DataError("skip_last places a walk-forward fold: give forecast_days with it")
    if forecast_days is not None and test_rows is not None:
        raise DataError("give test_rows (the tutorial's split) or forecast_days (a walk-forward fold), not both")
    if test_rows is None and forecast_days is None and DEFAULT_TEST_ROWS <= window:
        raise DataError(
            f"the default test_rows ({DEFAULT_TEST_ROWS}) does not outnumber the window ({window}): the first "
            f"{window} test rows only feed the first test window; give test_rows (--test-rows) above {window}"
        )
    if test_rows is not None and (isinstance(test_rows, bool) or not isinstance(test_rows, int) or test_rows <= window):
        raise DataError(
            f"test_rows (--test-rows) must be a whole number above the window ({window}): the first {window} test rows only "
            f"feed the first test window, got {shown(test_rows)}"
        )
    return window


def _price_file(csv_path, data_dir) -> Path:
    """The CSV given, else the default file in the search folders."""
    if csv_path is not None:
        path = Path(csv_path).expanduser()
        if path.is_dir():
            raise DataError(f"price CSV {path} is a folder; give the CSV file in it")
        if not path.is_file():
            raise DataNotFoundError(f"price CSV {path} does not exist")
        return path
    path = find_file((DEFAULT_FILE,), data_dir)
    if path is None:
        dirs = ", ".join(str(d) for d in search_dirs(data_dir))
        raise DataNotFoundError(_NOT_FOUND.format(file=DEFAULT_FILE, dirs=dirs))
    return path


def _split_rows(path, rows: int, window: int, test_rows: int, forecast_days, skip_last) -> tuple[int, int, int]:
    """(end of the training rows, start and end of the test rows): the tutorial's split, or
    a walk-forward fold's."""
    if forecast_days is None:
        if rows - test_rows <= window or test_rows <= window:
            raise DataError(
                f"{path}: {rows} rows; need more than {window} training rows and {window} test "
                f"rows (test_rows={test_rows}, window={window}), i.e. at least {test_rows + window + 1} rows; "
                f"fewer test rows (test_rows, --test-rows, above the window) lower it, to {2 * window + 2} at least"
            )
        return rows - test_rows, rows - test_rows, rows
    test_end = rows - skip_last
    train_end = test_end - forecast_days
    if train_end <= window:
        raise DataError(
            f"{path}: {rows} rows leave {max(train_end, 0)} training rows before the "
            f"{forecast_days} forecast days (skip_last={skip_last}); need more than {window}, i.e. at least "
            f"{window + 1 + forecast_days + skip_last} rows"
        )
    return train_end, train_end - window, test_end


_SCALERS = {"level": PriceScaler, "return": ReturnScaler}


for _cell, _name in CELLS.items():
    register(
        TaskSpec(
            name=f"stock_{_name.lower()}",
            family="stock",
            description=f"next day's open of SH600519 from the previous 60, stacked {_name}s",
            recipe=SOURCE,
            input_shape=(60, 1),
            input_dtype="float32",
            model=ModelSpec(cell=_cell, units=(80, 100), dropout=0.2, head_units=1),
            train=TrainSpec(optimizer="adam", learning_rate=1e-3, loss="mse", epochs=50, batch_size=64),
            loader=load_stock,
            data_source="SH600519.csv (tushare daily k-line; local file)",
            dataset=MOUTAI,
            target="honest report beside the naive forecast 'tomorrow = today' (RMSE 19.62 on SH600519)",
        )
    )

register(
    TaskSpec(
        name="stock_gru_returns",
        family="stock",
        description="next day's open of SH600519 as today's open plus a predicted return, one small GRU",
        recipe="zoo-tuned: the tutorial's data and split, scale-free windows and a return target",
        input_shape=(60, 1),
        input_dtype="float32",
        model=ModelSpec(cell="gru", units=(16,), head_units=1),
        train=TrainSpec(optimizer="adam", learning_rate=1e-3, loss="mse", epochs=20, batch_size=64),
        loader=load_stock,
        data_options={"target": "return"},
        data_source="SH600519.csv (tushare daily k-line; local file)",
        dataset=MOUTAI,
        target="beat the naive RMSE on the mean over seeds, within 1% of it on every seed",
        goals=(
            Goal("rmse", "<", 1.0, over="mean", relative_to="baseline"),
            Goal("rmse", "<=", 1.01, relative_to="baseline"),
        ),
        variant_of="stock_gru",
    )
)
