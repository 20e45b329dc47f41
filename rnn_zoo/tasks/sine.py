"""Sine regression (next value) and sine-to-cosine (sequence to sequence, stateful)."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..data import Preprocessor, RegressionData, Serving
from ..registry import Goal, ModelSpec, TaskSpec, TrainSpec, get_task, register


@dataclasses.dataclass(frozen=True)
class SineWindow(Preprocessor):
    """Values go to the model as they are, one feature per step. With `sequence_output`
    (sin -> cos) the model answers every step, and its state carries from call to call."""

    steps: int
    sequence_output: bool = False

    input_name = "values"
    input_description = "a window of values"

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

        batch = model.input_shape[0] if self.sequence_output else None

        def serve(values):
            # The model reads the checked tensor: a refused chunk never reaches (or moves) its state.
            values = tf.debugging.assert_all_finite(values, message="values must be finite numbers")
            out = model(values[..., None], training=False)
            return {"prediction": out[..., 0] if self.sequence_output else out[:, 0]}

        return Serving(serve, [tf.TensorSpec([batch, self.steps], tf.float32, name=self.input_name)])


@dataclasses.dataclass
class SineData(RegressionData):
    def serving_examples(self, n):
        return {"values": self.x_test[self._test_rows(n), :, 0]}


@dataclasses.dataclass
class SinToCosData(RegressionData):
    """Consecutive chunks of one curve; the model's state carries from chunk to chunk."""

    baseline_name = "always 0, the mean of cos"

    def baseline_predictions(self):
        return np.zeros_like(self.y_test)

    def serving_examples(self, n):
        return {"values": self.x_test[self._test_rows(n), :, 0]}


def load_sine(*, num_sequences: int = 2000, num_train: int = 1500, steps: int = 10, data_dir=None, seed: int = 0,
              preprocessor: SineWindow | None = None):
    """k ~ U(1, 50); inputs sin(k + j) for j < steps, target sin(k + steps)."""
    preprocessor = preprocessor or SineWindow(steps)
    steps = preprocessor.steps
    k = np.random.default_rng(seed).uniform(1, 50, size=(num_sequences, 1))
    x = np.sin(k + np.arange(steps))[..., None].astype(np.float32)
    y = np.sin(k + steps).astype(np.float32)
    return SineData(x[:num_train], y[:num_train], x[num_train:], y[num_train:], source="generated",
                    preprocessor=preprocessor)


def load_sin_to_cos(*, train_steps: int = 1000, test_steps: int = 100, points: int = 10, data_dir=None, seed: int = 0,
                    preprocessor: SineWindow | None = None):
    """Chunk s samples x in [s*pi, (s+1)*pi) at `points` points (end excluded, so chunks
    tile the curve); input sin(x), target cos(x). The test chunks continue the curve
    right after the training ones. Deterministic: `seed` does not change it."""
    preprocessor = preprocessor or SineWindow(points, sequence_output=True)
    points = preprocessor.steps
    s = np.arange(train_steps + test_steps)[:, None]
    x = (s + np.arange(points) / points) * np.pi
    inputs = np.sin(x)[..., None].astype(np.float32)
    targets = np.cos(x)[..., None].astype(np.float32)
    return SinToCosData(
        inputs[:train_steps], targets[:train_steps], inputs[train_steps:], targets[train_steps:],
        source="generated", stateful=True, preprocessor=preprocessor,
    )


register(
    TaskSpec(
        name="sine_regression",
        family="sine",
        description="next value of sin(k + j) from 10 steps",
        source="'RNN regression' tutorial: SimpleRNN(10) on sin(k + j), SGD on absolute error",
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
        source="PyTorch RNN regression tutorial: nn.RNN(1, 32) + Linear(32, 1), SGD lr 0.01, 1000 steps",
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
        source="zoo-tuned: the reference model, Adam with a per-step cosine decay from 1e-2",
        train=TrainSpec(optimizer="adam", learning_rate=1e-2, lr_schedule="cosine", loss="mse", epochs=50,
                        batch_size=10),
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
        source="zoo-tuned: the reference model, Adam 1e-3 with cosine decay, 3 passes over the 1000 chunks",
        train=TrainSpec(optimizer="adam", learning_rate=1e-3, lr_schedule="cosine", loss="mse", epochs=3,
                        batch_size=1),
        target="MSE <= 1e-5 on the next, unseen stretch of the curve, state carried over",
        goals=(Goal("mse", "<=", 1e-5),),
        tutorial_result="MSE 4.5e-4",
        variant_of="sin_to_cos",
    )
)
