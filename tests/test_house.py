"""The package's structure, checked like its behaviour: the import floors of pyproject.toml's
import-linter contracts, no module importing the package's face, and small functions."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.backend_free

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60


def test_the_import_contracts_hold():
    """The floors (no import up, no circle) of [tool.importlinter] in pyproject.toml."""
    pytest.importorskip("importlinter", reason="import-linter (Python 3.11 and later) checks the floors")
    proc = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_no_module_imports_the_package_face():
    """`rnn_zoo/__init__.py` only gathers the public names: a module that imported it back
    would close a circle through it (what the floors contract cannot see)."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter (Python 3.11 and later)")
    graph = grimp.build_graph("rnn_zoo")
    assert graph.find_modules_that_directly_import("rnn_zoo") == set()


def _functions(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node.end_lineno - node.lineno + 1


def test_no_function_is_over_sixty_lines():
    long = [f"{where} ({lines} lines)" for folder in ("rnn_zoo", "tools") for where, lines in _functions(ROOT / folder)]
    long = [entry for entry in long if int(entry.rsplit("(", 1)[1].split()[0]) > MAX_FUNCTION_LINES]
    assert not long, "split these functions: " + ", ".join(long)


def test_the_docs_tables_made_from_the_code_are_up_to_date():
    """The tasks, families, family, overrides and model-card tables (`python -m tools.docs_tables`
    writes them), on every page that holds one; every family has its page."""
    from tools.docs_tables import stale

    assert stale(ROOT) == [], "run `python -m tools.docs_tables`"


def test_the_citation_names_this_version():
    """CITATION.cff says which version to cite: the package's own (rnn_zoo/_version.py)."""
    from rnn_zoo import __version__

    assert f'version: "{__version__}"' in (ROOT / "CITATION.cff").read_text()
