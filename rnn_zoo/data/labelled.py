"""A user's labelled texts: a CSV or TSV file with a header row, one message and its label a row;
and the table reading that the price files share (decoding, rows, columns, hints).

The columns are named in the header. The delimiter comes from the file's suffix (.csv: a
comma; .tsv or .tab: a tab), else from its header row (with a warning saying which). A
comma-separated file follows CSV quoting: a field holding a comma, a quote or a line break is
quoted ("a, b"), a quote inside it doubled. A tab-separated file is plain TSV: no quoting at
all, a `"` is an ordinary character, so a field cannot hold a tab or a line break. Every
malformed file is a one-line DataError naming the file, the column or the line."""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import itertools
import re
import warnings
from pathlib import Path

from ..errors import DataError, shown

DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
DELIMITER_NAMES = {",": "comma", "\t": "tab"}
SEPARATORS = {",": "commas", "\t": "tabs", ";": "semicolons", "|": "vertical bars"}
# The columns used when none is named: a header cell "text" / "label" (any case).
TEXT_COLUMN, LABEL_COLUMN = "text", "label"
MAX_CLASSES = 1000  # more distinct labels than this: the label column is likely another column
MAX_LABEL_LENGTH = 100  # characters of one class name
# The longest field read (csv's own default is 131,072): a long message is kept (the tokenizer
# keeps its first max_length tokens), a field of a whole file's size is refused.
MAX_FIELD = 10_000_000
_INTEGER = re.compile(r"[+-]?[0-9]+")


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
        raise DataError(f"{path} could not be read ({e.strerror or e})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"{path}:{line}: byte 0x{data[e.start]:02x} is not UTF-8 text: save the file as UTF-8"
        ) from None


def check_column_option(option: str, value) -> None:
    """A column named by an option is a string (or None: the default column). A TypeError,
    which `load_task_data` reports as the data option its loader refused, in one line."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{option} names a column: give its name as text, not {shown(value)} ({type(value).__name__})")


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


def line_list(lines, limit: int = 5) -> str:
    """'3, 7, 9' (file line numbers), the first `limit` of them and how many more."""
    shown_lines = ", ".join(str(line) for line in list(lines)[:limit])
    return shown_lines + (f" and {len(lines) - limit} more" if len(lines) > limit else "")


def separator_hint(header: list[str], delimiter: str, renamable: bool) -> str:
    """Where a header is one column holding another separator: what the file seems to be."""
    if len(header) != 1:
        return ""
    seen = max(SEPARATORS, key=header[0].count)
    if seen == delimiter or seen not in header[0]:
        return ""
    fix = {",": "name it .csv", "\t": "name it .tsv"}.get(seen) if renamable else None
    fix = fix or f"save it {'comma- or tab' if renamable else 'comma'}-separated"
    return f" (one column: the file is not separated by {SEPARATORS[delimiter]}; its header holds {SEPARATORS[seen]}: {fix})"


def column_index(path: Path, header: list[str], name, candidates: tuple[str, ...], what: str, **how) -> int:
    """The position of the `what` column: `name`, else the first of `candidates`, matched
    ignoring case and surrounding spaces. A DataError when none is there (naming the columns,
    and the separator where the header is one column holding another), or when the name is
    the header's more than once. `how`: the file's `delimiter`, whether the suffix picks it
    (`renamable`) and the `option` naming the column (its hint)."""
    names = [h.strip().lower() for h in header]
    for key in (name.strip().lower(),) if name is not None else candidates:
        found = [i for i, h in enumerate(names) if h == key]
        if len(found) > 1:
            where = " and ".join(str(i + 1) for i in found)
            raise DataError(
                f"{path}: {len(found)} columns are named {header[found[0]]!r} (columns {where} of the header); "
                f"rename all but one, so that the {what} column is known"
            )
        if found:
            return found[0]
    wanted = repr(name) if name is not None else " or ".join(map(repr, candidates))
    hint = separator_hint(header, how.get("delimiter", ","), how.get("renamable", False))
    option = how.get("option")
    if not hint and option:
        hint = f": {'pass' if name is None else 'check'} {option}= (--{option.replace('_', '-')})"
    raise DataError(f"{path}: no {what} column named {wanted}; columns are {header}{hint}"[:500])


def table_rows(path: Path, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line the row starts on, row) for each non-blank row, the header first (`check_widths`
    once its columns are found). Comma-separated: CSV quoting; tab-separated: none
    (csv.QUOTE_NONE)."""
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    rows, start = [], 1
    limit = csv.field_size_limit(MAX_FIELD)
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as e:
        raise DataError(_malformed(path, text, start, delimiter, e)) from None
    finally:
        csv.field_size_limit(limit)
    return rows


def check_widths(path: Path, header: list[str], rows, delimiter: str) -> None:
    """A DataError naming the first row of another width than the header."""
    bad = next(((line, row) for line, row in rows if len(row) != len(header)), None)
    if bad is not None:
        raise DataError(_ragged(path, bad[0], len(bad[1]), len(header), delimiter))


def _ragged(path: Path, line: int, fields: int, names: int, delimiter: str) -> str:
    if fields < names:
        why = "a cut or incomplete row"
    elif delimiter == ",":
        why = "a value holding a comma must be quoted"
    else:
        why = "a field of a tab-separated file cannot hold a tab"
    return f"{path}:{line}: {fields} field{'(s)' if fields < names else 's'} where the header has {names}: {why}"


def _malformed(path: Path, text: str, start: int, delimiter: str, error: csv.Error) -> str:
    """The one line for a row csv cannot read, starting on line `start`."""
    lines = io.StringIO(text, newline="")
    first = next(itertools.islice(lines, start - 1, None), "")
    quoted = delimiter == "," and (first.startswith('"') or ',"' in first)
    if "field larger than field limit" in str(error):
        why = f"a field longer than {MAX_FIELD:,} characters"
        return f"{path}:{start}: {why}" + (": is a quote opened there and never closed?" if quoted else "")
    if quoted and "unexpected end of data" in str(error):
        return f"{path}:{start}: a quote opened in this row is never closed (the file ends inside it)"
    return f"{path}:{start}: not a well-formed {DELIMITER_NAMES[delimiter]}-separated row ({error})"


def read_labelled_texts(path, text_column: str | None = None, label_column: str | None = None) -> LabelledTexts:
    """The messages and labels of a CSV or TSV file with a header row. Without
    `text_column` / `label_column`, the columns named "text" and "label" (any case). Rows
    whose text is empty are skipped, with a warning naming their lines (as in the UCI file):
    there is nothing to classify in them."""
    check_column_option("text_column", text_column)
    check_column_option("label_column", label_column)
    path = Path(path)
    text = decoded(path)
    if not text.strip():
        raise DataError(f"{path} is empty: expected a header row naming a text and a label column, then rows")
    delimiter = delimiter_of(path, text)
    (_, header), *rows = table_rows(path, text, delimiter)
    header = [cell.strip() for cell in header]
    how = {"delimiter": delimiter, "renamable": True}
    t = column_index(path, header, text_column, (TEXT_COLUMN,), "text", option="text_column", **how)
    k = column_index(path, header, label_column, (LABEL_COLUMN,), "label", option="label_column", **how)
    if t == k:
        raise DataError(f"{path}: the text and the label column are both {header[t]!r}: name two columns")
    check_widths(path, header, rows, delimiter)
    empty = [line for line, row in rows if not row[t].strip()]
    skip_empty_messages(path, empty)
    rows = [(line, row) for line, row in rows if row[t].strip()]
    if not rows:
        raise DataError(f"{path}: a header row and no messages")
    texts, labels, lines = [row[t] for _, row in rows], [row[k].strip() for _, row in rows], [n for n, _ in rows]
    _check_labels(path, labels, lines, header[k])
    return LabelledTexts(texts, labels, lines, header[t], header[k], delimiter)


def skip_empty_messages(path: Path, lines: list[int]) -> None:
    """The one rule of both SMS readers (the UCI file's and a user's): a message that is
    empty or only spaces is skipped, with a warning naming its line."""
    if lines:
        warnings.warn(f"{path}: skipped {len(lines)} empty message(s) on line(s) {lines[:5]}", stacklevel=4)


def _check_labels(path: Path, labels, lines, label_column: str) -> None:
    """No missing label, no class name a line of output could not show."""
    missing = [line for line, label in zip(lines, labels) if not label]
    if missing:
        raise DataError(f"{path}: no label in column {label_column!r} on line(s) {line_list(missing)}")
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


def class_order(names) -> list[str]:
    """The class names in the order of the model's outputs (and of the probability columns of
    its ONNX / LiteRT files): by number where every name is a whole number ('2' before '10'),
    else as text."""
    names = list(names)
    if names and all(isinstance(n, str) and _INTEGER.fullmatch(n) for n in names):
        return sorted(names, key=lambda n: (int(n), n))
    return sorted(names)


def classes_of(path: Path, found: LabelledTexts) -> tuple[str, ...]:
    """The class names of a labelled file (in `class_order`): two or more, each with two
    messages or more (one for the training split, one for the test split)."""
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
    single = class_order(label for label, n in counts.items() if n == 1)
    if single:
        line = found.lines[found.labels.index(single[0])]
        raise DataError(
            f"{path}:{line}: class {single[0]!r} has this one message ({len(single)} class(es) have one): it "
            "cannot be in both the training and the test split; add messages of it or drop the row"
        )
    return tuple(class_order(counts))
