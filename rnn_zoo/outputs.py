"""Output folders written whole or not at all, and never over something the user owns.

Every folder the zoo writes (a preset, a `rnn-zoo train` output, a SavedModel export) is
built in a staging folder beside its destination and renamed into place in one step. An
existing destination is replaced only when it is empty or a zoo output itself (it holds a
preset's `metadata.json` or an export's `rnn_zoo_export.json`), unless the caller says
`overwrite=True`; the working folder and its parents are never replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import uuid
from pathlib import Path

from ._version import __version__
from .errors import OutputExistsError

EXPORT_MARKER = "rnn_zoo_export.json"
PRESET_MARKER = "metadata.json"


def write_export_marker(folder: Path, task: str, format_name: str, **details) -> None:
    """Mark `folder` as a zoo export, so that a later export may replace it; the record is
    also the export's metadata (its format, check and provenance, in `details`)."""
    record = {"task": task, "rnn_zoo": __version__, "format": format_name, **details}
    (folder / EXPORT_MARKER).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# An output of rnn_zoo 0.1's `rnn-zoo train`: a SavedModel beside model.keras and metrics.json.
OLD_TRAIN_MARKER = "metrics.json"


def _task_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("task"), str) else None


def zoo_output_kind(folder: Path) -> str | None:
    """ "preset" (a metadata.json of rnn_zoo's format beside model.keras: what `train` and
    `save_preset` write, or an older `train` output), "export" (a SavedModel, ONNX or
    LiteRT export with its rnn_zoo_export.json), or None: a folder of the user's, even one
    holding a metadata.json."""
    record = _task_record(folder / PRESET_MARKER)
    if record is not None and "format_version" in record and (folder / "model.keras").is_file():
        return "preset"
    record = _task_record(folder / OLD_TRAIN_MARKER)
    if record is not None and (folder / "saved_model.pb").is_file() and (folder / "model.keras").is_file():
        return "preset"
    record = _task_record(folder / EXPORT_MARKER)
    if record is not None and "rnn_zoo" in record:
        return "export"
    return None


def check_destination(path: Path, *, kind: str, overwrite: bool = False) -> None:
    """An OutputExistsError (or FileExistsError) unless `path` may be (re)written with an
    output of `kind` ("preset" or "export"): it is empty, or a zoo output of the same kind
    (an export never silently replaces a trained preset), or the caller said `overwrite`."""
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a folder")
    resolved, cwd = path.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise OutputExistsError(f"{path} is the working folder or one of its parents; write into a new folder")
    if overwrite or not path.is_dir() or not any(path.iterdir()):
        return
    found = zoo_output_kind(path)
    if found is None:
        raise OutputExistsError(
            f"{path} exists and is not an rnn_zoo output; refusing to replace it "
            "(choose a new folder, or pass --overwrite / overwrite=True)"
        )
    if found != kind:
        raise OutputExistsError(
            f"{path} holds an rnn_zoo {found}; refusing to replace it with an {kind} "
            "(choose a new folder, or pass --overwrite / overwrite=True)"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_staging(path: Path) -> None:
    """Staging folders a killed run (SIGKILL, power loss) left beside `path`: only this
    destination's (`.NAME.PID.RANDOM.partial`), only when that process is gone."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[^.]+\.partial$")
    for leftover in path.parent.iterdir():
        found = pattern.match(leftover.name)
        if found and leftover.is_dir() and not leftover.is_symlink() and not _pid_alive(int(found.group(1))):
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _terminate_as_exception():
    """SIGTERM (a killed job) unwinds like Ctrl-C, so the staging folder is removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextlib.contextmanager
def atomic_directory(path, *, kind: str, overwrite: bool = False):
    """Yield an empty staging folder beside `path`; on success it replaces `path` in one
    rename, on failure (or Ctrl-C, or SIGTERM) it is removed, so `path` is never left
    half-written. See `check_destination` for what may be replaced."""
    path = Path(path)
    check_destination(path, kind=kind, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(path)
    staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".partial"))
    old = path.parent / f".{path.name}.{uuid.uuid4().hex}.old"
    try:
        with _terminate_as_exception():
            yield staging
            umask = os.umask(0)
            os.umask(umask)
            staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; an export is read by servers
            if path.exists() or path.is_symlink():
                os.replace(path, old)
            try:
                os.replace(staging, path)
            except BaseException:
                if os.path.lexists(old) and not os.path.lexists(path):
                    os.replace(old, path)  # put the previous output back
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)
