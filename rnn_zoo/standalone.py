"""Standalone exports: ONNX and LiteRT files that run without TensorFlow or rnn_zoo.

A runtime such as onnxruntime or the LiteRT interpreter has no string or lookup-table ops,
so these files take model inputs (one-hot letters or token ids, scaled windows, float
images) and the JSON beside them holds the preprocessing state a client needs to make
those inputs and read the outputs (see the docs' export page: clients).

Each file is made from a *standalone twin* of the Keras model: the same layers and weights
in a functional model that
  * carries a stateful model's state as explicit inputs ("state_1", ...) and outputs
    ("next_state_1", ...), so that a client passes it from call to call;
  * ends in a softmax where the model outputs logits, so every classifier's file returns
    probabilities.
LiteRT files take a fixed batch of one row. That is what keeps LSTM and GRU free of Flex
ops: with a batch left open, their loop needs TensorList ops that only the Flex delegate has
(tensorflow#62849); with a static one it converts to the builtin WHILE op. (Unrolling the
loop also avoids Flex, but on four LSTM/GRU presets it made files 1.1-12x larger and
conversion 3-12x slower, and ran faster on one only; see the docs' export page.) The converter is held
to builtin ops, so a model that would need Flex fails at export.
Every file is then run in its own runtime on real test inputs and compared with the
original Keras model; an export whose outputs differ by more than `TOLERANCE` is refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .backend import states_tracked
from .errors import ExportCheckError, ExportError, MissingExtraError
from .model_state import reset_states, stateful_rnns
from .registry import get_task

TOLERANCE = 1e-5
CHECK_ROWS = 64  # test inputs each export is checked on
PREPROCESSING_FILE = "preprocessing.json"


@dataclasses.dataclass(frozen=True)
class FileFormat:
    """A standalone format: the file it writes, the modules it needs, its runtime."""

    name: str
    filename: str
    modules: tuple[str, ...]  # import names, all in the rnn_zoo[export] extra
    runtime: str  # the distribution whose version the check records
    fixed_batch: int | None  # LiteRT files take one row at a time; ONNX any batch


FORMATS = {
    "onnx": FileFormat("onnx", "model.onnx", ("tf2onnx", "onnx", "onnxruntime"), "onnxruntime", None),
    "litert": FileFormat("litert", "model.tflite", ("ai_edge_litert",), "ai-edge-litert", 1),
}


def require(format_name: str) -> None:
    """A one-line MissingExtraError unless the converters and runtime of the format are
    installed (looked up, not imported: tf2onnx would import TensorFlow)."""
    missing = [module for module in FORMATS[format_name].modules if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingExtraError(
            f'exporting to {format_name} needs {", ".join(missing)}, which are not installed: pip install ".[export]"'
        )


# -- the standalone twin ---------------------------------------------------------------
def is_stateful(model) -> bool:
    """Whether a recurrent layer of `model` (or inside a Bidirectional) keeps its state."""
    return bool(stateful_rnns(model))


def output_name(task_spec) -> str:
    return "probabilities" if task_spec.train.loss == "sparse_categorical_crossentropy" else "prediction"


def standalone_twin(model, task_spec):
    """A functional keras.Model with `model`'s weights (a zoo model: a keras.Sequential).
    Inputs: "inputs", then a stateful layer's state, "state_N" (or "state_N_h" and
    "state_N_c" for an LSTM), N its position; outputs: "probabilities" or "prediction",
    then "next_" + each state's name (see the module docstring)."""
    import keras

    if not isinstance(model, keras.Sequential):
        raise ExportError(
            f"ONNX and LiteRT exports take a zoo model (a keras.Sequential made by rnn_zoo.build), "
            f"not a {type(model).__name__}"
        )
    x = keras.Input(shape=model.input_shape[1:], dtype=model.inputs[0].dtype, name="inputs")
    inputs, outputs, h = [x], [], x
    for i, layer in enumerate(model.layers):
        config = layer.get_config()
        if isinstance(layer, keras.layers.Bidirectional):
            if is_stateful(keras.Sequential([layer])):
                raise ExportError(
                    f"layer {layer.name}: a stateful bidirectional layer has no state a client "
                    "could carry between calls"
                )
        elif isinstance(layer, keras.layers.RNN) and layer.stateful:
            suffixes = ("_h", "_c") if isinstance(layer, keras.layers.LSTM) else ("",)
            states = [keras.Input(shape=(layer.units,), name=f"state_{i + 1}{s}") for s in suffixes]
            twin = type(layer).from_config({**config, "stateful": False, "return_state": True})
            h, *final = twin(h, initial_state=states)
            twin.set_weights(layer.get_weights())
            inputs += states
            outputs += [keras.layers.Identity(name=f"next_{state.name}")(f) for state, f in zip(states, final)]
            continue
        twin = type(layer).from_config(config)
        h = twin(h)
        twin.set_weights(layer.get_weights())
    if task_spec.train.from_logits:
        h = keras.layers.Softmax(name="probabilities")(h)
    # One input and one output stay bare tensors, not lists of one (Keras warns when called otherwise).
    return keras.Model(inputs if outputs else x, [h, *outputs] if outputs else h, name=f"{model.name}_standalone")


def io_names(twin, task_spec) -> tuple[list[str], list[str]]:
    """The names of the twin's inputs and outputs, as the files and the JSON give them."""
    states = [t.name for t in twin.inputs[1:]]
    return ["inputs", *states], [output_name(task_spec), *(f"next_{name}" for name in states)]


# -- writing ------------------------------------------------------------------------------
def _write_onnx(twin, path: Path, output_names: list[str]) -> None:
    """Keras's own ONNX export (tf2onnx; LSTM and GRU become ONNX's LSTM and GRU ops where the
    loop allows), then the outputs renamed from "Identity:0" to what they are."""
    import onnx

    zeros = [np.zeros((1, *t.shape[1:]), t.dtype) for t in twin.inputs]
    twin(zeros if len(zeros) > 1 else zeros[0])  # Keras exports only a model that has been called
    twin.export(str(path), format="onnx", verbose=False)
    graph_model = onnx.load(str(path))
    renames = {out.name: new for out, new in zip(graph_model.graph.output, output_names)}
    for node in graph_model.graph.node:
        node.output[:] = [renames.get(name, name) for name in node.output]
        node.input[:] = [renames.get(name, name) for name in node.input]
    for out in graph_model.graph.output:
        out.name = renames[out.name]
    onnx.save(graph_model, str(path))


def _write_litert(twin, path: Path, input_names: list[str], output_names: list[str], batch: int) -> None:
    """The twin traced once for inputs of `batch` rows, its weights frozen into constants,
    converted with builtin ops only: a model that would need Flex ops fails here rather than
    at a user's."""
    import tensorflow as tf

    # Converted as they are, the weights stay resource variables that the interpreter reads
    # uninitialised (READ_VARIABLE fails); frozen into constants first, the file holds none.
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    signature = [tf.TensorSpec([batch, *t.shape[1:]], t.dtype, name=n) for t, n in zip(twin.inputs, input_names)]

    def call(*tensors):
        outputs = twin(list(tensors) if len(tensors) > 1 else tensors[0], training=False)
        return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]

    frozen = convert_variables_to_constants_v2(
        tf.function(call, input_signature=signature, autograph=False).get_concrete_function()
    )

    def named(*tensors):  # a dict of outputs gives the file's signature its output names
        return dict(zip(output_names, frozen(*tensors)))

    named_fn = tf.function(named, input_signature=signature, autograph=False).get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([named_fn], tf.Module())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    path.write_bytes(converter.convert())


# -- running ------------------------------------------------------------------------------
@contextlib.contextmanager
def _native_stderr_silenced():
    """The process's stderr (file descriptor 2, where C++ logs go) pointed at /dev/null."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def runner(format_name: str, path) -> Callable[[dict], dict]:
    """A function running the file at `path` in its own runtime: {input name: array} ->
    {output name: array}."""
    require(format_name)
    if format_name == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        return lambda feeds: dict(zip(names, session.run(names, feeds)))
    from ai_edge_litert.interpreter import Interpreter

    signature = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    return lambda feeds: signature(**feeds)


def litert_ops(path) -> set[str]:
    """The op names in a LiteRT file, read with no delegate (a Flex op would show as one)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    return {op["op_name"] for op in interpreter._get_ops_details()}


def keras_reference(model, task_spec, x: np.ndarray, batch: int) -> np.ndarray:
    """The original Keras model's outputs on `x` in chunks of `batch` rows, a stateful model
    starting from a zero state and carrying it from chunk to chunk (as a client does), as
    probabilities where it outputs logits. The model's state is reset afterwards."""
    import keras

    reset_states(model)
    try:
        # predict_on_batch runs a compiled graph: an eager call steps a long masked loop in
        # Python (14 s instead of 1 s for 8 messages through sms_spam_symbols).
        with states_tracked(model):
            outputs = [np.asarray(model.predict_on_batch(x[i : i + batch])) for i in range(0, len(x), batch)]
    finally:
        reset_states(model)
    out = np.concatenate(outputs)
    return np.asarray(keras.ops.softmax(out)) if task_spec.train.from_logits else out


def file_outputs(
    run: Callable[[dict], dict], x: np.ndarray, batch: int, states: list[tuple[str, int]], main_output: str
) -> np.ndarray:
    """The file's main output on `x` in chunks of `batch` rows, its state (name, size) fed
    back from call to call starting from zeros."""
    carried = {name: np.zeros((batch, size), np.float32) for name, size in states}
    outputs = []
    for i in range(0, len(x), batch):
        result = run({"inputs": x[i : i + batch], **carried})
        carried = {name: np.asarray(result[f"next_{name}"]) for name in carried}
        outputs.append(np.asarray(result[main_output]))
    return np.concatenate(outputs)


def check_inputs(x_test: np.ndarray | None, model, n: int = CHECK_ROWS, seed: int = 0) -> tuple[np.ndarray, str]:
    """(inputs, where they come from): the first `n` test inputs, or, without data, random
    ones the model accepts (ids of its vocabulary right-padded with 0, values in [0, 1))."""
    if x_test is not None and len(x_test):
        rows = min(n, len(x_test))
        return np.asarray(x_test[:rows]), f"the first {rows} inputs of the test split"
    rng = np.random.default_rng(seed)
    shape, dtype = (n, *model.input_shape[1:]), model.inputs[0].dtype
    if "int" in str(dtype):
        x = rng.integers(1, model.layers[0].input_dim, size=shape).astype(dtype)
        lengths = rng.integers(1, shape[1] + 1, size=n)
        x[np.arange(shape[1]) >= lengths[:, None]] = 0
    else:
        x = rng.random(shape).astype(np.float32)
    return x, f"{n} random inputs (the task's data was not found)"


def write_standalone(
    model, folder: Path, preprocessor, *, task: str, format_name: str, x_test: np.ndarray | None
) -> dict:
    """Write the `format_name` file of `model` and its preprocessing JSON into `folder`,
    after checking the file in its runtime against the Keras model on test inputs (`x_test`,
    model inputs, or random ones when None). Returns the check's record for the metadata."""
    from importlib.metadata import version

    require(format_name)
    spec, fmt = get_task(task), FORMATS[format_name]
    twin = standalone_twin(model, spec)
    input_names, output_names = io_names(twin, spec)
    # A stateful model keeps its fixed batch size (1 for the shipped presets); a LiteRT file
    # takes one row; an ONNX file any number.
    stateful_batch = model.input_shape[0] if is_stateful(model) else None
    batch = stateful_batch or fmt.fixed_batch
    path = folder / fmt.filename
    if format_name == "onnx":
        _write_onnx(twin, path, output_names)
    else:
        _write_litert(twin, path, input_names, output_names, batch)

    x, inputs_from = check_inputs(x_test, model)
    if stateful_batch:  # whole chunks, at least two, so that a carried state is checked too
        chunks = max(2, len(x) // stateful_batch)
        if chunks * stateful_batch > len(x):
            inputs_from += ", repeated to fill two chunks of the model's batch size"
        x = np.resize(x, (chunks * stateful_batch, *x.shape[1:]))
    states = [(name, int(t.shape[-1])) for name, t in zip(input_names[1:], twin.inputs[1:])]
    with _native_stderr_silenced():  # LiteRT logs its delegate's creation on the first call
        got = file_outputs(runner(format_name, path), x, batch or len(x), states, output_names[0])
    expected = keras_reference(model, spec, x, stateful_batch or len(x))  # stateless rows: one call
    if got.shape != expected.shape:
        raise ExportCheckError(
            f"the {format_name} file's outputs in {fmt.runtime} have shape {got.shape}, the Keras "
            f"model's {expected.shape}; nothing was written"
        )
    difference = float(np.max(np.abs(got.astype(np.float64) - expected)))
    if not difference <= TOLERANCE:  # NaN fails too
        raise ExportCheckError(
            f"the {format_name} file's outputs in {fmt.runtime} differ from the Keras model's by "
            f"{difference:.3g} (more than {TOLERANCE:g}) on {inputs_from}; nothing was written"
        )

    client = _client_spec(twin, preprocessor, task=task, fmt=fmt, names=(input_names, output_names), batch=batch)
    (folder / PREPROCESSING_FILE).write_text(json.dumps(client, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return {
        "runtime": f"{fmt.runtime} {version(fmt.runtime)}",
        "inputs": inputs_from,
        "random_inputs": x_test is None or not len(x_test),  # the task's data was not on disk
        "rows": int(len(x)),
        "max_abs_difference": difference,
        "tolerance": TOLERANCE,
    }


def _client_spec(twin, preprocessor, *, task: str, fmt: FileFormat, names, batch: int | None) -> dict:
    """The JSON beside a standalone file: its inputs and outputs (names, shapes, dtypes), the
    class names, and the preprocessing state a client needs to make its inputs."""
    input_names, output_names = names
    in_shapes = [[batch, *t.shape[1:]] for t in twin.inputs]
    out_shapes = [[batch, *t.shape[1:]] for t in twin.outputs]
    return {
        "task": task,
        "format": fmt.name,
        "file": fmt.filename,
        "inputs": [
            {"name": n, "shape": s, "dtype": str(t.dtype)} for n, s, t in zip(input_names, in_shapes, twin.inputs)
        ],
        "outputs": [{"name": n, "shape": s, "dtype": "float32"} for n, s in zip(output_names, out_shapes)],
        "classes": preprocessor.classes,
        "preprocessor": preprocessor.standalone_config(),
    }
