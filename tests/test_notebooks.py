"""Every notebook runs top to bottom in quick mode (papermill sets QUICK = True); the family
notebooks read the shipped presets then, as in a full run (TRAIN = False)."""

import json
import re
from pathlib import Path

import pytest
from conftest import REAL_DATA

import rnn_zoo

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
# The notebooks that are no family's: the quick start, and the guide to a user's own files (it
# trains on them, so it has no shipped presets to show instead).
GUIDES = ("00_quickstart", "07_your_own_data")


@pytest.mark.backend_free
def test_there_is_a_notebook_per_family():
    """A quickstart, one notebook per family, named after it (`NN_family...`), and the guides."""
    stems = [p.stem for p in NOTEBOOKS]
    assert stems[0] == "00_quickstart"
    family_stems = [stem for stem in stems if stem not in GUIDES]
    families = {rnn_zoo.get_task(name).family for name in rnn_zoo.list_tasks()}
    missing = sorted(f for f in families if not any(stem.split("_", 1)[1].startswith(f) for stem in family_stems))
    assert not missing, f"write a notebook for the family(ies) {missing}"
    assert len(family_stems) == len(families)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.backend_free
def test_committed_notebook_has_a_parameters_cell_and_full_run_outputs(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    first = code[0]
    assert "parameters" in first["metadata"].get("tags", []) and "QUICK = False" in "".join(first["source"])
    if path.stem not in GUIDES:  # the results come from the shipped presets unless TRAIN
        assert "TRAIN = False" in "".join(first["source"]) and "load_preset" in json.dumps(nb)
    # Committed after a full run: every cell executed, not in quick mode, no error, figures kept.
    assert all(isinstance(c.get("execution_count"), int) for c in code), "commit the notebook executed"
    assert not nb["metadata"].get("papermill", {}).get("parameters", {}).get("QUICK")
    outputs = [o for c in code for o in c["outputs"]]
    assert not any(o["output_type"] == "error" for o in outputs)
    if path.stem != "00_quickstart":
        assert any("image/png" in o.get("data", {}) for o in outputs), "the full run's figures are missing"
    assert path.stat().st_size < 1_000_000


def _text(cell) -> str:
    return "".join(cell["source"])


def _output_text(nb) -> str:
    """Every text a reader sees below the code cells: streams and plain-text results (ANSI codes removed)."""
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            parts.append("".join(text))
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(parts))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.backend_free
def test_notebook_opens_with_its_header_and_a_quiet_import(path):
    """A header (title, author, description, what you will learn, time to run), then the
    parameters; the import cell silences TensorFlow's start-up before anything loads it."""
    nb = json.loads(path.read_text())
    header = _text(nb["cells"][0])
    assert nb["cells"][0]["cell_type"] == "markdown" and header.startswith("# ")
    for part in ("**Author:** rnn_zoo maintainers", "**Description:**", "**What you will learn**", "**Time to run:**"):
        assert part in header, f"the header lacks {part}"
    assert 3 <= len(re.findall(r"^- ", header, re.M)) <= 5, "3 to 5 bullets of what you will learn"
    code = [_text(c) for c in nb["cells"] if c["cell_type"] == "code"]
    imports = code[1]
    quiet = imports.index("rnn_zoo.backend.import_tensorflow_quietly()")
    assert not re.search(r"^\s*(import|from)\s+(keras|tensorflow)\b", imports[:quiet], re.M)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.backend_free
def test_notebook_uses_the_public_api_only(path):
    """They run from an installed wheel: no private names, no `rnn_zoo.training` or
    `rnn_zoo.cli`, no file of the repository."""
    source = "\n".join(_text(c) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    for banned in ("rnn_zoo.training", "rnn_zoo.cli", "__file__", "results.json", "tools."):
        assert banned not in source, f"{path.name} uses {banned}"
    assert not re.search(r"rnn_zoo(\.\w+)*\._", source), f"{path.name} uses a private name"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.backend_free
def test_committed_outputs_are_clean(path):
    """No stderr stream, no TensorFlow start-up line, no warning in what a reader sees."""
    nb = json.loads(path.read_text())
    streams = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "stream"]
    assert not [o for o in streams if o["name"] == "stderr"], "a cell wrote to stderr"
    text = _output_text(nb)
    for noise in ("WARNING", "Warning", "absl", "oneDNN", "cuda", "E0000", "I0000", "retracing"):
        assert noise not in text, f"{path.name} shows {noise!r} in an output"


# A quoted result: a number with a decimal point (0.00026, -3.2361, 1.2e-08) or a % sign (86.6%,
# 100%), not inside a word or a dotted run (v1.2, 3.15.1).
QUOTED = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?(?![\w%]|\.\d)")
SHOWN = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w]|\.\d)")


def _quoted_results(markdown: str) -> list[str]:
    prose = re.sub(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\]\([^)]*\)", " ", markdown, flags=re.S)
    prose = prose.replace("\u2212", "-")  # a typographic minus
    return [n for n in QUOTED.findall(prose) if "." in n or n.endswith("%")]


def _is_shown(quoted: str, shown: list[float]) -> bool:
    """Whether an output number, rounded as the text rounds it, reads as `quoted`; a percentage
    may also be a fraction in the output (0.871 for 87.1%)."""
    number = quoted.rstrip("%")
    mantissa, _, exponent = number.partition("e")
    places = len(mantissa.partition(".")[2])
    spec = f".{places}{'e' if exponent else 'f'}"
    target = format(float(number), spec)
    candidates = shown + ([v * 100 for v in shown] if quoted.endswith("%") else [])
    return any(format(v, spec) == target for v in candidates)


@pytest.mark.backend_free
def test_the_rule_reads_numbers_as_meant():
    text = "MSE 0.00026, accuracy 86.6% (not 100%), p = 0.39. Version 3.15.1, `1e-2`, `0.01`, 2016-05-18, v1.5"
    assert _quoted_results(text) == ["0.00026", "86.6%", "100%", "0.39"]
    shown = [float(n) for n in SHOWN.findall("mse 0.000263279 accuracy 0.866071 1 -3.236068")]
    assert all(_is_shown(q, shown) for q in ["0.00026", "86.6%", "100%", "-3.2361", "0.0003"])
    assert not any(_is_shown(q, shown) for q in ["0.00027", "86.7%", "3.2361", "0.39"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.backend_free
def test_numbers_in_the_text_appear_in_the_outputs(path):
    """Every result the prose quotes is one the committed run printed.

    The rule: in a markdown cell, a number with a decimal point or a % sign (`0.00026`,
    `-3.2361`, `1.2e-08`, `86.6%`) is a quoted result, and some output of the same notebook
    must show it: an output number rounded to the text's decimals reads the same (0.0002633
    may be quoted as 0.00026), and a percentage may also be a fraction there (0.871 as 87.1%).
    Integers are not checked (step counts, seeds, units, years). Code spans, code blocks,
    formulas in `$` and link targets are skipped: write a number that is not a result of the
    run (a hyperparameter such as `1e-2`, a goal such as `0.01`, a formula's constant) in a
    code span."""
    nb = json.loads(path.read_text())
    shown = [float(n) for n in SHOWN.findall(_output_text(nb))]
    missing = [
        quoted
        for cell in nb["cells"]
        if cell["cell_type"] == "markdown"
        for quoted in _quoted_results(_text(cell))
        if not _is_shown(quoted, shown)
    ]
    assert not missing, f"{path.name} quotes {missing}, which no output shows"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.slow
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    if json.loads(path.read_text())["metadata"].get("rnn_zoo", {}).get("needs_data"):
        if not REAL_DATA:
            pytest.skip("needs the real datasets in RNN_ZOO_DATA")
        monkeypatch.setenv("RNN_ZOO_DATA", REAL_DATA)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={"QUICK": True},
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )


@pytest.mark.parametrize("stem", ["01_letters", "03_sine"])
@pytest.mark.slow
def test_notebook_trains_from_scratch_when_asked(stem, tmp_path):
    papermill = pytest.importorskip("papermill")
    path = next(p for p in NOTEBOOKS if p.stem == stem)
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters={"QUICK": True, "TRAIN": True},
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )
