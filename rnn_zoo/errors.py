"""Exceptions raised for user mistakes; each message says what was expected."""

import json
import math


def one_line(error: BaseException) -> str:
    """An error's message on one line, as the command line and the image reader print it."""
    return " ".join(str(error).split())


def shown(value) -> str:
    """A value as an error message quotes it: as JSON where it is JSON, cut to 40 characters
    (a seed of 10**400 or a huge list is not echoed whole)."""
    try:
        text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else repr(value)
    except (TypeError, ValueError, RecursionError):
        text = repr(value) if isinstance(value, (int, float, complex)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


class RnnZooError(Exception):
    """Base class of every error rnn_zoo raises on purpose."""


class UnknownTaskError(RnnZooError, LookupError):
    """A task name that is not in the registry."""


class InvalidOverrideError(RnnZooError, ValueError):
    """An override keyword that does not exist or has the wrong type or value."""


class DataError(RnnZooError, ValueError):
    """A data file exists but is malformed (bad header, NaNs, bad labels, ...)."""


class DataNotFoundError(RnnZooError, FileNotFoundError):
    """A data source is not on disk and could not be downloaded."""


class OutputExistsError(RnnZooError, FileExistsError):
    """An output folder that holds something the zoo did not write, or the working folder."""


class TrainingDivergedError(RnnZooError, ArithmeticError):
    """Training produced a non-finite loss or weights: nothing is saved."""


class InputError(RnnZooError, ValueError):
    """A human input written on the command line that is not of the form the task takes."""


class PresetError(RnnZooError, ValueError):
    """A preset folder that is incomplete, of another task, or not a preset at all."""


class MissingExtraError(RnnZooError, ImportError):
    """A feature whose optional dependencies (an extra such as rnn_zoo[export]) are not installed."""


class ExportCheckError(RnnZooError, ArithmeticError):
    """An exported file whose outputs, in its own runtime, differ from the Keras model's."""


class ExportError(RnnZooError, ValueError):
    """A model that the asked-for export format cannot hold (e.g. not a zoo model)."""


class OutputBusyError(OutputExistsError):
    """An output folder that another process (or thread) is writing now."""


class OutputWriteError(RnnZooError, OSError):
    """An output that could not be written (a full disk, a quota); the previous one is intact."""


class SettingError(RnnZooError, ValueError):
    """An environment setting (KERAS_BACKEND, KERAS_DISTRIBUTION_*) that rnn_zoo cannot use."""


class ClusterTimeoutError(RnnZooError, TimeoutError):
    """A distributed run whose processes did not all arrive in time."""
