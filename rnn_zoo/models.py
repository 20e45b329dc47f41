"""One factory: a task spec plus keyword overrides -> a keras.Sequential."""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import typing
from typing import Any

from .backend import import_keras_quietly
from .errors import InvalidOverrideError, PresetError
from .preprocessing import Preprocessor
from .registry import CELLS, ModelSpec, TaskSpec, TrainSpec, get_task
from .shipped import shipped_preprocessor

import_keras_quietly()  # on TensorFlow, its start-up lines hidden before Keras imports it
import keras  # noqa: E402

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}
# Each loss a spec may name, and the Keras loss it compiles to (the classifiers' one is
# built with the spec's from_logits).
LOSSES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "huber": "huber",
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
}


class Override(typing.NamedTuple):
    """A `build` override: what values it takes (error messages say it), and what it does."""

    takes: str
    does: str


# Every override build() (and train(), and `rnn-zoo train --set`) accepts: the one list of them.
OVERRIDES = {
    "cell": Override(f"one of {', '.join(CELLS)}", "the cell of every recurrent layer"),
    "units": Override(
        "a positive int (every layer) or a list of positive ints (one per layer)", "the recurrent layers' widths"
    ),
    "num_layers": Override("a positive int", "depth: fewer layers keep the first widths, more repeat the last"),
    "bidirectional": Override("a bool", "wrap every recurrent layer in Bidirectional (doubles its output width)"),
    "dropout": Override(
        "a float in [0, 1), applied between recurrent layers",
        "Dropout after each recurrent layer, never inside the recurrent step (so cuDNN stays on)",
    ),
    "learning_rate": Override("a positive, finite float", "the optimizer's (starting) learning rate"),
    "optimizer": Override(f"one of {', '.join(OPTIMIZERS)} or a keras optimizer instance", "the optimizer"),
    "loss": Override(f"one of {', '.join(LOSSES)}", "the training loss"),
    "embedding_dim": Override("a positive int (tasks with an Embedding only)", "the Embedding's width"),
    "vocab_size": Override(
        "a positive int (tasks with an Embedding only)",
        "the Embedding's vocabulary, only where no preprocessor fixes it (the SMS tasks' comes from their data)",
    ),
    "num_classes": Override(
        "an int >= 2 (tasks whose classes come from their data's labels only: the SMS tasks)",
        "the head's width, one output per class, only where no preprocessor fixes it (a trained SMS model's "
        "comes from the labels of its data)",
    ),
    "batch_size": Override(
        "a positive int (stateful tasks only: it fixes the input's batch size)",
        "a stateful RNN's fixed batch size",
    ),
    "lr_schedule": Override(
        "None or 'cosine' (per-step cosine decay to 0, applied by train())", "a per-step cosine decay of the rate to 0"
    ),
}


def _bad(key: str, value: Any) -> InvalidOverrideError:
    return InvalidOverrideError(f"override {key}={value!r} is invalid: expected {OVERRIDES[key].takes}")


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise _bad(key, value)
    return int(value)


def resolve(spec: TaskSpec, overrides: dict[str, Any]) -> tuple[ModelSpec, TrainSpec]:
    """Apply validated overrides to a task's reference model and training specs."""
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        hints = {k: difflib.get_close_matches(k, OVERRIDES, n=1) for k in unknown}
        named = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for k, h in hints.items())
        raise InvalidOverrideError(
            f"unknown override {named} for task {spec.name!r}; valid overrides: {', '.join(OVERRIDES)}"
        )
    given = {k: v for k, v in overrides.items() if v is not None}  # None keeps the default
    model_changes = {**_cell_override(spec, given), "units": _units_override(spec.model, given)}
    model_changes.update(_layer_overrides(spec, given))
    train_changes = _train_overrides(spec, given)
    if "lr_schedule" in overrides:  # None is a value here: it turns a schedule off
        if overrides["lr_schedule"] not in (None, "cosine"):
            raise _bad("lr_schedule", overrides["lr_schedule"])
        train_changes["lr_schedule"] = overrides["lr_schedule"]
    if "loss" in given:
        if given["loss"] not in LOSSES:
            raise _bad("loss", given["loss"])
        train_changes["loss"] = given["loss"]
    return dataclasses.replace(spec.model, **model_changes), dataclasses.replace(spec.train, **train_changes)


def _cell_override(spec: TaskSpec, o: dict[str, Any]) -> dict[str, Any]:
    if "cell" not in o:
        return {}
    if o["cell"] not in CELLS:
        raise _bad("cell", o["cell"])
    if o["cell"] != "simple_rnn" and spec.model.activation != "tanh":
        raise InvalidOverrideError(
            f"override cell={o['cell']!r}: task {spec.name!r} has a linear recurrence, "
            "which only simple_rnn layers can have"
        )
    return {"cell": o["cell"]}


def _units_override(model: ModelSpec, o: dict[str, Any]) -> tuple[int, ...]:
    """The recurrent layers' widths from `units` and `num_layers`."""
    layers = _positive_int("num_layers", o["num_layers"]) if "num_layers" in o else None
    units = model.units
    if "units" in o:
        u = o["units"]
        if isinstance(u, (list, tuple)):
            if not u:
                raise _bad("units", u)
            units = tuple(_positive_int("units", x) for x in u)
            if layers is not None and len(units) != layers:
                raise InvalidOverrideError(f"units={list(units)} has {len(units)} layers but num_layers={layers}")
        else:
            units = (_positive_int("units", u),) * (layers or len(model.units))
    if layers is not None:
        # Fewer layers keep the first widths; more layers repeat the last width.
        units = units[:layers] + (units[-1],) * (layers - len(units))
    return units


def _layer_overrides(spec: TaskSpec, o: dict[str, Any]) -> dict[str, Any]:
    """Bidirectional wrapping, dropout between layers, and the Embedding's sizes."""
    m: dict[str, Any] = {}
    if "bidirectional" in o:
        if not isinstance(o["bidirectional"], bool):
            raise _bad("bidirectional", o["bidirectional"])
        m["bidirectional"] = o["bidirectional"]
    if "dropout" in o:
        d = o["dropout"]
        if isinstance(d, bool) or not isinstance(d, numbers.Real) or not 0 <= d < 1:
            raise _bad("dropout", d)
        m["dropout"] = float(d)
    for key, field in (("embedding_dim", "embedding_dim"), ("vocab_size", "embedding_input_dim")):
        if key in o:
            if spec.model.embedding_dim is None:
                raise InvalidOverrideError(f"override {key!r}: task {spec.name!r} has no Embedding layer")
            m[field] = _positive_int(key, o[key])
    if "num_classes" in o:
        if spec.train.loss != "sparse_categorical_crossentropy":
            raise InvalidOverrideError(f"override 'num_classes': task {spec.name!r} is not a classifier")
        if _positive_int("num_classes", o["num_classes"]) < 2:
            raise _bad("num_classes", o["num_classes"])
        m["head_units"] = int(o["num_classes"])
    return m


def _train_overrides(spec: TaskSpec, o: dict[str, Any]) -> dict[str, Any]:
    """A stateful task's batch size, the learning rate and the optimizer."""
    t: dict[str, Any] = {}
    if "batch_size" in o:
        if not spec.model.stateful:
            raise InvalidOverrideError(
                f"override 'batch_size': task {spec.name!r} is not stateful, so its model does not "
                "depend on the batch size; pass batch_size to load_data() or train() instead"
            )
        t["batch_size"] = _positive_int("batch_size", o["batch_size"])
    if "learning_rate" in o:
        lr = o["learning_rate"]
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:
            raise _bad("learning_rate", lr)
        t["learning_rate"] = float(lr)
    if "optimizer" in o:
        opt = o["optimizer"]
        if isinstance(opt, keras.optimizers.Optimizer):
            if "learning_rate" in o:
                raise InvalidOverrideError("pass learning_rate inside the optimizer instance, not beside it")
        elif opt not in OPTIMIZERS:
            raise _bad("optimizer", opt)
        t["optimizer"] = opt
    return t


# SimpleRNN has no cuDNN kernel, so unrolling it blocks nothing on a GPU; on CPU it drops the
# while loop's per-step cost on short sequences (a training step measured 1.3x faster on
# sine_regression, 10 steps, and 1.8x on sms_spam_rnn, 25; no gain at 60 steps).
MAX_UNROLLED_STEPS = 32


def _layers(model: ModelSpec, timesteps: int) -> list[keras.layers.Layer]:
    layers: list[keras.layers.Layer] = []
    if model.embedding_dim is not None:
        layers.append(
            keras.layers.Embedding(
                model.embedding_input_dim, model.embedding_dim, mask_zero=model.mask_zero, name="embedding"
            )
        )
    if model.projection_units is not None:
        # Dense on a 3-D input acts on the last axis: the same projection for every timestep.
        layers.append(keras.layers.Dense(model.projection_units, name="projection"))
    recurrent = getattr(keras.layers, CELLS[model.cell])
    # LSTM and GRU never unroll: that would cost them their cuDNN kernels on a GPU.
    options = {"unroll": True} if model.cell == "simple_rnn" and timesteps <= MAX_UNROLLED_STEPS else {}
    if model.activation != "tanh":
        options["activation"] = model.activation
    last = len(model.units) - 1
    for i, units in enumerate(model.units):
        layer = recurrent(
            units,
            return_sequences=i < last or model.return_sequences,
            stateful=model.stateful,
            name=f"{model.cell}_{i + 1}",
            **options,
        )
        if model.bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{i + 1}")
        layers.append(layer)
        if model.dropout > 0:
            layers.append(keras.layers.Dropout(model.dropout, name=f"dropout_{i + 1}"))
    layers.append(keras.layers.Dense(model.head_units, activation=model.head_activation, name="head"))
    return layers


def compile_model(
    model: keras.Model, train: TrainSpec, *, total_steps: int | None = None, steps_per_execution: int = 1
) -> keras.Model:
    """Compile with the spec's optimizer, loss and metrics.

    With `total_steps` (known once the data is), a cosine `lr_schedule` becomes an
    in-graph schedule on the optimizer: it then needs no per-batch Python callback, so
    `steps_per_execution` > 1 runs several steps in one call without skipping updates."""
    given = isinstance(train.optimizer, keras.optimizers.Optimizer)
    learning_rate = train.learning_rate
    if train.lr_schedule == "cosine" and total_steps is not None:
        # From the starting rate of an optimizer instance the user passed, else the spec's.
        start = float(train.optimizer.learning_rate) if given else train.learning_rate
        learning_rate = keras.optimizers.schedules.CosineDecay(start, decay_steps=total_steps)
        if given:
            # A new instance with the schedule from the start: swapping it into a built
            # optimizer untracks its rate variable, and the model can then not be exported.
            train = dataclasses.replace(
                train,
                optimizer=type(train.optimizer).from_config(
                    {**train.optimizer.get_config(), "learning_rate": learning_rate}
                ),
            )
    optimizer = train.optimizer if given else OPTIMIZERS[train.optimizer](learning_rate=learning_rate)
    loss = LOSSES[train.loss]
    if not isinstance(loss, str):
        loss = loss(from_logits=train.from_logits)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(train.metrics), steps_per_execution=steps_per_execution)
    return model


def sized_overrides(spec: TaskSpec, preprocessor: Preprocessor | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """`overrides` plus the sizes the preprocessor fixes (e.g. vocab_size). Without one,
    the task's shipped preset's preprocessor gives the defaults, which overrides may change;
    a preprocessor passed in must agree with the overrides."""
    given = preprocessor is not None
    if given and tuple(preprocessor.input_shape) != spec.input_shape:
        raise InvalidOverrideError(
            f"the preprocessor makes inputs of shape {tuple(preprocessor.input_shape)}, "
            f"but task {spec.name!r} models take {spec.input_shape}"
        )
    preprocessor = preprocessor if given else shipped_preprocessor(spec.name)
    sizes = preprocessor.model_sizes() if preprocessor is not None else {}
    if overrides.get("num_classes") is not None and "num_classes" not in sizes:
        raise InvalidOverrideError(
            f"override 'num_classes': task {spec.name!r} has a fixed set of classes; only tasks whose classes "
            "come from their data's labels (the SMS tasks) take it"
        )
    if given:
        for key, size in sizes.items():
            if overrides.get(key) is not None and overrides[key] != size:
                raise InvalidOverrideError(
                    f"override {key}={overrides[key]!r} contradicts the preprocessor, which fixes {key}={size}"
                )
    return {**sizes, **{k: v for k, v in overrides.items() if v is not None or k not in sizes}}


def build_from_spec(
    spec: TaskSpec, *, preprocessor: Preprocessor | None = None, compile: bool = True, **overrides: Any
) -> keras.Sequential:
    """Build (and by default compile) the model of `spec`, with overrides applied and its
    sizes taken from `preprocessor` (see `sized_overrides`)."""
    model_spec, train_spec = resolve(spec, sized_overrides(spec, preprocessor, overrides))
    if model_spec.embedding_dim is not None and model_spec.embedding_input_dim is None:
        raise InvalidOverrideError(
            f"task {spec.name!r} takes its vocabulary size from its preprocessor, and ships no preset to take "
            f"it from: pass preprocessor=rnn_zoo.load_task_data({spec.name!r}).preprocessor (or vocab_size=)"
        )
    inputs = keras.Input(
        shape=spec.input_shape,
        dtype=spec.input_dtype,
        # A stateful RNN keeps one state per batch row, so Keras needs a fixed batch size.
        batch_size=train_spec.batch_size if model_spec.stateful else None,
        name="inputs",
    )
    model = keras.Sequential([inputs, *_layers(model_spec, timesteps=spec.input_shape[0])], name=spec.name)
    if compile:
        compile_model(model, train_spec)
    return model


def build(
    name: str, *, preprocessor: Preprocessor | None = None, compile: bool = True, **overrides: Any
) -> keras.Sequential:
    """The model of task `name`: the tutorial's exact reference model unless overridden.

    Sizes that depend on the data (the SMS vocabulary) come from `preprocessor`, the
    family's preprocessing state (`load_task_data(name, seed=...).preprocessor`, or a
    preset's); without one, from the task's shipped preset. The overrides and what each
    accepts are `rnn_zoo.models.OVERRIDES` (its keys and what each takes).
    """
    return build_from_spec(get_task(name), preprocessor=preprocessor, compile=compile, **overrides)


# -- a model checked against its task (a preset is untrusted input) -------------------------
# The layer settings that make one model another: the ones `_layers` sets.
_SIGNATURE_KEYS = (
    "units",
    "return_sequences",
    "stateful",
    "activation",
    "input_dim",
    "output_dim",
    "mask_zero",
    "rate",
)


def check_architecture(model, task: str, preprocessor: Preprocessor, overrides: dict | None, *, where: str) -> None:
    """A PresetError (naming `where`) unless `model` is task `task`'s model: with the
    `overrides` a preset records, the same layers as `build` makes (classes, widths, cells,
    return_sequences, stateful, the Embedding's size), the same weight shapes and the same
    input and output shapes. With `overrides` None (a bare keras.Model given to `export`,
    whose overrides are unknown), what no override changes: the input and output shapes,
    the Embedding's size against the preprocessor, and a zoo model's own task name."""
    spec = get_task(task)
    sizes = preprocessor.model_sizes()
    embedding = next((layer for layer in model.layers if isinstance(layer, keras.layers.Embedding)), None)
    if embedding is not None and "vocab_size" in sizes and embedding.input_dim != sizes["vocab_size"]:
        raise PresetError(
            f"{where}: the Embedding takes {embedding.input_dim} ids, but the preprocessor's vocabulary "
            f"holds {sizes['vocab_size']}: they must be the same"
        )
    if overrides is None and model.name in _registered() and model.name != task:
        raise PresetError(f"{where} is a model of task {model.name!r}, not {task!r}")
    try:
        reference = build_from_spec(spec, preprocessor=preprocessor, compile=False, **(overrides or {}))
    except InvalidOverrideError as e:
        raise PresetError(f"{where}: its overrides do not build a {task!r} model ({e})") from None
    problem = _shape_difference(model, reference) if overrides is None else _difference(model, reference)
    if problem:
        raise PresetError(f"{where} is not a {task!r} model: {problem}")


def _registered() -> set[str]:
    from .registry import list_tasks

    return set(list_tasks())


def _shape_difference(model, reference) -> str | None:
    for what, mine, theirs in (
        ("input shape", model.input_shape[1:], reference.input_shape[1:]),
        ("output shape", model.output_shape[1:], reference.output_shape[1:]),
    ):
        if tuple(mine) != tuple(theirs):
            return f"its {what} is {tuple(mine)}, the task's {tuple(theirs)}"
    return None


def _difference(model, reference) -> str | None:
    """The first way `model` differs from `reference`, the task's model, or None."""
    if not isinstance(model, keras.Sequential):
        return f"a zoo model is a keras.Sequential, not a {type(model).__name__}"
    problem = _shape_difference(model, reference)
    if problem:
        return problem
    if tuple(model.input_shape) != tuple(reference.input_shape):
        return f"its input shape with the batch is {tuple(model.input_shape)}, the task's {reference.input_shape}"
    if len(model.layers) != len(reference.layers):
        return f"it has {len(model.layers)} layers, the task's model {len(reference.layers)}"
    for i, (mine, theirs) in enumerate(zip(model.layers, reference.layers)):
        a, b = _signature(mine), _signature(theirs)
        if a != b:
            key = next(k for k in {**a, **b} if a.get(k) != b.get(k))
            return f"layer {i + 1} ({mine.name}) has {key}={a.get(key)!r}, the task's model {key}={b.get(key)!r}"
    mine = [tuple(w.shape) for w in model.weights]
    theirs = [tuple(w.shape) for w in reference.weights]
    if mine != theirs:
        return f"its weights' shapes {mine} are not the task's {theirs}"
    return None


def _signature(layer) -> dict:
    """A layer's class and the settings that define it (a wrapper's inner layer's too)."""
    config = layer.get_config()
    found = {"class": type(layer).__name__, **{k: config[k] for k in _SIGNATURE_KEYS if k in config}}
    inner = getattr(layer, "forward_layer", None)  # Bidirectional
    return {**found, **{f"forward.{k}": v for k, v in _signature(inner).items()}} if inner is not None else found


def check_recorded_spec(metadata: dict, preprocessor: Preprocessor, *, where: str) -> None:
    """A PresetError (naming `where` and the field) unless the spec a preset's metadata
    records is its task's, with its recorded overrides: each recorded model and training
    setting (the run's epochs and batch size aside) is the registry's."""
    spec = get_task(metadata["task"])
    try:
        model_spec, train_spec = resolve(spec, sized_overrides(spec, preprocessor, metadata["overrides"]))
    except InvalidOverrideError as e:
        raise PresetError(f"{where}: 'overrides' {e}") from None
    for part, resolved, skip in (("model", model_spec, ()), ("train", train_spec, ("epochs", "batch_size"))):
        expected = _plain(dataclasses.asdict(resolved))
        for key, value in metadata["spec"][part].items():
            if key in skip:
                continue
            if key not in expected or expected[key] != value:
                shown = expected.get(key, "no such setting")
                raise PresetError(
                    f"{where}: spec.{part}.{key} is {_plain(value)!r}, but task {spec.name!r} has {shown!r}"[:300]
                )
    _check_data_options(spec, metadata, preprocessor, where)


def _check_data_options(spec: TaskSpec, metadata: dict, preprocessor: Preprocessor, where: str) -> None:
    """The recorded data options are the task's (or the run's own), and the preprocessor
    holds the ones it keeps (e.g. sms_spam_symbols' tokens="symbols")."""
    options = {**spec.data_options, **metadata["data_options"]}
    recorded = metadata["spec"].get("data_options", {})
    if not isinstance(recorded, dict):
        raise PresetError(f"{where}: spec.data_options must be an object")
    for key, value in recorded.items():
        if key in options and _plain(options[key]) != value:
            raise PresetError(f"{where}: spec.data_options.{key} is {value!r}, but the run's is {options[key]!r}"[:300])
    fields = {f.name for f in dataclasses.fields(preprocessor)}
    for key, value in options.items():
        if key in fields and _plain(getattr(preprocessor, key)) != _plain(value):
            raise PresetError(
                f"{where}: the preprocessor's {key} is {getattr(preprocessor, key)!r}, but the task's data option "
                f"{key} is {value!r} (preprocessor.json config.{key})"[:300]
            )


def _plain(value):
    """Tuples as lists (as JSON holds them); other values as they are."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value
