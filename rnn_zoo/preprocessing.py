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
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .errors import InputError, PresetError

PREPROCESSOR_FILE = "preprocessor.json"
ASSETS_DIR = "assets"
FORMAT_VERSION = 1

_CLASSES: dict[str, type[Preprocessor]] = {}


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

    # -- the command line ------------------------------------------------------------
    def parse_input(self, text: str, shape: tuple[int, ...]):
        """One human input written on the command line -> the form `Preset.predict` takes
        (`shape`: one input's shape in the serving signature). By default numbers separated
        by commas or spaces, as many as the shape holds; families whose inputs are text or
        files say otherwise."""
        size = int(np.prod(shape))
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


def load_preprocessor(folder) -> Preprocessor:
    """The preprocessor saved in `folder` by `Preprocessor.save`."""
    folder = Path(folder)
    path = folder / PREPROCESSOR_FILE
    if not path.is_file():
        raise PresetError(
            f"{folder} holds no {PREPROCESSOR_FILE}: it is not an rnn_zoo preset "
            "(a folder written by `rnn-zoo train` or `save_preset`)"
        )
    try:
        record = json.loads(path.read_text())
        cls = _CLASSES[record["class"]]
        if record.get("format_version") != FORMAT_VERSION:
            raise PresetError(
                f"{path}: format version {record.get('format_version')!r}; this rnn_zoo reads version {FORMAT_VERSION}"
            )
        return cls.from_config(dict(record["config"]), folder / ASSETS_DIR)
    except PresetError:
        raise
    except (ValueError, KeyError, TypeError, OSError) as e:
        raise PresetError(f"{path} is not a valid preprocessor file ({type(e).__name__}: {e})") from None
