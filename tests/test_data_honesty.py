"""Data and evaluation honesty (issue 24): published datasets checked by their sha256, the
user's own files hashed, cut rows named, data a model cannot learn from refused before
training, sizes of 0 refused, and an evaluation that scores a preset on its own training
rows refused."""

import dataclasses
import hashlib
import warnings

import numpy as np
import pytest
from fixtures import SMS_LINES, write_mnist_idx, write_sms, write_sms_zip, write_tushare_csv

import rnn_zoo
from rnn_zoo.cli import main
from rnn_zoo.data.loading import data_class
from rnn_zoo.data.sources import ALLOW_MODIFIED_ENV
from rnn_zoo.provenance import data_fingerprint
from rnn_zoo.tasks import mnist, sms

SMALL = dict(min_count=1, max_length=6, test_fraction=0.3)


@pytest.fixture
def strict_data(monkeypatch):
    """The check as a user meets it (the suite allows modified data by default: conftest)."""
    monkeypatch.delenv(ALLOW_MODIFIED_ENV, raising=False)


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- 2. a published dataset is the published one, or refused --------------------------------


@pytest.mark.backend_free
def test_a_changed_sms_collection_is_refused_unless_allowed(tmp_path, strict_data):
    """Flipped labels in a file named like the UCI one: refused in one line; allowed, it is
    loaded and marked as not the published data."""
    write_sms(tmp_path / "SMSSpamCollection")
    with pytest.raises(rnn_zoo.DataError, match=r"not the published UCI SMS Spam Collection's .*allow-modified-data"):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)
    data = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, allow_modified_data=True, **SMALL)
    assert data.published is False
    assert data.sha256 == hashlib.sha256((tmp_path / "SMSSpamCollection").read_bytes()).hexdigest()
    # The same through load_data, and a local UCI zip holding it.
    (tmp_path / "SMSSpamCollection").unlink()
    write_sms_zip(tmp_path / sms.UCI_ZIP.filename)
    with pytest.raises(rnn_zoo.DataError, match="not the published"):
        rnn_zoo.load_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)
    rnn_zoo.load_data("sms_spam_rnn", data_dir=tmp_path, allow_modified_data=True, **SMALL)


@pytest.mark.backend_free
def test_the_published_sms_collection_is_accepted_and_its_hash_is_the_contents(tmp_path, strict_data, monkeypatch):
    """The check compares the file's contents (the member of a zip) with the published hash:
    a copy that matches loads without a word, as a file or inside the zip."""
    content = ("\n".join(SMS_LINES) + "\n").encode()
    published = hashlib.sha256(content).hexdigest()
    monkeypatch.setattr(sms, "UCI_ZIP", dataclasses.replace(sms.UCI_ZIP, sha256=published))
    write_sms_zip(tmp_path / sms.UCI_ZIP.filename)
    data = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)
    assert data.published is True and data.sha256 == published
    assert data_fingerprint(data) == (sms.UCI_ZIP.filename, published)  # the contents', not the zip's


@pytest.mark.backend_free
def test_a_custom_file_is_the_users_own_and_its_hash_is_recorded(tmp_path, strict_data):
    custom = write_sms(tmp_path / "my_messages.txt")
    data = rnn_zoo.load_task_data("sms_spam_rnn", path=custom, **SMALL)
    assert data.published is None  # nothing to compare it with
    assert data_fingerprint(data) == ("my_messages.txt", hashlib.sha256(custom.read_bytes()).hexdigest())
    prices = tmp_path / "prices.csv"
    write_tushare_csv(prices, n=120)
    data = rnn_zoo.load_task_data("stock_lstm", csv_path=prices, test_rows=40, window=10)
    assert data_fingerprint(data) == ("prices.csv", hashlib.sha256(prices.read_bytes()).hexdigest())


@pytest.mark.backend_free
def test_a_changed_mnist_copy_is_refused_unless_allowed(tmp_path, strict_data):
    written = write_mnist_idx(tmp_path, n_train=20, n_test=10)
    with pytest.raises(rnn_zoo.DataError, match=r"not the published MNIST's"):
        rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path)
    data = rnn_zoo.load_task_data("mnist_lstm", data_dir=tmp_path, allow_modified_data=True)
    arrays = {key: written[stem] for key, (stem, _) in mnist.IDX_NAMES.items()}
    assert data.published is False and data.sha256 == mnist.content_sha256(arrays) != mnist.MNIST_CONTENT_SHA256


def test_cli_refuses_modified_data_in_one_line_and_takes_the_flag(capsys, tmp_path, strict_data):
    write_sms(tmp_path / "SMSSpamCollection", SMS_LINES * 12)
    code, _, err = cli(capsys, "evaluate", "sms_spam_rnn", "--data-dir", str(tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "is not the published UCI SMS Spam Collection's" in err and "--allow-modified-data" in err
    code, out, err = cli(capsys, "evaluate", "sms_spam_rnn", "--data-dir", str(tmp_path), "--allow-modified-data")
    assert code == 0, err
    assert out.splitlines()[1].startswith("accuracy")


def test_a_run_on_modified_data_says_so_and_its_command_carries_the_flag(tmp_path, strict_data):
    write_sms(tmp_path / "SMSSpamCollection", SMS_LINES * 12)
    result = rnn_zoo.train("sms_spam_rnn", epochs=1, data_dir=tmp_path, allow_modified_data=True, verbose=0)
    meta = result.metadata()
    assert meta["dataset"]["modified"] is True and meta["dataset"]["name"].startswith("a modified copy of")
    assert meta["command"].endswith(
        "rnn-zoo train sms_spam_rnn --seed 0 --allow-modified-data --epochs 1"
    )  # (after KERAS_BACKEND=... on another backend)


def test_evaluating_a_preset_on_other_data_than_it_records_is_refused(tmp_path, strict_data):
    """The stock CSV has no published hash (the zoo's copy comes from tushare, which publishes
    none); the preset's recorded sha256 is what other data is compared with."""
    write_tushare_csv(tmp_path / "SH600519.csv", n=420)
    preset = rnn_zoo.load_preset("stock_lstm")
    with pytest.raises(rnn_zoo.DataError, match=r"not the data this preset was trained and tested on"):
        preset.evaluate(data_dir=tmp_path)
    assert np.isfinite(preset.evaluate(data_dir=tmp_path, allow_modified_data=True)["rmse"])


# -- 3. a cut row ------------------------------------------------------------------------------


@pytest.mark.backend_free
def test_a_price_csv_cut_mid_row_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "SH600519.csv"
    write_tushare_csv(path, n=420)
    whole = path.read_text()
    lines = whole.splitlines()
    # Cut inside the last row's open price ("114.704" -> "11"): fewer fields, no line break.
    cut = whole[: whole.rindex(lines[-1]) + lines[-1].index(",", lines[-1].index(",") + 1) + 3]
    path.write_text(cut)
    with pytest.raises(rnn_zoo.DataError, match=rf"SH600519.csv:{len(lines)}: the file ends inside this line"):
        rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path)
    path.write_text(cut + "\n")  # a line break after the cut: still fewer fields than the header
    with pytest.raises(rnn_zoo.DataError, match=rf"SH600519.csv:{len(lines)}: 3 field\(s\) where the header has 8"):
        rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path)
    path.write_text(whole)
    rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path)


@pytest.mark.backend_free
def test_an_sms_file_that_ends_inside_a_line_warns_naming_it(tmp_path):
    path = tmp_path / "SMSSpamCollection"
    path.write_text("\n".join(SMS_LINES)[:-3], encoding="utf-8")  # the last message cut, no line break
    with pytest.warns(UserWarning, match=rf"SMSSpamCollection:{len(SMS_LINES)}: the file ends inside this line"):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)
    write_sms(path)  # whole, with its line break: not a word
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)


# -- 6. data a model cannot learn from, and sizes of 0 -------------------------------------------


@pytest.mark.backend_free
@pytest.mark.parametrize("target", ["level", "return"])
def test_constant_and_absurd_prices_are_data_errors_before_training(tmp_path, target):
    path = tmp_path / "SH600519.csv"
    frame = write_tushare_csv(path, n=420)
    frame.assign(open=1000.0).to_csv(path)
    with pytest.raises(rnn_zoo.DataError, match="training prices are all 1000: they never change"):
        rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path, target=target)
    frame.loc[frame.index[200], "open"] = 1e300
    frame.to_csv(path)
    day = frame["date"].iloc[200]
    with pytest.raises(rnn_zoo.DataError, match=rf"the price on {day} \(1e\+300\) is .* times the smallest"):
        rnn_zoo.load_task_data("stock_lstm", data_dir=tmp_path, target=target)


def test_constant_prices_stop_training_as_a_data_error_not_a_learning_rate(capsys, tmp_path):
    write_tushare_csv(tmp_path / "SH600519.csv", n=420).assign(open=1000.0).to_csv(tmp_path / "SH600519.csv")
    code, _, err = cli(capsys, "train", "stock_gru_returns", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"))
    assert code == 2 and "never change" in err and "learning rate" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.backend_free
@pytest.mark.parametrize(
    "name, option",
    [
        ("stock_lstm", "window"),
        ("sms_spam_rnn", "max_length"),
        ("sms_spam_rnn", "min_count"),
        ("sine_regression", "steps"),
        ("sin_to_cos", "points"),
        ("adding_problem_lstm", "steps"),
        ("letters_4pre1", "window"),
    ],
)
def test_sizes_of_zero_are_refused_not_empty_windows(tiny_data_dir, name, option):
    for value in (0, -1, 2.5, True):
        with pytest.raises(rnn_zoo.RnnZooError, match=rf"data option {option} must be a positive whole number"):
            rnn_zoo.load_task_data(name, data_dir=tiny_data_dir, **{option: value})


@pytest.mark.backend_free
def test_load_data_refuses_a_batch_size_of_zero():
    for value in (0, -4, 1.5):
        with pytest.raises(rnn_zoo.InvalidOverrideError, match="batch_size must be a positive whole number"):
            rnn_zoo.load_data("letters_4pre1", batch_size=value)
    train_ds, _ = rnn_zoo.load_data("letters_4pre1", batch_size=2)
    assert int(next(iter(train_ds))[0].shape[0]) == 2


@pytest.mark.backend_free
def test_training_data_without_spam_warns(tmp_path):
    hams = [line for line in SMS_LINES if line.startswith("ham")]
    write_sms(tmp_path / "SMSSpamCollection", hams)
    with pytest.warns(UserWarning, match=r"training messages hold no spam message"):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)
    write_sms(tmp_path / "SMSSpamCollection")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)


# -- 4. an evaluation never scores a preset on its own training rows ------------------------------


def test_another_seed_is_refused_where_the_split_depends_on_it(capsys, tiny_data_dir):
    preset = rnn_zoo.load_preset("sms_spam_rnn")
    with pytest.raises(rnn_zoo.InvalidOverrideError, match=r"seed 5 would score this preset .* own training rows"):
        preset.evaluate(seed=5, data_dir=tiny_data_dir)
    code, _, err = cli(capsys, "evaluate", "sms_spam_rnn", "--seed", "5", "--data-dir", str(tiny_data_dir))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "evaluate it with seed 0" in err
    # Its own seed, given or not, is what it was tested on.
    assert preset.evaluate(seed=0, data_dir=tiny_data_dir) == preset.evaluate(data_dir=tiny_data_dir)


def test_another_seed_is_accepted_where_the_split_is_fixed(tiny_data_dir):
    """Stock (a split by time) and MNIST (its own test set) do not draw their split."""
    preset = rnn_zoo.load_preset("stock_lstm")
    assert preset.evaluate(seed=5, data_dir=tiny_data_dir) == preset.evaluate(data_dir=tiny_data_dir)


@pytest.mark.backend_free
def test_which_families_draw_their_split_with_the_seed():
    drawn = {name for name in rnn_zoo.list_tasks() if data_class(name).split_depends_on_seed}
    # (the others: a time split, MNIST's own test set, or data generated afresh from the seed)
    assert drawn == {"sms_spam_rnn", "sms_spam_tuned", "sms_spam_symbols"}
