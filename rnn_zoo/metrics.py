"""What the zoo knows about its metrics: which one judges a task, which way is better, and
how a value is written in a table."""

from __future__ import annotations

from .registry import TaskSpec


def primary_metric(spec: TaskSpec, metrics: dict) -> str:
    """The metric a task is judged and reported on: its own headline, else its first goal's,
    else RMSE or accuracy."""
    if spec.headline:
        return spec.headline
    if spec.goals:
        return spec.goals[0].metric
    return "rmse" if "rmse" in metrics else next(iter(metrics))


def fmt_number(value: float) -> str:
    """A metric for a table: 4 significant digits, small values in scientific notation."""
    return "0" if value == 0 else f"{value:.4g}" if abs(value) >= 1e-3 else f"{value:.2e}"
