"""Readers for the real file formats, each rejecting malformed input with the file (and
line) named: IDX (MNIST), Keras' mnist.npz, price CSVs, the UCI SMS Spam Collection."""

from __future__ import annotations

import gzip
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError

_IDX_UBYTE = 0x08


def read_idx(path: Path, *, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes (optionally gzipped) as a uint8 array.

    The magic number is 0x0000 0x08 ndim (2051 for images, 2049 for labels); the payload
    must hold exactly the product of the dimensions."""
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read IDX data ({e})") from None
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != (_IDX_UBYTE << 8 | ndim):
        raise DataError(
            f"{path}: bad IDX magic number {magic}; expected {_IDX_UBYTE << 8 | ndim} "
            f"(unsigned bytes, {ndim} dimension(s))"
        )
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    payload = raw[4 + 4 * ndim :]
    if len(payload) != int(np.prod(dims)):
        raise DataError(f"{path}: header says shape {dims} ({int(np.prod(dims))} bytes) but holds {len(payload)}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


def read_mnist_npz(path: Path) -> dict[str, np.ndarray]:
    """Keras' mnist.npz: x_train, y_train, x_test, y_test."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing arrays {missing}; expected {list(keys)}")
            arrays = {k: npz[k] for k in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path}: not a readable mnist.npz ({e})") from None
    # Keras' layout holds raw uint8 pixels; scaled floats would be divided by 255 twice.
    for key in ("x_train", "x_test"):
        if arrays[key].dtype != np.uint8:
            raise DataError(
                f"{path}: {key} holds {arrays[key].dtype} pixels; expected uint8 values 0-255 "
                "(the Keras mnist.npz layout, not images already scaled)"
            )
    return arrays


# Column names tried, lowercase, when the caller does not name the date column.
DATE_COLUMNS = ("date", "trade_date", "datetime", "timestamp", "time")


def _line_list(rows, limit: int = 5) -> str:
    # CSV line numbers: 1 is the header, so data row i (0-based) is on line i + 2.
    lines = [str(i + 2) for i in rows[:limit]]
    return ", ".join(lines) + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def read_price_csv(path: Path, price_column: str = "open", date_column: str | None = None):
    """(dates, prices) from a daily CSV, oldest first; columns matched by name, ignoring case.

    Rejected with an error naming the lines: unparseable dates, missing or non-numeric or
    non-positive prices, duplicated dates. Unsorted rows are sorted, with a warning."""
    import pandas as pd

    try:
        # No NA guessing: a 'null' or empty price is reported as written, not as nan.
        frame = pd.read_csv(path, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not a readable CSV ({e})") from None
    by_lower = {str(c).strip().lower(): c for c in frame.columns}

    def column(name: str | None, candidates: tuple[str, ...], what: str):
        for key in (name.lower(),) if name else candidates:
            if key in by_lower:
                return by_lower[key]
        wanted = repr(name) if name else " or ".join(map(repr, candidates))
        raise DataError(f"{path}: no {what} column named {wanted}; columns are {list(frame.columns)}")

    date_col = column(date_column, DATE_COLUMNS, "date")
    price_col = column(price_column, (), "price")
    raw_dates = frame[date_col]
    if pd.api.types.is_integer_dtype(raw_dates):
        raw_dates = raw_dates.astype(str)  # 20200424 is a date, not nanoseconds since 1970
    dates = pd.to_datetime(raw_dates, errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if len(bad):
        raise DataError(f"{path}: unparseable or empty {date_col!r} on line(s) {_line_list(bad)}")
    prices = pd.to_numeric(frame[price_col], errors="coerce")
    bad = np.flatnonzero(prices.isna().to_numpy())
    if len(bad):
        raise DataError(
            f"{path}: missing or non-numeric {price_col!r} on line(s) {_line_list(bad)} "
            f"(first value: {str(frame[price_col].iloc[bad[0]])!r}); drop or fill those rows first"
        )
    bad = np.flatnonzero(~np.isfinite(prices.to_numpy(dtype=np.float64)))
    if len(bad):
        raise DataError(f"{path}: infinite {price_col!r} on line(s) {_line_list(bad)}; expected finite prices")
    bad = np.flatnonzero((prices <= 0).to_numpy())
    if len(bad):
        raise DataError(f"{path}: non-positive {price_col!r} on line(s) {_line_list(bad)}")
    bad = np.flatnonzero(dates.duplicated(keep=False).to_numpy())
    if len(bad):
        raise DataError(f"{path}: duplicated dates on line(s) {_line_list(bad)}")
    if not dates.is_monotonic_increasing:
        warnings.warn(f"{path}: rows are not in date order; sorting them oldest first", stacklevel=3)
        order = np.argsort(dates.to_numpy(), kind="stable")
        dates, prices = dates.iloc[order], prices.iloc[order]
    return dates.to_numpy(), prices.to_numpy(dtype=np.float64)


SMS_LABELS = ("ham", "spam")


def read_sms_collection(path: Path, member: str = "SMSSpamCollection"):
    """(labels, texts) from the UCI file ("ham"/"spam", a tab, the message per line), or
    from the UCI zip holding it. Lines with no tab or another label are rejected with the
    line named; blank lines are skipped; lines with an empty message are skipped with a
    warning (there is nothing to classify)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                raw = zf.read(member)
        else:
            raw = path.read_bytes()
        text = raw.decode("utf-8-sig")  # a byte order mark, as some editors save, is not part of line 1
    except KeyError:
        raise DataError(f"{path}: the zip holds no {member!r}") from None
    except (OSError, zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not a readable UTF-8 SMS collection ({e})") from None
    # Line ends: LF (the UCI file), CRLF (Windows) and a lone CR (old Mac) all end a line.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
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
    if empty:
        warnings.warn(f"{path}: skipped {len(empty)} empty message(s) on line(s) {empty[:5]}", stacklevel=3)
    if not texts:
        raise DataError(f"{path}: no messages found")
    return labels, texts
