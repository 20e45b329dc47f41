"""A task's model and training settings in words, for the docs' tables and the model cards."""

from __future__ import annotations

from rnn_zoo.registry import CELLS, ModelSpec, TrainSpec


def model_text(model: ModelSpec, input_shape: tuple[int, ...]) -> str:
    """A task's reference model in one line, input to output."""
    parts = []
    if model.embedding_dim is not None:
        parts.append(f"Embedding({model.embedding_input_dim or 'vocabulary'}, {model.embedding_dim})")
    if model.projection_units is not None:
        parts.append(f"Dense({model.projection_units}) per step")
    for units in model.units:
        layer = f"{CELLS[model.cell]}({units}{', linear' if model.activation is None else ''})"
        layer = f"Bidirectional({layer})" if model.bidirectional else layer
        parts.append(("stateful " if model.stateful else "") + layer)
        if model.dropout:
            parts.append(f"Dropout({model.dropout:g})")
    head = f"Dense({model.head_units}{', ' + model.head_activation if model.head_activation else ''})"
    parts.append(head + (" per step" if model.return_sequences else ""))
    return f"{input_shape} → " + " → ".join(parts)


def training_text(train: TrainSpec) -> str:
    schedule = " with cosine decay" if train.lr_schedule == "cosine" else ""
    from rnn_zoo.models import OPTIMIZERS  # (Keras: loaded quietly by run_tool first)

    optimizer = OPTIMIZERS[train.optimizer].__name__
    return (
        f"{optimizer} {train.learning_rate:g}{schedule}, {train.loss}, {train.epochs} epoch(s), "
        f"batch {train.batch_size}"
    )
