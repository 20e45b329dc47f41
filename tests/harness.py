"""The checks every task passes, in one call, for any task: what a family's own test file
calls for its tasks, beside what is special to it (like keras-hub's `TestCase`).

    from harness import check_task
    check_task("adding_problem_lstm", tmp_path)
"""

import json

import numpy as np
import tensorflow as tf

import rnn_zoo
from rnn_zoo.exporting import export
from rnn_zoo.registry import get_task


def check_build(name: str, parameters: int):
    """The reference model takes the task's inputs, is compiled, and has the parameter count
    worked out by hand from its spec."""
    spec = get_task(name)
    model = rnn_zoo.build(name)
    assert tuple(model.input_shape[1:]) == spec.input_shape and model.optimizer is not None
    assert model.count_params() == parameters
    return model


def check_fit(name: str, **train_options):
    """A short run: finite metrics beside the baseline's and the classical model's, the same keys."""
    result = rnn_zoo.train(name, verbose=0, **train_options)
    assert result.metrics.keys() == result.baseline.keys() == result.classical.keys() - {"name", "settings"}
    assert all(np.isfinite(v) for v in result.metrics.values())
    assert result.samples_per_s > 0 and result.history["loss"]
    return result


def check_preset(result, folder):
    """The run saved as a preset loads back with the same weights and predicts what the model
    does on the test inputs, through the family's human-input serving graph."""
    result.save_preset(folder)
    preset = rnn_zoo.load_preset(folder, task=result.task)
    for saved, trained in zip(preset.model.get_weights(), result.model.get_weights()):
        np.testing.assert_array_equal(saved, trained)
    examples = result.data.serving_examples(4)
    (inputs,) = examples.values()
    rows = preset.predict(list(inputs))
    assert len(rows) == 4 and all("prediction" in row for row in rows)
    return preset, examples, rows


def one_line_error(err: str, code: int, expected: int = 2) -> bool:
    """Whether a command exited with `expected` and printed one `rnn-zoo: error:` line, no traceback."""
    return code == expected and err.count("\n") == 1 and err.startswith("rnn-zoo: error: ") and "Traceback" not in err


def assert_served_as_predicted(serve, examples: dict, rows: list[dict]) -> None:
    """A `serve` signature's predictions on `examples` are the `rows` that `Preset.predict`
    gave for them: the same strings, or the same numbers to float32 rounding."""
    served = serve(**{k: tf.constant(v) for k, v in examples.items()})["prediction"].numpy()
    expected = [row["prediction"] for row in rows]
    if served.dtype.kind in "OS":
        assert [p.decode() for p in served] == expected
    else:
        np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)


def check_serving(preset, examples, rows, folder):
    """The SavedModel export's `serve` answers as the preset does, and the command line's
    hooks read the family's example input and write every output on one line."""
    path = export(preset, folder)
    serve = tf.saved_model.load(str(path)).signatures["serve"]
    assert_served_as_predicted(serve, examples, rows)
    assert json.loads((path / "rnn_zoo_export.json").read_text())["task"] == preset.task
    example = preset.preprocessor.example_input()
    shape = tuple(preset.input_spec.shape[1:])
    if not isinstance(example, str):
        text = ",".join(f"{v:.9g}" for v in np.ravel(example))
        np.testing.assert_allclose(preset.preprocessor.parse_input(text, shape), example, rtol=1e-6)
    line = preset.preprocessor.format_output(preset.predict(example))
    assert line and "\n" not in line


def check_task(name: str, tmp_path, *, parameters: int, **train_options):
    """Build (with the hand-computed parameter count), a short fit, the preset round trip,
    the export and the serving checks of `name`."""
    check_build(name, parameters)
    options = {"epochs": 1, "max_train_samples": get_task(name).train.batch_size, **train_options}
    result = check_fit(name, **options)
    preset, examples, rows = check_preset(result, tmp_path / "preset")
    check_serving(preset, examples, rows, tmp_path / "export")
    return result
