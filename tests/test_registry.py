import dataclasses

import pytest

import rnn_zoo
from rnn_zoo.registry import _REGISTRY

pytestmark = pytest.mark.backend_free  # the registry is plain Python

TUTORIAL_TASKS = [
    "letters_1pre1",
    "letters_4pre1",
    "letters_embedding_1pre1",
    "letters_embedding_4pre1",
    "stock_simplernn",
    "stock_lstm",
    "stock_gru",
    "sine_regression",
    "sin_to_cos",
    "mnist_lstm",
    "sms_spam_rnn",
]


def test_every_tutorial_task_is_registered():
    assert set(TUTORIAL_TASKS) <= set(rnn_zoo.list_tasks())


def test_list_tasks_is_sorted_and_filters_with_fnmatch():
    names = rnn_zoo.list_tasks()
    assert names == sorted(names)
    assert rnn_zoo.list_tasks("stock_*") == ["stock_gru", "stock_gru_returns", "stock_lstm", "stock_simplernn"]
    assert rnn_zoo.list_tasks("*_tuned") == [
        "letters_embedding_1pre1_tuned",
        "mnist_lstm_tuned",
        "sin_to_cos_tuned",
        "sine_regression_tuned",
        "sms_spam_tuned",
    ]
    assert rnn_zoo.list_tasks("letters_?pre1") == ["letters_1pre1", "letters_4pre1"]
    assert rnn_zoo.list_tasks("nothing*") == []


@pytest.mark.parametrize("name", rnn_zoo.list_tasks())
def test_spec_is_frozen_and_complete(name):
    spec = rnn_zoo.get_task(name)
    assert spec.name == name
    assert spec.family and spec.description and spec.recipe and spec.target
    assert spec.model.units and all(u > 0 for u in spec.model.units)
    assert spec.train.epochs > 0 and spec.train.batch_size > 0 and spec.train.learning_rate > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"
    with pytest.raises(TypeError):
        spec.data_options["x"] = 1


def test_unknown_task_lists_closest_names():
    with pytest.raises(rnn_zoo.UnknownTaskError, match="Did you mean 'stock_lstm'") as info:
        rnn_zoo.get_task("stock_lstn")
    assert "letters_4pre1" in str(info.value)  # the full list of valid names follows
    with pytest.raises(LookupError):
        rnn_zoo.build("no_such_task")


def test_registering_a_duplicate_name_fails_loudly():
    spec = rnn_zoo.get_task("letters_4pre1")
    with pytest.raises(ValueError, match="already registered"):
        rnn_zoo.register(spec)
    assert _REGISTRY["letters_4pre1"] is spec


def test_registering_an_unknown_cell_fails():
    spec = dataclasses.replace(
        rnn_zoo.get_task("letters_4pre1"),
        name="tmp_bad_cell",
        model=dataclasses.replace(rnn_zoo.get_task("letters_4pre1").model, cell="transformer"),
    )
    with pytest.raises(ValueError, match="cell must be one of"):
        rnn_zoo.register(spec)
    assert "tmp_bad_cell" not in rnn_zoo.list_tasks()
