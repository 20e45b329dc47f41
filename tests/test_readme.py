"""The README's Python quick start runs as written (in a scratch folder: it writes presets and exports)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


@pytest.mark.slow
def test_the_tour_runs_as_written(tmp_path, monkeypatch):
    tour = python_blocks()[0]
    assert "rnn_zoo.train(" in tour and "rnn_zoo.export(" in tour
    monkeypatch.chdir(tmp_path)
    exec(
        compile(
            tour.replace("model.fit(train_ds, epochs=100)", "model.fit(train_ds, epochs=100, verbose=0)"),
            "README.md",
            "exec",
        ),
        {},
    )
    assert (tmp_path / "saved_models" / "my_letters" / "model.keras").is_file()
    assert (tmp_path / "letters_4pre1-onnx" / "model.onnx").is_file()
