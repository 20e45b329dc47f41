"""SMS spam: the UCI SMS Spam Collection, words -> ids -> SimpleRNN."""
from __future__ import annotations

import collections
import dataclasses
import re
from pathlib import Path

import numpy as np

from ..data import RemoteFile, TaskData, find_file, make_dataset, search_dirs
from ..data.formats import read_sms_collection
from ..errors import DataNotFoundError
from ..registry import ModelSpec, TaskSpec, TrainSpec, register

UCI_ZIP = RemoteFile(
    url="https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
    filename="sms+spam+collection.zip",
    # sha256 of the SMSSpamCollection file inside the zip (5574 lines, 477,907 bytes).
    sha256="7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
    member="SMSSpamCollection",
)
PAD, OOV = "", "[UNK]"  # ids 0 and 1, the same convention as keras.layers.TextVectorization


def clean_text(text: str) -> str:
    """Lowercase, drop everything but letters and spaces, collapse runs of spaces."""
    return " ".join(re.sub(r"[^a-z ]", "", text.lower()).split())


def build_vocabulary(texts, min_count: int) -> list[str]:
    """[PAD, OOV] + words seen at least `min_count` times, most frequent first (ties
    alphabetically, so the order does not depend on the order of the messages)."""
    counts = collections.Counter(word for t in texts for word in clean_text(t).split())
    words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    return [PAD, OOV, *words]


def encode_texts(texts, vocabulary, length: int) -> np.ndarray:
    """Raw messages -> (n, length) int32 ids: first `length` words, padded with 0 at the end.
    A message with no word left after cleaning becomes one OOV id rather than all padding,
    because a fully masked sequence has length 0, which cuDNN kernels reject."""
    index = {w: i for i, w in enumerate(vocabulary)}
    ids = np.zeros((len(texts), length), dtype=np.int32)
    for row, text in enumerate(texts):
        seq = [index.get(w, 1) for w in clean_text(text).split()[:length]] or [1]
        ids[row, : len(seq)] = seq
    return ids


@dataclasses.dataclass
class SmsData(TaskData):
    """Ids of the cleaned messages (labels: 0 ham, 1 spam). `vocabulary[i]` is the word of
    id i, built on the training split only; `text_train` / `text_test` are the raw
    messages of each split, for models that carry their own text preprocessing."""

    vocabulary: list[str]
    text_train: np.ndarray
    text_test: np.ndarray
    max_length: int

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def encode(self, texts) -> np.ndarray:
        return encode_texts(texts, self.vocabulary, self.max_length)

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


def load_sms(
    *, path=None, min_count: int = 10, max_length: int = 25, test_fraction: float = 0.2,
    data_dir=None, seed: int = 0,
) -> SmsData:
    """Shuffled train/test split with `seed`; the vocabulary sees the training split only."""
    source = _collection_path(path, data_dir)
    labels, texts = read_sms_collection(source)
    texts = np.array(texts, dtype=object)
    y = np.array([label == "spam" for label in labels], dtype=np.int32)
    order = np.random.default_rng(seed).permutation(len(texts))
    n_test = round(len(texts) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    vocabulary = build_vocabulary(texts[train], min_count)
    return SmsData(
        encode_texts(texts[train], vocabulary, max_length), y[train],
        encode_texts(texts[test], vocabulary, max_length), y[test],
        source=str(source), vocabulary=vocabulary,
        text_train=texts[train].astype(str), text_test=texts[test].astype(str), max_length=max_length,
    )


# Vocabulary size (PAD + OOV + words seen >= 10 times) of the real collection with the
# default split (seed 0); a model trained on another split is built with its own size.
DEFAULT_VOCAB_SIZE = 861

register(
    TaskSpec(
        name="sms_spam_rnn",
        family="sms",
        description="spam or ham from the first 25 words of an SMS: Embedding(vocab, 50) -> SimpleRNN(10)",
        source="SMS spam SimpleRNN tutorial (Keras Tokenizer, words seen >= 10 times, length 25)",
        input_shape=(25,),
        input_dtype="int32",
        model=ModelSpec(
            cell="simple_rnn", units=(10,), dropout=0.5, head_units=2,
            embedding_input_dim=DEFAULT_VOCAB_SIZE, embedding_dim=50, mask_zero=True,
        ),
        train=TrainSpec(
            optimizer="rmsprop", learning_rate=5e-4, loss="sparse_categorical_crossentropy", from_logits=True,
            metrics=("sparse_categorical_accuracy",), epochs=20, batch_size=250,
        ),
        loader=load_sms,
        target="mean over seeds 0, 1, 2: accuracy >= 0.985, spam F1 >= 0.94, no seed below 0.98",
    )
)
