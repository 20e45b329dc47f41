"""SMS spam: the UCI SMS Spam Collection, words -> ids -> SimpleRNN; the same recipes on a
user's own labelled texts (a CSV or TSV file, two classes or more: `load_sms(csv_path=)`)."""

from __future__ import annotations

import collections
import dataclasses
import re
import string
import warnings
import zipfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..backend import tf_call
from ..classical import ClassicalModel
from ..data import ClassificationData, Preprocessor, RemoteFile, Serving, find_file, make_dataset, search_dirs
from ..data.labelled import (
    MAX_CLASSES,
    LabelledTexts,
    check_column_option,
    class_order,
    classes_of,
    label_problem,
    read_labelled_texts,
    skip_empty_messages,
)
from ..data.sources import check_published, sha256_of
from ..errors import DataError, DataNotFoundError, PresetError, SettingError, shown
from ..preprocessing import Range, read_preset_file
from ..registry import DatasetInfo, Goal, ModelSpec, TaskSpec, TrainSpec, get_task, register

UCI_ZIP = RemoteFile(
    url="https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
    filename="sms+spam+collection.zip",
    # sha256 of the SMSSpamCollection file inside the zip (5574 lines, 477,907 bytes).
    sha256="7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
    member="SMSSpamCollection",
)
SMS_COLLECTION = DatasetInfo(
    name="UCI SMS Spam Collection v.1 (5574 messages, 747 spam)",
    license="provided by its authors for free and with no limitations except that Tiago A. Almeida and "
    "Jose Maria Gomez Hidalgo hold the copyright, with no warranty and no liability; the authors ask "
    "users to cite their paper",
    citation="T. A. Almeida, J. M. Gomez Hidalgo, A. Yamakami, Contributions to the Study of SMS Spam Filtering: "
    "New Collection and Results, DocEng'11, 2011",
    url="https://archive.ics.uci.edu/dataset/228",
)
PAD, OOV = "", "[UNK]"  # ids 0 and 1, the same convention as keras.layers.TextVectorization


DIGIT, DIGIT_SYMBOL = r"[0-9]", "0"
TOKENIZERS = ("words", "symbols")
# Only A-Z are lowercased, in Python and in the graph alike: TensorFlow's Unicode lowercasing
# follows the process's locale (a Turkish one turns "I" into a dotless i), Python's does not.
LOWERCASED = string.ascii_uppercase
ASCII_LOWER = str.maketrans(LOWERCASED, LOWERCASED.lower())
# "symbols" tokens: the same regular expressions run in Python (`tokenize`) and in the
# serving graph (TensorFlow's RE2), so a message gets the same ids in both.
# Whitespace: every character Python's str.split() splits on (str.isspace(): the ASCII ones,
# the information separators, NEL, no-break and other Unicode spaces, line and paragraph
# separators), as one list of code points. Neither engine's \s is used (RE2's is ASCII only,
# Python's follows Unicode): the list is rendered as the characters themselves, which
# Python's `re`, RE2 and a client's regular expressions all read as literals inside a class.
# A test checks the list against str.isspace() over all of Unicode.
WHITESPACE = (
    *range(0x09, 0x0E),  # tab, line feed, vertical tab, form feed, carriage return
    *range(0x1C, 0x21),  # file, group, record and unit separators; space
    0x85,  # next line (NEL)
    0xA0,  # no-break space
    0x1680,  # ogham space mark
    *range(0x2000, 0x200B),  # en quad ... hair space
    0x2028,  # line separator
    0x2029,  # paragraph separator
    0x202F,  # narrow no-break space
    0x205F,  # medium mathematical space
    0x3000,  # ideographic space
)
SPACE = "".join(map(chr, WHITESPACE))
SYMBOL = rf"([^a-z0{SPACE}])"  # after lowercasing and digits -> "0": any other character
SYMBOL_STEPS = ((SYMBOL, r" \1 "), (r"([a-z])0", r"\1 0"), (r"0([a-z])", r"0 \1"))


# -- the file format: the UCI SMS Spam Collection -----------------------------------------
SMS_LABELS = ("ham", "spam")


def read_collection_bytes(path: Path, member: str = "SMSSpamCollection") -> bytes:
    """The bytes of the UCI file, or of its `member` in the UCI zip."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return zf.read(member)
        return path.read_bytes()
    except KeyError:
        raise DataError(f"{path}: the zip holds no {member!r}") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise DataError(f"{path}: not a readable UTF-8 SMS collection ({e})") from None


def read_sms_collection(path: Path, member: str = "SMSSpamCollection"):
    """(labels, texts) from the UCI file ("ham"/"spam", a tab, the message per line), or
    from the UCI zip holding it. Lines with no tab or another label are rejected with the
    line named; blank lines are skipped; lines with an empty message are skipped with a
    warning naming them (there is nothing to classify; the rule of a user's labelled file
    too, `read_labelled_texts`). The UCI file holds no empty message."""
    try:
        text = read_collection_bytes(path, member).decode("utf-8-sig")  # a byte order mark is not part of line 1
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a readable UTF-8 SMS collection ({e})") from None
    # Line ends: LF (the UCI file), CRLF (Windows) and a lone CR (old Mac) all end a line.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.strip() and not text.endswith("\n"):  # (a message cannot be told whole or cut: a warning)
        warnings.warn(
            f"{path}:{text.count(chr(10)) + 1}: the file ends inside this line, with no line break after it: "
            "its message may be cut short",
            stacklevel=3,
        )
    labels, texts, empty = [], [], []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        label, tab, message = line.partition("\t")
        if not tab or label not in SMS_LABELS:
            raise DataError(f"{path}:{lineno}: expected 'ham' or 'spam', a tab, then the message; got {line[:60]!r}")
        if not message.strip():
            empty.append(lineno)
            continue
        labels.append(label)
        texts.append(message)
    skip_empty_messages(path, empty)
    if not texts:
        raise DataError(f"{path}: no messages found")
    return labels, texts


def class_names_problem(names) -> str | None:
    """What is wrong with a vocabulary's class names (a preprocessor.json's are untrusted),
    or None: 2 to MAX_CLASSES names, each a label one line of output can show, each once, in
    `class_order` (sorted; by number where every name is a whole number)."""
    names = list(names)
    if not 2 <= len(names) <= MAX_CLASSES:
        return f"must hold 2 to {MAX_CLASSES} class names, got {len(names)}"
    bad = next((n for n in names if not isinstance(n, str) or label_problem(n)), None)
    if bad is not None:
        why = label_problem(bad) if isinstance(bad, str) else "is not a string"
        return f"holds {shown(bad)}, which {why}"
    if len(set(names)) != len(names) or names != class_order(names):
        return f"must be sorted, each name once (by number where every name is a whole number), got {shown(names)}"
    return None


def _dropped(digit_symbol: bool) -> str:
    """What "words" cleaning removes: everything but letters and whitespace (and the digit
    symbol). Whitespace (`SPACE`: tabs, line breaks and Unicode spaces too) stays, for the
    split: words on either side of a tab, a newline or a no-break space are two words."""
    return rf"[^a-z0{SPACE}]" if digit_symbol else rf"[^a-z{SPACE}]"


def clean_text(text: str, digit_symbol: bool = False) -> str:
    """Lowercase (A-Z), drop everything but letters and whitespace, split on whitespace
    (every character str.split() splits on) and join the words with one space. With
    `digit_symbol`, every digit becomes "0" first and is kept, so numbers (phone numbers,
    prices, short codes) survive as tokens such as "00000"."""
    return " ".join(tokenize(text, digit_symbol, "words"))


def check_tokens(tokens: str, digit_symbol: bool) -> None:
    if tokens not in TOKENIZERS:
        raise DataError(f"tokens must be one of {', '.join(TOKENIZERS)}, got {tokens!r}")
    if tokens == "symbols" and not digit_symbol:
        raise DataError("tokens='symbols' maps digits to one symbol: it needs digit_symbol=True")


def token_rules(digit_symbol: bool = False, tokens: str = "words") -> dict:
    """How a message becomes tokens, as plain data: lowercase the characters of "lowercase"
    (A-Z only), apply each (pattern, replacement) of "steps" in order, split on runs of
    "split". `tokenize`, the serving graph and the JSON beside ONNX / LiteRT exports all read
    these rules, so a client in any language with regular expressions tokenizes as the model
    was trained."""
    check_tokens(tokens, digit_symbol)
    steps = ((DIGIT, DIGIT_SYMBOL),) if digit_symbol else ()
    steps += SYMBOL_STEPS if tokens == "symbols" else ((_dropped(digit_symbol), ""),)
    return {"lowercase": LOWERCASED, "steps": [list(step) for step in steps], "split": f"[{SPACE}]+"}


def tokenize(text: str, digit_symbol: bool = False, tokens: str = "words") -> list[str]:
    """A message's tokens (see `token_rules`). "words": lowercase words, every other
    character dropped (digits kept as "0" with `digit_symbol`). "symbols": nothing is
    dropped: lowercase words, runs of digits as runs of "0", and every other character
    (currency signs, punctuation, emoji, letters beyond a-z) as a token of its own; it
    needs `digit_symbol`."""
    rules = token_rules(digit_symbol, tokens)
    text = text.translate(ASCII_LOWER)
    for pattern, replacement in rules["steps"]:
        text = re.sub(pattern, replacement, text)
    return [t for t in re.split(rules["split"], text) if t]


def build_vocabulary(texts, min_count: int, digit_symbol: bool = False, tokens: str = "words") -> list[str]:
    """[PAD, OOV] + tokens seen at least `min_count` times, most frequent first (ties
    alphabetically, so the order does not depend on the order of the messages)."""
    counts = collections.Counter(t for text in texts for t in tokenize(text, digit_symbol, tokens))
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return [PAD, OOV, *words]


def encode_texts(texts, vocabulary, length: int, digit_symbol: bool = False, tokens: str = "words") -> np.ndarray:
    """Raw messages -> (n, length) int32 ids: first `length` tokens, padded with 0 at the end.
    A message with no token left becomes one OOV id rather than all padding,
    because a fully masked sequence has length 0, which cuDNN kernels reject."""
    index = {w: i for i, w in enumerate(vocabulary)}
    ids = np.zeros((len(texts), length), dtype=np.int32)
    for row, text in enumerate(texts):
        seq = [index.get(w, 1) for w in tokenize(text, digit_symbol, tokens)[:length]] or [1]
        ids[row, : len(seq)] = seq
    return ids


@dataclasses.dataclass(frozen=True)
class SmsVocabulary(Preprocessor):
    """Raw message -> tokens (`tokenize`: "words" or "symbols") -> ids. `vocabulary[i]` is the
    token of id i (0 padding, 1 unknown), built on a training split only; the first
    `max_length` tokens are kept and padded with 0 at the end. Saved as
    `assets/vocabulary.txt`, one token per line from id 2."""

    vocabulary: tuple[str, ...]
    max_length: int
    digit_symbol: bool = False
    tokens: str = "words"
    # The classes in the order of the model's outputs and of the probability columns of its
    # ONNX / LiteRT files (`class_order`: sorted, by number where every name is a whole
    # number). Presets from before a user's own labels could be read have none in their
    # config: they are ham and spam.
    class_names: tuple[str, ...] = SMS_LABELS

    def __post_init__(self):
        check_tokens(self.tokens, self.digit_symbol)
        problem = class_names_problem(self.class_names)
        if problem:
            raise DataError(f"class_names {problem}")

    input_name = "text"
    ranges = {"max_length": Range(1, 10_000)}

    @classmethod
    def config_types(cls):  # the vocabulary is in assets/, its size in the config
        return {
            "max_length": int,
            "digit_symbol": bool,
            "tokens": str,
            "vocab_size": int,
            "vocabulary_file": str,
            "class_names": list[str],
        }

    @classmethod
    def required_config(cls):
        return {"max_length", "digit_symbol", "vocab_size"}

    def parse_input(self, text, shape):
        return text  # the input is the text itself

    def format_output(self, output):
        probability = output["spam_probability" if self.is_spam_filter else "probability"]
        return f"{output['prediction']}\t{probability:.4f}"

    input_description = "a message"
    VOCABULARY_FILE: ClassVar[str] = "vocabulary.txt"

    @classmethod
    def fit(
        cls,
        texts,
        *,
        min_count: int,
        max_length: int,
        digit_symbol: bool,
        tokens: str = "words",
        class_names: tuple[str, ...] = SMS_LABELS,
    ) -> SmsVocabulary:
        check_tokens(tokens, digit_symbol)
        vocabulary = tuple(build_vocabulary(texts, min_count, digit_symbol, tokens))
        return cls(vocabulary, max_length, digit_symbol, tokens, tuple(class_names))

    @property
    def input_shape(self):
        return (self.max_length,)

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    @property
    def classes(self):
        return list(self.class_names)

    @property
    def is_spam_filter(self) -> bool:
        """Whether the classes are ham and spam (the UCI data's): then the model answers
        "spam" / "ham" and `spam_probability`, as every preset did before a user's own
        labels could be read; else the class name and its `probability`."""
        return tuple(self.class_names) == SMS_LABELS

    def model_sizes(self):
        return {"vocab_size": self.vocab_size, "num_classes": len(self.class_names)}

    def example_input(self):
        return "WINNER!! You have won a prize. Call 09061701461 to claim"

    def encode(self, texts) -> np.ndarray:
        return encode_texts(texts, self.vocabulary, self.max_length, self.digit_symbol, self.tokens)

    def get_config(self):
        # The tokens go to assets/vocabulary.txt; the size is kept here to check that file.
        return {
            "max_length": self.max_length,
            "digit_symbol": self.digit_symbol,
            "tokens": self.tokens,
            "vocab_size": self.vocab_size,
            "class_names": list(self.class_names),
        }

    def standalone_config(self):
        return {
            **super().standalone_config(),
            "vocabulary": list(self.vocabulary),
            "token_rules": token_rules(self.digit_symbol, self.tokens),
        }

    def save_assets(self, assets):
        # Tokens never hold whitespace (it separates them): one token per line, LF line ends,
        # read back by "\n" only; a line the tokenizer could not make is refused on loading.
        (assets / self.VOCABULARY_FILE).write_text(
            "".join(w + "\n" for w in self.vocabulary[2:]), encoding="utf-8", newline=""
        )

    @classmethod
    def from_config(cls, config, assets):
        path = assets / cls.VOCABULARY_FILE
        try:  # a regular file of the preset only (no link, no FIFO), of a bounded size
            words = read_preset_file(path).decode("utf-8").split("\n")[:-1]
        except UnicodeDecodeError:
            raise PresetError(f"{path} is not UTF-8 text") from None
        vocabulary = (PAD, OOV, *words)
        seen: set[str] = {PAD, OOV}
        repeated = next((w for w in words if w in seen or seen.add(w)), None)  # (add returns None)
        if repeated is not None:
            raise PresetError(
                f"{path}: the token {repeated!r} is empty, repeated or reserved: every line is one new token"
            )
        if len(vocabulary) != config["vocab_size"]:
            raise PresetError(
                f"{assets / cls.VOCABULARY_FILE} holds {len(words)} tokens; its preprocessor.json "
                f"says {config['vocab_size'] - 2} (config.vocab_size {config['vocab_size']}, with padding and unknown)"
            )
        problem = class_names_problem(config.get("class_names", SMS_LABELS))
        if problem:
            raise PresetError(f"config.class_names {problem}")
        # Presets from before the "symbols" tokens have no "tokens" key: they are "words";
        # presets from before a user's own labels have no "class_names": they are ham and spam.
        made = cls(
            vocabulary,
            int(config["max_length"]),
            bool(config["digit_symbol"]),
            config.get("tokens", "words"),
            tuple(config.get("class_names", SMS_LABELS)),
        )
        made.check_tokens_makeable(path, words)
        return made

    def check_tokens_makeable(self, path, words) -> None:
        """Refuse a vocabulary line the tokenizer could never make (an uppercase letter,
        whitespace such as the "\r" of a CRLF line end, a digit other than "0" with
        `digit_symbol`, ...): its id would never be looked up, and every message would lose
        that token silently. A token is one the tokenizer makes exactly when it tokenizes
        to itself."""
        bad = next((i for i, w in enumerate(words) if tokenize(w, self.digit_symbol, self.tokens) != [w]), None)
        if bad is None:
            return
        crlf = " (a CRLF line end: the file must have LF line ends)" if words[bad].endswith("\r") else ""
        raise PresetError(
            f"{path}:{bad + 1}: {words[bad]!r} is not a token the tokenizer makes{crlf}; with tokens="
            f"{self.tokens!r} and digit_symbol={self.digit_symbol} every line is one token of {self.token_alphabet()}"
        )

    def token_alphabet(self) -> str:
        digits = ' and "0"' if self.digit_symbol else ""
        if self.tokens == "symbols":
            return 'a run of a-z, a run of "0", or one character other than A-Z, a-z, 0-9 and whitespace'
        return f"lowercase a-z{digits}"

    def answers(self, probabilities):
        """The served answers of the model's class probabilities (in the graph): "spam" /
        "ham" and `spam_probability` for ham and spam, else the likeliest class's name and
        its `probability`."""
        import tensorflow as tf

        if self.is_spam_filter:
            spam = probabilities[:, 1]
            return {"prediction": tf.where(spam > 0.5, SMS_LABELS[1], SMS_LABELS[0]), "spam_probability": spam}
        best = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {
            "prediction": tf.gather(tf.constant(self.class_names), best),
            "probability": tf.reduce_max(probabilities, axis=-1),
        }

    def serving(self, model):
        """Raw message strings -> the class name and its probability (see `answers`). The
        cleaning, the vocabulary lookup and the padding of `encode` run inside the graph."""
        import tensorflow as tf

        call = tf_call(model)

        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(self.vocabulary[2:], dtype=tf.string), tf.range(2, self.vocab_size, dtype=tf.int32)
            ),
            default_value=1,  # OOV
        )
        length = self.max_length

        rules = token_rules(self.digit_symbol, self.tokens)

        def tokens(text):
            """`tokenize`, in the graph."""
            text = tf.strings.lower(text)  # A-Z only (no encoding given), as ASCII_LOWER
            for pattern, replacement in rules["steps"]:
                text = tf.strings.regex_replace(text, pattern, replacement)
            text = tf.strings.regex_replace(tf.strings.regex_replace(text, rules["split"], " "), "^ | $", "")
            return tf.strings.split(text, sep=" ")  # "" (no token) looks up as OOV, as in `encode_texts`

        def serve(text):
            words = tokens(text)[:, :length]
            ids = table.lookup(words).to_tensor(default_value=0, shape=[None, length])
            # A message with no word left is one OOV id, as in `encode_texts`.
            ids = tf.concat([tf.where(ids[:, :1] == 0, 1, ids[:, :1]), ids[:, 1:]], axis=1)
            return self.answers(tf.nn.softmax(call(ids)))

        return Serving(serve, [tf.TensorSpec([None], tf.string, name=self.input_name)], (table,))


@dataclasses.dataclass
class SmsData(ClassificationData):
    """Ids of the cleaned messages, made by an `SmsVocabulary`; the labels index its
    `class_names` (the UCI data's: 0 ham, 1 spam). `text_train` / `text_test` are the raw
    messages of each split, for models that carry their own text preprocessing."""

    text_train: np.ndarray
    text_test: np.ndarray

    split_depends_on_seed: ClassVar[bool] = True  # a seeded shuffle of one collection

    @property
    def vocabulary(self) -> tuple[str, ...]:
        return self.preprocessor.vocabulary

    @property
    def vocab_size(self) -> int:
        return self.preprocessor.vocab_size

    def head(self, n: int) -> SmsData:
        return dataclasses.replace(super().head(n), text_train=self.text_train[:n])

    def serving_examples(self, n):
        return {"text": self.text_test[self._test_rows(n)]}

    # The claim worth checking: the exported model reads raw messages (cleaning, vocabulary
    # and padding inside) and scores as the model did on ids.
    scored_through_export = True

    def served_scores(self, serve):
        import tensorflow as tf

        out = serve(text=tf.constant(self.text_test))
        if self.preprocessor.is_spam_filter:
            spam = out["spam_probability"].numpy()
            return self.score(np.stack([1 - spam, spam], axis=-1))
        names = [name.decode("utf-8") for name in out["prediction"].numpy()]
        index = {name: i for i, name in enumerate(self.class_names)}
        return self.score(np.eye(len(index), dtype=np.float32)[[index[name] for name in names]])

    classical_fields = ("text_train", "y_train")
    C_GRID = (0.3, 1.0, 3.0, 10.0)

    def fit_classical(self):
        """A linear SVM on TF-IDF features of the raw messages: word 1-2-grams and character
        2-5-grams within words, both with sublinear term frequencies. The vectorisers see
        the training messages only; C is chosen by 5-fold stratified cross-validation on
        them (accuracy), then refitted on all of them."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.model_selection import GridSearchCV, StratifiedKFold
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.svm import LinearSVC

        features = make_union(
            TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)),
            TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(2, 5), min_df=2),
        )
        pipeline = make_pipeline(features, LinearSVC(random_state=0))
        folds = min(5, int(np.bincount(self.y_train, minlength=len(self.class_names)).min()))
        if folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=0)
            search = GridSearchCV(pipeline, {"linearsvc__C": list(self.C_GRID)}, scoring="accuracy", cv=cv)
            search.fit(self.text_train, self.y_train)
            model, c = search.best_estimator_, search.best_params_["linearsvc__C"]
        else:  # too few messages of a class to cross-validate (tiny test data)
            model, c = pipeline.fit(self.text_train, self.y_train), 1.0

        def predict(data):
            return self.decision_scores(model, data.text_test)

        return ClassicalModel("linear SVM on TF-IDF word 1-2-grams + char 2-5-grams", predict, {"C": c})

    def decision_scores(self, model, texts) -> np.ndarray:
        """A fitted classifier's scores of `texts`, one column per class of the vocabulary (a
        class its training split lacked scores lowest); a two-class model's one score is
        the second class's."""
        scores = model.decision_function(texts)
        out = np.full((len(texts), len(self.class_names)), -1e30)
        if scores.ndim == 1:
            out[:, model.classes_[0]], out[:, model.classes_[1]] = -scores, scores
        else:
            out[:, model.classes_] = scores
        return out

    def encode(self, texts) -> np.ndarray:
        return self.preprocessor.encode(texts)

    higher_is_better = ("accuracy", "spam_precision", "spam_recall", "spam_f1", "macro_f1")

    def score(self, y_pred):
        """Accuracy; for ham and spam, the spam class's precision, recall and F1; for other
        classes, the F1 averaged over the classes (macro; per class: `per_class_scores`)."""
        per_class = self.per_class_scores(y_pred)
        if not self.preprocessor.is_spam_filter:
            return {**super().score(y_pred), "macro_f1": self.macro_f1(per_class)}
        spam = per_class["spam"]
        return {
            **super().score(y_pred),
            "spam_precision": spam["precision"],
            "spam_recall": spam["recall"],
            "spam_f1": spam["f1"],
        }

    def text_datasets(self, batch_size: int, seed: int = 0):
        """(train_ds, test_ds) of (raw message string, label)."""
        return (
            make_dataset(self.text_train, self.y_train, batch_size, shuffle=True, seed=seed),
            make_dataset(self.text_test, self.y_test, batch_size, shuffle=False),
        )


def _collection_path(path, data_dir) -> Path:
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise DataNotFoundError(f"SMS collection {path} does not exist")
        return path
    found = find_file(("SMSSpamCollection", UCI_ZIP.filename), data_dir)
    if found is not None:
        return found
    folder = search_dirs(data_dir)[-1]
    try:
        return UCI_ZIP.fetch(folder)
    except DataNotFoundError as e:
        raise DataNotFoundError(
            f"the SMS Spam Collection is not in {', '.join(map(str, search_dirs(data_dir)))} and {e}. "
            f"Put the UCI file 'SMSSpamCollection' (or the zip {UCI_ZIP.filename}) in a folder and point "
            "RNN_ZOO_DATA or data_dir= at it."
        ) from None


@dataclasses.dataclass(frozen=True)
class _Messages:
    """The messages of one file, their labels, and where they came from."""

    source: Path
    sha256: str
    published: bool | None
    texts: np.ndarray
    labels: list[str]
    class_names: tuple[str, ...]
    stratified: bool  # a file of the user's own labels: split class by class
    columns: dict[str, str] | None = None  # the columns read from it, as its header spells them


def _uci_messages(path, data_dir, allow_modified_data: bool) -> _Messages:
    """The UCI collection (found in the data folders, or the user's copy as `path`)."""
    source = _collection_path(path, data_dir)
    sha256 = sha256_of(read_collection_bytes(source))
    published = None
    if path is None:
        published = check_published(
            source, sha256, UCI_ZIP.sha256, "UCI SMS Spam Collection", allow=allow_modified_data
        )
    labels, texts = read_sms_collection(source)
    return _Messages(source, sha256, published, np.array(texts, dtype=object), labels, SMS_LABELS, False)


def _labelled_messages(csv_path, text_column, label_column) -> _Messages:
    """A CSV or TSV file of the user's own labelled texts (see `rnn_zoo.data.labelled`)."""
    source = Path(csv_path).expanduser()
    if not source.is_file():
        raise DataNotFoundError(f"labelled text file {source} does not exist")
    found: LabelledTexts = read_labelled_texts(source, text_column, label_column)
    classes = classes_of(source, found)
    texts = np.array(found.texts, dtype=object)
    columns = {"text": found.text_column, "label": found.label_column}
    return _Messages(source, sha256_of(source.read_bytes()), None, texts, found.labels, classes, True, columns)


def _label_ids(messages: _Messages, class_names: tuple[str, ...]) -> np.ndarray:
    """The labels as ids into `class_names` (a preset's, or the file's own)."""
    index = {name: i for i, name in enumerate(class_names)}
    unknown = sorted(set(messages.labels) - set(index))
    if unknown:
        raise DataError(
            f"{messages.source}: label(s) {shown(unknown)} are not among the model's classes {shown(list(class_names))}"
        )
    return np.array([index[label] for label in messages.labels], dtype=np.int32)


def _split(y: np.ndarray, test_fraction: float, seed: int, stratified: bool) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices. The UCI data: one seeded shuffle, its first
    `test_fraction` the test split. A user's file: class by class (stratified), each class
    with at least one message in each split, both splits then shuffled."""
    rng = np.random.default_rng(seed)
    if not stratified:
        order = rng.permutation(len(y))
        n_test = round(len(y) * test_fraction)
        return order[n_test:], order[:n_test]
    test = []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        test.extend(members[: min(len(members) - 1, max(1, round(len(members) * test_fraction)))])
    train = np.setdiff1d(np.arange(len(y)), test)
    return rng.permutation(train), rng.permutation(np.array(test, dtype=np.int64))


def _warn_absent(source, y_train: np.ndarray, class_names: tuple[str, ...]) -> None:
    """A warning where the training split lacks a class (a tiny UCI file; a user's file is
    split class by class, every class in both splits)."""
    absent = [label for i, label in enumerate(class_names) if not np.any(y_train == i)]
    if absent:
        warnings.warn(
            f"{source}: the {len(y_train)} training messages hold no {' or '.join(absent)} message: "
            f"a model trained on them cannot learn to answer {'it' if len(absent) == 1 else 'them'}",
            stacklevel=4,
        )


def _messages(path, csv_path, text_column, label_column, data_dir, allow_modified_data) -> _Messages:
    check_column_option("text_column", text_column)
    check_column_option("label_column", label_column)
    if csv_path is not None:
        if path is not None:
            raise SettingError(
                "give path= (the UCI SMS Spam Collection) or csv_path= (your own labelled texts), not both"
            )
        return _labelled_messages(csv_path, text_column, label_column)
    given = [
        name for name, value in (("text_column", text_column), ("label_column", label_column)) if value is not None
    ]
    if given:
        raise SettingError(f"{given[0]} names a column of your own file: give the file as csv_path= too")
    return _uci_messages(path, data_dir, allow_modified_data)


def load_sms(
    *,
    path=None,
    csv_path=None,
    text_column: str | None = None,
    label_column: str | None = None,
    min_count: int = 10,
    max_length: int = 25,
    digit_symbol: bool = False,
    tokens: str = "words",
    test_fraction: float = 0.2,
    data_dir=None,
    seed: int = 0,
    preprocessor: SmsVocabulary | None = None,
    allow_modified_data: bool = False,
) -> SmsData:
    """The UCI SMS Spam Collection (`path`: a copy of the UCI file or zip; by default the one
    found in the data folders, which must be the published one, its sha256, unless
    `allow_modified_data`), or, with `csv_path`, a CSV or TSV file of the user's own
    labelled texts: a header row, the messages in column `text_column` and their classes
    in `label_column` (by default the columns named "text" and "label"; two classes or
    more, each with two messages or more). A user's file is not published: its sha256 is
    recorded, not checked. The UCI data is split by one seeded shuffle; a user's file
    class by class (stratified), with `seed`. The vocabulary (of `tokenize`'s `tokens`)
    sees the training split only; the class names are kept in it (`class_order`: '2' before
    '10'). CSV quoting for commas, plain TSV for tabs; empty texts skipped with a warning.
    A given `preprocessor` (a preset's vocabulary) encodes the split instead of one built
    here, so a model is scored with the ids and classes it was trained on."""
    messages = _messages(path, csv_path, text_column, label_column, data_dir, allow_modified_data)
    class_names = tuple(preprocessor.class_names) if preprocessor is not None else messages.class_names
    y = _label_ids(messages, class_names)
    train, test = _split(y, test_fraction, seed, messages.stratified)
    texts, source = messages.texts, messages.source
    _warn_absent(source, y[train], class_names)
    vocabulary = preprocessor or SmsVocabulary.fit(
        texts[train],
        min_count=min_count,
        max_length=max_length,
        digit_symbol=digit_symbol,
        tokens=tokens,
        class_names=class_names,
    )
    if vocabulary.vocab_size == 2:
        raise DataError(
            f"{source}: no word appears {min_count} times in the {len(train)} training messages; lower min_count "
            "(--min-count on the command line)"
        )
    return SmsData(
        vocabulary.encode(texts[train]),
        y[train],
        vocabulary.encode(texts[test]),
        y[test],
        source=str(source),
        preprocessor=vocabulary,
        sha256=messages.sha256,
        published=messages.published,
        columns=messages.columns,
        text_train=texts[train].astype(str),
        text_test=texts[test].astype(str),
    )


register(
    TaskSpec(
        name="sms_spam_rnn",
        family="sms",
        description="spam or ham from the first 25 words of an SMS: Embedding(vocab, 50) -> SimpleRNN(10)",
        recipe="SMS spam SimpleRNN tutorial (Keras Tokenizer, words seen >= 10 times, length 25)",
        input_shape=(25,),
        input_dtype="int32",
        model=ModelSpec(
            cell="simple_rnn",
            units=(10,),
            dropout=0.5,
            head_units=2,
            embedding_dim=50,
            mask_zero=True,  # the vocabulary's size comes from the preprocessor
        ),
        train=TrainSpec(
            optimizer="rmsprop",
            learning_rate=5e-4,
            loss="sparse_categorical_crossentropy",
            from_logits=True,
            metrics=("sparse_categorical_accuracy",),
            epochs=20,
            batch_size=250,
        ),
        loader=load_sms,
        data_source="UCI SMS Spam Collection (downloads)",
        dataset=SMS_COLLECTION,
        target="beat the tutorial's accuracy 0.88 on every seed (the tuned variant: >= 0.985)",
        goals=(Goal("accuracy", ">=", 0.88),),
        tutorial_result="accuracy 0.88",
    )
)

register(
    TaskSpec(
        name="sms_spam_tuned",
        family="sms",
        description="spam or ham from the first 80 words, digits kept as a symbol: Embedding -> Bidirectional(LSTM(32))",
        recipe="zoo-tuned: words seen >= 2 times, digits mapped to one symbol, length 80, masked, BiLSTM(32)",
        input_shape=(80,),
        input_dtype="int32",
        model=ModelSpec(
            cell="lstm",
            units=(32,),
            bidirectional=True,
            head_units=2,
            embedding_dim=64,
            mask_zero=True,
        ),
        train=TrainSpec(
            optimizer="adam",
            learning_rate=1e-3,
            loss="sparse_categorical_crossentropy",
            from_logits=True,
            metrics=("sparse_categorical_accuracy",),
            epochs=10,
            batch_size=64,
        ),
        loader=load_sms,
        data_options={"min_count": 2, "max_length": 80, "digit_symbol": True},
        data_source="UCI SMS Spam Collection (downloads)",
        dataset=SMS_COLLECTION,
        target="mean over seeds: accuracy >= 0.985 and spam F1 >= 0.94; no seed below accuracy 0.98",
        goals=(
            Goal("accuracy", ">=", 0.985, over="mean"),
            Goal("spam_f1", ">=", 0.94, over="mean"),
            Goal("accuracy", ">=", 0.98),
        ),
        tutorial_result="accuracy 0.88",
        variant_of="sms_spam_rnn",
    )
)

_TUNED = get_task("sms_spam_tuned")
register(
    dataclasses.replace(
        _TUNED,
        name="sms_spam_symbols",
        description="spam or ham from the first 100 tokens, nothing dropped (words, digit runs, every symbol): "
        "Embedding -> Bidirectional(GRU(32))",
        recipe="zoo variant: the tuned model's recipe on tokens that keep what word cleaning drops "
        "(currency signs, punctuation, URLs' pieces), every token seen once in training, cosine decay",
        input_shape=(100,),
        model=dataclasses.replace(_TUNED.model, cell="gru"),
        train=dataclasses.replace(_TUNED.train, learning_rate=3e-3, lr_schedule="cosine"),
        data_options={"min_count": 1, "max_length": 100, "digit_symbol": True, "tokens": "symbols"},
        # Meant to beat the classical TF-IDF + linear SVM on the mean over seeds; it does not
        # (the docs' SMS page gives the numbers of every try), so it is an honest report beside it.
        target="honest report: the best RNN found here, beside the classical TF-IDF + linear SVM it does not beat",
        goals=(),
    )
)
