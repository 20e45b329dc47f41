"""Every serving path refuses the same bad inputs (issue 24).

One table of bad human inputs per numeric family, fed through each path a user serves from:
the preset (`Preset.predict`), the SavedModel (`rnn_zoo.export(preset, dir)` then
`tf.saved_model.load`: its `serve` function, and its `serve` signature as TF Serving calls it,
which checks no shape), and the ONNX and LiteRT files through the docs' client (`checked` in
docs/export.md, with the `input_range` of the file's preprocessing.json). Each must refuse
every row and answer the good input. Also here: the declared input ranges themselves, numbers
with thousands separators, non-real inputs, and letter ids and scores."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.errors import DataError, InputError, PresetError

EXPORT_PAGE = Path(__file__).resolve().parents[1] / "docs" / "export.md"


def _with(good, index, value):
    bad = np.array(good, dtype=np.complex128 if isinstance(value, complex) else np.float64)
    bad.flat[index] = value
    return bad


def _table(good, *, window, outside):
    """The bad inputs of a family whose good input is `good` (`window` steps), `outside` a
    finite value just outside its declared range."""
    pad = np.resize(good, (window + 1, *good.shape[1:]))
    return {
        "nan": _with(good, 3, np.nan),
        "inf": _with(good, 3, np.inf),
        "-inf": _with(good, 0, -np.inf),
        "1e38": np.full_like(good, 1e38, dtype=np.float64),
        "-1e30": _with(good, 0, -1e30),
        "just outside the range": _with(good, 1, outside),
        f"window {window - 1}": good[:-1],
        f"window {window + 1}": pad,
        "complex": _with(good, 2, 1 + 1j),
        "text": np.asarray(good).astype(str),
    }


PRICES = np.linspace(1000.0, 1050.0, 60)
SINE = np.sin(3.0 + np.arange(10))
PAIRS = np.zeros((100, 2))
PAIRS[:, 0] = np.linspace(0, 1, 100)
PAIRS[[25, 75], 1] = 1.0


def _marked(*steps, value=1.0):
    """The good pairs with their markers moved to `steps` (each set to `value`)."""
    pairs = PAIRS.copy()
    pairs[:, 1] = 0.0
    pairs[list(steps), 1] = value
    return pairs


BAD = {
    "prices": {
        **_table(PRICES, window=60, outside=78880.0 * 1.001),
        "zero": _with(PRICES, 0, 0.0),
        "negative": -PRICES,
        "1e-30": np.full(60, 1e-30),
    },
    "values": {**_table(SINE, window=10, outside=100.5), "1e30": np.full(10, 1e30)},
    "pairs": {
        **_table(PAIRS, window=100, outside=1.001),
        "one column": PAIRS[:, :1],
        # Inside the old +-100 range, but not the adding task's inputs: each got an answer.
        "values of 50": PAIRS * [50.0, 1.0],
        "three markers": _marked(25, 50, 75),
        "one marker": _marked(25),
        "both markers in one half": _marked(10, 25),
        "markers of 0.5": _marked(10, 25, 60, 75, value=0.5),
        "a negative value": _with(PAIRS, 2, -0.25),
    },
}
# task -> (its good input, its table); one task per preprocessor kind.
TASKS = {
    "stock_gru_returns": (PRICES, BAD["prices"]),
    "stock_lstm": (PRICES, BAD["prices"]),
    "sine_regression": (SINE, BAD["values"]),
    "sin_to_cos": (SINE, BAD["values"]),
    "adding_problem_lstm": (PAIRS, BAD["pairs"]),
}
CASES = [(task, label) for task, (_, table) in TASKS.items() for label in table]
FAST_SAVED_MODEL = {"stock_gru_returns"}  # the SavedModel of the others: slow (an export each)


def _bad(task, label):
    return TASKS[task][1][label]


@pytest.fixture(scope="module")
def presets():
    loaded = {}

    def preset(task):
        if task not in loaded:
            loaded[task] = rnn_zoo.load_preset(task)
        loaded[task].reset_state()
        return loaded[task]

    return preset


@pytest.mark.parametrize(("task", "label"), CASES)
def test_the_preset_refuses_every_bad_input_in_one_line(task, label, presets):
    preset = presets(task)
    preset.predict(TASKS[task][0])  # the good input is answered
    with pytest.raises(PresetError) as refused:
        preset.predict(_bad(task, label))
    assert "\n" not in str(refused.value)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory):
    import tensorflow as tf

    made = {}

    def saved_model(task):
        if task not in made:
            folder = rnn_zoo.export(rnn_zoo.load_preset(task), tmp_path_factory.mktemp("saved") / task)
            made[task] = tf.saved_model.load(str(folder))
        if hasattr(made[task], "reset_state"):
            made[task].reset_state()
        return made[task]

    return saved_model


@pytest.mark.parametrize(
    ("task", "label"),
    [pytest.param(*case, marks=[] if case[0] in FAST_SAVED_MODEL else [pytest.mark.slow]) for case in CASES],
)
def test_the_saved_model_refuses_every_bad_input_through_its_function_and_its_signature(task, label, saved_models):
    import tensorflow as tf

    loaded = saved_models(task)
    name = rnn_zoo.load_preset(task).preprocessor.input_name
    good = tf.constant(np.asarray(TASKS[task][0], np.float32)[None])
    assert np.isfinite(loaded.serve(good)["prediction"].numpy()).all()
    assert np.isfinite(loaded.signatures["serve"](**{name: good})["prediction"].numpy()).all()
    bad = np.asarray(_bad(task, label))[None]
    bad = bad.astype(np.float32) if bad.dtype.kind == "f" else bad
    refusals = (tf.errors.InvalidArgumentError, TypeError, ValueError)
    with pytest.raises(refusals):
        loaded.serve(tf.constant(bad))
    with pytest.raises(refusals):  # TF Serving's way in: no shape is checked on the way
        loaded.signatures["serve"](**{name: tf.constant(bad)})


def test_the_saved_model_signature_names_the_wrong_window(saved_models):
    import tensorflow as tf

    serve = saved_models("stock_gru_returns").signatures["serve"]
    for prices in (np.linspace(1000, 1050, 61), np.linspace(1000, 1050, 59)):
        with pytest.raises(
            tf.errors.InvalidArgumentError, match=re.escape("expected a window of prices of shape (60,)")
        ):
            serve(prices=tf.constant(prices[None], tf.float32))


def _client_namespace() -> dict:
    """The docs' loader block (`load`, `checked`), run as written."""
    section = EXPORT_PAGE.read_text(encoding="utf-8").split("<!-- clients:start -->")[1]
    loader = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    namespace: dict = {}
    exec(loader, namespace)
    return namespace


@pytest.fixture(scope="module")
def clients(tmp_path_factory, tiny_data_dir):
    made = {}
    namespace = _client_namespace()

    def client(task, format_name):
        if (task, format_name) not in made:
            folder = tmp_path_factory.mktemp("standalone") / f"{task}-{format_name}"
            rnn_zoo.export(rnn_zoo.load_preset(task), folder, format=format_name, data_dir=tiny_data_dir)
            made[task, format_name] = namespace["load"](str(folder))
        return made[task, format_name], namespace["checked"]

    return client


@pytest.mark.slow
@pytest.mark.parametrize("format_name", ["onnx", "litert"])
@pytest.mark.parametrize("task", list(TASKS))
def test_the_docs_clients_of_onnx_and_litert_refuse_every_bad_input(task, format_name, clients):
    (run, spec), checked = clients(task, format_name)
    assert spec["preprocessor"]["input_range"] == list(rnn_zoo.load_preset(task).preprocessor.input_range)
    good = checked(TASKS[task][0], spec)
    x = good.astype(np.float32).reshape(1, *spec["inputs"][0]["shape"][1:])
    states = {i["name"]: np.zeros([1, *i["shape"][1:]], np.float32) for i in spec["inputs"][1:]}
    assert np.isfinite(run({"inputs": x, **states})["prediction"]).all()
    for label, bad in TASKS[task][1].items():
        with pytest.raises(ValueError) as refused:
            checked(bad, spec)
        assert "\n" not in str(refused.value), label
    low, high = spec["preprocessor"]["output_range"]
    assert [low, high] == list(rnn_zoo.load_preset(task).preprocessor.output_range)
    answered = _client_namespace()["answered"]
    assert answered(low, spec) == low
    for answer in (np.nan, low - abs(low) * 1e-3 - 1e-6, high * 1.001 + 1e-6):
        with pytest.raises(ValueError, match="the range an honest answer takes"):
            answered(answer, spec)


# -- the declared ranges ----------------------------------------------------------------
def test_the_input_range_is_fitted_from_the_training_inputs(tiny_data_dir):
    stock = rnn_zoo.load_task_data("stock_gru", data_dir=tiny_data_dir)
    low, high = stock.preprocessor.input_range
    assert (low, high) == (stock.train_prices.min() / 100, stock.train_prices.max() * 100)
    returns = rnn_zoo.load_task_data("stock_gru_returns", data_dir=tiny_data_dir)
    assert returns.preprocessor.input_range == (low, high)
    for task in ("sine_regression", "sin_to_cos"):
        data = rnn_zoo.load_task_data(task)
        largest = float(np.abs(data.x_train).max())
        assert data.preprocessor.input_range == (-100 * largest, 100 * largest), task
        assert data.preprocessor.get_config()["input_range"] == (-100 * largest, 100 * largest)
    # The adding task defines its inputs: the training pairs' own range, [0, 1], is the honest one.
    adding = rnn_zoo.load_task_data("adding_problem_lstm", num_train=200, num_test=10)
    assert (adding.x_train.min(), adding.x_train.max()) == (0.0, 1.0)
    assert adding.preprocessor.input_range == (0.0, 1.0)
    assert adding.preprocessor.output_range == (-0.5, 2.5)


NUMERIC_PRESETS = [n for n in rnn_zoo.list_presets() if rnn_zoo.get_task(n).family in ("stock", "sine", "adding")]


@pytest.mark.parametrize("name", NUMERIC_PRESETS)
def test_each_shipped_numeric_preset_declares_the_range_of_its_own_training_data(name, request):
    preset = rnn_zoo.load_preset(name)
    meta = preset.metadata
    data_dir = request.getfixturevalue("real_data_dir") if preset.preprocessor.input_name == "prices" else None
    fitted = rnn_zoo.load_task_data(name, data_dir=data_dir, seed=meta["seed"], **meta["data_options"])
    assert preset.preprocessor.input_range == fitted.preprocessor.input_range


@pytest.mark.parametrize(
    "value",
    [None, [1.0], [5.0, 1.0], [1.0, 1.0], [0.0, 1e400], ["0", "1"], [True, 2.0], 3.0],
    ids=["missing", "one", "reversed", "empty", "inf", "strings", "bool", "number"],
)
def test_a_bad_input_range_in_preprocessor_json_is_refused_in_one_line(value, tmp_path):
    folder = tmp_path / "preset"
    shutil.copytree(rnn_zoo.shipped.shipped_path("sine_regression"), folder)
    path = folder / "preprocessor.json"
    record = json.loads(path.read_text())
    if value is None:
        del record["config"]["input_range"]
    else:
        record["config"]["input_range"] = value
    path.write_text(json.dumps(record).replace("Infinity", "1e400"))
    with pytest.raises(PresetError, match="input_range") as refused:
        rnn_zoo.load_preset(folder)
    assert "\n" not in str(refused.value)


# -- numbers inside their ranges that contradict each other ------------------------------------
@pytest.mark.parametrize(
    ("task", "change", "field"),
    [
        ("stock_gru", {"scale": 2e-15, "offset": -1e15}, "config.scale"),  # answered 5e+29
        ("stock_gru", {"offset": 1e6}, "config.offset"),  # answered -7.0839e+08
        ("stock_gru", {"offset": 0.0}, "config.offset"),
        ("stock_gru", {"scale": 0.0014116438027425415 * 1.001}, "config.scale"),
        ("stock_gru", {"input_range": [0.5, 78880.0]}, "config.input_range"),  # scale and offset no longer its
        ("stock_gru_returns", {"return_scale": 9.5}, "config.return_scale"),  # > highest / lowest - 1
        ("sine_regression", {"input_range": [-1e30, 1e30]}, "config.input_range"),
        ("sine_regression", {"input_range": [-50.0, 100.0]}, "config.input_range"),
        ("adding_problem_gru", {"input_range": [-100.0, 100.0]}, "config.input_range"),  # the old, too wide
    ],
)
def test_numbers_of_preprocessor_json_that_contradict_its_input_range_are_refused(task, change, field, tmp_path):
    folder = tmp_path / task
    shutil.copytree(rnn_zoo.shipped.shipped_path(task), folder)
    path = folder / "preprocessor.json"
    record = json.loads(path.read_text())
    record["config"].update(change)
    path.write_text(json.dumps(record))
    with pytest.raises(PresetError, match=re.escape(field)) as refused:
        rnn_zoo.load_preset(folder)
    assert "\n" not in str(refused.value) and str(path) in str(refused.value)


# task -> (its good input, a head bias that sends its answer outside the declared output range)
OFF_RANGE = {"stock_gru_returns": (PRICES, 1e4), "sine_regression": (SINE, 1e3), "adding_problem_gru": (PAIRS, 10.0)}


def _pushed_off_range(task):
    """The task's preset with its head's bias raised until its answers leave the output range."""
    preset = rnn_zoo.load_preset(task)
    head = preset.model.get_layer("head")
    kernel, bias = head.get_weights()
    head.set_weights([kernel, bias + OFF_RANGE[task][1]])
    return preset


@pytest.mark.parametrize("task", list(OFF_RANGE))
def test_an_answer_outside_the_declared_output_range_is_refused(task, tmp_path):
    import tensorflow as tf

    good = OFF_RANGE[task][0]
    low, high = rnn_zoo.load_preset(task).preprocessor.output_range
    assert low <= rnn_zoo.load_preset(task).predict(good)["prediction"] <= high
    preset = _pushed_off_range(task)
    with pytest.raises(PresetError, match="the range an honest answer takes") as refused:
        preset.predict(good)
    assert "\n" not in str(refused.value)
    loaded = tf.saved_model.load(str(rnn_zoo.export(preset, tmp_path / "saved")))
    x = tf.constant(np.asarray(good, np.float32)[None])
    for serve in (loaded.serve, lambda v: loaded.signatures["serve"](**{preset.preprocessor.input_name: v})):
        with pytest.raises(tf.errors.InvalidArgumentError, match="the range an honest answer takes"):
            serve(x)


# -- other ways a number is misread ----------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["1,101.5 1,105.0 1,108.0 1,110.0 1,111.0", "1101,5 1105,0 1108,0 1110,0 1111,0", "1,101.5, 1,105.0"],
)
def test_thousands_separators_and_decimal_commas_are_refused_never_misread(text):
    pre = rnn_zoo.load_task_data("sine_regression").preprocessor
    for shape in ((5,), (10,)):  # never read as 10 numbers, nor as 5
        with pytest.raises(InputError, match=r"comma inside a number: .*\(1101\.5, not 1,101\.5\)") as refused:
            pre.parse_input(text, shape)
        assert "\n" not in str(refused.value)


def test_numbers_separated_by_commas_or_spaces_are_read_as_before():
    pre = rnn_zoo.load_task_data("sine_regression").preprocessor
    for text in ("1 2 3 4 5", "1,2,3,4,5", "1, 2, 3, 4, 5", " 1 ,2 , 3 ,4 5 "):
        assert pre.parse_input(text, (5,)).tolist() == [1, 2, 3, 4, 5], text
    for text in ("101,102,103,104,105", "1,100,1,101,1"):  # integers alone: a list, whatever their size
        assert pre.parse_input(text, (5,)).tolist() == [float(v) for v in text.split(",")], text
    assert pre.parse_input("0.5,100.5,1.5,101.5,2", (5,)).tolist() == [0.5, 100.5, 1.5, 101.5, 2]


@pytest.mark.parametrize(
    "text",
    ["1,100.5,1,101.5", "1000.5,1,101.5,7", "-1,101.5,3,4", "1,100.,2,200.5", "12,345.6,7,8"],
)
def test_thousands_separators_in_a_list_separated_by_commas_are_refused(text):
    pre = rnn_zoo.load_task_data("sine_regression").preprocessor
    n = len(text.split(","))
    for shape in ((n,), (n // 2,)):  # never read as n numbers, nor as n / 2
        with pytest.raises(InputError, match=r"thousands separator .*\(1101\.5, not 1,101\.5\)") as refused:
            pre.parse_input(text, shape)
        assert "\n" not in str(refused.value)


def test_the_command_line_refuses_a_comma_only_list_with_thousands_separators(capsys):
    from rnn_zoo.cli import main

    prices = ",".join(f"1,{100 + i}.5" for i in range(30))  # 30 prices, read as 60 numbers before
    assert main(["predict", "stock_gru", prices]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "thousands separator" in err


def test_the_command_line_refuses_thousands_separators_in_one_line(capsys):
    from rnn_zoo.cli import main

    prices = " ".join(f"1,{100 + i}.5" for i in range(60))
    assert main(["predict", "stock_gru_returns", prices]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "comma inside a number" in err


def test_letter_ids_and_scores_are_checked():
    codec = rnn_zoo.load_task_data("letters_embedding_1pre1").codec  # alphabet abcde
    assert codec.decode(4) == codec.decode(np.int64(4)) == "e"
    assert codec.decode(np.eye(5)[[4, 0]]) == ["e", "a"]
    for bad in (-1, 5, 2.0, np.float32(2), True, "2"):
        with pytest.raises(DataError, match="expected a letter id, a whole number from 0 to 4"):
            codec.decode(bad)
    for bad in (np.ones(4), np.ones(6), np.ones((2, 26)), [0.1, np.nan, 0.2, 0.3, 0.4], np.array(["a"] * 5)):
        with pytest.raises(DataError, match="expected 5 finite class scores per pattern"):
            codec.decode(bad)


@pytest.mark.slow
def test_the_mnist_saved_model_signature_refuses_an_image_of_another_size(saved_models):
    import tensorflow as tf

    serve = saved_models("mnist_lstm").signatures["serve"]
    assert serve(images=tf.zeros((1, 28, 28), tf.uint8))["prediction"].shape == (1,)
    for shape in ((1, 30, 28), (1, 27, 28), (1, 28, 29)):  # 30 rows of 28 pixels were read as an image
        with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape("expected uint8 images of shape (28, 28)")):
            serve(images=tf.zeros(shape, tf.uint8))
