"""Sine regression (next value) and sine-to-cosine (sequence to sequence, stateful)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..backend import tf_call
from ..classical import ClassicalModel
from ..data import RegressionData, Serving
from ..errors import PresetError
from ..preprocessing import RANGE_MARGIN, Range, RangedInput
from ..registry import Goal, ModelSpec, TaskSpec, TrainSpec, get_task, register


@dataclasses.dataclass(frozen=True)
class SineWindow(RangedInput):
    """Values go to the model as they are, one feature per step. With `sequence_output`
    (sin -> cos) the model answers every step, and its state carries from call to call.
    Values outside `input_range` (100x the training values' largest magnitude) are refused."""

    steps: int
    sequence_output: bool = False

    input_name = "values"
    input_description = "a window of values"
    ranges = {"steps": Range(1, 100_000)}
    output_description = "the predicted value"

    def __post_init__(self):
        super().__post_init__()
        low, high = self.input_range
        # Fitted as [-m, m] for m 100x the training values' largest magnitude, and a sine value's is at most 1.
        if not (math.isclose(low, -high, rel_tol=1e-6) and high <= RANGE_MARGIN * (1 + 1e-6)):
            raise PresetError(
                f"config.input_range must be [-m, m] with m at most {RANGE_MARGIN:g} ({RANGE_MARGIN:g}x the "
                f"largest magnitude of sine values, which is 1), got [{low:g}, {high:g}]"
            )

    def check_task(self, spec):
        if self.sequence_output != spec.model.return_sequences:
            return f"sequence_output must be {str(spec.model.return_sequences).lower()} for task {spec.name!r}"
        return None

    @property
    def input_shape(self):
        return (self.steps, 1)

    def example_input(self):
        return np.sin(np.arange(self.steps) * (np.pi / self.steps if self.sequence_output else 1.0)).astype(np.float32)

    def serving(self, model):
        """`steps` values -> the next value, or (sin -> cos) one value per step. A
        stateful model's batch size is fixed; its state carries from call to call and the
        export's `reset_state` endpoint starts a new curve."""
        import tensorflow as tf

        call = tf_call(model)

        batch = model.input_shape[0] if self.sequence_output else None

        def serve(values):
            # The model reads the checked tensor: a refused chunk never reaches (or moves) its state.
            values = self.in_range(values, "values", (self.steps,))
            out = call(values[..., None])
            return {"prediction": self.checked_prediction(out[..., 0] if self.sequence_output else out[:, 0])}

        return Serving(serve, [tf.TensorSpec([batch, self.steps], tf.float32, name=self.input_name)])


def learned_response(model, frequency: float, steps: int | None = None) -> dict[str, float]:
    """What a trained linear SimpleRNN (activation None) with a Dense head computes, read off
    its weights: a linear filter of its inputs. Returns the filter's gain and phase (radians)
    at `frequency` (radians per step) and its constant offset. `steps` is the window it
    reads (None: a state carried without end, as in a stateful model, which needs every
    eigenvalue of the recurrent matrix inside the unit circle).

    The input k steps before the output reaches it through kernel @ recurrent^k @ head, so
    the response is the sum over k of that times exp(-i frequency k)."""
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.Dropout)]
    if len(layers) != 2 or not isinstance(layers[0], keras.layers.SimpleRNN) or layers[1].name != "head":
        raise ValueError(
            f"{model.name} is not one SimpleRNN layer and a Dense head: {[layer.name for layer in layers]}"
        )
    rnn = layers[0]
    if rnn.cell.activation.__name__ != "linear":
        raise ValueError(f"{model.name}'s recurrent layer is not linear ({rnn.cell.activation.__name__})")
    kernel, recurrent, bias = (np.asarray(w, dtype=np.float64) for w in rnn.get_weights())
    if steps is None and max(abs(np.linalg.eigvals(recurrent))) >= 1:
        raise ValueError(
            f"{model.name}'s recurrent matrix has an eigenvalue on or outside the unit circle: "
            "its response to a state carried without end does not converge; pass steps="
        )
    head_kernel, head_bias = (np.asarray(w, dtype=np.float64) for w in model.get_layer("head").get_weights())
    eye = np.eye(len(recurrent))
    shift = np.exp(-1j * frequency) * recurrent
    if steps is None:
        geometric, constant = np.linalg.inv(eye - shift), np.linalg.inv(eye - recurrent)
    else:
        geometric = (eye - np.linalg.matrix_power(shift, steps)) @ np.linalg.inv(eye - shift)
        constant = (eye - np.linalg.matrix_power(recurrent, steps)) @ np.linalg.inv(eye - recurrent)
    response = complex((kernel @ geometric @ head_kernel)[0, 0])
    offset = float((bias @ constant @ head_kernel)[0] + head_bias[0])
    return {"gain": abs(response), "phase": float(np.angle(response)), "offset": offset}


@dataclasses.dataclass
class SineData(RegressionData):
    def fit_classical(self):
        """Least squares on the window's values. The target satisfies sin(k + 10) =
        2 cos(1) sin(k + 9) - sin(k + 8) (the angle-sum identity), a linear function of the
        last two inputs, so this model is exact up to float32 rounding of the data."""
        from sklearn.linear_model import LinearRegression

        model = LinearRegression().fit(self.x_train[..., 0].astype(np.float64), self.y_train[:, 0])

        def predict(data):
            return model.predict(data.x_test[..., 0].astype(np.float64))[:, None]

        return ClassicalModel(
            "linear regression on the window",
            predict,
            {"last_two_weights": [round(float(w), 6) for w in model.coef_[-2:]]},
        )

    def serving_examples(self, n):
        return {"values": self.x_test[self._test_rows(n), :, 0]}


@dataclasses.dataclass
class SinToCosData(RegressionData):
    """Consecutive chunks of one curve; the model's state carries from chunk to chunk."""

    baseline_name = "always 0, the mean of cos"

    def baseline_predictions(self):
        return np.zeros_like(self.y_test)

    def fit_classical(self):
        """Least squares of cos(x_t) on sin(x_t) and sin(x_{t-1}) along the curve. With the
        step h between points, sin(x - h) = sin(x) cos(h) - cos(x) sin(h), so cos(x) =
        (cos(h) sin(x) - sin(x - h)) / sin(h): a two-tap linear filter is exact. The first
        test point's previous input is the last training one, as the RNN's state carries it."""
        from sklearn.linear_model import LinearRegression

        stream = self.x_train.reshape(-1).astype(np.float64)
        model = LinearRegression().fit(np.stack([stream[1:], stream[:-1]], 1), self.y_train.reshape(-1)[1:])
        last_train = stream[-1]

        def predict(data):
            test = data.x_test.reshape(-1).astype(np.float64)
            previous = np.concatenate([[last_train], test[:-1]])
            return model.predict(np.stack([test, previous], 1)).reshape(data.y_test.shape)

        return ClassicalModel(
            "linear filter on sin(x_t) and sin(x_t-1)", predict, {"weights": [round(float(w), 6) for w in model.coef_]}
        )

    def serving_examples(self, n):
        return {"values": self.x_test[self._test_rows(n), :, 0]}


def load_sine(
    *,
    num_sequences: int = 2000,
    num_train: int = 1500,
    steps: int = 10,
    data_dir=None,
    seed: int = 0,
    preprocessor: SineWindow | None = None,
) -> SineData:
    """k ~ U(1, 50); inputs sin(k + j) for j < steps, target sin(k + steps)."""
    steps = preprocessor.steps if preprocessor else steps
    k = np.random.default_rng(seed).uniform(1, 50, size=(num_sequences, 1))
    x = np.sin(k + np.arange(steps))[..., None].astype(np.float32)
    y = np.sin(k + steps).astype(np.float32)
    preprocessor = preprocessor or SineWindow(steps, input_range=SineWindow.signed_range(x[:num_train]))
    return SineData(
        x[:num_train], y[:num_train], x[num_train:], y[num_train:], source="generated", preprocessor=preprocessor
    )


def load_sin_to_cos(
    *,
    train_steps: int = 1000,
    test_steps: int = 100,
    points: int = 10,
    data_dir=None,
    seed: int = 0,
    preprocessor: SineWindow | None = None,
) -> SinToCosData:
    """Chunk s samples x in [s*pi, (s+1)*pi) at `points` points (end excluded, so chunks
    tile the curve); input sin(x), target cos(x). The test chunks continue the curve
    right after the training ones. Deterministic: `seed` does not change it."""
    points = preprocessor.steps if preprocessor else points
    s = np.arange(train_steps + test_steps)[:, None]
    x = (s + np.arange(points) / points) * np.pi
    inputs = np.sin(x)[..., None].astype(np.float32)
    targets = np.cos(x)[..., None].astype(np.float32)
    fitted = SineWindow.signed_range(inputs[:train_steps])
    preprocessor = preprocessor or SineWindow(points, sequence_output=True, input_range=fitted)
    return SinToCosData(
        inputs[:train_steps],
        targets[:train_steps],
        inputs[train_steps:],
        targets[train_steps:],
        source="generated",
        stateful=True,
        preprocessor=preprocessor,
    )


register(
    TaskSpec(
        name="sine_regression",
        family="sine",
        description="next value of sin(k + j) from 10 steps",
        recipe="'RNN regression' tutorial: SimpleRNN(10) on sin(k + j), SGD on absolute error",
        input_shape=(10, 1),
        input_dtype="float32",
        model=ModelSpec(cell="simple_rnn", units=(10,), head_units=1),
        # Adam + MSE is the zoo default; the tutorial's SGD lr 1e-3 on MAE is
        # build(..., optimizer="sgd", learning_rate=1e-3, loss="mae").
        train=TrainSpec(optimizer="adam", learning_rate=1e-3, loss="mse", epochs=50, batch_size=10),
        loader=load_sine,
        target="reproduce: test RMSE <= 0.005 on every seed (the tuned variant: <= 0.002)",
        goals=(Goal("rmse", "<=", 0.005),),
    )
)

register(
    TaskSpec(
        name="sin_to_cos",
        family="sine",
        description="cos(x) from sin(x), 10 points per chunk, hidden state carried across chunks",
        recipe="PyTorch RNN regression tutorial: nn.RNN(1, 32) + Linear(32, 1), SGD lr 0.01, 1000 steps",
        input_shape=(10, 1),
        input_dtype="float32",
        model=ModelSpec(cell="simple_rnn", units=(32,), head_units=1, return_sequences=True, stateful=True),
        train=TrainSpec(optimizer="sgd", learning_rate=0.01, loss="mse", epochs=1, batch_size=1),
        loader=load_sin_to_cos,
        target="reproduce the tutorial: MSE <= 4.5e-4 on the next stretch (the tuned variant: <= 1e-5)",
        goals=(Goal("mse", "<=", 4.5e-4),),
        tutorial_result="MSE 4.5e-4",
    )
)

register(
    dataclasses.replace(
        get_task("sine_regression"),
        name="sine_regression_tuned",
        description="next value of sin(k + j) from 10 steps; cosine learning-rate decay",
        recipe="zoo-tuned: the reference model, Adam with a per-step cosine decay from 1e-2",
        train=TrainSpec(
            optimizer="adam", learning_rate=1e-2, lr_schedule="cosine", loss="mse", epochs=50, batch_size=10
        ),
        target="test RMSE <= 0.002 on every seed",
        goals=(Goal("rmse", "<=", 0.002),),
        variant_of="sine_regression",
    )
)

register(
    dataclasses.replace(
        get_task("sin_to_cos"),
        name="sin_to_cos_tuned",
        description="cos(x) from sin(x), state carried across chunks; Adam, three passes",
        recipe="zoo-tuned: the reference model, Adam 1e-3 with cosine decay, 3 passes over the 1000 chunks",
        train=TrainSpec(optimizer="adam", learning_rate=1e-3, lr_schedule="cosine", loss="mse", epochs=3, batch_size=1),
        target="MSE <= 1e-5 on the next, unseen stretch of the curve, state carried over",
        goals=(Goal("mse", "<=", 1e-5),),
        tutorial_result="MSE 4.5e-4",
        variant_of="sin_to_cos",
    )
)

# Linear variants: a SimpleRNN without the tanh squashing is a linear filter, the exact form
# of both targets, so it can match the classical model instead of approximating it.
register(
    dataclasses.replace(
        get_task("sine_regression"),
        name="sine_regression_linear",
        description="next value of sin(k + j) from 10 steps: a linear SimpleRNN(8) (no tanh), cosine decay",
        recipe="zoo variant: the recurrence is linear, so the recurrent layer is too (activation=None)",
        model=ModelSpec(cell="simple_rnn", units=(8,), head_units=1, activation=None),
        train=TrainSpec(
            optimizer="adam", learning_rate=1e-2, lr_schedule="cosine", loss="mse", epochs=50, batch_size=10
        ),
        target="mean test RMSE within 10x of the classical linear regression's",
        goals=(Goal("rmse", "<=", 10.0, over="mean", relative_to="classical"),),
        variant_of="sine_regression",
    )
)

register(
    dataclasses.replace(
        get_task("sin_to_cos"),
        name="sin_to_cos_linear",
        description="cos(x) from sin(x), state carried across chunks: a linear SimpleRNN(8) (no tanh)",
        recipe="zoo variant: cos(x) is a linear filter of sin(x), so the recurrent layer is linear too",
        model=ModelSpec(
            cell="simple_rnn", units=(8,), head_units=1, return_sequences=True, stateful=True, activation=None
        ),
        train=TrainSpec(optimizer="adam", learning_rate=1e-2, lr_schedule="cosine", loss="mse", epochs=3, batch_size=1),
        target="mean test RMSE within 10x of the classical two-tap linear filter's",
        goals=(Goal("rmse", "<=", 10.0, over="mean", relative_to="classical"),),
        tutorial_result="MSE 4.5e-4",
        variant_of="sin_to_cos",
    )
)
