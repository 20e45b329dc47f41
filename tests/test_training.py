"""train / evaluate on every task (tiny real-format data), reproducibility, resuming."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import one_per_family

import rnn_zoo
from rnn_zoo.training import predict_test

TASKS = rnn_zoo.list_tasks()


@pytest.mark.parametrize("name", TASKS)
def test_one_step_gives_metrics_beside_the_baseline(name, tiny_run):
    result = tiny_run(name)  # one epoch of one batch on the tiny data
    assert result.metrics and set(result.metrics) == set(result.baseline)
    assert all(np.isfinite(v) for v in [*result.metrics.values(), *result.baseline.values()])
    assert result.baseline_name and result.epochs == 1 and len(result.history["loss"]) == 1
    assert result.batch_size == rnn_zoo.get_task(name).train.batch_size
    assert len(result.data.x_train) <= result.batch_size and len(result.data.x_test) > 0
    assert result.wall_time_s > 0 and result.samples_per_s > 0
    assert result.task in result.summary() and result.baseline_name in result.summary()
    assert rnn_zoo.evaluate(result.model, name, data=result.data) == pytest.approx(result.metrics)


@pytest.mark.parametrize("name", one_per_family(TASKS))
def test_a_trained_model_exports(name, tiny_run, tmp_path):
    """What `rnn-zoo train` does next: a trained model (optimizer state, schedule) exports
    (every task: the slow test below)."""
    path = rnn_zoo.export(tiny_run(name), tmp_path / name)
    assert "serve" in tf.saved_model.load(str(path)).signatures


@pytest.mark.slow
@pytest.mark.parametrize("name", TASKS)
def test_one_epoch_gives_metrics_beside_the_baseline(name, tiny_data_dir, tmp_path):
    """A whole epoch of the tiny data (several batches, several steps per call) on every task."""
    result = rnn_zoo.train(name, epochs=1, data_dir=tiny_data_dir, verbose=0)
    assert result.metrics and set(result.metrics) == set(result.baseline)
    assert all(np.isfinite(v) for v in [*result.metrics.values(), *result.baseline.values()])
    assert result.baseline_name and result.epochs == 1 and len(result.history["loss"]) == 1
    assert result.batch_size == rnn_zoo.get_task(name).train.batch_size
    assert result.wall_time_s > 0 and result.samples_per_s > 0
    assert result.task in result.summary() and result.baseline_name in result.summary()
    assert rnn_zoo.evaluate(result.model, name, data=result.data) == pytest.approx(result.metrics)
    # What `rnn-zoo train` does next: a trained model (optimizer state, schedule) exports.
    path = rnn_zoo.export(result, tmp_path / name)
    assert "serve" in tf.saved_model.load(str(path)).signatures


def test_cosine_schedule_runs_in_graph_to_zero(tiny_data_dir):
    result = rnn_zoo.train("sine_regression_tuned", epochs=2, data_dir=tiny_data_dir, verbose=0)
    optimizer = result.model.optimizer
    steps = 2 * result.data.steps_per_epoch(result.batch_size)
    assert int(optimizer.iterations) == steps
    assert float(optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)  # cosine ends at 0
    # An optimizer instance keeps its own settings and starting rate.
    given = keras.optimizers.Adam(0.05, beta_1=0.8)
    result = rnn_zoo.train("sine_regression_tuned", epochs=1, optimizer=given, data_dir=tiny_data_dir, verbose=0)
    schedule = result.model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert schedule.initial_learning_rate == pytest.approx(0.05) and result.model.optimizer.beta_1 == 0.8


def test_max_train_samples_trains_on_a_slice(tiny_data_dir):
    result = rnn_zoo.train("sms_spam_rnn", epochs=1, data_dir=tiny_data_dir, max_train_samples=10, verbose=0)
    assert len(result.data.x_train) == len(result.data.text_train) == 10
    assert len(result.data.x_test) == 24  # the test set is untouched
    assert result.samples_per_s > 0


def test_validation_each_epoch_can_be_skipped():
    assert "val_loss" in rnn_zoo.train("letters_4pre1", epochs=2, verbose=0).history
    result = rnn_zoo.train("letters_4pre1", epochs=2, verbose=0, validate=False)
    assert set(result.history) == {"loss", "sparse_categorical_accuracy"} and result.metrics


def test_evaluate_reports_human_units(tiny_data_dir):
    data = rnn_zoo.load_task_data("stock_lstm", data_dir=tiny_data_dir)
    model = rnn_zoo.build("stock_lstm")
    metrics = rnn_zoo.evaluate(model, "stock_lstm", data_dir=tiny_data_dir)
    assert set(metrics) == {"mse", "rmse", "mae", "mape"}
    # Prices, not scaled values: recompute from the model's scaled outputs by hand.
    predicted = data.to_prices(model.predict(data.x_test, verbose=0)[:, 0])
    true = data.test_prices[60:]
    assert metrics["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - true) ** 2)), rel=1e-5)
    assert metrics["mape"] == pytest.approx(100 * np.mean(np.abs(predicted - true) / true), rel=1e-5)
    assert data.baseline_scores()["rmse"] == pytest.approx(np.sqrt(np.mean(np.diff(data.test_prices[59:]) ** 2)))


@pytest.mark.backend_free
def test_sms_metrics_and_majority_baseline(tiny_data_dir):
    data = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tiny_data_dir, min_count=1)
    perfect = np.eye(2)[data.y_test]
    assert data.score(perfect)["accuracy"] == 1 and data.score(perfect)["spam_f1"] == (1 if data.y_test.any() else 0)
    baseline = data.baseline_scores()
    assert baseline["accuracy"] == pytest.approx(np.mean(data.y_test == 0))  # ham is the majority
    assert baseline["spam_recall"] == 0


@pytest.mark.backend_free
def test_letters_baseline_is_chance():
    data = rnn_zoo.load_task_data("letters_embedding_4pre1")
    assert data.baseline_scores()["accuracy"] == pytest.approx(1 / 26)


@pytest.mark.backend_free
def test_sine_baseline_repeats_the_last_input():
    data = rnn_zoo.load_task_data("sine_regression")
    err = data.x_test[:, -1, 0] - data.y_test[:, 0]
    assert data.baseline_scores()["rmse"] == pytest.approx(np.sqrt(np.mean(err.astype(np.float64) ** 2)))


@pytest.mark.parametrize("name", ["sine_regression", "stock_gru"])  # stock_gru: dropout draws too
@pytest.mark.slow
def test_same_seed_same_metrics_on_cpu(name, tiny_data_dir):
    """Bit-identical on the backend the suite runs on (CI runs it on TensorFlow and on JAX)."""
    a, b, c = (rnn_zoo.train(name, epochs=2, seed=seed, data_dir=tiny_data_dir, verbose=0) for seed in (7, 7, 8))
    assert a.metrics == b.metrics and a.history == b.history
    assert all(np.array_equal(x, y) for x, y in zip(a.model.get_weights(), b.model.get_weights()))
    assert a.metrics != c.metrics


def test_letters_reach_the_target_with_tutorial_defaults():
    result = rnn_zoo.train("letters_4pre1", verbose=0)
    assert result.epochs == 100 and result.metrics["accuracy"] == 1.0


class _CrashInThirdEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        self.losses = [*getattr(self, "losses", []), float(logs["loss"])]

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == 2 and batch >= 5:  # batches come in steps_per_execution
            raise KeyboardInterrupt("killed mid-way")


def test_checkpoint_dir_resumes_from_the_last_epoch(tmp_path):
    backup = tmp_path / "backup"
    crash = _CrashInThirdEpoch()
    with pytest.raises(KeyboardInterrupt):
        rnn_zoo.train("sine_regression", epochs=5, checkpoint_dir=backup, callbacks=[crash], verbose=0)
    assert any(backup.iterdir())  # a backup was left behind
    resumed = rnn_zoo.train("sine_regression", epochs=5, checkpoint_dir=backup, verbose=0)
    # Epochs 1-2 were restored and 3 restarts: the history holds all five, the first two as
    # the killed process logged them.
    assert len(resumed.history["loss"]) == len(resumed.history["val_loss"]) == 5
    assert resumed.history["loss"][:2] == crash.losses
    assert not backup.exists()  # the backup is removed once training completes
    # The run says it was resumed, where from, and that its command does not reproduce it.
    record = resumed.metadata()["training"]["resumed"]
    assert record["at_epoch"] == 3 and record["checkpoint_dir"] == "backup"
    assert "does not reproduce this run bit for bit" in record["note"]
    assert resumed.metadata()["command"].endswith(
        "rnn-zoo train sine_regression --seed 0 --epochs 5"
    )  # (after KERAS_BACKEND=...)
    # A run that was never stopped says nothing of the kind.
    fresh = rnn_zoo.train("sine_regression", epochs=2, checkpoint_dir=tmp_path / "fresh", verbose=0)
    assert fresh.resumed is None and "resumed" not in fresh.metadata()["training"]
    assert len(fresh.history["loss"]) == 2


def test_stateful_task_carries_state_and_evaluates_after_the_training_stretch():
    result = rnn_zoo.train("sin_to_cos", epochs=1, verbose=0)
    assert result.model.input_shape == (1, 10, 1)
    data = result.data
    first = predict_test(result.model, data)
    # Starting the test stretch from a zero state instead gives different outputs.
    rnn_zoo.training.reset_states(result.model)
    with rnn_zoo.backend.states_tracked(result.model):
        cold = result.model.predict(data.x_test, batch_size=1, verbose=0)
    assert not np.allclose(first[:1], cold[:1])
    np.testing.assert_allclose(predict_test(result.model, data), first, rtol=1e-5, atol=1e-6)  # repeatable
    if rnn_zoo.backend.name() == "tensorflow":  # (a tf.distribute strategy is refused on other backends)
        with pytest.raises(rnn_zoo.InvalidOverrideError, match="stateful"):
            rnn_zoo.train("sin_to_cos", epochs=1, verbose=0, strategy=tf.distribute.get_strategy())


def test_steps_per_execution_is_checked_before_training():
    with pytest.raises(rnn_zoo.InvalidOverrideError, match="positive int"):
        rnn_zoo.train("letters_4pre1", steps_per_execution=0, verbose=0)
    # (on TensorFlow: steps_per_execution; elsewhere: the strategy itself)
    with pytest.raises(rnn_zoo.InvalidOverrideError, match="strategy"):
        rnn_zoo.train("letters_4pre1", steps_per_execution=4, strategy=tf.distribute.get_strategy(), verbose=0)


def test_mistakes_that_would_fail_after_training_fail_before_it():
    with pytest.raises(rnn_zoo.InvalidOverrideError, match="batch_size must be 1"):
        rnn_zoo.train("sin_to_cos", batch_size=2, verbose=0)
    with pytest.raises(rnn_zoo.InvalidOverrideError, match=r"inputs of shape \(5, 1\)"):
        rnn_zoo.train("sine_regression", data_options={"steps": 5}, verbose=0)


def test_reset_states_clears_both_directions_of_a_bidirectional_layer():
    model = rnn_zoo.build("sin_to_cos", bidirectional=True)
    with rnn_zoo.backend.states_tracked(model):
        model.predict(np.ones((1, 10, 1), dtype=np.float32), verbose=0)
    layer = model.layers[0]
    rnns = (layer.forward_layer, layer.backward_layer)
    assert all(np.abs(np.asarray(r.states[0])).sum() > 0 for r in rnns)
    rnn_zoo.training.reset_states(model)
    assert all(np.abs(np.asarray(r.states[0])).sum() == 0 for r in rnns)
