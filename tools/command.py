"""What the tools' command lines share with `rnn-zoo`'s: a user mistake prints one line on
stderr and returns 2; a run that diverges, or any other failure, prints a short message and
returns 1."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable

# UsageError is the CLI's: a tool's mistakes read like `rnn-zoo`'s. Importing rnn_zoo.cli
# also keeps TensorFlow's start-up chatter out of the output (TF_CPP_MIN_LOG_LEVEL).
from rnn_zoo.backend import import_tensorflow_quietly
from rnn_zoo.cli import UsageError

from .pages import PAGES

__all__ = ["ToolParser", "UsageError", "log", "tables_or_refuse", "run_tool"]


class ToolParser(argparse.ArgumentParser):
    """argparse for `python -m MODULE`, with its mistakes in one line (no usage block)."""

    def __init__(self, module: str, **kwargs):
        super().__init__(prog=f"python -m {module}", **kwargs)
        self.module = module

    def add_shared_options(self, *, tables: str) -> None:
        """The options every benchmark tool takes: which tasks, where the data is, and whether
        to rewrite `tables` (what its tables are, in words)."""
        self.add_argument("--tasks", default="*", help="fnmatch pattern of tasks (default: all)")
        self.add_argument("--data-dir", help="folder with the datasets (default: $RNN_ZOO_DATA, then the cache)")
        self.add_argument("--no-tables", action="store_true", help=f"do not rewrite {tables}")

    def error(self, message):
        self.exit(2, f"{self.module}: error: {message} (see `{self.prog} --help`)\n")


def tables_or_refuse(command: str, *, no_tables: bool, names: tuple[str, ...]) -> bool:
    """Whether a run rewrites its tables `names` (not with --no-tables); a UsageError when
    their pages are not here (the tools run from the checkout's root)."""
    if no_tables:
        return False
    missing = sorted({str(page) for name in names for page in PAGES[name] if not page.is_file()})
    if missing:
        raise UsageError(
            f"run `{command}` from the repository root ({', '.join(missing)} hold the tables), or pass --no-tables"
        )
    return True


def log(line: str) -> None:
    print(line, flush=True)


def run_tool(module: str, body: Callable[[], None]) -> int:
    """Run `body` as `rnn_zoo.cli.main` runs a command. Returns 0 done, 2 a user mistake (one
    line on stderr), 1 anything else (a short message; RNN_ZOO_DEBUG=1 shows the traceback),
    130 on Ctrl-C."""
    from rnn_zoo.errors import ExportCheckError, RnnZooError, TrainingDivergedError, one_line

    warnings.filterwarnings("ignore", module=r"keras(\.|$)")  # Keras's advice is for its own API users
    try:
        import_tensorflow_quietly()
        body()
    except (TrainingDivergedError, ExportCheckError) as e:
        print(f"{module}: error: {one_line(e)}", file=sys.stderr)
        return 1
    except (UsageError, RnnZooError, OSError) as e:  # OSError: a folder that cannot be written, ...
        print(f"{module}: error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{module}: stopped; nothing half-written was left behind", file=sys.stderr)
        return 130
    except Exception as e:
        if os.environ.get("RNN_ZOO_DEBUG"):
            raise
        print(
            f"{module}: internal error: {type(e).__name__}: {one_line(e)[:300]} (RNN_ZOO_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1
    return 0
