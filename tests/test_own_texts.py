"""A user's own labelled texts for the SMS recipes: tiny CSV and TSV files written here, in
the layouts users keep (a header row, quoted messages holding commas, CRLF line ends), read
into classes, split, scored; every malformed file a one-line error naming the file, the
column or the line; the shipped ham/spam presets unchanged."""

import csv
import hashlib
import json
import time

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.cli import main
from rnn_zoo.data import labelled
from rnn_zoo.data.labelled import MAX_CLASSES, read_labelled_texts
from rnn_zoo.errors import DataError, DataNotFoundError, PresetError, SettingError
from rnn_zoo.preprocessing import PREPROCESSOR_FILE, load_preprocessor
from rnn_zoo.shipped import shipped_path
from rnn_zoo.tasks import sms

SUBJECTS = {
    "billing": ["my invoice", "the refund", "a double charge", "my card payment", "the monthly bill"],
    "tech": ["the app", "the router", "my password reset", "the login page", "the sync"],
    "sales": ["a team plan", "the price list", "an annual discount", "a demo", "the premium tier"],
}
ASKS = {
    "billing": ["Why was I charged twice for {}?", "Please refund {}, thanks", "Where is {}, I was billed"],
    "tech": ["{} crashes on start, error 500", "{} does not work since the update", "Can't log in: {} fails"],
    "sales": ["How much is {} for 20 seats?", "I'd like a quote for {}, please", "Do you offer {} to schools?"],
}
CLASSES = ("billing", "sales", "tech")


def messages(per_class: int = 20) -> list[tuple[str, str]]:
    """(text, label) rows, three classes of `per_class` each, interleaved."""
    rows = []
    for i in range(per_class):
        for label in ("billing", "tech", "sales"):
            subject = SUBJECTS[label][i % 5]
            rows.append((ASKS[label][i % 3].format(subject), label))
    return rows


def write_csv(path, rows=None, header=("text", "label"), delimiter=",", newline="\r\n"):
    """A file as a spreadsheet saves it: a header row, quoted where a field needs it."""
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(messages() if rows is None else rows)
    return path


SMALL = dict(min_count=1, test_fraction=0.25)  # (the max_length of sms_spam_rnn: 25)


@pytest.mark.backend_free
def test_a_csv_file_gives_its_classes_a_stratified_split_and_a_vocabulary_of_its_training_split(tmp_path):
    path = write_csv(tmp_path / "tickets.csv")
    data = rnn_zoo.load_task_data("sms_spam_rnn", csv_path=path, **SMALL)
    assert data.preprocessor.class_names == CLASSES and data.class_names == list(CLASSES)
    assert data.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and data.published is None
    # Stratified: 5 of each class's 20 in the test split, every message in exactly one split.
    assert np.bincount(data.y_test).tolist() == [5, 5, 5] and len(data.y_train) == 45
    assert sorted([*data.text_train, *data.text_test]) == sorted(text for text, _ in messages())
    # The vocabulary is the training split's: a word only in test messages is unknown.
    train_words = {w for text in data.text_train for w in sms.tokenize(text)}
    assert set(data.vocabulary[2:]) == train_words
    # The same seed splits the same way; another seed another way.
    again = rnn_zoo.load_task_data("sms_spam_rnn", csv_path=path, **SMALL)
    other = rnn_zoo.load_task_data("sms_spam_rnn", csv_path=path, seed=1, **SMALL)
    assert list(again.text_test) == list(data.text_test) and list(other.text_test) != list(data.text_test)


@pytest.mark.backend_free
def test_a_tsv_file_and_named_columns_are_read(tmp_path):
    rows = [(f"t{i}", label, text) for i, (text, label) in enumerate(messages())]
    path = write_csv(tmp_path / "tickets.tsv", rows, header=("id", "Category", "Message"), delimiter="\t")
    found = read_labelled_texts(path, text_column="Message", label_column="category")  # (any case)
    assert (found.text_column, found.label_column, found.delimiter) == ("Message", "Category", "\t")
    assert found.texts[0] == messages()[0][0] and found.lines[:3] == [2, 3, 4]
    data = rnn_zoo.load_task_data(
        "sms_spam_rnn", csv_path=path, text_column="Message", label_column="Category", **SMALL
    )
    assert data.preprocessor.class_names == CLASSES
    assert data.columns == {"text": "Message", "label": "Category"}  # (what the preset's metadata records)


@pytest.mark.backend_free
def test_a_byte_order_mark_and_any_line_ends_are_read(tmp_path):
    rows = messages()
    for name, newline in (("crlf", "\r\n"), ("lf", "\n"), ("cr", "\r")):
        path = write_csv(tmp_path / f"{name}.csv", rows, newline=newline)
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Excel saves "CSV UTF-8"
        found = read_labelled_texts(path)
        assert found.text_column == "text" and list(zip(found.texts, found.labels)) == rows


@pytest.mark.backend_free
def test_the_delimiter_of_a_file_without_a_suffix_is_told_from_its_header(tmp_path):
    for delimiter, name in ((",", "comma"), ("\t", "tab")):
        path = write_csv(tmp_path / f"tickets-{name}.txt", delimiter=delimiter)
        with pytest.warns(UserWarning, match=f"read as {name}-separated"):
            assert read_labelled_texts(path).delimiter == delimiter


@pytest.mark.backend_free
def test_scores_are_accuracy_and_macro_f1_and_the_baseline_and_classical_model_stand_beside(tmp_path):
    data = rnn_zoo.load_task_data("sms_spam_rnn", csv_path=write_csv(tmp_path / "tickets.csv"), **SMALL)
    perfect = np.eye(3)[data.y_test]
    assert data.score(perfect) == {"accuracy": 1.0, "macro_f1": 1.0}
    baseline = data.baseline_scores()  # the majority class (ties: the first, "billing")
    assert baseline["accuracy"] == pytest.approx(1 / 3) and baseline["macro_f1"] == pytest.approx(0.5 / 3)
    per_class = data.per_class_scores(data.baseline_predictions())
    assert per_class["billing"]["recall"] == 1.0 and per_class["tech"]["f1"] == 0.0
    classical = rnn_zoo.classical.classical_scores(data)
    assert set(classical) == {"name", "settings", "accuracy", "macro_f1"} and classical["accuracy"] > 0.9


def one_line(error: BaseException, *names: str) -> str:
    message = str(error)
    assert "\n" not in message and len(message) < 500, message
    for name in names:
        assert name in message, (name, message)
    return message


def bad_files(tmp_path):
    """(file, what the error names) for each kind of malformed file."""
    good = messages()
    one_class = [(text, "billing") for text, _ in good]
    single = [*good, ("Is there a status page?", "status")]
    cases = [
        (write_csv(tmp_path / "misnamed.csv", header=("body", "label")), ("misnamed.csv", "'text'", "body")),
        (write_csv(tmp_path / "no-label.csv", [*good[:4], ("hello there", ""), *good[4:]]), ("no-label.csv", "6")),
        (write_csv(tmp_path / "one-class.csv", one_class), ("one-class.csv", "two classes")),
        (write_csv(tmp_path / "single.csv", single), ("single.csv:62", "'status'")),
        (write_csv(tmp_path / "header-only.csv", []), ("header-only.csv", "no messages")),
    ]
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("text,label\nhello,tech\nhi, there,sales\n", encoding="utf-8")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("text,label\nhello,tech\nfactura pagada, gracias señor,billing\n".encode("latin-1"))
    huge = tmp_path / "open-quote.csv"
    huge.write_text('text,label\n"hello,tech\n' + "x" * 200_000 + ",sales\n")  # (over csv's default field limit)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    tab_label = write_csv(tmp_path / "tab-label.csv", [*good, ("hello", "te\tch")])
    twice = write_csv(tmp_path / "twice.csv", [(t, t, label) for t, label in good], header=("text", "Text", "label"))
    semicolons = write_csv(tmp_path / "semicolons.csv", good, delimiter=";")
    return [
        *cases,
        (ragged, ("ragged.csv:3", "3 fields where the header has 2", "quoted")),
        (latin, ("latin1.csv:3", "not UTF-8")),
        (huge, ("open-quote.csv:2", "a quote opened in this row is never closed")),
        (empty, ("empty.csv", "empty")),
        (tab_label, ("tab-label.csv:62", "label")),
        (twice, ("twice.csv", "2 columns are named 'text'", "rename all but one")),
        (semicolons, ("semicolons.csv", "semicolons")),
    ]


@pytest.mark.backend_free
def test_every_malformed_file_is_one_line_naming_the_file_the_column_or_the_line(tmp_path):
    for path, names in bad_files(tmp_path):
        with pytest.raises(DataError) as caught:
            rnn_zoo.load_task_data("sms_spam_rnn", csv_path=path, **SMALL)
        one_line(caught.value, *names)


@pytest.mark.backend_free
def test_options_that_do_not_fit_are_one_line(tmp_path):
    path = write_csv(tmp_path / "tickets.csv")
    with pytest.raises(DataError) as caught:
        rnn_zoo.load_task_data("sms_spam_rnn", csv_path=path, text_column="label", **SMALL)
    one_line(caught.value, "both 'label'")
    with pytest.raises(DataError) as caught:
        rnn_zoo.load_task_data("sms_spam_rnn", csv_path=path, label_column="Kind", **SMALL)
    one_line(caught.value, "no label column named 'Kind'", "['text', 'label']", "label_column=")
    with pytest.raises(SettingError) as caught:
        rnn_zoo.load_task_data("sms_spam_rnn", csv_path=path, path=path, **SMALL)
    one_line(caught.value, "not both")
    with pytest.raises(SettingError) as caught:
        rnn_zoo.load_task_data("sms_spam_rnn", text_column="text", **SMALL)
    one_line(caught.value, "text_column", "csv_path=")
    with pytest.raises(DataNotFoundError) as caught:
        rnn_zoo.load_task_data("sms_spam_rnn", csv_path=tmp_path / "nowhere.csv", **SMALL)
    one_line(caught.value, "nowhere.csv")


@pytest.mark.backend_free
def test_the_command_line_refuses_a_malformed_file_in_one_line_and_writes_nothing(tmp_path, capsys):
    for path, names in bad_files(tmp_path)[:3]:
        out = tmp_path / f"out-{path.stem}"
        assert main(["train", "sms_spam_rnn", "--csv", str(path), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("rnn-zoo: error: ") and err.count("\n") == 1, err
        assert all(name in err for name in names) and not out.exists()
    out = tmp_path / "out-columns"
    args = ["train", "sms_spam_rnn", "--csv", str(write_csv(tmp_path / "t.tsv", delimiter="\t")), "--out", str(out)]
    assert main([*args, "--text-column", "Body"]) == 2
    assert "no text column named 'Body'" in capsys.readouterr().err and not out.exists()


@pytest.mark.backend_free
def test_a_presets_classes_must_hold_the_files_labels(tmp_path):
    data = rnn_zoo.load_task_data("sms_spam_rnn", csv_path=write_csv(tmp_path / "tickets.csv"), **SMALL)
    other = write_csv(tmp_path / "other.csv", [*messages(), ("Where do I send my CV?", "jobs")] * 2)
    with pytest.raises(DataError) as caught:
        rnn_zoo.load_task_data("sms_spam_rnn", csv_path=other, preprocessor=data.preprocessor, **SMALL)
    one_line(caught.value, "other.csv", "jobs", "billing")


@pytest.mark.backend_free
def test_the_class_names_are_kept_and_checked_in_the_preprocessor_json(tmp_path):
    vocabulary = sms.SmsVocabulary(("", "[UNK]", "app"), 25, class_names=CLASSES)
    vocabulary.save(tmp_path)
    path = tmp_path / PREPROCESSOR_FILE
    assert json.loads(path.read_text())["config"]["class_names"] == list(CLASSES)
    assert load_preprocessor(tmp_path) == vocabulary
    record = json.loads(path.read_text())
    for bad, named in (
        (["billing"], "2 to"),
        (["b"] * 2, "sorted, each name once"),
        (["tech", "billing"], "sorted"),
        (["", "tech"], "empty"),
        (["bill\ning", "tech"], "printed"),
        ([f"c{i:04d}" for i in range(MAX_CLASSES + 1)], "2 to"),
        (["billing", 3], "must be"),
    ):
        path.write_text(json.dumps({**record, "config": {**record["config"], "class_names": bad}}))
        with pytest.raises(PresetError) as caught:
            load_preprocessor(tmp_path)
        one_line(caught.value, str(path), "class_names", named)


@pytest.mark.backend_free
@pytest.mark.parametrize("name", ["sms_spam_rnn", "sms_spam_tuned", "sms_spam_symbols"])
def test_the_shipped_presets_are_ham_and_spam_without_a_class_names_key(name):
    config = json.loads((shipped_path(name) / PREPROCESSOR_FILE).read_text())["config"]
    assert "class_names" not in config
    vocabulary = load_preprocessor(shipped_path(name), rnn_zoo.get_task(name))
    assert vocabulary.class_names == ("ham", "spam") and vocabulary.is_spam_filter
    assert vocabulary.model_sizes()["num_classes"] == 2


def test_the_shipped_preset_answers_spam_or_ham_as_before():
    import keras

    preset = rnn_zoo.load_preset("sms_spam_tuned")
    texts = ["WINNER!! You have won a prize. Call 09061701461 to claim", "Are we still on for dinner tonight?"]
    answers = preset.predict(texts)
    assert [set(a) for a in answers] == [{"prediction", "spam_probability"}] * 2
    assert [a["prediction"] for a in answers] == ["spam", "ham"]
    # The spam probability is the model's softmax on the vocabulary's ids, as before class names were kept.
    spam = keras.ops.softmax(preset.model.predict(preset.preprocessor.encode(texts), verbose=0))[:, 1]
    np.testing.assert_allclose([a["spam_probability"] for a in answers], np.asarray(spam), rtol=1e-5)
    assert preset.preprocessor.format_output(answers[0]) == f"spam\t{answers[0]['spam_probability']:.4f}"


def test_the_head_takes_its_width_from_the_classes(tmp_path):
    data = rnn_zoo.load_task_data("sms_spam_rnn", csv_path=write_csv(tmp_path / "tickets.csv"), **SMALL)
    assert rnn_zoo.build("sms_spam_rnn", preprocessor=data.preprocessor).output_shape == (None, 3)
    assert rnn_zoo.build("sms_spam_rnn").output_shape == (None, 2)  # (the shipped preset's vocabulary)
    with pytest.raises(rnn_zoo.errors.InvalidOverrideError, match="contradicts the preprocessor"):
        rnn_zoo.build("sms_spam_rnn", preprocessor=data.preprocessor, num_classes=2)
    assert rnn_zoo.build("sms_spam_rnn", num_classes=4).output_shape == (None, 4)  # (no data given)
    for name in ("sine_regression", "mnist_lstm"):
        with pytest.raises(rnn_zoo.errors.InvalidOverrideError, match="has a fixed set of classes"):
            rnn_zoo.build(name, num_classes=3)


@pytest.mark.slow  # (3 to 9 s on 2 shared CPU cores)
def test_a_model_trained_on_a_file_answers_its_class_names_through_a_preset(tmp_path):
    path = write_csv(tmp_path / "tickets.csv")
    started = time.perf_counter()
    result = rnn_zoo.train("sms_spam_rnn", epochs=1, verbose=0, data_options={"csv_path": str(path), **SMALL})
    assert set(result.metrics) == {"accuracy", "macro_f1"} == set(result.baseline)
    assert set(result.classical) == {"name", "settings", "accuracy", "macro_f1"}
    folder = result.save_preset(tmp_path / "preset")
    preset = rnn_zoo.load_preset(folder)
    assert preset.metadata["spec"]["model"]["head_units"] == 3
    answers = preset.predict(["Why was I charged twice for my invoice?", "The router crashes on start"])
    assert all(a["prediction"] in CLASSES and 0 < a["probability"] <= 1 for a in answers)
    assert set(answers[0]) == {"prediction", "probability"}
    expected = np.asarray(result.model.predict(result.data.x_test[:4], verbose=0)).argmax(-1)
    assert [a["prediction"] for a in preset.predict(list(result.data.text_test[:4]))] == [CLASSES[i] for i in expected]
    assert preset.evaluate(csv_path=str(path)) == pytest.approx(result.metrics)  # the same split and ids
    assert preset.metadata["dataset"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert time.perf_counter() - started < 60


@pytest.mark.slow
def test_a_model_of_three_classes_exports_its_class_names(tmp_path):
    """The SavedModel's `serve` answers the class name and its probability; the ONNX and
    LiteRT files answer the probabilities, their JSON names the classes in that order."""
    import tensorflow as tf

    path = write_csv(tmp_path / "tickets.csv")
    result = rnn_zoo.train("sms_spam_rnn", epochs=1, verbose=0, data_options={"csv_path": str(path), **SMALL})
    texts = list(result.data.text_test[:5])
    probabilities = tf.nn.softmax(result.model.predict(result.data.x_test[:5], verbose=0)).numpy()
    serve = tf.saved_model.load(str(rnn_zoo.export(result, tmp_path / "sm"))).signatures["serve"]
    out = serve(text=tf.constant(texts))
    assert [p.decode() for p in out["prediction"].numpy()] == [CLASSES[i] for i in probabilities.argmax(-1)]
    np.testing.assert_allclose(out["probability"].numpy(), probabilities.max(-1), rtol=1e-5)
    assert result.data.served_scores(serve) == pytest.approx(result.metrics)
    for fmt in ("onnx", "litert"):
        folder = rnn_zoo.export(result, tmp_path / fmt, format=fmt)
        spec = json.loads((folder / "preprocessing.json").read_text(encoding="utf-8"))
        assert spec["classes"] == list(CLASSES) and spec["outputs"][0]["shape"][-1] == 3


# -- tab-separated files are plain TSV; long messages; hints; label order; one rule for empty texts --


@pytest.mark.backend_free
def test_a_tab_separated_file_is_plain_tsv_a_quote_is_an_ordinary_character(tmp_path):
    path = tmp_path / "quotes.tsv"
    rows = [("ham", '"Pete can you ring me'), ("spam", 'Win a prize now"'), ("ham", '"ok" he said, "fine"')]
    path.write_text("label\ttext\n" + "".join(f"{label}\t{text}\n" for label, text in rows * 2), encoding="utf-8")
    found = read_labelled_texts(path)
    assert list(zip(found.labels, found.texts)) == rows * 2 and found.lines == [2, 3, 4, 5, 6, 7]
    # The UCI collection's own layout (label, a tab, the message) under a header row is such a file.
    uci = tmp_path / "uci.tsv"
    uci.write_text("label\ttext\n" + "\n".join(sms_lines()) + "\n", encoding="utf-8")
    assert read_labelled_texts(uci).texts == [line.split("\t", 1)[1] for line in sms_lines()]
    tab = tmp_path / "tab.tsv"
    tab.write_text("text\tlabel\nhello\tham\nhi\tthere\tspam\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_labelled_texts(tab)
    one_line(caught.value, "tab.tsv:3", "3 fields where the header has 2", "cannot hold a tab")


def sms_lines() -> list[str]:
    """UCI-like lines: quotes where messages open or close them, commas, an ampersand entity."""
    texts = ['"Hi there', "Call me, now", 'Free entry" to win', "U have &lt;#&gt; msgs", '""', "ok"]
    return [f"{('ham', 'spam')[i % 2]}\t{text}" for i, text in enumerate(texts)]


@pytest.mark.backend_free
def test_a_long_message_is_read_and_only_an_absurd_field_is_refused(tmp_path):
    long = write_csv(tmp_path / "long.csv", [*messages(), ("word " * 40_000, "tech")])  # 200,000 characters
    assert len(read_labelled_texts(long).texts[-1]) == 200_000
    absurd = tmp_path / "absurd.csv"
    absurd.write_text("text,label\nhi,tech\n" + "x" * (labelled.MAX_FIELD + 1) + ",sales\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_labelled_texts(absurd)
    assert "quote" not in one_line(caught.value, "absurd.csv:3", f"longer than {labelled.MAX_FIELD:,} characters")
    absurd.write_text('text,label\nhi,tech\n"' + "x" * (labelled.MAX_FIELD + 1), encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_labelled_texts(absurd)
    one_line(caught.value, "absurd.csv:3", "is a quote opened there and never closed?")
    assert csv.field_size_limit() == 131_072  # (the reader's limit is its own)


@pytest.mark.backend_free
def test_a_file_of_another_separator_is_named_and_a_column_named_twice_says_rename(tmp_path):
    for name, delimiter, says in (
        ("tabs.csv", "\t", "not separated by commas; its header holds tabs: name it .tsv"),
        ("commas.tsv", ",", "not separated by tabs; its header holds commas: name it .csv"),
        ("bars.csv", "|", "its header holds vertical bars: save it comma- or tab-separated"),
        ("semis.csv", ";", "its header holds semicolons"),
    ):
        with pytest.raises(DataError) as caught:
            read_labelled_texts(write_csv(tmp_path / name, messages(), delimiter=delimiter))
        one_line(caught.value, name, "no text column named 'text'", says)
    twice = write_csv(
        tmp_path / "twice.csv", [(t, label, label) for t, label in messages()], ("text", "Label", "LABEL")
    )
    with pytest.raises(DataError) as caught:
        read_labelled_texts(twice, label_column="label")
    one_line(caught.value, "2 columns are named 'Label' (columns 2 and 3 of the header)", "rename all but one")


@pytest.mark.backend_free
def test_a_column_option_that_is_not_text_is_one_line(tmp_path):
    path = write_csv(tmp_path / "tickets.csv")
    for option in ("text_column", "label_column"):
        with pytest.raises(DataError) as caught:
            rnn_zoo.load_task_data("sms_spam_rnn", csv_path=path, **{option: 0}, **SMALL)
        one_line(caught.value, f"{option} names a column: give its name as text, not 0 (int)")
        assert "attribute" not in str(caught.value)
    with pytest.raises(DataError) as caught:  # (without the file too: not silently ignored)
        rnn_zoo.load_task_data("sms_spam_rnn", text_column=0, **SMALL)
    one_line(caught.value, "text_column names a column")


@pytest.mark.backend_free
def test_whole_number_labels_are_in_numeric_order(tmp_path):
    rows = [(text, str([1, 2, 10][i % 3])) for i, (text, _) in enumerate(messages())]
    data = rnn_zoo.load_task_data("sms_spam_rnn", csv_path=write_csv(tmp_path / "stars.csv", rows), **SMALL)
    assert data.preprocessor.class_names == ("1", "2", "10")  # the model's outputs, ONNX/LiteRT columns
    assert labelled.class_order(["10", "-1", "2", "02"]) == ["-1", "02", "2", "10"]
    assert labelled.class_order(["10", "2", "b"]) == ["10", "2", "b"]  # not all numbers: as text
    assert sms.class_names_problem(["1", "2", "10"]) is None
    assert "sorted" in sms.class_names_problem(["1", "10", "2"])


@pytest.mark.backend_free
def test_an_empty_text_is_skipped_with_a_warning_in_a_users_file_as_in_the_uci_file(tmp_path):
    good = messages()
    path = write_csv(tmp_path / "empty-text.csv", [*good[:9], (" ", "tech"), *good[9:]])
    with pytest.warns(UserWarning, match=r"empty-text.csv: skipped 1 empty message\(s\) on line\(s\) \[11\]"):
        found = read_labelled_texts(path)
    assert list(zip(found.texts, found.labels)) == good and 11 not in found.lines
    uci = tmp_path / "SMSSpamCollection"
    uci.write_text("\n".join([*sms_lines()[:2], "spam\t  ", *sms_lines()[2:]]) + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"SMSSpamCollection: skipped 1 empty message\(s\) on line\(s\) \[3\]"):
        assert sms.read_sms_collection(uci)[1] == [line.split("\t", 1)[1] for line in sms_lines()]


@pytest.mark.slow  # (a one-epoch train on the command line)
def test_the_command_line_sets_the_vocabularys_min_count_for_a_small_file(tmp_path, capsys):
    path = write_csv(tmp_path / "tickets.csv", rows=messages(per_class=4))
    out = tmp_path / "preset"
    assert main(["train", "sms_spam_rnn", "--csv", str(path), "--epochs", "1", "--out", str(out)]) == 2
    assert "lower min_count (--min-count on the command line)" in capsys.readouterr().err and not out.exists()
    assert (
        main(["train", "sms_spam_rnn", "--csv", str(path), "--epochs", "1", "--min-count", "1", "--out", str(out)]) == 0
    )
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["data_options"]["min_count"] == 1 and "--min-count 1" in metadata["command"]
