"""A user's labelled texts: a CSV or TSV file with a header row, one message and its label a row.

The columns are named in the header. The delimiter comes from the file's suffix (.csv: a
comma; .tsv or .tab: a tab), else from its header row (with a warning saying which). Every
malformed file is a one-line DataError naming the file, the column or the line."""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import warnings
from pathlib import Path

from ..errors import DataError

DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
DELIMITER_NAMES = {",": "comma", "\t": "tab"}
# The columns used when none is named: a header cell "text" / "label" (any case).
TEXT_COLUMN, LABEL_COLUMN = "text", "label"
MAX_CLASSES = 1000  # more distinct labels than this: the label column is likely another column
MAX_LABEL_LENGTH = 100  # characters of one class name


@dataclasses.dataclass(frozen=True)
class LabelledTexts:
    """The messages and their labels (stripped of surrounding whitespace) of a labelled file,
    with the line each row starts on, the columns read and the delimiter."""

    texts: list[str]
    labels: list[str]
    lines: list[int]
    text_column: str
    label_column: str
    delimiter: str


def decoded(path: Path) -> str:
    """The file's text (UTF-8; a byte order mark dropped); bytes that are not UTF-8 are a
    DataError naming the line."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path} could not be read ({e.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"{path}:{line}: byte 0x{data[e.start]:02x} is not UTF-8: save the file as UTF-8 text"
        ) from None


def delimiter_of(path: Path, text: str) -> str:
    """A comma or a tab: by the suffix, else by the header row (a warning says which)."""
    if path.suffix.lower() in DELIMITERS:
        return DELIMITERS[path.suffix.lower()]
    header = text.lstrip("\r\n").split("\n", 1)[0]
    tabs, commas = header.count("\t"), header.count(",")
    if tabs and not commas:
        found = "\t"
    elif commas and not tabs:
        found = ","
    else:
        try:
            found = csv.Sniffer().sniff(text[:65536], delimiters=",\t").delimiter
        except csv.Error:
            raise DataError(
                f"{path}: cannot tell whether commas or tabs separate its columns (its header row holds "
                f"{commas} comma(s) and {tabs} tab(s)): name it .csv or .tsv"
            ) from None
    warnings.warn(
        f"{path}: read as {DELIMITER_NAMES[found]}-separated (no .csv or .tsv suffix; told from its header row)",
        stacklevel=4,
    )
    return found


def column_index(path: Path, header: list[str], name: str | None, default: str, option: str) -> int:
    """The index of column `name` in the header (exactly, else ignoring case and surrounding
    spaces), or of the `default` column where no name is given."""
    wanted = default if name is None else name
    if name is not None and header.count(name) == 1:
        return header.index(name)
    matches = [i for i, cell in enumerate(header) if cell.strip().lower() == wanted.strip().lower()]
    if len(matches) == 1:
        return matches[0]
    named = f"{len(matches)} columns named {wanted!r}" if matches else f"no column {wanted!r}"
    hint = f"{'pass' if name is None else 'check'} {option}= (--{option.replace('_', '-')})"
    if len(header) == 1 and ";" in header[0]:
        hint = "semicolons separate its columns: save it comma- or tab-separated"
    raise DataError(f"{path}: {named}; its columns are {header}: {hint}"[:500])


def _rows(path: Path, text: str, delimiter: str):
    """(line the row starts on, row) for each non-blank row, the header first."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            if "field larger than field limit" in str(e):
                limit = csv.field_size_limit()
                raise DataError(
                    f"{path}:{start}: a field longer than {limit:,} characters (csv field_size_limit): "
                    "is a quote opened and never closed?"
                ) from None
            raise DataError(
                f"{path}:{start}: not a well-formed {DELIMITER_NAMES[delimiter]}-separated row ({e})"
            ) from None
        if any(cell.strip() for cell in row):
            yield start, row
        start = reader.line_num + 1


def read_labelled_texts(path, text_column: str | None = None, label_column: str | None = None) -> LabelledTexts:
    """The messages and labels of a CSV or TSV file with a header row. Without
    `text_column` / `label_column`, the columns named "text" and "label" (any case)."""
    path = Path(path)
    text = decoded(path)
    if not text.strip():
        raise DataError(f"{path} is empty: expected a header row naming a text and a label column, then rows")
    delimiter = delimiter_of(path, text)
    rows = _rows(path, text, delimiter)
    _, header = next(rows)
    header = [cell.strip() for cell in header]
    t = column_index(path, header, text_column, TEXT_COLUMN, "text_column")
    k = column_index(path, header, label_column, LABEL_COLUMN, "label_column")
    if t == k:
        raise DataError(f"{path}: the text and the label column are both {header[t]!r}: name two columns")
    texts, labels, lines = [], [], []
    for line, row in rows:
        if len(row) != len(header):
            raise DataError(
                f"{path}:{line}: {len(row)} field(s), the header has {len(header)}: "
                f"quote a message that holds a {DELIMITER_NAMES[delimiter]}"
            )
        texts.append(row[t])
        labels.append(row[k].strip())
        lines.append(line)
    if not texts:
        raise DataError(f"{path}: a header row and no messages")
    _check_cells(path, texts, labels, lines, (header[t], header[k]))
    return LabelledTexts(texts, labels, lines, header[t], header[k], delimiter)


def _line_list(lines: list[int]) -> str:
    shown = ", ".join(map(str, lines[:5]))
    return shown + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")


def _check_cells(path: Path, texts, labels, lines, columns: tuple[str, str]) -> None:
    """No empty text, no missing label, no class name a line of output could not show."""
    text_column, label_column = columns
    empty = [line for line, text in zip(lines, texts) if not text.strip()]
    if empty:
        raise DataError(f"{path}: empty text in column {text_column!r} on line(s) {_line_list(empty)}")
    missing = [line for line, label in zip(lines, labels) if not label]
    if missing:
        raise DataError(f"{path}: no label in column {label_column!r} on line(s) {_line_list(missing)}")
    bad = next(((line, label) for line, label in zip(lines, labels) if label_problem(label)), None)
    if bad is not None:
        raise DataError(
            f"{path}:{bad[0]}: the label {bad[1][:40]!r} in column {label_column!r} {label_problem(bad[1])}"
        )


def label_problem(label: str) -> str | None:
    """What makes `label` unfit to be a class name (printed on one line of output), or None."""
    if not label or label != label.strip():
        return "is empty or starts or ends with a space"
    if len(label) > MAX_LABEL_LENGTH:
        return f"is longer than {MAX_LABEL_LENGTH} characters: is it the text column?"
    if not label.isprintable():
        return "holds a tab, a line break or another character that cannot be printed on one line"
    return None


def classes_of(path: Path, found: LabelledTexts) -> tuple[str, ...]:
    """The sorted class names of a labelled file: two or more, each with two messages or
    more (one for the training split, one for the test split)."""
    counts = collections.Counter(found.labels)
    column = found.label_column
    if len(counts) < 2:
        raise DataError(
            f"{path}: every message in column {column!r} is labelled {found.labels[0]!r}: "
            "a classifier needs two classes or more"
        )
    if len(counts) > MAX_CLASSES:
        raise DataError(
            f"{path}: column {column!r} holds {len(counts):,} different labels, more than {MAX_CLASSES}: "
            "is it the label column?"
        )
    single = sorted(label for label, n in counts.items() if n == 1)
    if single:
        line = found.lines[found.labels.index(single[0])]
        raise DataError(
            f"{path}:{line}: class {single[0]!r} has this one message ({len(single)} class(es) have one): it "
            "cannot be in both the training and the test split; add messages of it or drop the row"
        )
    return tuple(sorted(counts))
