"""Figures saved next to an export. matplotlib is imported here only, and lazily."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import ClassificationData, TaskData


def _pyplot():
    import matplotlib.pyplot as plt  # its default backend: Agg where there is no display

    return plt


def _finish(fig, path):
    """Save to `path` and close, returning the path; with no path, return the figure
    (a notebook shows it)."""
    fig.tight_layout()
    if path is None:
        return fig
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return Path(path)


def plot_history(history: dict[str, list[float]], path=None):
    """Training (and validation) loss and metrics per epoch."""
    plt = _pyplot()
    keys = [k for k in history if not k.startswith("val_")]
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys):
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label="test")
        ax.set(xlabel="epoch", title=key)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend()
    return _finish(fig, path)


def plot_confusion(y_true, y_pred_classes, labels: list[str], path=None, title: str = ""):
    plt = _pyplot()
    n = len(labels)
    matrix = np.zeros((n, n), dtype=int)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred_classes)), 1)
    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * n, 0.8 + 0.5 * n))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(
            j, i, count, ha="center", va="center", color="white" if count > matrix.max() / 2 else "black", fontsize=8
        )
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xticklabels=labels,
        yticklabels=labels,
        xlabel="predicted",
        ylabel="true",
        title=title or "confusion matrix",
    )
    return _finish(fig, path)


def plot_series(series: dict[str, np.ndarray], path=None, *, x=None, title: str = "", ylabel: str = ""):
    """Several curves on one axis, e.g. true vs predicted vs naive."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    for (label, values), style in zip(series.items(), ("-", "-", ":", "--")):
        ax.plot(x if x is not None else np.arange(len(values)), values, style, label=label, linewidth=1.2)
    ax.set(title=title, ylabel=ylabel)
    ax.legend()
    fig.autofmt_xdate()
    return _finish(fig, path)


def plot_results(task: str, data: TaskData, y_pred: np.ndarray, history: dict | None, folder) -> list[Path]:
    """The figures a reader wants for this kind of task, saved as PNGs in `folder`."""
    from .tasks.stock import PriceData

    folder = Path(folder)
    paths = [plot_history(history, folder / "history.png")] if history else []
    if isinstance(data, ClassificationData):
        paths.append(
            plot_confusion(data.y_test, y_pred.argmax(-1), data.class_names, folder / "confusion.png", title=task)
        )
    elif isinstance(data, PriceData):
        true, naive = data.naive_forecast()
        paths.append(
            plot_series(
                {"real": true, "predicted": data.predicted_prices(y_pred), "tomorrow = today": naive},
                folder / "forecast.png",
                x=data.dates[-len(true) :],
                title=f"{task}: test range",
                ylabel="price",
            )
        )
    else:
        n = min(200, len(data.y_test))  # a readable stretch of the test set
        paths.append(
            plot_series(
                {"true": np.ravel(data.y_test[:n]), "predicted": np.ravel(y_pred[:n])},
                folder / "predictions.png",
                title=f"{task}: first test targets",
                ylabel="value",
            )
        )
    return paths
