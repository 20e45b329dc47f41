"""SMS spam from a tiny UCI-format file and zip written here; the download path too."""

import hashlib
import json
import re
import zipfile

import numpy as np
import pytest
from fixtures import EDGE_MESSAGES, SMS_LINES, write_sms, write_sms_zip

import rnn_zoo
from rnn_zoo.data import RemoteFile
from rnn_zoo.tasks import sms

pytestmark = pytest.mark.backend_free  # readers, tokenizers and tf.data only (the models: test_data_feeds_models.py)

SMALL = dict(min_count=1, max_length=6, test_fraction=0.3)


def test_clean_text():
    assert (
        sms.clean_text("Free entry in 2 a wkly comp!! T&C's apply 08452810075over18's")
        == "free entry in a wkly comp tcs apply overs"
    )
    assert sms.clean_text("  :) 645  ") == ""


def test_symbol_tokens_keep_what_word_cleaning_drops():
    assert sms.tokenize("WINNER!! Won £1000. Call 0906-170 www.x.com", True, "symbols") == [
        "winner",
        "!",
        "!",
        "won",
        "£",
        "0000",
        ".",
        "call",
        "0000",
        "-",
        "000",
        "www",
        ".",
        "x",
        ".",
        "com",
    ]
    assert sms.tokenize("a0a0 00aa", True, "symbols") == ["a", "0", "a", "0", "00", "aa"]
    assert sms.tokenize(" \t ", True, "symbols") == []
    with pytest.raises(rnn_zoo.errors.DataError, match="needs digit_symbol"):
        sms.SmsVocabulary.fit(["a"], min_count=1, max_length=3, digit_symbol=False, tokens="symbols")
    with pytest.raises(rnn_zoo.errors.DataError, match="tokens must be one of"):
        sms.SmsVocabulary.fit(["a"], min_count=1, max_length=3, digit_symbol=True, tokens="chars")


RULES = [("words", False), ("words", True), ("symbols", True)]
# Every character Python's str.split() splits on, over all of Unicode.
UNICODE_WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())


def client_tokens(text, rules):
    """The docs' standalone client (docs/export.md): the rules as read from preprocessing.json."""
    rules = json.loads(json.dumps(rules))
    text = text.translate(str.maketrans(rules["lowercase"], rules["lowercase"].lower()))
    for pattern, replacement in rules["steps"]:
        text = re.sub(pattern, replacement, text)
    return [t for t in re.split(rules["split"], text) if t]


def test_the_whitespace_list_is_what_str_split_splits_on():
    assert sms.SPACE == UNICODE_WHITESPACE
    assert len(UNICODE_WHITESPACE) == len(sms.WHITESPACE) == 29
    assert "\u00a0" in sms.SPACE and "\u3000" in sms.SPACE and "\u2028" in sms.SPACE and "\x85" in sms.SPACE


@pytest.mark.parametrize("tokens, digit_symbol", RULES)
def test_every_whitespace_character_splits_words_as_a_space_does(tokens, digit_symbol):
    """Every whitespace character separates tokens: a tab, a line break or a Unicode space
    never joins two words into one ("now\nto" is "now", "to", not "nowto"), in `tokenize`
    and in the rules a standalone client reads."""
    spaced = sms.tokenize("free prize now", digit_symbol, tokens)
    assert spaced == ["free", "prize", "now"]
    rules = sms.token_rules(digit_symbol, tokens)
    texts = ["free\tprize\tnow", "free\nprize\r\nnow", "free\x0bprize\x0c\rnow", "\tfree \t prize\n\nnow\n"]
    texts += ["free\u00a0prize\u2003now", "free\u2028prize\u3000now", "free\x85prize\u202fnow"]
    texts += [f"{c}free{c}prize{c * 2}now{c}" for c in UNICODE_WHITESPACE]
    for text in texts:
        assert sms.tokenize(text, digit_symbol, tokens) == spaced, repr(text)
        assert client_tokens(text, rules) == spaced, repr(text)
        assert text.split() == spaced  # as str.split() reads it
    for text in ("Call now\nto claim", "Call now\u00a0to\u2029claim"):
        assert sms.tokenize(text, digit_symbol, tokens) == ["call", "now", "to", "claim"]
        assert client_tokens(text, rules) == ["call", "now", "to", "claim"]


def test_no_token_holds_whitespace_and_a_vocabulary_survives_a_save(tmp_path):
    from rnn_zoo.preprocessing import load_preprocessor

    vocabulary = sms.SmsVocabulary.fit(EDGE_MESSAGES, min_count=1, max_length=9, digit_symbol=True, tokens="symbols")
    assert {"x", "y", "z", "w", "v", "u"} <= set(vocabulary.vocabulary)  # "x\xa0y z\u2028w v\x85u": six words
    assert not any(c.isspace() for token in vocabulary.vocabulary for c in token)
    vocabulary.save(tmp_path / "pre")
    assert load_preprocessor(tmp_path / "pre") == vocabulary


def test_file_split_vocabulary_and_ids(tmp_path):
    write_sms(tmp_path / "SMSSpamCollection")
    data = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)
    assert len(data.x_train) + len(data.x_test) == 10 and len(data.x_test) == 3
    assert data.x_train.shape == (7, 6) and data.x_train.dtype == np.int32
    assert data.y_train.sum() + data.y_test.sum() == 3  # three spam lines
    assert data.vocabulary[:2] == ("", "[UNK]") and data.vocab_size == len(data.vocabulary)
    # The vocabulary sees the training split only: a word only in test messages is unknown.
    train_words = {w for t in data.text_train for w in sms.clean_text(t).split()}
    assert set(data.vocabulary[2:]) == train_words
    # Ids decode back to the first words of the cleaned message, padded with 0 at the end.
    for text, ids in zip(data.text_train, data.x_train):
        words = sms.clean_text(text).split()[:6] or ["[UNK]"]
        assert [data.vocabulary[i] for i in ids[: len(words)]] == words
        assert (ids[len(words) :] == 0).all()
    # Labels follow their text through the shuffle.
    by_text = {line.split("\t")[1]: line.split("\t")[0] for line in SMS_LINES}
    assert [by_text[t] == "spam" for t in data.text_test] == list(data.y_test.astype(bool))


def test_split_is_reproducible_and_depends_on_the_seed(tmp_path):
    write_sms(tmp_path / "SMSSpamCollection")
    a = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, seed=1, **SMALL)
    b = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, seed=1, **SMALL)
    c = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, seed=2, **SMALL)
    assert list(a.text_test) == list(b.text_test) and list(a.text_test) != list(c.text_test)


def test_vocabulary_min_count_and_order():
    vocab = sms.build_vocabulary(["b a a", "c b a", "d"], min_count=2)
    assert vocab == ["", "[UNK]", "a", "b"]  # most frequent first, ties alphabetical


def test_message_with_no_word_left_becomes_one_unknown_id():
    ids = sms.encode_texts([":) 645", "ok ok"], ["", "[UNK]", "ok"], length=3)
    np.testing.assert_array_equal(ids, [[1, 0, 0], [2, 2, 0]])


def test_zip_and_raw_text_datasets(tmp_path):
    write_sms_zip(tmp_path / "sms+spam+collection.zip")
    data = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)
    assert data.source.endswith(".zip")
    train_ds, test_ds = data.text_datasets(batch_size=4)
    x, y = next(iter(test_ds))
    assert x.dtype.name == "string" and [t.decode() for t in x.numpy()] == list(data.text_test)
    np.testing.assert_array_equal(y.numpy(), data.y_test)


@pytest.mark.parametrize(
    "line, message",
    [
        ("ham no tab here", "SMSSpamCollection:4: expected 'ham' or 'spam', a tab"),
        ("eggs\tspam spam spam", "SMSSpamCollection:4: expected 'ham' or 'spam'"),
    ],
)
def test_malformed_lines_are_rejected_with_file_and_line(tmp_path, line, message):
    write_sms(tmp_path / "SMSSpamCollection", SMS_LINES[:3] + [line] + SMS_LINES[3:])
    with pytest.raises(rnn_zoo.DataError, match=message):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)


def test_empty_messages_are_skipped_with_a_warning_and_blank_lines_ignored(tmp_path):
    write_sms(tmp_path / "SMSSpamCollection", SMS_LINES[:2] + ["ham\t   ", ""] + SMS_LINES[2:])
    with pytest.warns(UserWarning, match=r"skipped 1 empty message\(s\) on line\(s\) \[3\]"):
        data = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path, **SMALL)
    assert len(data.x_train) + len(data.x_test) == 10


def test_a_corpus_too_small_for_min_count_says_so(tmp_path):
    write_sms(tmp_path / "SMSSpamCollection")
    with pytest.raises(rnn_zoo.DataError, match="no word appears 10 times in the 8 training messages"):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path)


def test_unreadable_files(tmp_path):
    (tmp_path / "SMSSpamCollection").write_bytes(b"ham\t\xff\xfe bad bytes\n")
    with pytest.raises(rnn_zoo.DataError, match="not a readable UTF-8 SMS collection"):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path)
    (tmp_path / "SMSSpamCollection").write_text("\n\n")
    with pytest.raises(rnn_zoo.DataError, match="no messages found"):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path)
    write_sms_zip(tmp_path / "other.zip", member="something_else")
    with pytest.raises(rnn_zoo.DataError, match="holds no 'SMSSpamCollection'"):
        rnn_zoo.load_task_data("sms_spam_rnn", path=tmp_path / "other.zip")


def _local_remote(tmp_path, content_sha=None):
    served = write_sms_zip(tmp_path / "served.zip")
    with zipfile.ZipFile(served) as zf:
        sha = content_sha or hashlib.sha256(zf.read("SMSSpamCollection")).hexdigest()
    return RemoteFile(served.as_uri(), "sms+spam+collection.zip", sha, member="SMSSpamCollection")


def test_download_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(sms, "UCI_ZIP", _local_remote(tmp_path))
    data = rnn_zoo.load_task_data("sms_spam_rnn", **SMALL)
    cached = rnn_zoo.data.cache_dir() / "sms+spam+collection.zip"
    assert data.source == str(cached) and cached.is_file()
    (tmp_path / "served.zip").unlink()  # the second load must not download again
    assert rnn_zoo.load_task_data("sms_spam_rnn", **SMALL).source == str(cached)


def test_checksum_mismatch_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(sms, "UCI_ZIP", _local_remote(tmp_path, content_sha="0" * 64))
    with pytest.raises(rnn_zoo.DataError, match="does not match the expected 000"):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path / "data")
    assert list((tmp_path / "data").iterdir()) == []


def test_offline_error_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch):
    remote = RemoteFile((tmp_path / "offline.zip").as_uri(), "sms+spam+collection.zip", "0" * 64, "SMSSpamCollection")
    monkeypatch.setattr(sms, "UCI_ZIP", remote)
    with pytest.raises(rnn_zoo.DataNotFoundError) as info:
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tmp_path / "data")
    text = str(info.value)
    assert str(tmp_path / "data") in text and "could not download" in text and "RNN_ZOO_DATA" in text
    assert list((tmp_path / "data").iterdir()) == []


def test_the_real_source_is_the_uci_zip_checked_by_content():
    assert sms.UCI_ZIP.url.startswith("https://archive.ics.uci.edu/")
    assert sms.UCI_ZIP.sha256 == "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"
