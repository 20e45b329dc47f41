"""Figures of a run (training history, predictions), for the families to draw theirs with.
matplotlib is imported here only, and lazily."""

from __future__ import annotations

from pathlib import Path

import numpy as np


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


def plot_band(x, series: dict[str, np.ndarray], band, path=None, *, band_label: str, title: str = "", ylabel: str = ""):
    """Curves over a shaded band (`band`: lower and upper per x), e.g. real prices and a
    forecast over its prediction interval."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.fill_between(x, band[0], band[1], color="tab:orange", alpha=0.25, linewidth=0, label=band_label)
    for (label, values), style in zip(series.items(), ("-", "-", ":", "--")):
        ax.plot(x, values, style, label=label, linewidth=1.0)
    ax.set(title=title, ylabel=ylabel)
    ax.legend()
    fig.autofmt_xdate()
    return _finish(fig, path)


def plot_results(task: str, data, y_pred: np.ndarray, history: dict | None, folder) -> list[Path]:
    """The figures a reader wants of a run, saved as PNGs in `folder`: its training history,
    then the family's own view of its test predictions (`TaskData.plot_predictions`)."""
    folder = Path(folder)
    paths = [plot_history(history, folder / "history.png")] if history else []
    return [*paths, data.plot_predictions(y_pred, folder, title=task)]
