"""SavedModel exports: human inputs in, human outputs out, equal to the Keras model."""

import os
import re
import signal

import numpy as np
import pytest
import tensorflow as tf
from conftest import fast_per_family
from harness import assert_served_as_predicted

import rnn_zoo
import rnn_zoo.tf_writer
from rnn_zoo.errors import PresetError
from rnn_zoo.outputs import atomic_directory
from rnn_zoo.presets import Preset
from rnn_zoo.training import reset_states


def _softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _letters(data, model, serve):
    codec = data.codec
    texts = [(codec.alphabet * 2)[i : i + codec.window] for i in range(3)]
    out = serve(text=tf.constant(texts))
    expected = model.predict(codec.encode_batch(texts), verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, rtol=1e-5, atol=1e-6)
    assert [b.decode() for b in out["prediction"].numpy()] == codec.decode(expected)


def _stock(data, model, serve):
    windows = np.stack([data.test_prices[:60], data.test_prices[1:61]]).astype(np.float32)
    out = serve(prices=tf.constant(windows))["prediction"].numpy()
    expected = data.predicted_prices(model.predict(data.x_test, verbose=0))[:2]
    np.testing.assert_allclose(out, expected, rtol=1e-4)


def _sine(data, model, serve):
    out = serve(values=tf.constant(data.x_test[:4, :, 0]))["prediction"].numpy()
    np.testing.assert_allclose(out, model.predict(data.x_test[:4], verbose=0)[:, 0], rtol=1e-5, atol=1e-6)


def _sin_to_cos(data, model, serve, loaded):
    reset_states(model)
    with rnn_zoo.backend.states_tracked(model):  # (on JAX, Keras's predict would not carry the state)
        expected = model.predict(data.x_test[:2], batch_size=1, verbose=0)[..., 0]
    fresh = serve(values=tf.constant(data.x_test[:1, :, 0]))["prediction"].numpy()
    np.testing.assert_allclose(fresh, expected[:1], rtol=1e-5, atol=1e-6)  # a loaded export starts from zero
    loaded.reset_state()
    first = serve(values=tf.constant(data.x_test[:1, :, 0]))["prediction"].numpy()
    second = serve(values=tf.constant(data.x_test[1:2, :, 0]))["prediction"].numpy()
    np.testing.assert_allclose(np.concatenate([first, second]), expected, rtol=1e-5, atol=1e-6)
    again = serve(values=tf.constant(data.x_test[:1, :, 0]))["prediction"].numpy()
    assert not np.allclose(again, first)  # the state carried over from the previous call
    loaded.reset_state()
    np.testing.assert_allclose(
        serve(values=tf.constant(data.x_test[:1, :, 0]))["prediction"].numpy(), first, rtol=1e-5, atol=1e-6
    )


def _mnist(data, model, serve):
    images = np.round(data.x_test[:3] * 255).astype(np.uint8)
    out = serve(images=tf.constant(images))
    expected = _softmax(model.predict(data.x_test[:3], verbose=0))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(out["prediction"].numpy(), expected.argmax(-1))


def _sms(data, model, serve):
    texts = [*data.text_test[:3], "", ":) 645", "FREE entry!! Text WIN to 80086 now"]
    out = serve(text=tf.constant(texts))
    expected = _softmax(model.predict(data.encode(texts), verbose=0))[:, 1]
    np.testing.assert_allclose(out["spam_probability"].numpy(), expected, rtol=1e-4, atol=1e-6)
    assert [b.decode() for b in out["prediction"].numpy()] == ["spam" if p > 0.5 else "ham" for p in expected]


CHECKS = {"letters": _letters, "stock": _stock, "sine": _sine, "mnist": _mnist, "sms": _sms}


@pytest.mark.parametrize("name", fast_per_family(rnn_zoo.list_tasks()))
def test_export_reloads_and_matches_the_keras_model(name, tiny_data_dir, tmp_path):
    spec = rnn_zoo.get_task(name)
    data = rnn_zoo.load_task_data(name, data_dir=tiny_data_dir)
    model = rnn_zoo.build(name, preprocessor=data.preprocessor)
    if spec.model.stateful:
        with rnn_zoo.backend.states_tracked(model):
            model.predict(data.x_train[:3], batch_size=1, verbose=0)  # leave a state behind
    path = rnn_zoo.export(model, tmp_path / name, task=name, preprocessor=data.preprocessor)
    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures["serve"]
    if spec.model.stateful:
        _sin_to_cos(data, model, serve, loaded)
    else:
        # Every family: the loaded export answers as the serving graph does in process. The
        # families above are also checked against their own encodings.
        examples = data.serving_examples(3)
        try:
            expected = Preset(model, data.preprocessor, {"task": name}).predict(list(*examples.values()))
        except PresetError as refused:
            # An untrained model's answer outside the task's declared output range (the adding
            # problem's sum): the export refuses it as the preset does, with the same words.
            with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(str(refused)[:40])):
                serve(**{k: tf.constant(v) for k, v in examples.items()})
            return
        assert_served_as_predicted(serve, examples, expected)
        if spec.family in CHECKS:
            CHECKS[spec.family](data, model, serve)
    # serving_examples() gives inputs in the form `serve` takes, as many as asked for.
    n = 1 if spec.model.stateful else 3
    out = serve(**{k: tf.constant(v) for k, v in data.serving_examples(n).items()})
    assert len(out["prediction"]) == n


def test_letters_export_rejects_bad_text(tmp_path):
    data = rnn_zoo.load_task_data("letters_4pre1")
    serve = tf.saved_model.load(
        str(
            rnn_zoo.export(
                rnn_zoo.build("letters_4pre1"), tmp_path / "m", task="letters_4pre1", preprocessor=data.preprocessor
            )
        )
    ).signatures["serve"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected 4 letter"):
        serve(text=tf.constant(["abc"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="letters must be in abcde"):
        serve(text=tf.constant(["abcz"]))


def test_export_replaces_an_old_export_and_leaves_nothing_half_written(tmp_path):
    codec = rnn_zoo.load_task_data("letters_4pre1").preprocessor
    path = tmp_path / "letters"
    rnn_zoo.export(rnn_zoo.build("letters_4pre1"), path, task="letters_4pre1", preprocessor=codec)
    before = (path / "saved_model.pb").stat().st_mtime_ns
    assert path.stat().st_mode & 0o044 == 0o044  # readable by a server running as another user
    rnn_zoo.export(rnn_zoo.build("letters_4pre1"), path, task="letters_4pre1", preprocessor=codec)
    assert (path / "saved_model.pb").stat().st_mtime_ns != before
    # A model that does not fit the task's inputs fails while tracing: the old export stays.
    with pytest.raises(Exception):
        rnn_zoo.export(
            rnn_zoo.build("letters_4pre1"),
            path,
            task="letters_embedding_4pre1",
            preprocessor=rnn_zoo.load_task_data("letters_embedding_4pre1").preprocessor,
        )
    assert (path / "saved_model.pb").is_file()
    with pytest.raises(Exception):
        rnn_zoo.export(
            rnn_zoo.build("letters_4pre1"),
            tmp_path / "new",
            task="letters_embedding_4pre1",
            preprocessor=rnn_zoo.load_task_data("letters_embedding_4pre1").preprocessor,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["letters"]


@pytest.mark.backend_free
def test_atomic_directory_refuses_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        with atomic_directory(tmp_path / "file", kind="export"):
            pass


@pytest.mark.skipif(rnn_zoo.backend.name() == "tensorflow", reason="on TensorFlow the exports are written in process")
def test_one_tensorflow_writer_serves_the_exports_and_a_dead_one_is_replaced(tmp_path):
    preset = rnn_zoo.load_preset("letters_4pre1")
    rnn_zoo.export(preset, tmp_path / "a")
    writer = rnn_zoo.tf_writer._WRITER.pid
    assert writer is not None
    rnn_zoo.export(preset, tmp_path / "b", format="onnx")
    assert rnn_zoo.tf_writer._WRITER.pid == writer  # TensorFlow started once for both
    os.kill(writer, signal.SIGKILL)
    path = rnn_zoo.export(preset, tmp_path / "c")
    assert rnn_zoo.tf_writer._WRITER.pid not in (None, writer)
    serve = tf.saved_model.load(str(path)).signatures["serve"]
    assert serve(text=tf.constant(["abcd"]))["prediction"].numpy()[0] == b"e"


@pytest.mark.skipif(rnn_zoo.backend.name() == "tensorflow", reason="on TensorFlow the exports are written in process")
def test_a_writer_that_dies_on_a_request_fails_it_in_one_line_and_the_next_export_works(tmp_path):
    writer = rnn_zoo.tf_writer._WRITER
    broken = tmp_path / "handover"
    broken.mkdir()
    (broken / rnn_zoo.tf_writer.REQUEST_FILE).write_text("{not json")  # the writer takes it, then dies on it
    failure = writer.write(broken)
    assert failure.startswith("it stopped with exit status 1; its last line: ") and "JSONDecodeError" in failure
    assert writer.pid is None and not (broken / rnn_zoo.tf_writer.ANSWER_FILE).exists()
    path = rnn_zoo.export(rnn_zoo.load_preset("letters_4pre1"), tmp_path / "next")
    assert "serve" in tf.saved_model.load(str(path)).signatures
