"""A preset is untrusted input: a corpus of tampered presets, made here from the shipped
ones, each refused in one line (a PresetError, exit 2) naming the file and the field.

The fast part reads the JSON files alone (`read_metadata`, `load_preprocessor`: no Keras);
`load_preset` (about a second each) runs only where the model itself is in question."""

import copy
import json
import math
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import rnn_zoo
from rnn_zoo.cli import main
from rnn_zoo.errors import DataError, PresetError
from rnn_zoo.preprocessing import PREPROCESSOR_FILE, load_preprocessor
from rnn_zoo.preset_files import METADATA_FILE, METADATA_SCHEMA, MODEL_FILE, read_metadata
from rnn_zoo.shipped import shipped_path

TASKS = rnn_zoo.list_tasks()
ROOT = Path(__file__).resolve().parents[1]


def _first_per(key) -> list[str]:
    """The first task of each value of key(task): one preset per family or preprocessor class."""
    chosen: dict = {}
    for name in TASKS:
        chosen.setdefault(key(name), name)
    return list(chosen.values())


def _class_of(name: str) -> str:
    return json.loads((shipped_path(name) / PREPROCESSOR_FILE).read_text())["class"]


# One task per preprocessor class (and both sine tasks: sequence_output differs), one per family.
PREPROCESSOR_TASKS = sorted({*_first_per(_class_of), "sin_to_cos", "sms_spam_symbols"})
FAMILY_TASKS = _first_per(lambda name: rnn_zoo.get_task(name).family)


def copy_preset(name: str, folder: Path) -> Path:
    """A copy of task `name`'s shipped preset, to tamper with."""
    target = folder / name
    shutil.copytree(shipped_path(name), target)
    return target


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def assert_one_line(error: BaseException, *names: str) -> None:
    message = str(error)
    assert "\n" not in message and len(message) < 600, message
    for name in names:
        assert name in message, (name, message)


MISSING = object()


def mutations(value) -> list[tuple[str, object]]:
    """The tampered values tried for a JSON value of the shipped file's type."""
    common = [("missing", MISSING), ("null", None), ("nested", [[[[1]]]])]
    if isinstance(value, bool):
        return [*common, ("string no", "no"), ("int 1", 1), ("int 0", 0)]
    if isinstance(value, int):
        return [
            *common,
            ("string", "no"),
            ("bool", True),
            ("float", 1.5),
            ("nan", math.nan),
            ("zero", 0),
            ("negative", -1),
            ("huge", 10**12),
        ]
    if isinstance(value, float):
        return [*common, ("string", "no"), ("bool", True), ("nan", math.nan), ("inf", math.inf), ("zero", 0.0)]
    if isinstance(value, str):
        return [*common, ("int", 1), ("bool", False), ("empty", "")]
    if isinstance(value, list):
        return [*common, ("string", "no"), ("empty", []), ("nan", [math.nan, 1.0]), ("reversed", value[::-1])]
    return common


# Tamperings a preprocessor.json may hold and still be valid (the value means something).
VALID_PREPROCESSOR = {
    ("sequence_output", "missing"),  # defaults to false: right for sine_regression
    ("tokens", "missing"),  # presets from before "symbols" tokens: "words" (see test_*_data_options_*)
    ("height", "missing"),  # defaults to MNIST's 28 x 28
    ("width", "missing"),
    ("vocabulary_file", "missing"),
    ("vocabulary_file", "empty"),  # (a record only: the file is assets/vocabulary.txt)
    ("calibration_scores", "missing"),  # presets from before the intervals: a point forecast only
    ("calibration_scores", "empty"),
    ("class_names", "missing"),  # presets from before a user's own labels: ham and spam
}
# Fields a shipped preprocessor.json may lack (the presets written before them), tampered as
# the value a new preset writes: {class name: {field: value}}.
NEWER_FIELDS = {"SmsVocabulary": {"class_names": ["ham", "spam"]}}


def _valid_preprocessor(name: str, key: str, label: str) -> bool:
    # (sms_spam_symbols read as "words": its symbol tokens are ones "words" never makes.)
    special = {"sin_to_cos": "sequence_output", "sms_spam_symbols": "tokens"}
    return (key, label) in VALID_PREPROCESSOR and special.get(name) != key


def _preprocessor_cases():
    for name in PREPROCESSOR_TASKS:
        record = json.loads((shipped_path(name) / PREPROCESSOR_FILE).read_text())
        config = {**NEWER_FIELDS.get(record["class"], {}), **record["config"]}
        for key, value in config.items():
            for label, bad in mutations(value):
                yield pytest.param(name, key, label, bad, id=f"{name}-{key}-{label}")


@pytest.fixture
def tampered(tmp_path):
    """A copy of a shipped preset to tamper with (a few files, under a megabyte)."""
    return lambda name: copy_preset(name, tmp_path)


@pytest.mark.parametrize(("name", "key", "label", "bad"), list(_preprocessor_cases()))
def test_every_preprocessor_field_is_checked(tampered, name, key, label, bad):
    folder = tampered(name)
    path = folder / PREPROCESSOR_FILE

    def change(record):
        if bad is MISSING:
            record["config"].pop(key, None)
        else:
            record["config"][key] = bad

    edit_json(path, change)
    spec = rnn_zoo.get_task(name)
    if _valid_preprocessor(name, key, label):
        load_preprocessor(folder, spec)  # loads
        return
    with pytest.raises(PresetError) as caught:
        load_preprocessor(folder, spec)
    assert_one_line(caught.value, str(path), key)


@pytest.mark.parametrize("name", PREPROCESSOR_TASKS)
def test_the_preprocessor_record_itself_is_checked(tampered, name):
    folder = tampered(name)
    path = folder / PREPROCESSOR_FILE
    original = path.read_text()
    for record, field in (
        ({"class": "Pickle", "format_version": 1, "config": {}}, "'class'"),
        ({"class": _class_of(name), "format_version": True, "config": {}}, "format version"),
        ([1, 2], "'config'"),
        ({**json.loads(original), "config": "no"}, "'config'"),
        ({**json.loads(original), "config": {**json.loads(original)["config"], "extra": 1}}, "config.extra"),
    ):
        path.write_text(json.dumps(record))
        with pytest.raises(PresetError) as caught:
            load_preprocessor(folder)
        assert_one_line(caught.value, str(path), field)
    path.write_text("[" * 100_000 + "]" * 100_000)  # deeper than Python's recursion limit
    with pytest.raises(PresetError) as caught:
        load_preprocessor(folder)
    assert_one_line(caught.value, str(path), "nested too deeply")


def test_sin_to_cos_must_answer_every_step(tampered):
    folder = tampered("sin_to_cos")
    edit_json(folder / PREPROCESSOR_FILE, lambda r: r["config"].update(sequence_output=False))
    with pytest.raises(PresetError) as caught:
        load_preprocessor(folder, rnn_zoo.get_task("sin_to_cos"))
    assert_one_line(caught.value, PREPROCESSOR_FILE, "sequence_output must be true")


# -- metadata.json ------------------------------------------------------------------------

# Tamperings a metadata.json may hold and still be valid.
VALID_METADATA = {
    ("seed", "zero"),
    ("max_train_samples", "null"),
    ("description", "empty"),
    ("date", "empty"),
    ("command", "empty"),
    ("license", "empty"),
    ("rnn_zoo", "empty"),
    ("training", "missing"),
    ("training", "empty"),
    ("data_options", "empty"),
    ("overrides", "empty"),
}


def _metadata_cases():
    for name in FAMILY_TASKS:
        meta = json.loads((shipped_path(name) / METADATA_FILE).read_text())
        for key in [*METADATA_SCHEMA, "training"]:
            value = meta.get(key)
            tries = mutations(value) + ([("empty", {})] if isinstance(value, dict) else [])
            for label, bad in tries:
                yield pytest.param(name, (key,), label, bad, id=f"{name}-{key}-{label}")
        for part in ("metrics", "baseline", "dataset", "versions"):
            key = next(k for k in meta[part] if k != "name")
            for label, bad in mutations(meta[part][key]):
                yield pytest.param(name, (part, key), label, bad, id=f"{name}-{part}.{key}-{label}")


@pytest.mark.parametrize(("name", "keys", "label", "bad"), list(_metadata_cases()))
def test_every_metadata_field_is_checked(tampered, name, keys, label, bad):
    folder = tampered(name)
    path = folder / METADATA_FILE

    def change(meta):
        where = meta
        for key in keys[:-1]:
            where = where[key]
        if bad is MISSING:
            where.pop(keys[-1], None)
        else:
            where[keys[-1]] = bad

    edit_json(path, change)
    # (a metric of 0 is a perfect score: valid)
    if (keys[-1], label) in VALID_METADATA or (keys[0] in ("metrics", "baseline") and label == "zero"):
        read_metadata(folder)
        return
    with pytest.raises(PresetError) as caught:
        read_metadata(folder)
    assert_one_line(caught.value, str(path), keys[-1])


@pytest.mark.parametrize("name", FAMILY_TASKS)
def test_metadata_names_a_registered_task_of_its_family(tampered, name):
    folder = tampered(name)
    path = folder / METADATA_FILE
    other = next(t for t in TASKS if rnn_zoo.get_task(t).family != rnn_zoo.get_task(name).family)
    for change, field in (
        (dict(task="no_such_task"), "'task'"),
        (dict(task=other), "'family'"),
        (dict(family="nonsense"), "'family'"),
        (dict(headline_metric="nonsense"), "'headline_metric'"),
        (dict(format_version=2), "'format_version'"),
    ):
        meta = json.loads((shipped_path(name) / METADATA_FILE).read_text())
        path.write_text(json.dumps({**meta, **change}))
        with pytest.raises(PresetError) as caught:
            read_metadata(folder)
        assert_one_line(caught.value, str(path), field)


# -- the folder: only its own regular files -------------------------------------------------


@pytest.fixture
def sms_copy(tampered):
    return tampered("sms_spam_tuned")


def _secret(tmp_path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-LINE-1\nTOPSECRET-LINE-2\n")
    return secret


def test_a_symlinked_vocabulary_is_refused(sms_copy, tmp_path):
    vocabulary = sms_copy / "assets" / "vocabulary.txt"
    vocabulary.unlink()
    vocabulary.symlink_to(_secret(tmp_path))
    with pytest.raises(PresetError) as caught:
        load_preprocessor(sms_copy)
    assert_one_line(caught.value, str(vocabulary), "symbolic link")
    assert "TOPSECRET" not in str(caught.value)


def test_a_symlinked_assets_folder_is_refused(sms_copy, tmp_path):
    outside = tmp_path / "outside"
    shutil.move(sms_copy / "assets", outside)
    (sms_copy / "assets").symlink_to(outside, target_is_directory=True)
    for read in (load_preprocessor, read_metadata):
        with pytest.raises(PresetError) as caught:
            read(sms_copy)
        assert_one_line(caught.value, str(sms_copy / "assets"), "symbolic link")


@pytest.mark.parametrize("file", [MODEL_FILE, PREPROCESSOR_FILE, METADATA_FILE])
def test_a_symlinked_preset_file_is_refused(tampered, file):
    folder = tampered("letters_4pre1")
    (folder / file).unlink()
    (folder / file).symlink_to(shipped_path("letters_4pre1") / file)
    with pytest.raises(PresetError) as caught:
        read_metadata(folder)
    assert_one_line(caught.value, str(folder / file), "symbolic link")


def _in_a_child(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python: a FIFO that blocks must not block the test run."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=os.environ
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_vocabulary_is_refused_without_blocking(sms_copy):
    vocabulary = sms_copy / "assets" / "vocabulary.txt"
    vocabulary.unlink()
    os.mkfifo(vocabulary)
    code = (
        "from rnn_zoo.errors import PresetError\n"
        "from rnn_zoo.preprocessing import load_preprocessor, read_preset_file\n"
        f"folder = {str(sms_copy)!r}\n"
        "for read in (lambda: load_preprocessor(folder), lambda: read_preset_file(folder + '/assets/vocabulary.txt')):\n"
        "    try:\n        read()\n    except PresetError as e:\n        print(e)\n"
    )
    done = _in_a_child(code, timeout=60)  # a blocked open would time out here
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and len(lines) == 2, done.stderr
    assert all(str(vocabulary) in line and "not a regular file" in line for line in lines)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
@pytest.mark.parametrize("file", [METADATA_FILE, PREPROCESSOR_FILE])
def test_a_fifo_preset_file_is_refused_without_blocking(tampered, file):
    folder = tampered("letters_4pre1")
    (folder / file).unlink()
    os.mkfifo(folder / file)
    code = (
        "from rnn_zoo.errors import PresetError\n"
        "from rnn_zoo.preprocessing import load_preprocessor\n"
        "from rnn_zoo.preset_files import read_metadata\n"
        f"folder = {str(folder)!r}\n"
        "for read in (read_metadata, load_preprocessor):\n"
        "    try:\n        read(folder)\n    except PresetError as e:\n        print(e)\n"
    )
    done = _in_a_child(code, timeout=60)  # a blocked open would time out here
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and len(lines) == 2, done.stderr
    assert all(str(folder / file) in line and "not a regular file" in line for line in lines)


def test_an_oversized_file_is_refused_before_it_is_read(sms_copy):
    vocabulary = sms_copy / "assets" / "vocabulary.txt"
    with open(vocabulary, "r+b") as f:
        f.truncate(65 << 20)  # sparse: 65 MB on paper, nothing on disk
    with pytest.raises(PresetError) as caught:
        load_preprocessor(sms_copy)
    assert_one_line(caught.value, str(vocabulary), "more than")


def test_a_repeated_or_empty_vocabulary_token_is_refused(sms_copy):
    vocabulary = sms_copy / "assets" / "vocabulary.txt"
    words = vocabulary.read_text(encoding="utf-8").split("\n")[:-1]
    for bad in ([*words[:-1], words[0]], [*words[:-1], ""], [*words[:-1], "[UNK]"]):
        vocabulary.write_text("".join(w + "\n" for w in bad), encoding="utf-8", newline="")
        with pytest.raises(PresetError) as caught:
            load_preprocessor(sms_copy)
        assert_one_line(caught.value, str(vocabulary), "empty, repeated or reserved")


SMS_PRESETS = ("sms_spam_rnn", "sms_spam_tuned", "sms_spam_symbols")


@pytest.mark.parametrize("name", SMS_PRESETS)
def test_sms_vocabulary_with_crlf_line_ends_is_refused(tampered, name):
    """A CRLF vocabulary (a Windows checkout with core.autocrlf) put "\r" into every token:
    no message token ever matched, and every message was ham, exit 0."""
    folder = tampered(name)
    vocabulary = folder / "assets" / "vocabulary.txt"
    vocabulary.write_bytes(vocabulary.read_bytes().replace(b"\n", b"\r\n"))
    with pytest.raises(PresetError) as caught:
        load_preprocessor(folder)
    assert_one_line(caught.value, f"{vocabulary}:1:", "not a token the tokenizer makes", "CRLF")
    assert main(["predict", name, "--model", str(folder), "WINNER!! claim your free prize now"]) == 2


@pytest.mark.parametrize("name", SMS_PRESETS)
def test_sms_vocabulary_token_the_tokenizer_cannot_make_is_refused(tampered, name):
    folder = tampered(name)
    vocabulary = folder / "assets" / "vocabulary.txt"
    words = vocabulary.read_text(encoding="utf-8").split("\n")[:-1]
    bad = ["Prize", "free prize", "free\u00a0prize", "\u3000", "tab\t"]  # uppercase, whitespace
    bad += ["zz1"] if name != "sms_spam_symbols" else ["aa00", "!!", "a!"]  # "1" is "0"; one symbol per token
    for token in bad:
        edited = [*words[:6], token, *words[7:]]  # line 7
        vocabulary.write_text("".join(w + "\n" for w in edited), encoding="utf-8", newline="")
        with pytest.raises(PresetError) as caught:
            load_preprocessor(folder)
        assert_one_line(caught.value, f"{vocabulary}:7:", repr(token), "not a token the tokenizer makes")
    vocabulary.write_text("".join(w + "\n" for w in words), encoding="utf-8", newline="")
    assert load_preprocessor(folder).vocabulary[2:] == tuple(words)


def test_sms_shipped_vocabularies_are_checked_out_byte_exact():
    """.gitattributes keeps Git from converting line ends in the shipped presets (-text)."""
    import shutil as _shutil

    for name in SMS_PRESETS:
        assert b"\r" not in (shipped_path(name) / "assets" / "vocabulary.txt").read_bytes()
    root = Path(__file__).resolve().parent.parent
    if _shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    files = [f"rnn_zoo/pretrained/{name}/assets/vocabulary.txt" for name in SMS_PRESETS]
    files += ["rnn_zoo/pretrained/stock_lstm/preprocessor.json", "rnn_zoo/pretrained/mnist_lstm/model.keras"]
    done = subprocess.run(["git", "check-attr", "text", "--", *files], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{f}: text: unset" for f in files]


# -- model.keras opened with limits ----------------------------------------------------------


def _rezip(source: Path, target: Path, change) -> None:
    """`target`: the zip `source` with its entries passed through change(name, data) -> [(name, data)]."""
    with zipfile.ZipFile(source) as old:
        entries = [(i.filename, old.read(i.filename)) for i in old.infolist()]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in entries:
            for out_name, out_data in change(name, data):
                new.writestr(out_name, out_data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # A zip bomb: a config.json that expands to 40 MB, from a file of about 40 KB.
        (lambda n, d: [(n, d + b" " * (40 << 20) if n == "config.json" else d)], "'config.json' expands to"),
        (lambda n, d: [(n, d), ("../../etc/evil", b"x")] if n == "config.json" else [(n, d)], "is not one a Keras"),
        (lambda n, d: [] if n == "model.weights.h5" else [(n, d)], "'model.weights.h5' is missing"),
    ],
    ids=["zip-bomb", "stray-entry", "no-weights"],
)
def test_model_keras_entries_are_limited(tampered, change, message):
    from rnn_zoo.preset_files import check_model_archive

    folder = tampered("letters_4pre1")
    model = folder / MODEL_FILE
    _rezip(shipped_path("letters_4pre1") / MODEL_FILE, model, change)
    assert model.stat().st_size < 1 << 20
    with pytest.raises(PresetError) as caught:
        check_model_archive(model)
    assert_one_line(caught.value, str(model), message)


def test_load_preset_refuses_a_zip_bomb_before_keras_reads_it(tampered):
    folder = tampered("letters_4pre1")
    model = folder / MODEL_FILE
    bomb = lambda n, d: [(n, d + b" " * (40 << 20) if n == "config.json" else d)]  # noqa: E731
    _rezip(shipped_path("letters_4pre1") / MODEL_FILE, model, bomb)
    with pytest.raises(PresetError) as caught:
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, str(model), "config.json")
    (folder / MODEL_FILE).write_bytes(b"not a zip")
    with pytest.raises(PresetError) as caught:
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, str(model), "not a Keras file")


# -- metadata is description, never a path to open -------------------------------------------


def test_a_path_in_the_metadata_is_never_opened(tampered, tmp_path):
    secret = _secret(tmp_path)
    folder = tampered("stock_gru_returns")
    edit_json(folder / METADATA_FILE, lambda m: m.update(data_options={"csv_path": str(secret)}))
    preset = rnn_zoo.load_preset(folder)
    for call in (preset.load_data, preset.evaluate, preset.as_result):
        with pytest.raises(DataError) as caught:
            call()
        assert_one_line(caught.value, "csv_path", "pass the file yourself")
        assert "TOPSECRET" not in str(caught.value) and str(secret) not in str(caught.value)


def test_an_onnx_export_never_reads_a_path_in_the_metadata(tampered, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    secret = _secret(tmp_path)
    folder = tampered("stock_gru_returns")
    edit_json(folder / METADATA_FILE, lambda m: m.update(data_options={"csv_path": str(secret)}))
    out = rnn_zoo.export(rnn_zoo.load_preset(folder), tmp_path / "onnx", format="onnx")
    assert not any("TOPSECRET" in p.read_text(errors="ignore") for p in out.iterdir() if p.suffix == ".json")


def test_a_data_file_given_by_the_user_is_read(tampered, tmp_path):
    folder = tampered("stock_gru_returns")
    edit_json(folder / METADATA_FILE, lambda m: m.update(data_options={"csv_path": "/nowhere/prices.csv"}))
    preset = rnn_zoo.load_preset(folder)
    mine = tmp_path / "mine.csv"
    mine.write_text("date,open\n" + "".join(f"2020-01-{d:02d},{100 + d}\n" for d in range(1, 20)))
    with pytest.raises(DataError) as caught:  # read (it is too short), not refused as a path
        preset.load_data(csv_path=mine)
    assert "pass the file yourself" not in str(caught.value)
    with pytest.raises(DataError, match="only the data files"):
        preset.load_data(window=3)


# -- a model is checked against its task -----------------------------------------------------


@pytest.mark.parametrize(
    ("model_of", "labelled"),
    [
        ("stock_lstm", "stock_gru"),
        ("letters_4pre1", "letters_1pre1"),
        ("sine_regression", "stock_lstm"),
        ("mnist_lstm_tuned", "mnist_lstm"),
        ("letters_embedding_4pre1", "letters_4pre1"),
    ],
)
def test_a_relabelled_model_is_refused(tmp_path, model_of, labelled):
    """The model file of one task in the preset of another (its metadata, spec and
    preprocessor all the other's): the model itself must say it is not."""
    folder = copy_preset(labelled, tmp_path)
    shutil.copyfile(shipped_path(model_of) / MODEL_FILE, folder / MODEL_FILE)
    with pytest.raises(PresetError) as caught:
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, str(folder))


def test_a_relabelled_metadata_is_refused(tmp_path):
    folder = copy_preset("stock_lstm", tmp_path)
    path = folder / METADATA_FILE
    edit_json(path, lambda m: m.update(task="stock_gru", description="stock_gru"))
    with pytest.raises(PresetError) as caught:
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, str(path), "spec.model.cell")
    # The same with the spec made stock_gru's too: the model (LSTM layers) is not.
    gru = json.loads((shipped_path("stock_gru") / METADATA_FILE).read_text())
    edit_json(path, lambda m: m.update(task="stock_gru", spec=gru["spec"], parameters=gru["parameters"]))
    with pytest.raises(PresetError) as caught:
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, str(folder / MODEL_FILE), "stock_gru")


def test_overrides_and_spec_must_build_the_model(tmp_path):
    folder = copy_preset("letters_4pre1", tmp_path)
    path = folder / METADATA_FILE
    original = json.loads(path.read_text())
    for change, names in (
        (lambda m: m["overrides"].update(nonsense=1), ("'overrides'", "nonsense")),
        (lambda m: m["overrides"].update(units=7), ("spec.model.units",)),
        (lambda m: m["spec"]["train"].update(learning_rate=0.5), ("spec.train.learning_rate",)),
        (lambda m: m.update(parameters=m["parameters"] + 1), ("'parameters'",)),
    ):
        meta = copy.deepcopy(original)
        change(meta)
        path.write_text(json.dumps(meta))
        with pytest.raises(PresetError) as caught:
            rnn_zoo.load_preset(folder)
        assert_one_line(caught.value, str(path), *names)


def test_the_preprocessor_keeps_the_tasks_data_options(tmp_path):
    folder = copy_preset("sms_spam_symbols", tmp_path)
    edit_json(folder / PREPROCESSOR_FILE, lambda r: r["config"].pop("tokens"))  # "words" by default
    # Symbol tokens, which "words" cannot make (refused on their own), become words.
    vocabulary = folder / "assets" / "vocabulary.txt"
    words = vocabulary.read_text(encoding="utf-8").split("\n")[:-1]
    words = [
        w if re.fullmatch("[a-z0]+", w) else "qqz" + "".join(chr(97 + int(d)) for d in str(i))
        for i, w in enumerate(words)
    ]
    vocabulary.write_text("".join(w + "\n" for w in words), encoding="utf-8", newline="")
    with pytest.raises(PresetError) as caught:
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, str(folder / METADATA_FILE), "config.tokens", "'symbols'")


def test_a_vocabulary_larger_than_the_embedding_is_refused(tmp_path):
    folder = copy_preset("sms_spam_tuned", tmp_path)
    vocabulary = folder / "assets" / "vocabulary.txt"
    with open(vocabulary, "a", encoding="utf-8", newline="") as f:
        f.write("zzextra\n")
    edit_json(folder / PREPROCESSOR_FILE, lambda r: r["config"].update(vocab_size=r["config"]["vocab_size"] + 1))
    with pytest.raises(PresetError) as caught:  # the metadata records the vocabulary's size
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, str(folder / METADATA_FILE), "spec.model.embedding_input_dim")
    # ... and with the metadata made to agree, the model's Embedding says it.
    edit_json(
        folder / METADATA_FILE,
        lambda m: m["spec"]["model"].update(embedding_input_dim=m["spec"]["model"]["embedding_input_dim"] + 1),
    )
    with pytest.raises(PresetError) as caught:
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, str(folder / MODEL_FILE), "Embedding takes")


@pytest.mark.parametrize(
    ("model_of", "exported_as"),
    [("letters_4pre1", "letters_1pre1"), ("sine_regression", "stock_lstm"), ("stock_lstm", "stock_gru")],
)
def test_export_refuses_a_keras_model_of_another_task(tmp_path, model_of, exported_as):
    model = rnn_zoo.load_preset(model_of).model
    preprocessor = load_preprocessor(shipped_path(exported_as))
    with pytest.raises(PresetError) as caught:
        rnn_zoo.export(model, tmp_path / "out", task=exported_as, preprocessor=preprocessor)
    assert_one_line(caught.value, exported_as)
    assert not (tmp_path / "out").exists()


def test_export_takes_a_keras_model_of_its_task(tmp_path):
    preset = rnn_zoo.load_preset("letters_4pre1")
    out = rnn_zoo.export(preset.model, tmp_path / "out", task="letters_4pre1", preprocessor=preset.preprocessor)
    assert (out / "saved_model.pb").is_file()


@pytest.mark.parametrize(
    ("model_of", "scored_as"), [("letters_4pre1", "letters_1pre1"), ("sine_regression", "sine_regression_linear")]
)
def test_evaluate_refuses_a_keras_model_of_another_task(model_of, scored_as):
    model = rnn_zoo.load_preset(model_of).model
    with pytest.raises(PresetError) as caught:
        rnn_zoo.evaluate(model, scored_as)
    assert_one_line(caught.value, "evaluate", scored_as)


def test_evaluate_takes_a_keras_model_of_its_task():
    assert rnn_zoo.evaluate(rnn_zoo.load_preset("letters_4pre1").model, "letters_4pre1")["accuracy"] > 0.9


def test_a_key_given_twice_in_a_preset_json_is_refused(tampered):
    folder = tampered("letters_4pre1")
    text = (folder / METADATA_FILE).read_text()
    (folder / METADATA_FILE).write_text(text.replace("{", '{"seed": 7, ', 1))
    with pytest.raises(PresetError) as caught:
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, str(folder / METADATA_FILE), "'seed' twice")


def test_a_huge_number_is_not_echoed_whole(tampered):
    folder = tampered("letters_4pre1")
    edit_json(folder / METADATA_FILE, lambda m: m.update(seed=10**400))
    with pytest.raises(PresetError) as caught:
        rnn_zoo.load_preset(folder)
    assert_one_line(caught.value, "seed")
    assert len(str(caught.value)) < 300


# -- the command line: one line, exit 2 --------------------------------------------------


def test_the_cli_refuses_tampered_presets_in_one_line(tampered, tmp_path, capsys):
    symlinked = tampered("sms_spam_tuned")
    vocabulary = symlinked / "assets" / "vocabulary.txt"
    vocabulary.unlink()
    vocabulary.symlink_to(_secret(tmp_path))
    scaled = tampered("stock_gru_returns")
    edit_json(scaled / PREPROCESSOR_FILE, lambda r: r["config"].update(return_scale=0))
    sine = tampered("sin_to_cos")
    edit_json(sine / PREPROCESSOR_FILE, lambda r: r["config"].update(sequence_output="no"))
    deep = tampered("letters_4pre1")
    (deep / METADATA_FILE).write_text("[" * 100_000 + "]" * 100_000)
    for argv, names in (
        (["predict", "sms_spam_tuned", "hello", "--model", str(symlinked)], ("vocabulary.txt", "symbolic link")),
        (["predict", "stock_gru_returns", "1 " * 60, "--model", str(scaled)], ("preprocessor.json", "return_scale")),
        (["predict", "sin_to_cos", "0 " * 10, "--model", str(sine)], ("preprocessor.json", "sequence_output")),
        (["evaluate", "letters_4pre1", "--model", str(deep)], ("metadata.json", "nested too deeply")),
    ):
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 2 and err.count("\n") == 1 and err.startswith("rnn-zoo: error: "), err
        assert all(name in err for name in names) and "TOPSECRET" not in err + out, err
