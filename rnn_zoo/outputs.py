"""Output folders written whole or not at all, and never over something the user owns.

Every folder the zoo writes (a preset, a `rnn-zoo train` output, a SavedModel export) is
built in a staging folder beside its destination and renamed into place in one step. An
existing destination is replaced only when it is empty or a zoo output itself (it holds a
preset's `metadata.json` or an export's `rnn_zoo_export.json`), unless the caller says
`overwrite=True`; the working folder and its parents are never replaced, nor is a symbolic
link. A writer holds an advisory lock (`.NAME.lock`, beside the destination) from its check to
its rename, so two writers to one folder never both succeed: the second is refused at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
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
from .errors import OutputBusyError, OutputExistsError, OutputWriteError

EXPORT_MARKER = "rnn_zoo_export.json"
PRESET_MARKER = "metadata.json"
BACKTEST_MARKER = "backtest.json"  # what `rnn_zoo.backtest.write_backtest` writes, with its plot


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
    LiteRT export with its rnn_zoo_export.json), "backtest" (a backtest.json and its plot,
    `rnn_zoo.backtest.write_backtest`'s), or None: a folder of the user's, even one holding
    a metadata.json."""
    record = _task_record(folder / PRESET_MARKER)
    if record is not None and "format_version" in record and (folder / "model.keras").is_file():
        return "preset"
    record = _task_record(folder / OLD_TRAIN_MARKER)
    if record is not None and (folder / "saved_model.pb").is_file() and (folder / "model.keras").is_file():
        return "preset"
    record = _task_record(folder / EXPORT_MARKER)
    if record is not None and "rnn_zoo" in record:
        return "export"
    record = _task_record(folder / BACKTEST_MARKER)
    if record is not None and "rnn_zoo" in record and "folds" in record:
        return "backtest"
    return None


def check_destination(path: Path, *, kind: str, overwrite: bool = False) -> None:
    """An OutputExistsError (or FileExistsError) unless `path` may be (re)written with an
    output of `kind` ("preset" or "export"): it is empty, or a zoo output of the same kind
    (an export never silently replaces a trained preset), or the caller said `overwrite`."""
    if path.is_symlink():
        raise OutputExistsError(
            f"{path} is a symbolic link; rnn_zoo writes a real folder and never replaces a link "
            "(give the folder it points to, or a new one)"
        )
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
            f"{path} holds an rnn_zoo {found}; refusing to replace it with {'an' if kind[0] in 'aeiou' else 'a'} {kind} "
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


# The locks this process holds: lock file -> [open file, count, owning thread, folders made for it].
_HELD: dict[str, list] = {}
_HELD_GUARD = threading.Lock()


def lock_path(path: Path) -> Path:
    """The lock file of destination `path`: beside it, never inside it."""
    return path.parent / f".{path.name}.lock"


def _holder(lock: Path) -> str:
    """Who holds `lock`, as its file says ("process 1234"), or "another process"."""
    try:
        pid = lock.read_text().strip()
    except OSError:
        pid = ""
    return f"process {pid}" if pid.isdigit() else "another process"


def _busy(path: Path, who: str) -> OutputBusyError:
    return OutputBusyError(f"{path} is being written by {who}; wait for it to finish, or choose another folder")


def _make_parents(folder: Path, created: list[Path]) -> None:
    """`folder` and its missing parents made; those this call made (not another's) added to `created`."""
    missing = []
    for above in (folder, *folder.parents):
        if above.is_dir():
            break
        missing.append(above)
    for made in reversed(missing):
        try:
            made.mkdir()
        except FileExistsError:
            continue
        created.append(made)


def _remove_made(created: list[Path]) -> None:
    """The folders a claim made for its lock, deepest first, each only while it is empty: a
    refused or failed command leaves no empty `saved_models/` behind (an output, or another
    claim's lock, keeps its folder)."""
    for made in reversed(created):
        try:
            os.rmdir(made)
        except FileNotFoundError:
            continue
        except OSError:
            return


def _take_lock(path: Path, lock: Path, created: list[Path]) -> int:
    """The lock file's descriptor, locked exclusively (never waiting); an OutputBusyError if
    taken. The folders made for it are added to `created`."""
    for _ in range(100):  # a holder that unlinks its file as we open it: open the new one
        try:
            _make_parents(path.parent, created)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:  # another claim removed the (then empty) folder it had made: make it again
            continue
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise OutputExistsError(f"{lock} is a symbolic link; remove it to write {path}") from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _busy(path, _holder(lock)) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock, follow_symlinks=False))
        except FileNotFoundError:
            same = False
        if same:
            with contextlib.suppress(OSError):  # who holds it, for the message (a full disk has no room)
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)
    raise _busy(path, "another process")


@contextlib.contextmanager
def claim(path):
    """Hold `path` as this process's output until the block ends: another writer (process or
    thread) to it is refused at once with an OutputBusyError naming the holder. Re-entrant
    within one thread (a `train --out` claims its folder, then writes it with
    `atomic_directory`). The lock is an flock on `.NAME.lock` beside `path`, removed after."""
    path = Path(os.path.abspath(path))
    lock = lock_path(path)
    key = f"{os.getpid()}:{lock}"  # a forked child holds nothing of its parent's
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None and held[2] != threading.get_ident():
            raise _busy(path, f"another thread of this process ({os.getpid()})")
        if held is not None:
            held[1] += 1
        else:
            created: list[Path] = []
            try:
                _HELD[key] = held = [_take_lock(path, lock, created), 1, threading.get_ident(), created]
            except BaseException:
                _remove_made(created)
                raise
    try:
        yield path
    finally:
        with _HELD_GUARD:
            held[1] -= 1
            if held[1] == 0:
                del _HELD[key]
                with contextlib.suppress(OSError):
                    lock.unlink()  # while still locked: a writer that opened it retries
                os.close(held[0])
                _remove_made(held[3])  # released first: only the folders it made, only if empty


_FULL = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXT = ("no space left on device", "disk quota exceeded")


def disk_full(error: BaseException) -> bool:
    """Whether `error` (or what it wraps: Keras and TensorFlow rewrap OSErrors) is a full disk."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _FULL:
            return True
        if any(text in str(error).lower() for text in _FULL_TEXT):
            return True
        error = error.__cause__ or error.__context__
    return False


def _full_disk_error(path: Path, error: BaseException) -> OutputWriteError:
    kept = "the previous output is intact" if os.path.lexists(path) else "nothing was written"
    what = "the disk quota is exceeded" if "quota" in str(error).lower() else "the disk is full"
    return OutputWriteError(f"{what} while writing {path}; {kept} (free some space and write again)")


@contextlib.contextmanager
def atomic_directory(path, *, kind: str, overwrite: bool = False):
    """Yield an empty staging folder beside `path`; on success it replaces `path` in one
    rename, on failure (or Ctrl-C, or SIGTERM) it is removed, so `path` is never left
    half-written. `path` is claimed (see `claim`) from the check to the rename, and checked
    again just before the rename. See `check_destination` for what may be replaced; a full
    disk is an OutputWriteError naming `path`."""
    path = Path(path)
    check_destination(path, kind=kind, overwrite=overwrite)
    try:
        with claim(path), _staged(path, kind=kind, overwrite=overwrite) as staging:
            yield staging
    except Exception as e:  # an OSError, or a writer's own wrapping of one (TensorFlow, h5py)
        if disk_full(e):
            raise _full_disk_error(path, e) from None
        raise


@contextlib.contextmanager
def _staged(path: Path, *, kind: str, overwrite: bool):
    """`atomic_directory`'s staging folder and rename, under the claim."""
    check_destination(path, kind=kind, overwrite=overwrite)  # again, now that `path` is ours
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
            check_destination(path, kind=kind, overwrite=overwrite)  # nothing changed it meanwhile
            if path.exists():
                os.replace(path, old)
            try:
                os.replace(staging, path)
            except BaseException:
                if os.path.lexists(old) and not os.path.lexists(path):
                    os.replace(old, path)  # put the previous output back
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
