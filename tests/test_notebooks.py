"""Every notebook runs top to bottom in quick mode (papermill sets QUICK = True); the family
notebooks read the shipped presets then, as in a full run (TRAIN = False)."""

import json
from pathlib import Path

import pytest
from conftest import REAL_DATA

import rnn_zoo

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.backend_free
def test_there_is_a_notebook_per_family():
    """A quickstart, then one notebook per family, named after it (`NN_family...`)."""
    stems = [p.stem for p in NOTEBOOKS]
    assert stems[0] == "00_quickstart"
    families = {rnn_zoo.get_task(name).family for name in rnn_zoo.list_tasks()}
    missing = sorted(f for f in families if not any(stem.split("_", 1)[1].startswith(f) for stem in stems[1:]))
    assert not missing, f"write a notebook for the family(ies) {missing}"
    assert len(stems) == len(families) + 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
@pytest.mark.backend_free
def test_committed_notebook_has_a_parameters_cell_and_full_run_outputs(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    first = code[0]
    assert "parameters" in first["metadata"].get("tags", []) and "QUICK = False" in "".join(first["source"])
    if path.stem != "00_quickstart":  # the results come from the shipped presets unless TRAIN
        assert "TRAIN = False" in "".join(first["source"]) and "load_preset" in json.dumps(nb)
    # Committed after a full run: every cell executed, not in quick mode, no error, figures kept.
    assert all(isinstance(c.get("execution_count"), int) for c in code), "commit the notebook executed"
    assert not nb["metadata"].get("papermill", {}).get("parameters", {}).get("QUICK")
    outputs = [o for c in code for o in c["outputs"]]
    assert not any(o["output_type"] == "error" for o in outputs)
    if path.stem != "00_quickstart":
        assert any("image/png" in o.get("data", {}) for o in outputs), "the full run's figures are missing"
    assert path.stat().st_size < 1_000_000


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
