"""Where data files are looked for, and downloads that never leave a half-written file."""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from ..errors import DataError, DataNotFoundError

ENV_VAR = "RNN_ZOO_DATA"


def cache_dir() -> Path:
    """The user cache directory: $XDG_CACHE_HOME/rnn_zoo, else ~/.cache/rnn_zoo."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnn_zoo"


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders to look in, in order. An explicit `data_dir` is the only one; otherwise
    $RNN_ZOO_DATA (if set), then the cache. Downloads go to the last folder listed."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    dirs = [Path(os.environ[ENV_VAR]).expanduser()] if os.environ.get(ENV_VAR) else []
    return dirs + [cache_dir()]


def find_file(names: tuple[str, ...], data_dir=None) -> Path | None:
    """The first existing file among `names` in the search folders, or None."""
    for folder in search_dirs(data_dir):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


# Set within `downloads_off()`: a missing file is DataNotFoundError, never a download.
_DOWNLOADS_OFF = contextvars.ContextVar("rnn_zoo_downloads_off", default=False)


@contextlib.contextmanager
def downloads_off():
    """Within it, data is read only from disk: what is not there is a DataNotFoundError, and
    nothing is downloaded (for work the user did not ask data for, such as an export's check)."""
    token = _DOWNLOADS_OFF.set(True)
    try:
        yield
    finally:
        _DOWNLOADS_OFF.reset(token)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Set to 1 (or any value but 0), it does what `--allow-modified-data` does for every command.
ALLOW_MODIFIED_ENV = "RNN_ZOO_ALLOW_MODIFIED_DATA"
ALLOW_MODIFIED_FLAG = "--allow-modified-data"


def modified_data_allowed(allow: bool = False) -> bool:
    """Whether data that differs from what it should be may be used: `allow`
    (`allow_modified_data=True`, `--allow-modified-data`), or $RNN_ZOO_ALLOW_MODIFIED_DATA."""
    return bool(allow) or os.environ.get(ALLOW_MODIFIED_ENV, "0") not in ("", "0")


def check_published(source, got: str, published: str, what: str, *, allow: bool = False) -> bool:
    """Whether the data read from `source` (sha256 `got`) is the published `what`. A copy
    that differs (a changed label, a cut line, another file under the dataset's name) is
    refused in one line, unless modified data is allowed; then False."""
    if got == published:
        return True
    if not modified_data_allowed(allow):
        raise DataError(
            f"{source}: its sha256 {got[:16]}... is not the published {what}'s {published[:16]}...: the copy "
            f"was changed or is another file; pass {ALLOW_MODIFIED_FLAG} (allow_modified_data=True) to use it anyway"
        )
    return False


@dataclasses.dataclass(frozen=True)
class RemoteFile:
    """A file to download once. `sha256` is the file's own hash or, when `member` is
    given, the hash of that member inside the zip (the content is what must match)."""

    url: str
    filename: str
    sha256: str
    member: str | None = None

    def verify(self, path: Path) -> None:
        if self.member is None:
            data = path.read_bytes()
        else:
            try:
                with zipfile.ZipFile(path) as zf:
                    data = zf.read(self.member)
            except (zipfile.BadZipFile, KeyError) as e:
                raise DataError(f"{path}: not a zip holding {self.member!r} ({e})") from None
        got = sha256_of(data)
        if got != self.sha256:
            raise DataError(f"{path}: sha256 {got} does not match the expected {self.sha256}")

    def fetch(self, folder: Path) -> Path:
        """Download into `folder` through a temporary file, renamed into place only once
        the checksum matches; on any failure nothing is left behind."""
        dest = folder / self.filename
        if _DOWNLOADS_OFF.get():
            raise DataNotFoundError(f"{self.filename} is not on disk, and nothing is downloaded here")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{self.filename}.", suffix=".part")
        except OSError as e:
            raise DataNotFoundError(f"cannot write the download of {self.url} into {folder}: {e}") from None
        tmp = Path(tmp_name)
        print(f"rnn_zoo: downloading {self.url} to {dest}", file=sys.stderr)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(self.url, timeout=60) as response:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
            self.verify(tmp)
            os.replace(tmp, dest)
        except (urllib.error.URLError, OSError) as e:
            raise DataNotFoundError(f"could not download {self.url}: {e}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return dest
