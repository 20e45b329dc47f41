"""State stays the user's (issue 24): exporting or evaluating a stateful preset in the middle
of a curve leaves its live state as it was, so the next chunk answers as if nothing ran."""

import importlib.util

import numpy as np
import pytest

import rnn_zoo


def _chunks(preset, n: int = 3) -> list[np.ndarray]:
    """Consecutive chunks of one sine curve, as `predict` takes them."""
    length = preset.input_spec.shape[1]
    t = np.arange(n * length, dtype=np.float32) * 0.1
    return [np.sin(t[i * length : (i + 1) * length]).reshape(preset.input_spec.shape[1:]) for i in range(n)]


def _outputs_after(between) -> list:
    preset = rnn_zoo.load_preset("sin_to_cos")
    preset.reset_state()
    first, *rest = _chunks(preset)
    answers = [preset.predict(first)]
    between(preset)
    answers += [preset.predict(chunk) for chunk in rest]
    return answers


def _formats():
    found = ["saved_model"]
    if all(importlib.util.find_spec(m) for m in ("tf2onnx", "onnx", "onnxruntime")):
        found.append("onnx")
    return found


@pytest.mark.parametrize("middle", ["evaluate", *_formats()])
def test_export_and_evaluate_leave_a_live_state_as_it_was(middle, tmp_path):
    expected = _outputs_after(lambda preset: None)
    if middle == "evaluate":

        def between(preset):
            preset.evaluate()
    else:

        def between(preset):
            rnn_zoo.export(preset, tmp_path / middle, format=middle)

    got = _outputs_after(between)
    assert got == expected
    # ... and the state really is carried: the same chunk from a fresh start answers otherwise.
    fresh = rnn_zoo.load_preset("sin_to_cos")
    fresh.reset_state()
    assert fresh.predict(_chunks(fresh)[1]) != expected[1]
