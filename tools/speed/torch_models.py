"""Plain-PyTorch equivalents of the zoo's models: the speed benchmark's yardstick.

Each is built from the same `ModelSpec` / `TrainSpec` as the Keras model (same layers,
sizes, optimizer and its settings) and trained by the loop a PyTorch user would write:
tensors in memory, a fresh permutation per epoch, slicing for batches. torch is
imported here only, so it stays an optional, benchmark-only dependency.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnn_zoo.registry import ModelSpec, TrainSpec

_CELLS = {"simple_rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_LOSSES = {
    "mse": nn.MSELoss,
    "mae": nn.L1Loss,
    "huber": nn.HuberLoss,
    # The Keras head ends in softmax (or gives logits); torch's loss takes the logits.
    "sparse_categorical_crossentropy": nn.CrossEntropyLoss,
}


class LinearRNN(nn.Module):
    """A SimpleRNN without tanh (h_t = x_t W + h_t-1 U + b), which nn.RNN has no option
    for: the loop over steps a PyTorch user writes. Inputs and state are laid out as
    nn.RNN's with batch_first, one direction."""

    def __init__(self, features: int, units: int, batch_first: bool = True, bidirectional: bool = False):
        super().__init__()
        if not batch_first or bidirectional:
            raise ValueError("LinearRNN is batch-first and one-directional")
        self.units = units
        self.input = nn.Linear(features, units)  # W and b, applied to every step at once
        self.recurrent = nn.Linear(units, units, bias=False)  # U

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        h = x.new_zeros(x.shape[0], self.units) if state is None else state[0]
        driven = self.input(x)
        outputs = []
        for t in range(x.shape[1]):
            h = driven[:, t] + self.recurrent(h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h.unsqueeze(0)


def _recurrent_layer(model: ModelSpec):
    if model.activation == "tanh":
        return _CELLS[model.cell]
    if model.activation is None and model.cell == "simple_rnn" and not model.mask_zero:
        return LinearRNN
    raise ValueError(f"no PyTorch equivalent of a {model.cell} layer with activation {model.activation!r}")


class TorchEquivalent(nn.Module):
    """[Embedding] -> [per-step Linear] -> recurrent layers with Dropout -> Linear head.

    Masked inputs (id 0 is padding, right-padded) are packed, which is how PyTorch skips
    padding; a stateful model carries each layer's final state into the next batch."""

    def __init__(self, model: ModelSpec, input_shape: tuple[int, ...]):
        super().__init__()
        self.spec = model
        self.embedding = None
        self.projection = None
        features = input_shape[-1]
        if model.embedding_dim is not None:
            self.embedding = nn.Embedding(model.embedding_input_dim, model.embedding_dim)
            features = model.embedding_dim
        if model.projection_units is not None:
            self.projection = nn.Linear(features, model.projection_units)
            features = model.projection_units
        directions = 2 if model.bidirectional else 1
        self.recurrent = nn.ModuleList()
        layer = _recurrent_layer(model)
        for units in model.units:
            self.recurrent.append(layer(features, units, batch_first=True, bidirectional=model.bidirectional))
            features = units * directions
        self.dropout = nn.Dropout(model.dropout)
        self.head = nn.Linear(features, model.head_units)
        self.state: list | None = None

    def reset_state(self) -> None:
        self.state = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lengths = None
        if self.embedding is not None:
            if self.spec.mask_zero:
                lengths = (x != 0).sum(1).clamp(min=1)
            x = self.embedding(x)
        if self.projection is not None:
            x = self.projection(x)
        steps, last = x.shape[1], len(self.recurrent) - 1
        states = []
        for i, rnn in enumerate(self.recurrent):
            state = self.state[i] if self.state is not None else None
            if lengths is not None:
                packed, state = rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False), state)
                out = pad_packed_sequence(packed, batch_first=True, total_length=steps)[0] if i < last else None
            else:
                out, state = rnn(x, state)
            states.append(state)
            if i < last or self.spec.return_sequences:
                x = out
            else:  # the final state of each direction, as Keras returns without sequences
                final = state[0] if isinstance(state, tuple) else state
                x = torch.cat(list(final[-(2 if self.spec.bidirectional else 1) :]), dim=-1)
            if self.spec.dropout:
                x = self.dropout(x)
        if self.spec.stateful:
            self.state = [tuple(s.detach() for s in st) if isinstance(st, tuple) else st.detach() for st in states]
        return self.head(x)


def make_optimizer(train: TrainSpec, parameters) -> torch.optim.Optimizer:
    """The spec's optimizer with Keras's default settings (epsilon, rho, weight decay)."""
    name, lr = train.optimizer, train.learning_rate
    if not isinstance(name, str):
        raise ValueError("the speed benchmark compares the registered specs' named optimizers only")
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr, eps=1e-7)
    if name == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, eps=1e-7, weight_decay=0.004)
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=lr, alpha=0.9, eps=1e-7)
    return torch.optim.SGD(parameters, lr=lr)


class TorchTrainer:
    """A hand-written training loop over in-memory arrays; `fit_epoch` runs one epoch."""

    def __init__(self, model: ModelSpec, train: TrainSpec, input_shape, x, y, *, total_steps: int, seed: int = 0):
        torch.manual_seed(seed)
        self.model = TorchEquivalent(model, input_shape)
        self.optimizer = make_optimizer(train, self.model.parameters())
        self.schedule = None
        if train.lr_schedule == "cosine":
            self.schedule = lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
        self.loss = _LOSSES[train.loss]()
        self.classify = train.loss == "sparse_categorical_crossentropy"
        self.x = torch.as_tensor(x)
        self.y = torch.as_tensor(y).long() if self.classify else torch.as_tensor(y)
        self.batch_size, self.stateful = train.batch_size, model.stateful
        self.generator = torch.Generator().manual_seed(seed)
        self.base_lr, self.step_count = train.learning_rate, 0

    def batches(self):
        n = len(self.x)
        if self.stateful:  # one unbroken curve, in order; a tail that fills no batch is dropped
            return [slice(i, i + self.batch_size) for i in range(0, n - self.batch_size + 1, self.batch_size)]
        order = torch.randperm(n, generator=self.generator)
        return [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]

    def train_step(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        if self.schedule is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = self.base_lr * self.schedule(self.step_count)
        self.step_count += 1
        x, y = self.x[index], self.y[index]
        self.optimizer.zero_grad(set_to_none=True)
        out = self.model(x)
        loss = self.loss(out, y)
        loss.backward()
        self.optimizer.step()
        # Like Keras's compiled metric: accuracy on the batch, for classifiers.
        correct = (out.detach().argmax(-1) == y).sum() if self.classify else loss.detach()
        return loss.detach(), correct

    def fit_epoch(self) -> float:
        """One epoch; returns the mean training loss (read once, at the end, as Keras does)."""
        self.model.train()
        if self.stateful:
            self.model.reset_state()
        total = torch.zeros(())
        batches = self.batches()
        for index in batches:
            loss, _ = self.train_step(index)
            total += loss
        return float(total) / len(batches)
