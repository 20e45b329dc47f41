"""Fine-tuning: `train(name, from_preset=...)` starts from a preset's weights and
preprocessing; a preset that does not fit is refused in one line before any data is read."""

import json
import warnings

import numpy as np
import pytest
from fixtures import write_yahoo_csv

import rnn_zoo
from rnn_zoo.errors import DataError, PresetError
from rnn_zoo.preset_files import MODEL_FILE
from rnn_zoo.provenance import file_sha256
from rnn_zoo.shipped import LosesToBaselineWarning, shipped_metadata, shipped_path

# 200 days: 130 training rows (70 windows of 60), 70 test rows (10 test windows).
ROWS, TEST_ROWS = 200, 70


def options(path):
    return {"csv_path": str(path), "date_column": "Date", "price_column": "Close", "test_rows": TEST_ROWS}


@pytest.fixture
def prices_csv(tmp_path):
    write_yahoo_csv(tmp_path / "prices.csv", n=ROWS)
    return tmp_path / "prices.csv"


def refused(name, from_preset, data_options=None, error=PresetError, **settings):
    """The one-line message of a fine-tuned run that is refused."""
    with pytest.raises(error) as caught:
        rnn_zoo.train(name, epochs=1, verbose=0, from_preset=from_preset, data_options=data_options, **settings)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_preset_of_another_family_is_refused(prices_csv):
    message = refused("stock_gru_returns", "sine_regression", options(prices_csv))
    assert "'sine_regression' model, of the sine family" in message and "of the stock family" in message


def test_a_preprocessor_of_another_class_is_refused(prices_csv, tmp_path):
    # stock_gru scales price levels (PriceScaler); stock_gru_returns reads returns (ReturnScaler).
    checkpoints = tmp_path / "checkpoints"
    with warnings.catch_warnings():  # stock_gru loses to its baseline: a parent is a start, not a result
        warnings.simplefilter("error", LosesToBaselineWarning)
        message = refused("stock_gru_returns", "stock_gru", options(prices_csv), checkpoint_dir=checkpoints)
    assert message.startswith("preset 'stock_gru': ") and "ReturnScaler, not a PriceScaler" in message
    assert not checkpoints.exists()  # nothing written


def test_weights_of_other_shapes_are_refused(prices_csv):
    message = refused("stock_lstm", "stock_gru", options(prices_csv))
    assert "its weights do not fit the model of task 'stock_lstm'" in message and "has shape" in message
    message = refused("stock_gru_returns", "stock_gru_returns", options(prices_csv), units=7)
    assert "with overrides {'units': 7}" in message


def test_a_data_option_the_preprocessor_contradicts_is_refused(prices_csv):
    message = refused("stock_gru_returns", "stock_gru_returns", {**options(prices_csv), "window": 30})
    assert "its preprocessor has window=60" in message and "give data option window=60" in message


def test_prices_outside_the_parents_input_range_are_refused(tmp_path):
    frame = write_yahoo_csv(tmp_path / "prices.csv", n=ROWS)
    frame["Close"] = frame["Close"] * 10_000  # ~1e6, above the preset's range (SH600519 prices x 100)
    frame.to_csv(tmp_path / "dear.csv", index=False)
    message = refused("stock_gru_returns", "stock_gru_returns", options(tmp_path / "dear.csv"), error=DataError)
    assert "outside" in message and "input range of preset 'stock_gru_returns'" in message


def test_an_sms_preset_of_another_tokenizer_is_refused(tiny_data_dir):
    # sms_spam_symbols' vocabulary is of symbols, up to 100 of them a message; sms_spam_rnn reads 25 words.
    with pytest.raises(PresetError, match=r"^preset 'sms_spam_symbols': the SmsVocabulary makes inputs of shape"):
        rnn_zoo.train("sms_spam_rnn", epochs=1, verbose=0, data_dir=tiny_data_dir, from_preset="sms_spam_symbols")
    with pytest.raises(PresetError, match=r"^preset 'sms_spam_rnn': its preprocessor has digit_symbol=False, but"):
        rnn_zoo.train(
            "sms_spam_rnn",
            epochs=1,
            verbose=0,
            data_dir=tiny_data_dir,
            data_options={"digit_symbol": True},
            from_preset="sms_spam_rnn",
        )


def test_an_sms_vocabulary_size_the_preset_does_not_have_is_refused(tiny_data_dir):
    with pytest.raises(PresetError, match=r"^preset 'sms_spam_rnn': override vocab_size=10 contradicts"):
        rnn_zoo.train(
            "sms_spam_rnn", epochs=1, verbose=0, data_dir=tiny_data_dir, from_preset="sms_spam_rnn", vocab_size=10
        )


def write_labelled_csv(path, classes):
    rows = ["label,text"] + [
        f"{name},message {i} about {name} from the {name} folks" for i in range(8) for name in classes
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"csv_path": str(path), "text_column": "text", "label_column": "label"}


def test_an_sms_file_with_a_class_the_preset_lacks_is_refused(tmp_path):
    data_options = write_labelled_csv(tmp_path / "texts.csv", ["ham", "spam", "promo"])
    message = refused("sms_spam_rnn", "sms_spam_rnn", data_options, error=DataError)
    assert '"promo"' in message and "not among the model's classes" in message and "texts.csv" in message


@pytest.mark.slow
def test_an_sms_run_fine_tuned_on_a_users_file_keeps_the_parents_vocabulary_and_classes(tmp_path):
    parent = rnn_zoo.load_preset("sms_spam_rnn")
    data_options = write_labelled_csv(tmp_path / "texts.csv", ["spam", "ham"])
    result = rnn_zoo.train("sms_spam_rnn", epochs=1, verbose=0, data_options=data_options, from_preset="sms_spam_rnn")
    assert result.preprocessor.vocabulary == parent.preprocessor.vocabulary
    assert result.preprocessor.classes == ["ham", "spam"]
    assert largest_change(result.model, parent.model) < 0.01
    assert result.parent["preset"] == "sms_spam_rnn"


def largest_change(model, reference) -> float:
    return max(float(np.max(np.abs(a - b))) for a, b in zip(model.get_weights(), reference.get_weights()))


def test_a_fine_tuned_run_starts_from_the_parents_weights_and_names_it(prices_csv):
    parent = rnn_zoo.load_preset("stock_gru_returns")
    result = rnn_zoo.train(
        "stock_gru_returns", epochs=1, verbose=0, data_options=options(prices_csv), from_preset="stock_gru_returns"
    )
    # Two Adam steps (70 windows, batches of 64) move each weight by about 2e-3 at most;
    # a model built afresh differs from the parent's by far more.
    assert largest_change(result.model, parent.model) < 0.01
    assert largest_change(rnn_zoo.build("stock_gru_returns"), parent.model) > 0.1
    assert result.preprocessor.return_scale == parent.preprocessor.return_scale  # the parent's scaler
    assert result.parent == {
        "task": "stock_gru_returns",
        "preset": "stock_gru_returns",
        "shipped": True,
        "model_sha256": file_sha256(shipped_path("stock_gru_returns") / MODEL_FILE),
        "dataset_sha256": shipped_metadata("stock_gru_returns")["dataset"]["sha256"],
        "seed": 0,
    }
    assert result.metadata()["parent"] == result.parent


@pytest.mark.slow
def test_a_saved_preset_is_named_by_its_folders_name_only(prices_csv, tmp_path):
    first = rnn_zoo.train("stock_gru_returns", epochs=1, verbose=0, data_options=options(prices_csv))
    folder = first.save_preset(tmp_path / "my-goog-model")
    result = rnn_zoo.train(
        "stock_gru_returns", epochs=1, verbose=0, seed=3, data_options=options(prices_csv), from_preset=folder
    )
    assert largest_change(result.model, first.model) < 0.01
    assert result.parent["preset"] == "my-goog-model" and result.parent["shipped"] is False
    assert result.parent["model_sha256"] == file_sha256(folder / MODEL_FILE)
    assert result.parent["dataset_sha256"] == first.metadata()["dataset"]["sha256"]
    saved = result.save_preset(tmp_path / "child")
    recorded = json.loads((saved / "metadata.json").read_text())["parent"]
    assert recorded == result.parent and str(tmp_path) not in json.dumps(recorded)
    assert rnn_zoo.load_preset(saved).metadata["parent"] == recorded


GOOD_PARENT = {
    "task": "stock_gru_returns",
    "preset": "stock_gru_returns",
    "shipped": True,
    "model_sha256": "0" * 64,
    "dataset_sha256": None,
    "seed": 0,
}


@pytest.mark.backend_free
@pytest.mark.parametrize(
    "change, problem",
    [
        ({"preset": "/home/me/presets/mine"}, "parent.preset must be a preset's name, not a path"),
        ({"preset": ".."}, "parent.preset must be a preset's name, not a path"),
        ({"model_sha256": "../model.keras"}, "parent.model_sha256 must be 64 hex digits"),
        ({"seed": -1}, "parent.seed must be from 0 to 4294967295"),
        ({"shipped": "yes"}, "parent.shipped must be of type bool"),
        ({"task": None}, "parent.task must be of type str"),
    ],
)
def test_a_tampered_parent_record_is_refused_on_load(change, problem):
    from rnn_zoo.preset_files import check_metadata

    metadata = shipped_metadata("stock_gru_returns")
    assert check_metadata({**metadata, "parent": GOOD_PARENT})["parent"] == GOOD_PARENT
    with pytest.raises(PresetError, match=f"^metadata.json: {problem}"):
        check_metadata({**metadata, "parent": {**GOOD_PARENT, **change}}, "metadata.json")
    with pytest.raises(PresetError, match="'parent' must be an object"):
        check_metadata({**metadata, "parent": ["stock_gru_returns"]})
