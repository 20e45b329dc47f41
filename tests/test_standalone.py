"""ONNX and LiteRT exports: every task, in its own runtime, against Keras; no Flex op; the state
of sin->cos carried by the client; the docs' clients run as written; the missing extra."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import fast_per_family

import rnn_zoo
from rnn_zoo import standalone
from rnn_zoo.errors import ExportCheckError, InvalidOverrideError
from rnn_zoo.outputs import EXPORT_MARKER

FORMATS = ("onnx", "litert")
EXPORT_PAGE = Path(__file__).resolve().parents[1] / "docs" / "export.md"  # the clients, run as written


@pytest.fixture(scope="module")
def exports(tmp_path_factory, tiny_data_dir):
    """export(name, format) -> the folder of the shipped preset's export, made once per module,
    checked on the tiny real-format data's test split."""
    made = {}

    def export(name, format_name):
        if (name, format_name) not in made:
            folder = tmp_path_factory.mktemp("standalone") / f"{name}-{format_name}"
            made[name, format_name] = rnn_zoo.export(
                rnn_zoo.load_preset(name), folder, format=format_name, data_dir=tiny_data_dir
            )
        return made[name, format_name]

    return export


def _keras_outputs(preset, x, batch):
    return standalone.keras_reference(preset.model, rnn_zoo.get_task(preset.task), x, batch)


@pytest.mark.parametrize("format_name", FORMATS)
@pytest.mark.parametrize("name", fast_per_family(rnn_zoo.list_tasks()))
def test_every_task_exports_runs_in_its_own_runtime_matches_keras_and_litert_has_no_flex_op(
    name, format_name, exports, tiny_data_dir
):
    folder = exports(name, format_name)
    spec = json.loads((folder / standalone.PREPROCESSING_FILE).read_text(encoding="utf-8"))
    record = json.loads((folder / EXPORT_MARKER).read_text(encoding="utf-8"))
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [standalone.FORMATS[format_name].filename, standalone.PREPROCESSING_FILE, EXPORT_MARKER]
    )
    assert record["format"] == format_name and record["task"] == name
    assert record["check"]["inputs"].startswith("the first") and record["check"]["rows"] > 0
    assert 0 <= record["check"]["max_abs_difference"] <= 1e-5
    assert record["provenance"]["dataset"]["license"]  # the dataset's terms travel with the file

    # Independently of the export's own check: the file on other test rows, in its runtime.
    preset = rnn_zoo.load_preset(name)
    x = preset.load_data(data_dir=tiny_data_dir).x_test[-8:]
    stateful = rnn_zoo.get_task(name).model.stateful
    batch = preset.model.input_shape[0] if stateful else (1 if format_name == "litert" else len(x))
    states = [(i["name"], i["shape"][-1]) for i in spec["inputs"][1:]]
    assert bool(states) == stateful
    run = standalone.runner(format_name, folder / spec["file"])
    got = standalone.file_outputs(run, x, batch, states, spec["outputs"][0]["name"])
    np.testing.assert_allclose(got, _keras_outputs(preset, x, batch), rtol=0, atol=1e-5)
    # The JSON describes the file: its input dtype and shape are what the model takes.
    assert spec["inputs"][0]["dtype"] == str(preset.model.inputs[0].dtype)
    assert spec["inputs"][0]["shape"][1:] == list(preset.model.input_shape[1:])
    assert spec["preprocessor"]["class"] == type(preset.preprocessor).__name__
    assert spec["classes"] == preset.preprocessor.classes
    if format_name == "litert":
        # Builtin ops only: no Flex op, no custom op.
        ops = standalone.litert_ops(folder / spec["file"])
        assert ops and not {op for op in ops if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")}, ops


@pytest.mark.skipif(
    rnn_zoo.backend.name() != "tensorflow",
    reason="calls the converter directly; on another backend it runs in the TensorFlow writer process",
)
def test_a_model_that_needs_flex_ops_is_refused_at_conversion(tmp_path):
    """The converter is held to builtin ops. A GRU with its batch left open needs TensorList
    ops that only the Flex delegate has (tensorflow#62849): converting it fails, where an
    unrestricted converter would write a file that the standard interpreter cannot run."""
    preset = rnn_zoo.load_preset("stock_gru_returns")
    twin = standalone.standalone_twin(preset.model, rnn_zoo.get_task("stock_gru_returns"))
    with pytest.raises(Exception, match="(?i)flex|TensorList"):
        standalone._write_litert(twin, tmp_path / "gru.tflite", ["inputs"], ["prediction"], None)
    assert not (tmp_path / "gru.tflite").exists()


@pytest.mark.parametrize("format_name", FORMATS)
def test_sin_to_cos_state_is_an_input_and_an_output(format_name, exports):
    folder = exports("sin_to_cos", format_name)
    spec = json.loads((folder / standalone.PREPROCESSING_FILE).read_text())
    assert [i["name"] for i in spec["inputs"]] == ["inputs", "state_1"]
    assert [o["name"] for o in spec["outputs"]] == ["prediction", "next_state_1"]
    run = standalone.runner(format_name, folder / spec["file"])
    preset = rnn_zoo.load_preset("sin_to_cos")
    curve = np.sin(np.arange(40) * np.pi / 10).astype(np.float32).reshape(4, 10, 1)
    # Carried from call to call, the state gives what the stateful Keras model gives.
    carried = standalone.file_outputs(run, curve, 1, [("state_1", 32)], "prediction")
    np.testing.assert_allclose(carried, _keras_outputs(preset, curve, 1), atol=1e-5)
    # A zero state starts a new curve: the last chunk alone differs from the last chunk carried.
    fresh = run({"inputs": curve[-1:], "state_1": np.zeros((1, 32), np.float32)})["prediction"]
    assert np.abs(fresh - carried[-1:]).max() > 1e-3


@pytest.mark.skipif(
    rnn_zoo.backend.name() != "tensorflow",
    reason="patches the check's tolerance in this process; on another backend the check runs in the "
    "TensorFlow writer process (the refusal itself is covered by the TensorFlow run)",
)
def test_an_export_that_differs_from_keras_is_refused_and_nothing_is_written(tmp_path, monkeypatch, tiny_data_dir):
    monkeypatch.setattr(standalone, "TOLERANCE", -1.0)  # no file can pass: every difference is >= 0
    with pytest.raises(ExportCheckError, match="differ from the Keras model's .* nothing was written"):
        rnn_zoo.export(rnn_zoo.load_preset("sine_regression"), tmp_path / "out", format="onnx", data_dir=tiny_data_dir)
    assert list(tmp_path.iterdir()) == []


def test_export_checks_a_trained_model_on_its_own_data_and_refuses_a_bad_format(tmp_path):
    result = rnn_zoo.train("letters_4pre1", epochs=2, verbose=0)
    folder = rnn_zoo.export(result, tmp_path / "letters", format="litert")
    record = json.loads((folder / EXPORT_MARKER).read_text())
    assert record["check"]["inputs"] == "the first 5 inputs of the test split"
    assert record["provenance"]["seed"] == 0 and record["provenance"]["metrics"] == result.metrics
    with pytest.raises(InvalidOverrideError, match="format must be one of saved_model, onnx, litert"):
        rnn_zoo.export(result, tmp_path / "x", format="tflite")


def test_without_data_the_check_uses_random_inputs_and_says_so(tmp_path):
    # The stock CSV has no public download: without a local copy, the data can never be found.
    folder = rnn_zoo.export(
        rnn_zoo.load_preset("stock_gru_returns"), tmp_path / "stock", format="onnx", data_dir=tmp_path / "none"
    )
    check = json.loads((folder / EXPORT_MARKER).read_text())["check"]
    assert check["inputs"] == "64 random inputs (the task's data was not found)"
    assert check["max_abs_difference"] <= 1e-5


@pytest.mark.backend_free
def test_without_the_extra_the_cli_says_what_to_install_in_one_line(tmp_path):
    # tf2onnx made unimportable, as on a base install without rnn_zoo[export].
    code = (
        "import sys; sys.modules['tf2onnx'] = None; from rnn_zoo.cli import main; "
        f"sys.exit(main(['export', 'letters_4pre1', '--format', 'onnx', '--out', {str(tmp_path / 'out')!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        'rnn-zoo: error: exporting to onnx needs tf2onnx, which are not installed: pip install ".[export]"'
    ]
    assert not (tmp_path / "out").exists()


def _readme_clients() -> list[str]:
    section = (
        EXPORT_PAGE.read_text(encoding="utf-8").split("<!-- clients:start -->")[1].split("<!-- clients:end -->")[0]
    )
    return re.findall(r"```python\n(.*?)```", section, re.S)


# Runs the docs' clients in a fresh interpreter where TensorFlow, Keras and rnn_zoo cannot be
# imported, so "numpy and the runtime only" is checked too. Prints one JSON line per client.
CLIENT_RUNNER = """
import contextlib, io, json, sys
for blocked in ("tensorflow", "keras", "rnn_zoo", "tf_keras"):
    sys.modules[blocked] = None
loader, *clients = json.loads(sys.argv[1])
namespace = {}
exec(loader, namespace)
for client in clients:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(client, namespace)
    print(json.dumps(printed.getvalue().strip()))
"""


@pytest.mark.slow
def test_readme_clients_run_on_both_formats_without_tensorflow_and_print_what_they_say(exports, tmp_path):
    """Each README client, as written and with the other format's folder, prints exactly what
    its comment says, which is what the preset answers through rnn_zoo."""
    loader, *clients = _readme_clients()
    assert len(clients) == 6  # SMS, letters, stock, MNIST, sine, sin->cos
    folders = [re.search(r'load\("([a-z0-9_]+)-(onnx|litert)"\)', client).groups() for client in clients]
    comments = [re.findall(r"print\(.*\)\s+# (.*)$", client, re.M)[-1] for client in clients]
    for name, _ in folders:
        for format_name in FORMATS:
            (tmp_path / f"{name}-{format_name}").symlink_to(exports(name, format_name))
    for format_name in FORMATS:
        edited = [
            client.replace(f'"{name}-{written}"', f'"{name}-{format_name}"')
            for client, (name, written) in zip(clients, folders)
        ]
        done = subprocess.run(
            [sys.executable, "-c", CLIENT_RUNNER, json.dumps([loader, *edited])],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        printed = [json.loads(line) for line in done.stdout.splitlines()]
        for line, comment, (name, _) in zip(printed, comments, folders, strict=True):
            # The comment is the printed line, then at most a remark after a separator.
            assert re.fullmatch(re.escape(line) + r"(|[;,] .*)", comment), (name, format_name, line, comment)
    # The printed answers are the presets' own (the human-input path through TensorFlow).
    assert rnn_zoo.load_preset("sms_spam_tuned").predict("WINNER!! claim your prize")["prediction"] == "spam"
    assert rnn_zoo.load_preset("letters_4pre1").predict("abcd")["prediction"] == "e"
    price = rnn_zoo.load_preset("stock_gru_returns").predict(np.linspace(1000.0, 1050.0, 60))["prediction"]
    assert f"# {price:.2f}" in "".join(clients)


def test_a_stateful_lstm_carries_both_of_its_states(tmp_path):
    """No registered task is a stateful LSTM; built as one (sin_to_cos, cell=lstm), it exports
    its h and c states as inputs and outputs, and carried by the client they give Keras's outputs."""
    data = rnn_zoo.load_task_data("sin_to_cos")
    model = rnn_zoo.build("sin_to_cos", cell="lstm", preprocessor=data.preprocessor)
    for format_name in FORMATS:
        folder = rnn_zoo.export(
            model, tmp_path / format_name, format=format_name, task="sin_to_cos", preprocessor=data.preprocessor
        )
        spec = json.loads((folder / standalone.PREPROCESSING_FILE).read_text())
        assert [i["name"] for i in spec["inputs"]] == ["inputs", "state_1_h", "state_1_c"]
        assert [o["name"] for o in spec["outputs"]] == ["prediction", "next_state_1_h", "next_state_1_c"]
        run = standalone.runner(format_name, folder / spec["file"])
        x = data.x_test[:6]
        got = standalone.file_outputs(run, x, 1, [("state_1_h", 32), ("state_1_c", 32)], "prediction")
        np.testing.assert_allclose(
            got, standalone.keras_reference(model, rnn_zoo.get_task("sin_to_cos"), x, 1), atol=1e-5
        )


def test_a_model_that_is_not_a_zoo_model_is_refused_in_one_line(tmp_path):
    import keras

    from rnn_zoo.errors import ExportError

    inputs = keras.Input((4, 5))
    functional = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.SimpleRNN(3)(inputs)))
    with pytest.raises(ExportError, match="take a zoo model .* not a Functional"):
        rnn_zoo.export(
            functional,
            tmp_path / "x",
            format="onnx",
            task="letters_4pre1",
            preprocessor=rnn_zoo.load_task_data("letters_4pre1").preprocessor,
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_latency_benchmark_times_every_format_of_a_task(tmp_path):
    from tools.speed.latency import PATHS, run_latency_benchmark

    results = run_latency_benchmark(
        "letters_1pre1", rounds=1, out=tmp_path / "latency.json", tables=False, log=lambda line: None
    )
    (row,) = results["rows"]
    assert set(row["latency_ms"]) == set(PATHS) and all(ms > 0 for ms in row["latency_ms"].values())
    assert row["onnx_check"]["max_abs_difference"] <= 1e-5 and row["litert_kb"] > 0
    assert json.loads((tmp_path / "latency.json").read_text()) == results


@pytest.mark.backend_free
def test_the_latency_table_is_generated_from_the_results_of_every_task():
    from tools.pages import read_table
    from tools.speed.latency import latency_table

    root = EXPORT_PAGE.parents[1]
    results = json.loads((root / "results" / "latency.json").read_text())
    assert [row["task"] for row in results["rows"]] == rnn_zoo.list_tasks()
    assert read_table("latency", root=root) == latency_table(results).strip()


@pytest.mark.slow
def test_cli_exports_quietly_and_reports_the_check(tmp_path):
    out = tmp_path / "letters"
    done = subprocess.run(
        [sys.executable, "-m", "rnn_zoo", "export", "letters_4pre1", "--format", "litert", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("exporting to litert") and lines[-1].startswith(f"wrote {out} (largest difference")
    assert (out / "model.tflite").is_file()
