"""The saveable preprocessing state of a task family: human inputs <-> model tensors.

Each family module defines one `Preprocessor` subclass (a letter codec, a price scaler, a
vocabulary, ...). It is fitted by the loader (or rebuilt from a preset), it sizes the model
(`model_sizes`, e.g. the vocabulary), and it serves: `serving(model)` is the graph that
turns human inputs into model inputs and model outputs back into human outputs. It saves as
plain data: `preprocessor.json` plus files under `assets/`, never a pickle.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import stat
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .errors import InputError, PresetError, RnnZooError, shown

PREPROCESSOR_FILE = "preprocessor.json"
ASSETS_DIR = "assets"
FORMAT_VERSION = 1

_CLASSES: dict[str, type[Preprocessor]] = {}


@dataclasses.dataclass(frozen=True)
class Range:
    """The values a number field of a preprocessor.json may take: `low` <= v <= `high`
    (strictly above `low` with `above`); every number must be finite."""

    low: float | None = None
    high: float | None = None
    above: bool = False

    def holds(self, value) -> bool:
        if not math.isfinite(value) or (self.high is not None and value > self.high):
            return False
        return self.low is None or (value > self.low if self.above else value >= self.low)

    def describe(self) -> str:
        parts = [f"{'>' if self.above else '>='} {self.low:g}"] if self.low is not None else []
        parts += [f"<= {self.high:g}"] if self.high is not None else []
        return "a finite number" + (" " + " and ".join(parts) if parts else "")


@dataclasses.dataclass(frozen=True)
class Serving:
    """A `serve` endpoint: `fn` takes tensors matching `input_signature` (human inputs)
    and returns a dict of human outputs, "prediction" the main one. `resources` are
    non-variable TensorFlow objects it uses (lookup tables) that the export must track."""

    fn: Callable
    input_signature: list
    resources: tuple[Any, ...] = ()


@dataclasses.dataclass(frozen=True)
class Preprocessor:
    """Base class. Subclasses are frozen dataclasses whose fields are JSON values; a field
    too large for JSON (a vocabulary) is written by `save_assets` and read back by
    `from_config`."""

    # The serving input's name and what one input looks like, for error messages.
    input_name: ClassVar[str] = "inputs"
    input_description: ClassVar[str] = ""

    # The values each number field of preprocessor.json may take (the types come from the
    # fields' annotations; see `check_config`); a field absent here is only finite.
    ranges: ClassVar[dict[str, Range]] = {}

    def __init_subclass__(cls, abstract: bool = False, **kwargs):
        super().__init_subclass__(**kwargs)
        if not abstract:  # only concrete classes may be named in a preprocessor.json
            _CLASSES[cls.__name__] = cls

    # -- sizes -----------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        """The model's input shape, without the batch axis."""
        raise NotImplementedError

    @property
    def classes(self) -> list[str] | None:
        """A classifier's class names, in the order of its outputs; None for a regression."""
        return None

    def model_sizes(self) -> dict[str, int]:
        """Sizes of the model that this state fixes, as `build` overrides (e.g. vocab_size)."""
        return {}

    def example_input(self):
        """One valid human input, for docs and smoke tests (not a test sample)."""
        raise NotImplementedError

    # -- serving ---------------------------------------------------------------------
    def serving(self, model) -> Serving:
        """The `serve` endpoint for `model`: human inputs in, human outputs out."""
        raise NotImplementedError

    def interval(self, inputs, prediction, level: float) -> dict:
        """A prediction interval at `level` for `prediction`, made from one human input
        `inputs` ({"lower", "upper", "level"}), where the preprocessor holds what it needs
        (a price scaler's calibration scores); else {}."""
        return {}

    # -- the command line ------------------------------------------------------------
    def parse_input(self, text: str, shape: tuple[int, ...]):
        """One human input written on the command line -> the form `Preset.predict` takes
        (`shape`: one input's shape in the serving signature). By default numbers separated
        by commas or spaces, as many as the shape holds; families whose inputs are text or
        files say otherwise. A comma inside a number of a space-separated list (a thousands
        separator, "1,101.5 1,105.0", or a decimal comma) is refused, never read as two; so is,
        in a list separated by commas, an integer of 1-3 digits followed straight after its
        comma by one of exactly 3 digits with a decimal part ("1,101.5,1,105.0": 1101.5 and
        1105.0 with thousands separators). Integers alone ("101,102,103") are read as a list."""
        size = int(np.prod(shape))
        tokens = text.split()
        inside = next((t for t in tokens if "," in t.strip(",")), None)
        if len(tokens) > 1 and inside is not None:
            raise InputError(
                f"{inside[:20]!r} has a comma inside a number: write numbers without thousands "
                "separators, with a decimal point (1101.5, not 1,101.5), separated by commas or spaces"
            )
        split = _THOUSANDS.search(text)
        if split:
            raise InputError(
                f"{split.group(1)!r} looks like a number with a thousands separator (a comma inside a number): "
                "write numbers without thousands separators, with a decimal point (1101.5, not 1,101.5), "
                "separated by commas or spaces"
            )
        try:
            values = [float(v) for v in text.replace(",", " ").split()]
        except ValueError:
            raise InputError(f"expected {size} numbers separated by commas, got {text!r}") from None
        if len(values) != size:
            raise InputError(f"expected {size} numbers separated by commas, got {len(values)} in {text[:40]!r}")
        return np.array(values, dtype=np.float32).reshape(shape)

    def format_output(self, output: dict) -> str:
        """One human output (a dict from `Preset.predict`) as one line of the command line:
        the prediction, numbers to 6 significant digits."""
        prediction = output["prediction"]
        if isinstance(prediction, list):
            return " ".join(f"{v:.6g}" for v in prediction)
        return str(prediction) if isinstance(prediction, (str, int)) else f"{prediction:.6g}"

    # -- checking a preprocessor.json (untrusted input) ----------------------------------
    @classmethod
    def config_types(cls) -> dict[str, Any]:
        """The type of each key of the `config` a preprocessor.json holds: by default the
        fields' annotations. A field with a default may be absent."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}

    @classmethod
    def required_config(cls) -> set[str]:
        return {f.name for f in dataclasses.fields(cls) if f.init and f.default is dataclasses.MISSING}

    def check_task(self, spec) -> str | None:
        """What is wrong with this state for task `spec` (beyond the input shape, which
        `check_preprocessor` compares), or None."""
        return None

    # -- saving ----------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def standalone_config(self) -> dict[str, Any]:
        """Everything a client needs to prepare model inputs without rnn_zoo or TensorFlow,
        as one JSON object (the JSON beside an ONNX or LiteRT export): the class name and
        the config, with what `save_assets` writes apart (a vocabulary) inline."""
        return {"class": type(self).__name__, **self.get_config()}

    @classmethod
    def from_config(cls, config: dict[str, Any], assets: Path) -> Preprocessor:
        return cls(**config)

    def save_assets(self, assets: Path) -> None:
        """Write what does not belong in the JSON (nothing, by default)."""

    def save(self, folder) -> None:
        """`preprocessor.json` (and `assets/`, where there are any) in `folder`."""
        folder = Path(folder)
        assets = folder / ASSETS_DIR
        assets.mkdir(parents=True, exist_ok=True)
        self.save_assets(assets)
        if not any(assets.iterdir()):
            assets.rmdir()
        record = {"class": type(self).__name__, "format_version": FORMAT_VERSION, "config": self.get_config()}
        (folder / PREPROCESSOR_FILE).write_text(json.dumps(record, indent=1) + "\n")


# In a list separated by commas: an integer of 1-3 digits, then (straight after its comma) exactly
# 3 digits with a decimal part, each a whole token: "1,101.5" is 1101.5 with a thousands separator.
_THOUSANDS = re.compile(r"(?:^|[\s,])([+-]?\d{1,3},\d{3}\.\d*)(?=$|[\s,])")


def check_preprocessor(spec, preprocessor: Preprocessor) -> None:
    """A PresetError unless `preprocessor` is of a kind task `spec`'s loader takes (read from
    the loader's type annotation) and makes the inputs its models take."""
    hint = typing.get_type_hints(spec.loader).get("preprocessor")
    kinds = tuple(k for k in (typing.get_args(hint) or (hint,)) if isinstance(k, type) and k is not type(None))
    if not isinstance(preprocessor, kinds):
        names = " or ".join(k.__name__ for k in kinds) or "no preprocessor"
        raise PresetError(f"task {spec.name!r} takes a {names}, not a {type(preprocessor).__name__}")
    if tuple(preprocessor.input_shape) != spec.input_shape:
        raise PresetError(
            f"the {type(preprocessor).__name__} makes inputs of shape {tuple(preprocessor.input_shape)}, "
            f"but task {spec.name!r} models take {spec.input_shape}"
        )
    wrong = preprocessor.check_task(spec)
    if wrong:
        raise PresetError(wrong)


def load_preprocessor(folder, spec=None) -> Preprocessor:
    """The preprocessor saved in `folder` by `Preprocessor.save`: the folder's files are
    checked first (`check_preset_folder`), and every key of the config against the class's
    declared types and ranges (`check_config`); with task `spec`, against the task's needs
    too (`check_preprocessor`)."""
    folder = Path(folder)
    path = folder / PREPROCESSOR_FILE
    if not os.path.lexists(path):  # (a link or a FIFO is there: check_preset_folder names it)
        raise PresetError(
            f"{folder} holds no {PREPROCESSOR_FILE}: it is not an rnn_zoo preset "
            "(a folder written by `rnn-zoo train` or `save_preset`)"
        )
    check_preset_folder(folder)
    record = read_preset_json(path)
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise PresetError(f"{path}: expected a JSON object with 'class', 'format_version' and a 'config' object")
    cls = _CLASSES.get(record.get("class")) if isinstance(record.get("class"), str) else None
    if cls is None:
        raise PresetError(f"{path}: 'class' must be one of {', '.join(sorted(_CLASSES))}, got {record.get('class')!r}")
    if record.get("format_version") != FORMAT_VERSION or isinstance(record.get("format_version"), bool):
        raise PresetError(
            f"{path}: format version {record.get('format_version')!r}; this rnn_zoo reads version {FORMAT_VERSION}"
        )
    config = check_config(cls, record["config"], str(path))
    try:
        preprocessor = cls.from_config(config, folder / ASSETS_DIR)
    except PresetError as e:
        raise e if str(path) in str(e) else PresetError(f"{path}: {e}") from None
    except (ValueError, KeyError, TypeError, OSError, RnnZooError) as e:
        raise PresetError(f"{path} is not a valid preprocessor file ({type(e).__name__}: {e})") from None
    check_values(preprocessor, str(path))
    if spec is not None:
        try:
            check_preprocessor(spec, preprocessor)
        except PresetError as e:
            raise PresetError(f"{path}: {e}") from None
    return preprocessor


def check_config(cls: type[Preprocessor], config: dict, where: str) -> dict:
    """`config` if each key is one `cls` declares, of its type (a bool a JSON true/false,
    an int never a bool, numbers finite), and none required is missing; else a PresetError
    naming the first key that is not."""
    types = cls.config_types()
    for key in config:
        if key not in types:
            raise PresetError(f"{where}: config.{key} is not a field of {cls.__name__} ({', '.join(types)})")
    for key in sorted(cls.required_config() - config.keys()):
        raise PresetError(f"{where}: config.{key} is missing")
    for key, value in config.items():
        if not _is_of(value, types[key]):
            raise PresetError(f"{where}: config.{key} must be {_type_message(cls, key, types[key], value)}")
    return config


# A list's elements, in words, by their annotated type.
_ELEMENTS = {float: "finite numbers", int: "integers", str: "strings", bool: "JSON true or false values"}


def _type_message(cls, key: str, kind, value) -> str:
    """What config.`key` of `cls` must be and what it is: for a list of the right length, the
    rule of its elements (the field's range) and its first element that breaks it."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) not in (list, tuple) or not args or not isinstance(value, list):
        return f"{_describe(kind)}, got {shown(value)}"
    fixed = args[-1] is not Ellipsis and typing.get_origin(kind) is tuple
    rule = f"a list of {f'{len(args)} ' if fixed else ''}{_elements(cls, key, args[0])}"
    if fixed and len(value) != len(args):
        return f"{rule}, got {len(value)} of them"
    bad = next((i for i, v in enumerate(value) if not _is_of(v, args[i] if fixed else args[0])), 0)
    return f"{rule}, got {shown(value[bad])} at [{bad}]"


def _elements(cls, key: str, kind) -> str:
    if kind is float and key in cls.ranges:  # (the field's range: e.g. ">= 0 and <= 1000")
        return cls.ranges[key].describe().replace("a finite number", _ELEMENTS[float], 1)
    return _ELEMENTS.get(kind, f"elements of type {_describe(kind)}")


def check_values(preprocessor: Preprocessor, where: str) -> None:
    """A PresetError naming the first number field of `preprocessor` outside its range."""
    for field in dataclasses.fields(preprocessor):
        value = getattr(preprocessor, field.name)
        numbers = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers) or not numbers:
            continue
        allowed = preprocessor.ranges.get(field.name, Range())
        if not all(allowed.holds(v) for v in numbers):
            raise PresetError(f"{where}: config.{field.name} must be {allowed.describe()}, got {shown(value)}")


def _is_of(value, kind) -> bool:
    """Whether the JSON value `value` is of the annotated type `kind`."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_of(value, k) for k in args)
    if kind is type(None) or kind is None:
        return value is None
    if origin in (list, tuple):
        if not isinstance(value, list):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(_is_of(v, k) for v, k in zip(value, args))
        return all(_is_of(v, args[0]) for v in value) if args else True
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, kind) if isinstance(kind, type) else True


def _describe(kind) -> str:
    names = {bool: "a JSON true or false", int: "an integer", float: "a finite number", str: "a string"}
    if typing.get_origin(kind) in (list, tuple):
        return "a list"
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    if args and typing.get_origin(kind) not in (list, tuple):
        return " or ".join(_describe(a) for a in args) + (" or null" if type(None) in typing.get_args(kind) else "")
    return names.get(kind, getattr(kind, "__name__", str(kind)))


# -- reading a preset folder: untrusted input ---------------------------------------------
# The most a file of a preset may hold (bytes): a larger one is refused before it is read.
FILE_LIMITS = {"model.keras": 512 << 20, "metadata.json": 16 << 20, PREPROCESSOR_FILE: 1 << 20}
DEFAULT_FILE_LIMIT = 64 << 20  # any other file (the assets, a model card)
MAX_PRESET_FILES = 1000


def check_preset_folder(folder) -> None:
    """A PresetError naming the file unless every entry under `folder` is a regular file
    (or a folder) within its size limit: a symlink (to a file or a folder), a FIFO, a
    socket or a device is refused before anything is read. Nothing is followed or opened:
    the walk reads the entries' own status (lstat)."""
    folder = Path(folder)
    count = 0
    for root, dirs, files in os.walk(folder, followlinks=False, onerror=_walk_error):
        for name in dirs + files:
            count += 1
            path = Path(root) / name
            if count > MAX_PRESET_FILES:
                raise PresetError(f"{folder} holds more than {MAX_PRESET_FILES} files: it is not an rnn_zoo preset")
            _check_entry(path, os.lstat(path), FILE_LIMITS.get(name, DEFAULT_FILE_LIMIT))


def _walk_error(error: OSError):
    raise PresetError(f"{error.filename} could not be read: {error.strerror}")


def _check_entry(path: Path, status: os.stat_result, limit: int) -> None:
    mode = status.st_mode
    if stat.S_ISLNK(mode):
        raise PresetError(f"{path} is a symbolic link: a preset holds only its own regular files")
    if stat.S_ISDIR(mode):
        return
    if not stat.S_ISREG(mode):
        raise PresetError(f"{path} is not a regular file (a FIFO, socket or device): a preset holds only regular files")
    if status.st_size > limit:
        raise PresetError(f"{path} holds {status.st_size:,} bytes, more than the {limit:,} a preset's file may hold")


def read_preset_file(path, limit: int | None = None) -> bytes:
    """The bytes of one regular file of a preset, opened without following a link and
    without blocking (a FIFO), and refused beyond its size limit."""
    path = Path(path)
    limit = limit or FILE_LIMITS.get(path.name, DEFAULT_FILE_LIMIT)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        reason = "is a symbolic link" if os.path.islink(path) else f"could not be read: {e.strerror}"
        raise PresetError(f"{path} {reason}: a preset holds only its own regular files") from None
    with os.fdopen(fd, "rb") as f:
        status = os.fstat(f.fileno())
        _check_entry(path, status, limit)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise PresetError(f"{path} holds more than the {limit:,} bytes a preset's file may hold")
    return data


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list) -> dict:
    """A JSON object's pairs as a dict; a key given twice (the last would silently win) refused."""
    found = dict(pairs)
    if len(found) != len(pairs):
        seen = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return found


def read_preset_json(path) -> Any:
    """A preset's JSON file (checked as `read_preset_file` does), parsed; one PresetError
    line for a file that is not UTF-8 JSON or is nested too deep to read."""
    data = read_preset_file(path)
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_unique_keys)
    except _DuplicateKey as e:
        raise PresetError(f"{path} names {e.args[0]!r} twice in one object: which one is meant is not clear") from None
    except RecursionError:
        raise PresetError(f"{path} is nested too deeply to be a preset's JSON file") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise PresetError(f"{path} is not valid JSON ({e})") from None


# -- declared input ranges -------------------------------------------------------------
# Numeric inputs far outside what a model was trained on get answers that mean nothing (prices
# of 1e38 once answered 3009.55), so each numeric preprocessor declares the range its serving
# graph accepts, widened `RANGE_MARGIN` times from its training inputs' own.
RANGE_MARGIN = 100.0


def checked_range(input_range, owner: str) -> tuple[float, float]:
    """`input_range` as (low, high), or a one-line PresetError: two finite numbers, low < high."""
    try:
        low, high = (float(v) for v in input_range if not isinstance(v, (bool, str)))
    except (TypeError, ValueError):
        low = high = float("nan")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise PresetError(
            f"{owner}: input_range must be [low, high], two finite numbers with low < high, got {shown(input_range)}"
        )
    return low, high


@dataclasses.dataclass(frozen=True)
class RangedInput(Preprocessor, abstract=True):
    """A preprocessor of numbers with a declared `input_range` [low, high], fitted from the
    training inputs when the preprocessor is fitted and saved with it: its serving graph (so
    `Preset.predict` and the SavedModel) and the documented ONNX and LiteRT clients refuse
    any input outside it. `range_rule` says in words how it was derived."""

    input_range: tuple[float, float] = dataclasses.field(kw_only=True)

    range_rule: ClassVar[str] = f"{RANGE_MARGIN:g}x the largest magnitude of the training inputs"
    positive: ClassVar[bool] = False  # whether inputs must also be above 0 (prices)
    # What a prediction is, for the message that refuses one outside `output_range`.
    output_description: ClassVar[str] = "the prediction"

    @property
    def output_range(self) -> tuple[float, float]:
        """The predictions an honest answer can take: by default `input_range` (a forecast of
        the next value of the series it reads, in its units). A prediction outside it is
        refused by the serving graph: only a tampered or broken model answers there."""
        return self.input_range

    def standalone_config(self) -> dict[str, Any]:
        return {**super().standalone_config(), "output_range": list(self.output_range)}

    def checked_prediction(self, prediction):
        """`prediction` (a tensor of the serving graph's answers), once every value is known
        finite and inside `output_range`; else the request fails with one line."""
        import tensorflow as tf

        low, high = self.output_range
        message = (
            f"{self.output_description} lies outside {low:.6g} to {high:.6g}, the range an honest answer takes: "
            "the model or the numbers of the preset are not those of its training"
        )
        checks = [
            tf.debugging.assert_all_finite(prediction, message=message),
            tf.debugging.assert_greater_equal(prediction, tf.constant(low, prediction.dtype), message=message),
            tf.debugging.assert_less_equal(prediction, tf.constant(high, prediction.dtype), message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(prediction)

    def __post_init__(self):
        object.__setattr__(self, "input_range", checked_range(self.input_range, type(self).__name__))
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:
            parent()

    @staticmethod
    def signed_range(train_inputs) -> tuple[float, float]:
        """[-m, m] for m `RANGE_MARGIN` times the largest magnitude of `train_inputs`."""
        largest = float(np.max(np.abs(np.asarray(train_inputs, dtype=np.float64)))) or 1.0
        return -RANGE_MARGIN * largest, RANGE_MARGIN * largest

    def in_range(self, values, what: str, shape: tuple[int, ...]):
        """`values` (a tensor, a batch of inputs of `shape`), once known of that shape,
        finite and inside `input_range`: the model reads the returned tensor, so a refused
        request runs nothing else (nor moves a state)."""
        import tensorflow as tf

        low, high = self.input_range
        values = checked_shape(values, shape, f"{self.input_description or what}")
        values = tf.debugging.assert_all_finite(values, message=f"{what} must be finite numbers")
        if self.positive:
            with tf.control_dependencies([tf.debugging.assert_positive(values, message=f"{what} must be positive")]):
                values = tf.identity(values)
        message = f"{what} must lie between {low:.6g} and {high:.6g}, the declared input range ({self.range_rule})"
        checks = [
            tf.debugging.assert_greater_equal(values, tf.constant(low, values.dtype), message=message),
            tf.debugging.assert_less_equal(values, tf.constant(high, values.dtype), message=message),
        ]
        with tf.control_dependencies(checks):
            return tf.identity(values)


def checked_shape(values, shape: tuple[int, ...], what: str):
    """`values` (a tensor: a batch of inputs), once each input is known to be of `shape`. A
    `tf.function`'s input signature checks shapes, but a SavedModel's signatures (TF Serving,
    `loaded.signatures["serve"]`) do not: a 61-price window went through a 60-step model."""
    import tensorflow as tf

    message = f"expected {what} of shape {tuple(shape)}"
    got = tf.shape(values)
    checks = [tf.debugging.assert_equal(tf.size(got), len(shape) + 1, message=message)]
    with tf.control_dependencies(checks):
        checks = [tf.debugging.assert_equal(got[1:], tf.constant(shape, tf.int32), message=message)]
    with tf.control_dependencies(checks):
        return tf.identity(values)
