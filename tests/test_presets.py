"""Presets: every task ships one, each loads safely, predicts on human inputs without the
data, reproduces its metrics on the real data, and travels inside the wheel."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import rnn_zoo
from rnn_zoo.cli import main
from rnn_zoo.errors import PresetError
from rnn_zoo.metrics import fmt_number
from rnn_zoo.preset_files import check_metadata, read_metadata
from rnn_zoo.shipped import list_presets, shipped_path
from tools.make_presets import MAX_TOTAL_BYTES, TABLE, folder_bytes, presets_table
from tools.pages import README, read_table

ROOT = Path(__file__).resolve().parents[1]
TASKS = rnn_zoo.list_tasks()


@pytest.mark.backend_free
def test_every_registered_task_ships_a_preset():
    assert list_presets() == TASKS
    assert sum(folder_bytes(shipped_path(name)) for name in TASKS) <= MAX_TOTAL_BYTES


@pytest.mark.parametrize("name", TASKS)
def test_shipped_preset_loads_safely_and_its_metadata_is_complete(name):
    folder = shipped_path(name)
    assert sorted(p.name for p in folder.iterdir() if p.name != "assets") == [
        "MODEL_CARD.md",
        "metadata.json",
        "model.keras",
        "preprocessor.json",
    ]
    keras.saving.load_model(folder / "model.keras", safe_mode=True, compile=False)
    meta = read_metadata(folder)  # the schema check
    spec = rnn_zoo.get_task(name)
    assert meta["task"] == name and meta["family"] == spec.family and meta["seed"] == 0
    assert meta["epochs"] == spec.train.epochs  # a full run with the task's own defaults
    assert meta["dataset"]["license"] == spec.dataset.license and meta["dataset"]["sha256"]
    assert meta["command"].startswith(f"rnn-zoo train {name} --seed 0")
    preset = rnn_zoo.load_preset(name)
    assert preset.model.count_params() == meta["parameters"]
    assert getattr(preset.model, "optimizer", None) is None  # for predicting: no optimizer state
    assert set(meta["metrics"]) == set(meta["baseline"]) - {"name"}


@pytest.mark.parametrize("name", TASKS)
def test_shipped_preset_predicts_human_outputs_without_data(name):
    preset = rnn_zoo.load_preset(name)
    example = preset.preprocessor.example_input()
    one = preset.predict(example)
    assert "prediction" in one
    spec = rnn_zoo.get_task(name)
    if spec.model.stateful:  # one chunk per call; the state carries on, reset starts again
        carried = preset.predict(example)
        preset.reset_state()
        again = preset.predict(example)
        assert _close(again, one) and not _close(carried, one)
        preset.reset_state()  # a list of chunks goes in one after the other, the state carried
        rows = preset.predict([example, example])
        assert len(rows) == 2 and _close(rows[0], one) and _close(rows[1], carried)
        return
    batch = preset.predict([example, example])
    assert len(batch) == 2 and all(_close(row, one) for row in batch)
    family_checks = {
        "letters": lambda p: p in preset.preprocessor.alphabet,
        "sms": lambda p: p in ("spam", "ham") and 0 <= one["spam_probability"] <= 1,
        "mnist": lambda p: p in range(10),
        "stock": lambda p: isinstance(p, float) and p > 0,
        "sine": lambda p: isinstance(p, float),
    }
    # Every family answers with plain values; the families above with what their outputs mean.
    plain = one["prediction"] if isinstance(one["prediction"], list) else [one["prediction"]]
    assert all(isinstance(p, str) or np.isfinite(p) for p in plain), one
    assert family_checks.get(spec.family, lambda p: True)(one["prediction"]), one


def _close(a: dict, b: dict) -> bool:
    """Two predictions agree: the same labels, numbers equal to float32 noise (a batch of two
    may run other kernels than a batch of one)."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] if isinstance(a[k], str) else np.allclose(a[k], b[k], rtol=1e-5, atol=1e-6) for k in a
    )


@pytest.mark.real_data
@pytest.mark.parametrize("name", TASKS)
@pytest.mark.slow
def test_shipped_preset_reproduces_its_metrics_on_the_real_data(name, real_data_dir):
    preset = rnn_zoo.load_preset(name)
    metrics = preset.evaluate(data_dir=real_data_dir)
    assert metrics.keys() == preset.metadata["metrics"].keys()
    for key, value in preset.metadata["metrics"].items():
        assert metrics[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.backend_free
def test_preprocessor_round_trips_through_its_files(name, tiny_data_dir, tmp_path):
    data = rnn_zoo.load_task_data(name, data_dir=tiny_data_dir)
    data.preprocessor.save(tmp_path)
    assert json.loads((tmp_path / "preprocessor.json").read_text())["class"] == type(data.preprocessor).__name__
    assert rnn_zoo.load_preprocessor(tmp_path) == data.preprocessor
    # The same preprocessor, given back to the loader, encodes the data the same way.
    again = rnn_zoo.load_task_data(name, data_dir=tiny_data_dir, preprocessor=rnn_zoo.load_preprocessor(tmp_path))
    np.testing.assert_array_equal(again.x_test, data.x_test)


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.filterwarnings("ignore::rnn_zoo.shipped.LosesToBaselineWarning")  # a tiny run may lose to its baseline
def test_trained_preset_round_trip_matches_the_trained_model(name, tiny_run, tiny_data_dir, tmp_path):
    result = tiny_run(name)
    result.save_preset(tmp_path / "p")
    preset = rnn_zoo.load_preset(tmp_path / "p", task=name)
    check_metadata(preset.metadata)
    assert preset.metadata["metrics"] == result.metrics
    assert preset.evaluate(data_dir=tiny_data_dir) == pytest.approx(result.metrics, rel=1e-5, abs=1e-7)


def test_build_takes_the_vocabulary_size_from_the_preprocessor(tiny_data_dir):
    data = rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tiny_data_dir)
    assert data.vocab_size != 861
    model = rnn_zoo.build("sms_spam_rnn", preprocessor=data.preprocessor)
    assert model.get_layer("embedding").input_dim == data.vocab_size
    with pytest.raises(rnn_zoo.InvalidOverrideError, match="contradicts the preprocessor"):
        rnn_zoo.build("sms_spam_rnn", preprocessor=data.preprocessor, vocab_size=861)
    with pytest.raises(rnn_zoo.InvalidOverrideError, match="inputs of shape"):
        rnn_zoo.build("sms_spam_tuned", preprocessor=data.preprocessor)  # 25 ids, not 80
    # Without a preprocessor, the shipped preset's vocabulary; an explicit size still wins.
    assert rnn_zoo.build("sms_spam_rnn").get_layer("embedding").input_dim == 861
    assert rnn_zoo.build("sms_spam_rnn", vocab_size=100).get_layer("embedding").input_dim == 100


@pytest.mark.backend_free
def test_loader_refuses_a_preprocessor_of_another_family_or_shape(tiny_data_dir):
    codec = rnn_zoo.load_task_data("letters_4pre1").preprocessor
    with pytest.raises(PresetError, match="takes a SmsVocabulary, not a LetterCodec"):
        rnn_zoo.load_task_data("sms_spam_rnn", data_dir=tiny_data_dir, preprocessor=codec)
    with pytest.raises(PresetError, match=r"makes inputs of shape \(4, 5\), but task 'letters_1pre1'"):
        rnn_zoo.load_task_data("letters_1pre1", preprocessor=codec)


@pytest.mark.filterwarnings("ignore::rnn_zoo.shipped.LosesToBaselineWarning")  # (stock_lstm: tests/test_model_cards.py)
def test_predict_refuses_bad_inputs_in_one_line():
    letters = rnn_zoo.load_preset("letters_4pre1")
    with pytest.raises(PresetError, match="letters must be in abcde"):
        letters.predict("abcz")
    stock = rnn_zoo.load_preset("stock_lstm")
    with pytest.raises(PresetError, match=r"expected a window of prices of shape \(60,\)"):
        stock.predict(np.ones(59))
    with pytest.raises(PresetError, match=r"prices must be finite numbers \(got NaN\)"):
        stock.predict(np.full(60, np.nan))
    with pytest.raises(PresetError, match="expected uint8 pixels"):
        rnn_zoo.load_preset("mnist_lstm").predict(np.zeros((28, 28)))
    with pytest.raises(PresetError, match=r"or a list of them all of that shape"):
        stock.predict([list(range(1, 61)), list(range(1, 60))])


def test_load_preset_refuses_what_is_not_a_preset(tmp_path):
    with pytest.raises(PresetError, match="not an rnn_zoo preset: it lacks model.keras, preprocessor.json"):
        rnn_zoo.load_preset(tmp_path)
    with pytest.raises(PresetError, match="of task 'letters_4pre1', not 'sine_regression'"):
        rnn_zoo.load_preset(shipped_path("letters_4pre1"), task="sine_regression")
    with pytest.raises(rnn_zoo.UnknownTaskError, match="neither a preset folder nor a registered task"):
        rnn_zoo.load_preset("no_such_task")
    bad = tmp_path / "bad"
    bad.mkdir()
    for file in ("model.keras", "preprocessor.json"):
        (bad / file).write_bytes((shipped_path("letters_4pre1") / file).read_bytes())
    (bad / "metadata.json").write_text(json.dumps({"task": "letters_4pre1"}))
    with pytest.raises(PresetError, match="'format_version' missing"):
        rnn_zoo.load_preset(bad)


def test_export_from_a_preset_serves_like_its_keras_model(tmp_path):
    import tensorflow as tf

    preset = rnn_zoo.load_preset("sms_spam_tuned")
    path = rnn_zoo.export(preset, tmp_path / "sms")
    serve = tf.saved_model.load(str(path)).signatures["serve"]
    texts = [preset.preprocessor.example_input(), "are we still on for dinner tonight?"]
    out = serve(text=tf.constant(texts))
    logits = preset.model.predict(preset.preprocessor.encode(texts), verbose=0)
    spam = np.exp(logits[:, 1]) / np.exp(logits).sum(-1)
    np.testing.assert_allclose(out["spam_probability"].numpy(), spam, rtol=1e-5)
    assert (
        [p["prediction"] for p in preset.predict(texts)]
        == ["spam", "ham"]
        == [b.decode() for b in out["prediction"].numpy()]
    )
    # An export never replaces the preset it is made from.
    mine = preset.save(tmp_path / "mine")
    with pytest.raises(PresetError, match="would overwrite the preset"):
        rnn_zoo.export(rnn_zoo.load_preset(mine), mine)


def test_sms_unicode_spaces_split_words_in_the_preset_the_saved_model_and_the_client(tmp_path):
    """Every character str.split() splits on (no-break, em, ideographic spaces, NEL, line
    separator ...) separates words as a space does, in the preset, its SavedModel and the
    token rules a standalone client reads from preprocessing.json (docs/export.md)."""
    import re

    import tensorflow as tf

    from rnn_zoo.tasks.sms import SPACE

    preset = rnn_zoo.load_preset("sms_spam_rnn")
    plain = "free prize now"
    texts = [plain, "free\u00a0prize\u2003now", "free\u2028prize\u3000now", "free\x85prize\u1680now"]
    texts += [f"free{c}prize{c}now" for c in SPACE]
    spam = [p["spam_probability"] for p in preset.predict(texts)]
    assert spam[0] > 0.5 and spam == [spam[0]] * len(texts)
    serve = tf.saved_model.load(str(rnn_zoo.export(preset, tmp_path / "sms"))).signatures["serve"]
    served = serve(text=tf.constant(texts))["spam_probability"].numpy()
    np.testing.assert_allclose(served, spam[0], rtol=1e-5)
    pre = json.loads(json.dumps(preset.preprocessor.standalone_config()))
    rules, index = pre["token_rules"], {token: i for i, token in enumerate(pre["vocabulary"])}

    def client_ids(message):  # the docs' client, token_ids()
        text = message.translate(str.maketrans(rules["lowercase"], rules["lowercase"].lower()))
        for pattern, replacement in rules["steps"]:
            text = re.sub(pattern, replacement, text)
        return [index.get(token, 1) for token in re.split(rules["split"], text) if token]

    assert all(client_ids(text) == client_ids(plain) == [index["free"], index["prize"], index["now"]] for text in texts)


def test_a_folder_named_like_a_task_does_not_hide_its_shipped_preset(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "letters_4pre1").mkdir()  # e.g. an unrelated folder of the user's
    assert rnn_zoo.load_preset("letters_4pre1").path == shipped_path("letters_4pre1")
    assert run(capsys, "predict", "letters_4pre1", "abcd")[:2] == (0, "e\n")
    with pytest.raises(PresetError, match="lacks model.keras"):
        rnn_zoo.load_preset("./letters_4pre1")  # a path means the folder


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_predicts_from_shipped_presets(capsys, tmp_path):
    assert run(capsys, "predict", "letters_4pre1", "abcd")[:2] == (0, "e\n")
    code, out, _ = run(capsys, "predict", "sms_spam_tuned", "WINNER!! claim your prize")
    assert code == 0 and out.split("\t")[0] == "spam"
    png = tmp_path / "digit.png"
    import tensorflow as tf

    image = rnn_zoo.load_preset("mnist_lstm_tuned").preprocessor.example_input()
    png.write_bytes(tf.io.encode_png(image[..., None]).numpy())
    code, out, _ = run(capsys, "predict", "mnist_lstm_tuned", str(png))
    assert code == 0 and out.strip() in list("0123456789")


def test_cli_refuses_a_preset_of_another_task_and_a_folder_without_preprocessing(capsys, tmp_path):
    code, out, err = run(capsys, "predict", "sine_regression", "--model", str(shipped_path("letters_4pre1")), "abcd")
    assert code == 2 and not out and err.count("\n") == 1 and "of task 'letters_4pre1', not 'sine_regression'" in err
    for command in ("evaluate", "export"):  # a preset of another task, for every command that takes one
        argv = [command, "sine_regression", "--model", str(shipped_path("letters_4pre1"))]
        code, _, err = run(capsys, *argv, *(["--out", str(tmp_path / "y")] if command == "export" else []))
        assert code == 2 and "of task 'letters_4pre1', not 'sine_regression'" in err, err
    model_only = tmp_path / "old_train_output"
    model_only.mkdir()
    rnn_zoo.load_preset("letters_4pre1").model.save(model_only / "model.keras")
    for command in (
        ["predict", "letters_4pre1", "abcd"],
        ["evaluate", "letters_4pre1"],
        ["export", "letters_4pre1", "--out", str(tmp_path / "x")],
    ):
        argv = [*command[:2], "--model", str(model_only), *command[2:]]
        code, out, err = run(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and "it lacks preprocessor.json, metadata.json" in err, (command, err)
    assert not (tmp_path / "x").exists()


@pytest.mark.backend_free
def test_cli_list_shows_each_preset_and_its_headline_metric_beside_the_baseline(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.splitlines()[0].split()[4:9] == ["preset", "(test)", "baseline", "vs", "baseline"]
    for name in TASKS:
        meta = read_metadata(shipped_path(name))
        metric = meta["headline_metric"]
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert f"{metric} {fmt_number(meta['metrics'][metric])}" in line
        assert f"  {fmt_number(meta['baseline'][metric])}  " in line


@pytest.mark.backend_free
def test_readme_presets_table_is_generated_from_the_metadata():
    """`python -m tools.make_presets` writes it, from the metadata and results/results.json."""
    table = presets_table()
    assert read_table(TABLE, root=ROOT, page=README) == table
    assert "| preset | cell | metric | model | baseline | classical | who wins | flag |" in table
    row = next(line for line in table.splitlines() if line.startswith("| `stock_lstm` |"))
    assert "| 104.4 | 19.62 (tomorrow = today) |" in row and "**loses to baseline**" in row
    row = next(line for line in table.splitlines() if line.startswith("| `letters_4pre1` |"))
    assert "vs baseline: RNN by 80.00 pts" in row and "loses" not in row


@pytest.mark.real_data
@pytest.mark.slow
def test_sms_model_trained_on_another_split_keeps_its_vocabulary(capsys, tmp_path, real_data_dir, monkeypatch):
    """Regression: a seed-1 SMS model was evaluated and exported with the seed-0 vocabulary
    (a crash in evaluate, wrong answers in the export)."""
    import tensorflow as tf

    monkeypatch.setenv("RNN_ZOO_DATA", str(real_data_dir))
    out_dir = tmp_path / "seed1"
    assert (
        run(capsys, "train", "sms_spam_rnn", "--seed", "1", "--epochs", "3", "--out", str(out_dir), "--verbose", "0")[0]
        == 0
    )
    trained = json.loads((out_dir / "metadata.json").read_text())["metrics"]
    code, out, err = run(capsys, "evaluate", "sms_spam_rnn", "--model", str(out_dir))
    assert code == 0, err
    accuracy = float(next(line.split()[1] for line in out.splitlines() if line.startswith("accuracy")))
    assert accuracy == pytest.approx(trained["accuracy"], abs=1e-6)
    assert run(capsys, "export", "sms_spam_rnn", "--model", str(out_dir), "--out", str(tmp_path / "sm"))[0] == 0
    preset = rnn_zoo.load_preset(out_dir)
    data = rnn_zoo.load_task_data("sms_spam_rnn", seed=1, preprocessor=preset.preprocessor)
    spam = (
        tf.saved_model.load(str(tmp_path / "sm"))
        .signatures["serve"](text=tf.constant(data.text_test))["spam_probability"]
        .numpy()
    )
    assert data.score(np.stack([1 - spam, spam], -1))["accuracy"] == pytest.approx(trained["accuracy"], abs=2e-3)


@pytest.mark.slow
def test_wheel_carries_every_preset_and_serves_from_a_plain_install(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("rnn_zoo-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in TASKS:
        for file in ("model.keras", "preprocessor.json", "metadata.json", "MODEL_CARD.md"):
            assert f"rnn_zoo/pretrained/{name}/{file}" in names
    assert "rnn_zoo/pretrained/sms_spam_tuned/assets/vocabulary.txt" in names
    assert "rnn_zoo/py.typed" in names  # the type hints are part of the API
    assert not [n for n in names if n.startswith("tools/")]  # the maintainers' tools stay in the checkout
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("RNN_ZOO_DATA", None)
    code = (
        "import rnn_zoo, sys; from rnn_zoo.cli import main; print(rnn_zoo.__file__); "
        "sys.exit(main(['predict', 'letters_4pre1', 'abcd']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    where, answer = done.stdout.split()
    assert Path(where).is_relative_to(target) and answer == "e"
