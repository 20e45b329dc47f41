"""A price series of the user's own on the command line: the data flags and their checks,
what a preset trained on it records, and one line for each malformed file. Tiny Yahoo-layout
CSVs (Date,Open,High,Low,Close,Adj Close,Volume) are written here."""

import dataclasses
import hashlib
import json
import re

import pytest
from fixtures import write_yahoo_csv
from harness import one_line_error

import rnn_zoo
from rnn_zoo.cli import main
from rnn_zoo.provenance import reproduce_command

ROWS = 400  # the default split: 300 test rows, 100 training rows (more than the window of 60)
COLUMNS = ["--date-column", "Date", "--price-column", "Close"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv, says: str) -> str:
    """The command's one error line, once it says `says`."""
    code, _, err = run(capsys, *argv)
    assert one_line_error(err, code), err
    assert says in err, err
    return err


@pytest.fixture(scope="module")
def prices(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "prices.csv"
    write_yahoo_csv(path, n=ROWS)
    return path


@pytest.fixture(scope="module")
def trained(prices):
    """A one-epoch stock_gru_returns run on the file, saved as a preset beside it."""
    options = {"csv_path": prices, "date_column": "Date", "price_column": "Close"}
    result = rnn_zoo.train("stock_gru_returns", epochs=1, data_options=options, verbose=0)
    folder = result.save_preset(prices.parent / "preset")
    return result, folder


# -- options checked up front -----------------------------------------------------------------


@pytest.mark.backend_free
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["train", "stock_gru", "--text-column", "text"], "--text-column applies to the sms tasks, not to stock_gru"),
        (["train", "sms_spam_rnn", "--price-column", "Close"], "--price-column applies to the stock tasks"),
        (
            ["train", "letters_4pre1", "--csv", "x.csv"],
            "--csv applies to the sms and stock tasks, not to letters_4pre1",
        ),
        (["train", "stock_gru", "--price-column", "Close"], "--price-column names a column of the file given by --csv"),
        (["evaluate", "stock_gru", "--date-column", "Date"], "--date-column names a column of the file"),
        (["train", "stock_gru", "--set", "csv_path=prices.csv"], "give it as --csv, not --set"),
        (["train", "stock_gru", "--set", "window=10"], "window is a data option of stock_gru"),
        (["train", "stock_gru", "--test-rows", "0"], "--test-rows must be a positive whole number, got 0"),
        (["train", "stock_gru", "--min-count", "2"], "--min-count applies to the sms tasks, not to stock_gru"),
        (["train", "sms_spam_rnn", "--min-count", "0"], "--min-count must be a positive whole number, got 0"),
        # The window is checked before the file is looked for (it does not exist).
        (
            ["train", "stock_gru", "--csv", "nowhere.csv", "--test-rows", "30"],
            "test_rows (--test-rows) must be a whole number above",
        ),
        (["predict", "stock_gru_returns"], "give the inputs, or --csv FILE"),
        (["predict", "stock_gru_returns", "1,2,3", "--csv", "x.csv"], "give the inputs, or --csv FILE"),
        (["predict", "letters_4pre1", "abcd", "--level", "0.9"], "--level applies to the series tasks"),
        (
            ["predict", "stock_gru_returns", "--csv", "x.csv", "--level", "1.5"],
            "level must be a number between 0 and 1",
        ),
        (["predict", "stock_gru_returns", "--csv", "x.csv", "--level", "-0.5"], "got -0.5"),  # not an input
        (["backtest", "letters_4pre1"], "backtest applies to the series tasks (the stock tasks), not to letters_4pre1"),
        (["backtest", "stock_gru", "--folds", "0"], "--folds must be a positive whole number, got 0"),
        (["backtest", "stock_gru", "--days", "-5"], "--days must be a positive whole number, got -5"),
        (["backtest", "stock_gru", "--level", "0"], "level must be a number between 0 and 1"),
        (["backtest", "stock_gru", "--epochs", "0"], "--epochs must be a positive whole number"),
        (["evaluate", "stock_gru", "--csv", "x.csv", "--label-column", "y"], "--label-column applies to the sms tasks"),
    ],
)
def test_data_flags_are_checked_before_anything_is_read(tmp_path, monkeypatch, capsys, argv, says):
    monkeypatch.chdir(tmp_path)  # where train and backtest would write
    refused(capsys, *argv, says=says)
    assert not list(tmp_path.iterdir())  # not even an empty saved_models/ or backtests/


@pytest.mark.backend_free
def test_a_refused_command_leaves_no_folder_behind(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    short = tmp_path.parent / f"{tmp_path.name}-short.csv"  # outside the folder checked
    write_yahoo_csv(short, n=100)
    refused(capsys, "train", "stock_gru_returns", "--csv", short, says="fewer test rows (test_rows, --test-rows")
    refused(capsys, "train", "stock_gru_returns", "--from-preset", "nosuch", says="'nosuch' is neither a preset")
    refused(capsys, "backtest", "stock_gru_returns", "--csv", short, says="100 rows")
    refused(capsys, "train", "stock_gru_returns", "--csv", short, "--out", "deep/a/b", says="at least 361 rows")
    assert not list(tmp_path.iterdir())


@pytest.mark.backend_free
def test_the_default_test_rows_is_checked_against_the_window_before_the_file(tmp_path):
    with pytest.raises(rnn_zoo.DataError, match=r"the default test_rows \(300\) does not outnumber the window \(400\)"):
        rnn_zoo.load_task_data("stock_gru_returns", csv_path=tmp_path / "nowhere.csv", window=400)


@pytest.mark.backend_free
def test_the_offline_message_advises_the_flag(tmp_path, capsys):
    err = refused(capsys, "train", "stock_gru", "--data-dir", tmp_path, "--out", tmp_path / "out", says="not found")
    assert "--csv FILE --price-column" in err and "csv_path=" in err
    assert not (tmp_path / "out").exists()


# -- malformed files: one line naming the file, the column or the line; nothing written ----------

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
ROW = "2019-01-{day:02d},10{day}.5,11{day},9{day},10{day}.25,10{day}.2,5000\n"


def _rows(n: int) -> str:
    return "".join(ROW.format(day=d) for d in range(1, n + 1))


@pytest.mark.backend_free
@pytest.mark.parametrize(
    ("text", "argv", "says"),
    [
        ("", [], "bad.csv is empty; a price CSV has a header row"),
        (HEADER, [], "bad.csv: a header and no rows"),
        (HEADER.replace("Adj Close", "close") + _rows(3), ["--price-column", "Close"], "2 columns are named 'Close'"),
        (HEADER + _rows(2) + "2019-01-03,1,234.5,1,1,1,1,5000\n", [], "bad.csv:4: 8 fields where the header has 7"),
        (HEADER.replace(",", ";") + _rows(2).replace(",", ";"), [], "not separated by commas"),
        (HEADER + _rows(3), ["--price-column", "Last"], "no price column named 'Last'; columns are ['Date'"),
        (HEADER + _rows(3), ["--date-column", "Day"], "no date column named 'Day'"),
        (HEADER + _rows(3).replace("102.25", "n/a"), ["--price-column", "Close"], "non-numeric 'Close' on line(s) 3"),
        (
            HEADER + _rows(3).replace("102.25", '"2,002.5"'),
            ["--price-column", "Close"],
            "(first value: '2,002.5'); remove the thousands separators",
        ),
        (HEADER + _rows(3).replace("2019-01-02", "yesterday"), [], "unparseable or empty 'Date' on line(s) 3"),
        (HEADER + _rows(9), [], "9 rows; need more than 60 training rows and 60 test rows"),
    ],
)
def test_a_malformed_price_file_is_one_line_and_nothing_is_written(tmp_path, capsys, text, argv, says):
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    refused(capsys, "train", "stock_gru_returns", "--csv", bad, *argv, "--out", tmp_path / "out", says=says)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


@pytest.mark.backend_free
def test_a_price_file_that_is_not_utf8_or_a_folder_is_one_line(tmp_path, capsys):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes((HEADER + _rows(3)).replace("Volume", "Volumé").encode("latin-1"))
    refused(capsys, "evaluate", "stock_gru_returns", "--csv", bad, says="latin1.csv:1: byte 0xe9 is not UTF-8")
    refused(capsys, "evaluate", "stock_gru_returns", "--csv", tmp_path, says="is a folder; give the CSV file in it")


@pytest.mark.backend_free
def test_a_column_option_that_is_not_text_is_one_line(tmp_path, prices):
    for option in ("price_column", "date_column"):
        with pytest.raises(rnn_zoo.DataError) as caught:
            rnn_zoo.load_task_data("stock_gru_returns", csv_path=prices, **{option: 4})
        message = str(caught.value)
        assert f"{option} names a column: give its name as text, not 4 (int)" in message, message
        assert "attribute" not in message and "\n" not in message


@pytest.mark.backend_free
def test_the_price_reader_and_the_labelled_text_reader_are_one_reader(tmp_path):
    """The same malformed file, read as prices and as labelled texts: the same line."""
    from rnn_zoo.data.labelled import read_labelled_texts
    from rnn_zoo.tasks.stock import read_price_csv

    head = "Date,Open,text,label\n"
    cases = [
        ("latin.csv", (head + "2019-01-01,1,hi,a\n2019-01-02,2,olé,b\n").encode("latin-1"), "latin.csv:3: byte 0xe9"),
        (
            "tabs.csv",
            (head + "2019-01-01,1,hi,a\n").replace(",", "\t").encode(),
            "not separated by commas; its header holds tabs",
        ),
        ("ragged.csv", (head + "2019-01-01,1,hi,a\n2019-01-02,2,hi, you,b\n").encode(), "ragged.csv:3: 5 fields"),
        (
            "twice.csv",
            (head.replace("label", "OPEN,label,TEXT") + "2019-01-01,1,hi,1,a,hi\n").encode(),
            "rename all but one",
        ),
    ]
    for name, data, says in cases:
        (tmp_path / name).write_bytes(data)
        for read in (read_price_csv, read_labelled_texts):
            with pytest.raises(rnn_zoo.DataError) as caught:
                read(tmp_path / name, "open") if read is read_price_csv else read(tmp_path / name)
            assert says in str(caught.value) and "\n" not in str(caught.value), (read.__name__, str(caught.value))


@pytest.mark.backend_free
def test_a_series_too_short_gives_its_minimum_length(tmp_path, capsys):
    short = tmp_path / "short.csv"
    write_yahoo_csv(short, n=150)
    refused(capsys, "train", "stock_gru_returns", "--csv", short, "--out", tmp_path / "out", says="at least 361 rows")
    refused(capsys, "train", "stock_gru_returns", "--csv", short, "--test-rows", 100, says="at least 161 rows")
    with pytest.raises(rnn_zoo.DataError, match=r"need more than 60, i.e. at least 341 rows"):
        rnn_zoo.load_task_data("stock_gru_returns", csv_path=short, forecast_days=40, skip_last=240)
    days = ["--folds", 2, "--days", 40, "--out", tmp_path / "bt"]  # 2 folds and the calibration fold: 120 days
    refused(capsys, "backtest", "stock_gru_returns", "--csv", short, *days, says="needs at least 181")
    assert not (tmp_path / "bt").exists()
    write_yahoo_csv(short, n=59)  # one price short of the shipped preset's window
    refused(capsys, "predict", "stock_gru_returns", "--csv", short, says="59 rows; a forecast reads the last 60")
    refused(capsys, "predict", "stock_gru_returns", "--csv", tmp_path / "gone.csv", says="gone.csv does not exist")


# Offsets as yfinance writes them: -05:00 in winter, -04:00 in summer (daylight saving).
DAYS_WITH_OFFSETS = [
    ("2018-03-09 00:00:00-05:00", "2018-03-09"),
    ("2018-03-12 00:00:00-04:00", "2018-03-12"),
    ("2018-03-13 23:30:00+0900", "2018-03-13"),  # each row keeps its own local date
    ("2018-03-14 00:00:00Z", "2018-03-14"),
]


@pytest.mark.backend_free
def test_dates_with_time_zone_offsets_keep_their_local_date(tmp_path):
    from rnn_zoo.tasks.stock import last_window, read_price_csv

    path = tmp_path / "tz.csv"
    path.write_text(HEADER + "".join(f"{raw},1,1,1,{10 + i},1,1\n" for i, (raw, _) in enumerate(DAYS_WITH_OFFSETS)))
    dates, prices, _ = read_price_csv(path, "Close")
    assert dates.dtype.kind == "M" and [str(d)[:10] for d in dates] == [day for _, day in DAYS_WITH_OFFSETS]
    assert last_window(path, 2, price_column="Close")[0] == "2018-03-14"
    assert list(prices) == [10, 11, 12, 13]


@pytest.mark.backend_free
def test_a_level_is_written_as_a_plain_percentage():
    from rnn_zoo.intervals import percent

    assert [percent(x) for x in (0.9, 0.95, 1e-9, 1 / 3)] == ["90", "95", "0.0000001", "33.3333"]


# -- what a preset trained on the file records --------------------------------------------------


def test_the_preset_records_the_file_by_name_its_sha256_and_columns(trained, prices):
    result, folder = trained
    meta = json.loads((folder / "metadata.json").read_text())
    assert str(prices.parent) not in (folder / "metadata.json").read_text()  # no local path, anywhere
    assert meta["data_options"] == {"csv_path": "prices.csv", "date_column": "Date", "price_column": "Close"}
    assert meta["spec"]["data_options"]["csv_path"] == "prices.csv"
    dataset = meta["dataset"]
    assert dataset["source_file"] == "prices.csv" and dataset["columns"] == {"date": "Date", "price": "Close"}
    assert dataset["sha256"] == hashlib.sha256(prices.read_bytes()).hexdigest()
    assert "parent" not in meta
    backend = rnn_zoo.backend.name()
    prefix = "" if backend == "tensorflow" else f"KERAS_BACKEND={backend} "
    expected = "rnn-zoo train stock_gru_returns --csv prices.csv --date-column Date --price-column Close --seed 0"
    assert meta["command"] == prefix + expected + " --epochs 1"
    # The preset loads its data again from the file given, by the columns it records.
    preset = rnn_zoo.load_preset(folder)
    assert preset.evaluate(csv_path=prices) == pytest.approx(result.metrics, rel=1e-5)


def test_the_reproduce_command_names_the_parent_and_falls_back_to_python(trained):
    result, _ = trained
    parent = {"task": "stock_gru_returns", "preset": "stock_gru_returns", "shipped": True}
    tuned = reproduce_command(dataclasses.replace(result, parent=parent))
    assert "train stock_gru_returns --from-preset stock_gru_returns --csv prices.csv" in tuned
    # A folder of the user's named like the task: `./NAME`, never read as the shipped preset.
    folder = {**parent, "shipped": False}
    tuned = reproduce_command(dataclasses.replace(result, parent=folder))
    assert "train stock_gru_returns --from-preset ./stock_gru_returns --csv prices.csv" in tuned
    in_python = reproduce_command(dataclasses.replace(result, parent=folder, max_train_samples=30))
    assert "from_preset='./stock_gru_returns'" in in_python
    sliced = reproduce_command(dataclasses.replace(result, max_train_samples=30))
    assert "rnn_zoo.train('stock_gru_returns'" in sliced and "'csv_path': 'prices.csv'" in sliced
    assert "max_train_samples=30" in sliced and "/" not in sliced


def test_the_dataset_is_the_users_only_when_a_file_is_given(trained):
    from rnn_zoo.provenance import preset_metadata
    from rnn_zoo.registry import get_task

    result, _ = trained
    assert preset_metadata(result)["dataset"]["license"] == "unknown: data supplied by the user"
    split_only = preset_metadata(dataclasses.replace(result, data_options={"test_rows": 100}))["dataset"]
    assert split_only["name"] == get_task("stock_gru_returns").dataset.name
    assert split_only["license"] == get_task("stock_gru_returns").dataset.license


def test_evaluate_on_another_column_of_the_file_is_refused(trained, prices, capsys, monkeypatch):
    _, folder = trained  # trained on Close
    monkeypatch.setenv("RNN_ZOO_ALLOW_MODIFIED_DATA", "0")  # (the test suite allows it)
    args = ["evaluate", "stock_gru_returns", "--model", folder, "--csv", prices]
    refused(capsys, *args, "--price-column", "Open", says="its price column 'Open' is not the one this preset")
    code, out, _ = run(capsys, *args, "--price-column", "Open", "--allow-modified-data")
    assert code == 0 and "who wins" in out


def test_warnings_on_the_command_line_are_one_line_each(trained, prices, capsys, tmp_path):
    _, folder = trained
    lines = prices.read_text().splitlines(keepends=True)
    unsorted = tmp_path / "unsorted.csv"
    unsorted.write_text("".join([lines[0], *lines[:0:-1]]))  # newest first
    code, out, err = run(capsys, "predict", "stock_gru_returns", "--model", folder, "--csv", unsorted)
    assert code == 0 and out.startswith("the day after 2020-07-14")
    assert err == f"rnn-zoo: warning: {unsorted}: rows are not in date order; sorting them oldest first\n"


def test_predict_reads_dates_with_time_zone_offsets(trained, prices, capsys, tmp_path):
    _, folder = trained
    zoned = tmp_path / "zoned.csv"
    text = prices.read_text()
    # yfinance's layout: midnight of each day, with New York's offset (-04:00 in summer)
    zoned.write_text(re.sub(r"^(\d{4}-\d{2}-\d{2}),", r"\1 00:00:00-04:00,", text, flags=re.M))
    answers = [run(capsys, "predict", "stock_gru_returns", "--model", folder, "--csv", f)[1] for f in (prices, zoned)]
    assert answers[1] == answers[0].replace("prices.csv", "zoned.csv") and "2020-07-14" in answers[1]


def test_train_summary_and_evaluate_say_who_wins(trained, prices, capsys):
    result, folder = trained
    lines = result.summary().splitlines()
    verdict = next(line for line in lines if line.startswith("who wins on rmse (lower is better): "))
    assert all(who in verdict for who in ("the model (", "the baseline (", "the classical model ("))
    code, out, _ = run(capsys, "evaluate", "stock_gru_returns", "--model", folder, "--csv", prices)
    assert code == 0 and "tomorrow = today" in out and "who wins on rmse" in out


def test_evaluate_without_the_file_a_preset_was_trained_on_is_one_line(trained, capsys):
    _, folder = trained  # its metadata names prices.csv: a description, never a path to open
    refused(capsys, "evaluate", "stock_gru_returns", "--model", folder, says="trained on 'prices.csv', a file")


def test_predict_csv_forecasts_the_day_after_the_last_row(trained, prices, capsys):
    _, folder = trained
    code, out, _ = run(capsys, "predict", "stock_gru_returns", "--model", folder, "--csv", prices, "--json")
    row = json.loads(out)
    assert code == 0 and row["input"] == "prices.csv" and row["last_day"] == "2020-07-14"
    assert row["lower"] < row["prediction"] < row["upper"] and row["level"] == 0.9
    code, out, _ = run(capsys, "predict", "stock_gru_returns", "--model", folder, "--csv", prices, "--level", 0.5)
    assert (
        code == 0
        and out.startswith("the day after 2020-07-14 (the last row of prices.csv): ")
        and "50% interval" in out
    )


# -- end to end -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_train_evaluate_predict_backtest_and_fine_tune_on_a_csv(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_yahoo_csv(tmp_path / "prices.csv", n=ROWS)
    flags = ["--csv", "prices.csv", *COLUMNS]
    code, out, _ = run(capsys, "train", "stock_gru_returns", *flags, "--epochs", 1, "--out", "mine", "--verbose", 0)
    assert code == 0 and "who wins on rmse" in out and (tmp_path / "mine" / "saved_model").is_dir()
    code, out, _ = run(capsys, "evaluate", "stock_gru_returns", "--model", "mine", *flags)
    assert code == 0 and "who wins" in out
    code, out, _ = run(capsys, "predict", "stock_gru_returns", "--model", "mine", *flags, "--level", 0.8)
    assert code == 0 and "80% interval" in out
    code, out, _ = run(capsys, "backtest", "stock_gru_returns", *flags, "--folds", 2, "--days", 40, "--epochs", 1)
    assert code == 0 and "fold 1/2" in out and "fold 2/2" in out
    assert {"backtest.json", "backtest.png"} <= {
        p.name for p in (tmp_path / "backtests" / "stock_gru_returns").iterdir()
    }
    code, out, _ = run(
        capsys,
        "train",
        "stock_gru_returns",
        "--from-preset",
        "mine",
        *flags,
        "--epochs",
        1,
        "--out",
        "tuned",
        "--verbose",
        0,
    )
    assert code == 0
    meta = json.loads((tmp_path / "tuned" / "metadata.json").read_text())
    assert meta["parent"]["preset"] == "mine" and "--from-preset ./mine --csv prices.csv" in meta["command"]
