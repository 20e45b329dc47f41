"""Every registered task's model, checked against the tutorial's architecture."""

import keras
import numpy as np
import pytest
from conftest import fast_per_family, random_batch

import rnn_zoo
from rnn_zoo.models import resolve
from rnn_zoo.registry import CELLS

# Parameter counts of the reference architectures, worked out by hand from the specs:
# SimpleRNN(u) on d inputs: u*d + u*u + u; LSTM: 4x that; GRU (reset_after): 3*(u*d + u*u + 2u);
# Dense(u) on d: d*u + u; Embedding(v, e): v*e.
EXPECTED_PARAMS = {
    "letters_1pre1": (3 * 5 + 9 + 3) + (3 * 5 + 5),  # 47
    "letters_4pre1": (3 * 5 + 9 + 3) + (3 * 5 + 5),  # 47
    "letters_embedding_1pre1": 5 * 2 + (3 * 2 + 9 + 3) + (3 * 5 + 5),  # 48
    "letters_embedding_4pre1": 26 * 2 + (10 * 2 + 100 + 10) + (10 * 26 + 26),  # 468
    "stock_simplernn": (80 + 6400 + 80) + (8000 + 10000 + 100) + 101,  # 24761
    "stock_lstm": 4 * (80 + 6400 + 80) + 4 * (8000 + 10000 + 100) + 101,  # 98741
    "stock_gru": 3 * (80 + 6400 + 160) + 3 * (8000 + 10000 + 200) + 101,  # 74621
    "sine_regression": (10 + 100 + 10) + 11,  # 131
    "sin_to_cos": (32 + 1024 + 32) + 33,  # 1121
    "mnist_lstm": (28 * 128 + 128) + 4 * (128 * 128 + 128 * 128 + 128) + (128 * 10 + 10),  # 136586
    # vocabulary of the shipped preset (the real collection, split seed 0): 859 words + padding + OOV
    "sms_spam_rnn": 861 * 50 + (10 * 50 + 100 + 10) + (10 * 2 + 2),  # 43682
    # Tuned variants. Bidirectional doubles the recurrent weights and the head's input.
    "letters_embedding_1pre1_tuned": 5 * 2 + (3 * 2 + 9 + 3) + (3 * 5 + 5),  # 48
    "sine_regression_tuned": (10 + 100 + 10) + 11,  # 131
    "sin_to_cos_tuned": (32 + 1024 + 32) + 33,  # 1121
    "mnist_lstm_tuned": (28 * 128 + 128) + 2 * 4 * (128 * 128 + 128 * 128 + 128) + (256 * 10 + 10),  # 269450
    "stock_gru_returns": 3 * (16 + 256 + 32) + 17,  # 929
    # vocabulary of the tuned SMS recipe's shipped preset (split seed 0): 3566 words + padding + OOV
    "sms_spam_tuned": 3568 * 64 + 2 * 4 * (32 * 64 + 32 * 32 + 32) + (64 * 2 + 2),  # 253314
    # Linear variants: a SimpleRNN without tanh has the same weights as one with it.
    "sine_regression_linear": (8 + 64 + 8) + 9,  # 89
    "sin_to_cos_linear": (8 + 64 + 8) + 9,  # 89
    # symbol tokens of the shipped preset (split seed 0): 6964 tokens + padding + OOV; BiGRU(32)
    "sms_spam_symbols": 6966 * 64 + 2 * 3 * (32 * 64 + 32 * 32 + 2 * 32) + (64 * 2 + 2),  # 464770
}
TASKS = rnn_zoo.list_tasks()


def _recurrent(model):
    return [
        layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
        for layer in model.layers
        if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))
    ]


@pytest.mark.parametrize("name", sorted(EXPECTED_PARAMS))
def test_reference_parameter_count(name):
    """(A family added later checks its own counts through `harness.check_task(parameters=)`.)"""
    assert rnn_zoo.build(name).count_params() == EXPECTED_PARAMS[name]


@pytest.mark.parametrize("name", TASKS)
def test_forward_pass_shape(name):
    spec = rnn_zoo.get_task(name)
    n = spec.train.batch_size if spec.model.stateful else 8
    x, y = random_batch(spec, n=n)
    out = rnn_zoo.build(name, compile=False)(x, training=False)
    steps = (spec.input_shape[0],) if spec.model.return_sequences else ()
    assert tuple(out.shape) == (n, *steps, spec.model.head_units)
    assert np.isfinite(np.asarray(out)).all()


@pytest.mark.parametrize("name", TASKS)
def test_reference_compile_settings(name):
    spec = rnn_zoo.get_task(name)
    model = rnn_zoo.build(name)
    assert type(model.optimizer).__name__.lower() == spec.train.optimizer
    assert np.isclose(float(model.optimizer.learning_rate), spec.train.learning_rate)
    assert model.name == name


def _recurrent_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            yield layer.forward_layer
            yield layer.backward_layer
        elif isinstance(layer, keras.layers.RNN):
            yield layer


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("cell", list(CELLS))
def test_recurrent_layers_keep_the_cudnn_path_open(name, cell):
    # What Keras needs to pick cuDNN kernels on a GPU: standard LSTM / GRU layers, default
    # activations, no recurrent dropout, no unrolling. SimpleRNN has no cuDNN kernel; the
    # zoo unrolls it on sequences of at most MAX_UNROLLED_STEPS steps (faster on CPU).
    from rnn_zoo.models import MAX_UNROLLED_STEPS

    linear = rnn_zoo.get_task(name).model.activation is None
    if linear and cell != "simple_rnn":  # only SimpleRNN may drop its tanh, so LSTM / GRU never do
        with pytest.raises(rnn_zoo.errors.InvalidOverrideError, match="linear recurrence"):
            rnn_zoo.build(name, cell=cell)
        return
    model = rnn_zoo.build(name, cell=cell)
    layers = list(_recurrent_layers(model))
    assert layers
    for layer in layers:
        assert type(layer) in (keras.layers.SimpleRNN, keras.layers.LSTM, keras.layers.GRU)
        assert layer.cell.recurrent_dropout == 0 and layer.cell.dropout == 0
        assert layer.cell.activation is (keras.activations.linear if linear else keras.activations.tanh)
        if cell == "simple_rnn":
            assert layer.unroll == (rnn_zoo.get_task(name).input_shape[0] <= MAX_UNROLLED_STEPS)
        else:
            assert not layer.unroll and layer.use_cudnn == "auto"
            assert layer.cell.recurrent_activation is keras.activations.sigmoid
            if cell == "gru":
                assert layer.cell.reset_after


@pytest.mark.parametrize("name", fast_per_family(TASKS))
def test_a_few_optimizer_steps_lower_the_loss(name):
    keras.utils.set_random_seed(0)
    spec = rnn_zoo.get_task(name)
    model = rnn_zoo.build(name)
    n = spec.train.batch_size if spec.model.stateful else 16
    x, y = random_batch(spec, n=n)

    def loss():
        model.reset_metrics()
        for layer in model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()
        return float(model.test_on_batch(x, y, return_dict=True)["loss"])

    before = loss()
    for _ in range(15):
        for layer in model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()
        model.train_on_batch(x, y)
    assert loss() < before


@pytest.mark.parametrize("name", fast_per_family(TASKS))
def test_keras_file_round_trip_in_safe_mode(name, tmp_path):
    spec = rnn_zoo.get_task(name)
    model = rnn_zoo.build(name)
    x, y = random_batch(spec, n=spec.train.batch_size if spec.model.stateful else 8)
    model.train_on_batch(x, y)  # so the optimizer's state travels too
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    for m in (model, loaded):
        for layer in m.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
    assert loaded.count_params() == model.count_params()


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("cell", list(CELLS))
def test_cell_override_swaps_every_recurrent_layer(name, cell):
    if rnn_zoo.get_task(name).model.activation is None and cell != "simple_rnn":
        pytest.skip("a linear recurrence is a SimpleRNN's only (checked in the cuDNN test)")
    layers = _recurrent(rnn_zoo.build(name, compile=False, cell=cell))
    expected = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    assert layers and all(type(layer) is expected for layer in layers)


@pytest.mark.parametrize("name", TASKS)
def test_bidirectional_doubles_the_recurrent_output_width(name):
    spec = rnn_zoo.get_task(name)
    model = rnn_zoo.build(name, compile=False, bidirectional=True)
    wrappers = [layer for layer in model.layers if isinstance(layer, keras.layers.Bidirectional)]
    assert len(wrappers) == len(spec.model.units)
    assert wrappers[-1].output.shape[-1] == 2 * spec.model.units[-1]


def test_units_and_num_layers_overrides():
    model = rnn_zoo.build("letters_4pre1", units=[16, 8])
    layers = _recurrent(model)
    assert [layer.units for layer in layers] == [16, 8]
    assert [layer.return_sequences for layer in layers] == [True, False]
    assert [layer.units for layer in _recurrent(rnn_zoo.build("stock_lstm", num_layers=3))] == [80, 100, 100]
    assert [layer.units for layer in _recurrent(rnn_zoo.build("stock_lstm", num_layers=1))] == [80]
    assert [layer.units for layer in _recurrent(rnn_zoo.build("stock_lstm", units=32, num_layers=3))] == [32] * 3
    assert [layer.units for layer in _recurrent(rnn_zoo.build("stock_lstm", units=32))] == [32, 32]


def test_dropout_override_goes_between_recurrent_layers_not_inside():
    model = rnn_zoo.build("letters_4pre1", units=[4, 4], dropout=0.25)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["SimpleRNN", "Dropout", "SimpleRNN", "Dropout", "Dense"]
    assert all(layer.recurrent_dropout == 0 and layer.dropout == 0 for layer in _recurrent(model))
    no_dropout = rnn_zoo.build("stock_gru", dropout=0)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in no_dropout.layers)


def test_optimizer_learning_rate_and_loss_overrides():
    model = rnn_zoo.build("sine_regression", optimizer="sgd", learning_rate=1e-3, loss="mae")
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert np.isclose(float(model.optimizer.learning_rate), 1e-3)
    assert model.loss == "mean_absolute_error"
    opt = keras.optimizers.Adam(0.05)
    assert rnn_zoo.build("sine_regression", optimizer=opt).optimizer is opt


def test_embedding_overrides():
    model = rnn_zoo.build("sms_spam_rnn", vocab_size=100, embedding_dim=8)
    emb = model.get_layer("embedding")
    assert (emb.input_dim, emb.output_dim, emb.mask_zero) == (100, 8, True)


@pytest.mark.backend_free
def test_none_override_keeps_the_default():
    assert resolve(rnn_zoo.get_task("stock_lstm"), {"units": None, "cell": None})[0].units == (80, 100)


def test_stateful_batch_size_override_fixes_the_input_batch():
    model = rnn_zoo.build("sin_to_cos", batch_size=4)
    assert model.input_shape == (4, 10, 1)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"cell": "transformer"}, "cell='transformer' is invalid: expected one of simple_rnn, lstm, gru"),
        ({"units": 0}, "units=0 is invalid"),
        ({"units": "big"}, "units='big' is invalid"),
        ({"units": []}, "units=[] is invalid"),
        ({"units": [8, True]}, "units=True is invalid"),
        ({"num_layers": 0}, "num_layers=0 is invalid"),
        ({"units": [8, 8], "num_layers": 3}, "has 2 layers but num_layers=3"),
        ({"units": 32, "num_layers": 2.5}, "num_layers=2.5 is invalid"),
        ({"dropout": 1.5}, "dropout=1.5 is invalid"),
        ({"bidirectional": "yes"}, "bidirectional='yes' is invalid"),
        ({"learning_rate": -1}, "learning_rate=-1 is invalid"),
        ({"optimizer": "adamax"}, "optimizer='adamax' is invalid"),
        ({"optimizer": keras.optimizers.SGD(), "learning_rate": 0.1}, "inside the optimizer"),
        ({"loss": "hinge"}, "loss='hinge' is invalid"),
        ({"embedding_dim": 4}, "has no Embedding layer"),
        ({"batch_size": 4}, "is not stateful"),
        ({"unitz": 4}, "unknown override 'unitz' (did you mean 'units'?)"),
    ],
)
@pytest.mark.backend_free
def test_bad_overrides_raise_a_clear_error(overrides, message):
    with pytest.raises(rnn_zoo.InvalidOverrideError) as info:
        rnn_zoo.build("letters_4pre1", **overrides)
    assert message in str(info.value)
