"""The task registry: one frozen, declarative `TaskSpec` per task name."""
from __future__ import annotations

import dataclasses
import difflib
import fnmatch
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .errors import UnknownTaskError

CELLS = ("simple_rnn", "lstm", "gru")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """The layers of a task's reference model, input to output.

    Layout: [Embedding] -> [Dense projection per step] -> recurrent layers, each
    followed by Dropout when `dropout > 0` -> Dense head.
    """

    cell: str
    units: tuple[int, ...]
    head_units: int
    head_activation: str | None = None
    dropout: float = 0.0
    bidirectional: bool = False
    embedding_input_dim: int | None = None  # vocabulary size, when ids come first
    embedding_dim: int | None = None
    mask_zero: bool = False  # id 0 is padding, masked from the recurrent layers
    projection_units: int | None = None  # Dense applied to every timestep first
    return_sequences: bool = False  # the head sees every step, not just the last
    stateful: bool = False  # hidden state carried across batches (fixed batch size)


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """Compile and fit defaults: the tutorial's, unless a tuned variant says otherwise."""

    optimizer: str
    learning_rate: float
    loss: str
    epochs: int
    batch_size: int
    from_logits: bool = False
    metrics: tuple[str, ...] = ()
    lr_schedule: str | None = None  # "cosine": per-step cosine decay to 0, applied by train()


_OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b}


@dataclasses.dataclass(frozen=True)
class Goal:
    """One checkable target: `metric op value` on the mean over seeds or on every seed;
    with `relative_to_baseline`, `value` multiplies the naive baseline's metric."""

    metric: str
    op: str
    value: float
    over: str = "every_seed"  # or "mean"
    relative_to_baseline: bool = False

    def __post_init__(self):
        if self.op not in _OPS or self.over not in ("every_seed", "mean"):
            raise ValueError(f"bad goal {self}")

    def describe(self) -> str:
        value = f"{self.value:g} x baseline" if self.relative_to_baseline else f"{self.value:g}"
        return f"{'mean' if self.over == 'mean' else 'every seed'}: {self.metric} {self.op} {value}"

    def met(self, per_seed: list[float], baseline: list[float]) -> bool:
        """Whether the goal holds, given the metric and the baseline's metric per seed."""
        limits = [self.value * b if self.relative_to_baseline else self.value for b in baseline]
        if self.over == "mean":
            return _OPS[self.op](sum(per_seed) / len(per_seed), sum(limits) / len(limits))
        return all(_OPS[self.op](v, limit) for v, limit in zip(per_seed, limits))


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """Everything that defines a task: its data, model, training and target.

    `loader(data_dir=..., seed=..., **options)` returns a `rnn_zoo.data.TaskData`;
    `data_options` are the task's defaults for those options.
    """

    name: str
    family: str
    description: str
    source: str  # the tutorial the reference model and settings come from
    input_shape: tuple[int, ...]  # without the batch axis
    input_dtype: str
    model: ModelSpec
    train: TrainSpec
    loader: Callable[..., Any]
    data_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    data_source: str = "generated"  # one line for listings: where the data comes from
    target: str = ""  # the target in words
    goals: tuple[Goal, ...] = ()  # the same target, checked on the benchmark's results
    tutorial_result: str = ""  # what the tutorial itself reported, for the results table
    variant_of: str | None = None  # a tuned variant names its reference task

    def __post_init__(self):
        # A read-only view, so a spec cannot be changed after registration.
        object.__setattr__(self, "data_options", MappingProxyType(dict(self.data_options)))


_REGISTRY: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    """Add a task; a name registered twice is a programming error."""
    if spec.name in _REGISTRY:
        raise ValueError(f"task {spec.name!r} is already registered")
    if spec.variant_of is not None and spec.variant_of not in _REGISTRY:
        raise ValueError(f"task {spec.name!r}: variant of unknown task {spec.variant_of!r}")
    if spec.model.cell not in CELLS:
        raise ValueError(f"task {spec.name!r}: cell must be one of {CELLS}, got {spec.model.cell!r}")
    _REGISTRY[spec.name] = spec
    return spec


def list_tasks(pattern: str | None = None) -> list[str]:
    """Sorted task names, optionally filtered by an fnmatch pattern such as 'stock_*'."""
    names = sorted(_REGISTRY)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    return names


def get_task(name: str) -> TaskSpec:
    """The spec registered under `name`; an unknown name lists the closest valid ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name), _REGISTRY, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownTaskError(
            f"unknown task {name!r}.{hint} Valid names: {', '.join(sorted(_REGISTRY))}"
        ) from None
