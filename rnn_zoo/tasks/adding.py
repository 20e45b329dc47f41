"""The adding problem: the classic long-memory benchmark for recurrent networks (Hochreiter
and Schmidhuber 1997; Le, Jaitly and Hinton 2015 compared cells on it).

Each sample is T steps of (value, marker): values uniform in [0, 1], exactly two markers set,
one in each half of the sequence. The target is the sum of the two marked values, so a
model must carry the first one across at least T/2 steps. A gated cell (LSTM) learns it; a
plain SimpleRNN's gradient fades over that distance and it stays near the naive answer."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..backend import tf_call
from ..classical import ClassicalModel
from ..data import RegressionData, Serving
from ..errors import PresetError
from ..preprocessing import Range, RangedInput
from ..registry import Goal, ModelSpec, TaskSpec, TrainSpec, get_task, register

SOURCE = "Hochreiter and Schmidhuber (1997), Le, Jaitly and Hinton (2015): the adding problem"


@dataclasses.dataclass(frozen=True)
class AddingSteps(RangedInput):
    """The model reads the (value, marker) pairs as they are: nothing to scale. The task
    defines its inputs, so the serving graph refuses any other: values and markers outside
    `input_range`, the training pairs' own range ([0, 1]: values uniform on it, markers 0 or
    1), and markers that are not exactly two 1s, one in each half, with 0s elsewhere. A
    predicted sum outside [-0.5, 2.5] ([0, 2] widened by a quarter of its width each way) is
    refused too: no model of the task answers there."""

    steps: int

    ranges = {"steps": Range(1, 100_000)}
    input_name = "pairs"
    input_description = "the (value, marker) pairs of every step, in order (v0,m0,v1,m1,... on the command line)"
    range_rule = "the values and markers of the adding task, the range of its training pairs"
    output_description = "the predicted sum"
    output_range = (-0.5, 2.5)

    def __post_init__(self):
        super().__post_init__()
        if tuple(self.input_range) != (0.0, 1.0):
            low, high = self.input_range
            raise PresetError(
                f"config.input_range must be [0, 1], the adding task's values (uniform on [0, 1]) and markers "
                f"(0 or 1), got [{low:g}, {high:g}]"
            )

    @staticmethod
    def pairs_range(train_pairs) -> tuple[float, float]:
        """The training pairs' own range: [0, 1], the task's definition (values uniform on
        [0, 1], markers 0 or 1); a model has seen nothing else, so nothing else is served.
        Pairs outside it are a loader's bug (a ValueError)."""
        pairs = np.asarray(train_pairs, dtype=np.float64)
        if pairs.min() < 0 or pairs.max() > 1:
            raise ValueError(f"adding pairs must lie in [0, 1], got {pairs.min():g} to {pairs.max():g}")
        return 0.0, 1.0

    def checked_markers(self, pairs):
        """`pairs` (a checked batch), once each sequence's markers are 0s but for one 1 in
        each half, as the task defines them (a third marker once answered 1.0047)."""
        import tensorflow as tf

        half = self.steps // 2
        markers = pairs[..., 1]
        message = (
            f"markers must be 0 except for exactly two 1s, one in steps 0-{half - 1} and one in steps "
            f"{half}-{self.steps - 1}, as the adding task defines them"
        )
        binary = tf.reduce_all(tf.logical_or(tf.equal(markers, 0.0), tf.equal(markers, 1.0)))
        checks = [tf.debugging.Assert(binary, [message])]
        for part in (markers[:, :half], markers[:, half:]):
            checks.append(tf.debugging.assert_equal(tf.reduce_sum(part, axis=1), 1.0, message=message))
        with tf.control_dependencies(checks):
            return tf.identity(pairs)

    @property
    def input_shape(self):
        return (self.steps, 2)

    def example_input(self):
        pairs = np.zeros((self.steps, 2), dtype=np.float32)
        pairs[:, 0] = np.linspace(0, 1, self.steps, dtype=np.float32)
        pairs[[self.steps // 4, 3 * self.steps // 4], 1] = 1.0  # marks 0.25 and 0.75: the sum is 1
        return pairs

    def serving(self, model):
        """`steps` (value, marker) pairs -> the predicted sum of the two marked values."""
        import tensorflow as tf

        call = tf_call(model)

        def serve(pairs):
            pairs = self.checked_markers(self.in_range(pairs, "pairs", (self.steps, 2)))
            return {"prediction": self.checked_prediction(call(pairs)[:, 0])}

        return Serving(serve, [tf.TensorSpec([None, self.steps, 2], tf.float32, name=self.input_name)])


@dataclasses.dataclass
class AddingData(RegressionData):
    """The naive baseline always answers 1.0, the mean of the sum of two U(0, 1) values:
    its MSE is their variance, 1/6."""

    baseline_name = "always 1.0"

    def baseline_predictions(self):
        return np.ones_like(self.y_test)

    def fit_classical(self):
        """Least squares on the products value x marker of every step. The target is their
        sum, a linear function of them, so the model is exact (weights 1, up to float32
        rounding): a hand-made feature, where the network must find the marked values
        from the raw pairs itself."""
        from sklearn.linear_model import LinearRegression

        def products(x):
            return (x[..., 0] * x[..., 1]).astype(np.float64)

        model = LinearRegression().fit(products(self.x_train), self.y_train[:, 0])

        def predict(data):
            return model.predict(products(data.x_test))[:, None]

        weights = [float(model.coef_.min()), float(model.coef_.max())]
        return ClassicalModel("linear regression on value x marker", predict, {"weight_range": weights})

    def serving_examples(self, n):
        return {"pairs": self.x_test[self._test_rows(n)]}


def adding_samples(rng: np.random.Generator, n: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` sequences of `steps` (value, marker) pairs and their targets, drawn from `rng`."""
    values = rng.uniform(0, 1, size=(n, steps))
    half = steps // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, steps, size=n)
    markers = np.zeros((n, steps))
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[np.arange(n), first] + values[np.arange(n), second])[:, None].astype(np.float32)
    return x, y


def load_adding(
    *,
    steps: int = 100,
    num_train: int = 10000,
    num_test: int = 1000,
    data_dir=None,
    seed: int = 0,
    preprocessor: AddingSteps | None = None,
) -> AddingData:
    """Generated from `seed`, never downloaded: the training sequences, then the test ones."""
    steps = preprocessor.steps if preprocessor else steps
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (one marker in each half), got {steps}")
    rng = np.random.default_rng(seed)
    x_train, y_train = adding_samples(rng, num_train, steps)
    x_test, y_test = adding_samples(rng, num_test, steps)
    preprocessor = preprocessor or AddingSteps(steps, input_range=AddingSteps.pairs_range(x_train))
    return AddingData(x_train, y_train, x_test, y_test, source="generated", preprocessor=preprocessor)


register(
    TaskSpec(
        name="adding_problem_lstm",
        family="adding",
        description="the sum of the two marked values among 100 (value, marker) steps: LSTM(32) -> Dense(1)",
        recipe=SOURCE,
        input_shape=(100, 2),
        input_dtype="float32",
        model=ModelSpec(cell="lstm", units=(32,), head_units=1),
        train=TrainSpec(optimizer="adam", learning_rate=1e-2, loss="mse", epochs=10, batch_size=32),
        loader=load_adding,
        target="test MSE <= 0.01 on every seed 0, 1, 2 at T = 100 (the naive answer 1.0 scores about 0.167)",
        goals=(Goal("mse", "<=", 0.01),),
    )
)

register(
    dataclasses.replace(
        get_task("adding_problem_lstm"),
        name="adding_problem_simplernn",
        description="the adding problem with a SimpleRNN(32): no gates, so the first value fades over 50+ steps",
        model=ModelSpec(cell="simple_rnn", units=(32,), head_units=1),
        target="honest report: expected to stay near the naive baseline (MSE about 0.167) at T = 100; "
        "the lesson on why gates matter",
        goals=(),
        headline="mse",  # reported as its siblings are
        variant_of="adding_problem_lstm",
    )
)

register(
    dataclasses.replace(
        get_task("adding_problem_lstm"),
        name="adding_problem_gru",
        description="the adding problem with a GRU(32): gated too, with one gate fewer than the LSTM",
        model=ModelSpec(cell="gru", units=(32,), head_units=1),
        variant_of="adding_problem_lstm",
    )
)
