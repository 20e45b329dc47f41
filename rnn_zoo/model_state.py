"""What a built Keras model holds, as every stage sees it: layers that keep their state
between batches, weights that are finite or not, and a plain copy of it. Imports nothing
of rnn_zoo, and no Keras until asked."""

from __future__ import annotations

import contextlib

import numpy as np

from .errors import TrainingDivergedError


def stateful_rnns(model) -> list:
    """The recurrent layers of `model` that keep their state (both halves of a Bidirectional)."""
    return [
        rnn
        for layer in model.layers
        for rnn in (getattr(layer, "forward_layer", layer), getattr(layer, "backward_layer", None))
        if getattr(rnn, "stateful", False)
    ]


def reset_states(model) -> None:
    """Every stateful layer of `model` starts again from a zero state."""
    for rnn in stateful_rnns(model):
        rnn.reset_state()


@contextlib.contextmanager
def states_kept(model):
    """Within it, anything may run `model` (an evaluation, an export's check); after it, every
    stateful layer holds the state it held before, so a user's sequence goes on as if nothing
    had run in between."""
    saved = [(v, np.array(v.numpy())) for rnn in stateful_rnns(model) for v in (rnn.states or [])]
    try:
        yield
    finally:
        for variable, value in saved:
            variable.assign(value)


def weights_are_finite(model) -> bool:
    return all(np.isfinite(w).all() for w in model.get_weights())


def check_finite_weights(model) -> None:
    """A model whose weights hold NaN or inf (a diverged run) is never saved as if fine."""
    if not weights_are_finite(model):
        raise TrainingDivergedError(
            "the model's weights are not finite (NaN or inf): training diverged; nothing was written"
        )


def local_copy(model):
    """An uncompiled model of `model`'s architecture and weights, outside any distribution."""
    copy = type(model).from_config(model.get_config())
    copy.set_weights([np.asarray(w) for w in model.get_weights()])
    return copy
