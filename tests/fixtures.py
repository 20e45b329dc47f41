"""Tiny files in the real formats, written by the tests themselves."""

import gzip
import struct
import zipfile

import numpy as np
import pandas as pd


def write_idx(path, array: np.ndarray, *, magic: int | None = None) -> None:
    """An IDX file of unsigned bytes (gzipped when the name ends in .gz)."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", magic if magic is not None else 0x0800 | array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def write_mnist_idx(folder, n_train=12, n_test=6, seed=0, gz=True):
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) + 3) % 10,
    }
    for stem, array in arrays.items():
        write_idx(folder / (stem + (".gz" if gz else "")), array)
    return arrays


def prices(n, seed=0):
    return 100 + np.cumsum(np.random.default_rng(seed).normal(0, 1, n)).round(3) + np.arange(n) * 0.5


def write_tushare_csv(path, n=120, seed=0):
    """The tushare get_k_data layout: unnamed index, date, open, close, high, low, volume, code."""
    opens = prices(n, seed)
    frame = pd.DataFrame(
        {
            "date": pd.bdate_range("2015-01-05", periods=n).strftime("%Y-%m-%d"),
            "open": opens,
            "close": opens + 0.5,
            "high": opens + 1,
            "low": opens - 1,
            "volume": np.full(n, 1000.0),
            "code": "600519",
        },
        index=np.arange(74, 74 + n),
    )
    frame.to_csv(path)
    return frame


def write_yahoo_csv(path, n=120, seed=1):
    """The Yahoo Finance layout: Date, Open, High, Low, Close, Adj Close, Volume."""
    opens = prices(n, seed)
    frame = pd.DataFrame(
        {
            "Date": pd.bdate_range("2019-01-02", periods=n).strftime("%Y-%m-%d"),
            "Open": opens,
            "High": opens + 1,
            "Low": opens - 1,
            "Close": opens + 0.25,
            "Adj Close": opens + 0.2,
            "Volume": np.full(n, 5000),
        }
    )
    frame.to_csv(path, index=False)
    return frame


SMS_LINES = [
    "ham\tGo until jurong point, crazy.. Available only in bugis n great world",
    "ham\tOk lar... Joking wif u oni...",
    "spam\tFree entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. Text FA to 87121",
    "ham\tU dun say so early hor... U c already then say...",
    "ham\tNah I don't think he goes to usf, he lives around here though",
    "spam\tWINNER!! As a valued network customer you have been selected to receive a prize reward!",
    "ham\tI'm gonna be home soon and i don't want to talk about this stuff anymore tonight",
    "spam\tHad your mobile 11 months or more? U R entitled to Update to the latest colour mobiles free",
    "ham\t:) 645",
    "ham\tOk i am on the way to home hi hi",
]

# Messages that trip tokenizers: odd whitespace and line breaks, symbols, emoji, empty ones.
EDGE_MESSAGES = [
    "WINNER!! You have won £1000. Call 09061701461 now",
    "",
    "   ",
    ":) 645",
    "a0a0 00aa aa00",
    "x\xa0y z\u2028w v\x85u  FREE entry  2 a wkly",
    "URGENT! 0800-123 www.win.com/claim?x=1&y=2 ♥ 😀",
    "İstanbul ÀÉÎ straße\tTAB\r\nCRLF",
]


def write_sms(path, lines=SMS_LINES):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_sms_zip(path, lines=SMS_LINES, member="SMSSpamCollection"):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, "\n".join(lines) + "\n")
        zf.writestr("readme", "SMS Spam Collection v.1\n")
    return path
