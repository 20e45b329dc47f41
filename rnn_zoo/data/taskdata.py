"""The object every loader returns: arrays, and the preprocessor that made them.

Each family subclasses one of the two kinds below with what scoring needs (prices, raw
messages); the preprocessing state itself (codec, scaler, vocabulary) is the family's
`Preprocessor`, which travels with a trained model in its preset.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..plots import plot_confusion, plot_series
from ..preprocessing import Preprocessor
from .pipeline import interleave_streams, make_dataset


def num_batches(samples: int, batch_size: int, *, drop_remainder: bool = False) -> int:
    return samples // batch_size if drop_remainder else -(-samples // batch_size)


@dataclasses.dataclass
class TaskData:
    """`x_*` / `y_*` arrays made by `preprocessor`; `source` says where the data came from
    (a path, or "generated"); `stateful` data keeps its order, because batches continue
    one another."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    preprocessor: Preprocessor = dataclasses.field(kw_only=True)
    stateful: bool = dataclasses.field(default=False, kw_only=True)
    # The sha256 of the data's content where the loader knows it (a file, or the member of a
    # zip that holds it), and whether that content is the published dataset's: True, False
    # (a modified copy, used because the user allowed it) or None (nothing is published:
    # the user's own file, a price CSV, generated data).
    sha256: str | None = dataclasses.field(default=None, kw_only=True)
    published: bool | None = dataclasses.field(default=None, kw_only=True)
    # The columns read from a file of the user's own, by their role ({"date": "Date", "price":
    # "Close"}), as its header spells them; None where the data has no named columns.
    columns: dict[str, str] | None = dataclasses.field(default=None, kw_only=True)

    baseline_name: ClassVar[str] = ""
    # Whether the train/test split is drawn with the seed (another seed puts some of a
    # model's training rows in the test split), rather than fixed or generated afresh.
    split_depends_on_seed: ClassVar[bool] = False
    # The metrics of `score` where higher is better (the others are errors: lower is better).
    higher_is_better: ClassVar[tuple[str, ...]] = ()
    # The fields a family's classical model is fitted on: its training split, never the test's.
    classical_fields: ClassVar[tuple[str, ...]] = ("x_train", "y_train")
    # Whether the results benchmark scores the family through its exported SavedModel on
    # raw human inputs (`served_scores`), where that is the claim worth checking (SMS).
    scored_through_export: ClassVar[bool] = False
    # Whether `rnn_zoo.backtest.walk_forward` can walk the family's data forward in time.
    supports_backtest: ClassVar[bool] = False
    # Whether a trained model's test outputs calibrate its preprocessor's prediction
    # intervals (`calibrated`: the price families).
    calibrates: ClassVar[bool] = False

    def datasets(self, batch_size: int, seed: int = 0, *, whole_batches: bool = False):
        """(train_ds, test_ds); only the training set is shuffled, with `seed`. With
        `whole_batches` the training set drops a tail that fills no batch (a distributed
        run splits every batch evenly between its processes)."""
        if self.stateful:
            return tuple(
                make_dataset(
                    interleave_streams(x, batch_size),
                    interleave_streams(y, batch_size),
                    batch_size,
                    shuffle=False,
                    drop_remainder=True,
                )
                for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test))
            )
        return (
            make_dataset(self.x_train, self.y_train, batch_size, shuffle=True, seed=seed, drop_remainder=whole_batches),
            make_dataset(self.x_test, self.y_test, batch_size, shuffle=False),
        )

    def steps_per_epoch(self, batch_size: int, *, whole_batches: bool = False) -> int:
        """Training batches per epoch (stateful data, or `whole_batches`, drops a tail that fills no batch)."""
        return num_batches(len(self.x_train), batch_size, drop_remainder=self.stateful or whole_batches)

    def test_batches(self, batch_size: int) -> int:
        """Batches in one pass over the test set (stateful data drops a tail, as in training)."""
        return num_batches(len(self.x_test), batch_size, drop_remainder=self.stateful)

    def head(self, n: int) -> TaskData:
        """A copy that keeps the first `n` training samples (the test set is unchanged):
        a quick run on a slice of the data."""
        return dataclasses.replace(self, x_train=self.x_train[:n], y_train=self.y_train[:n])

    def calibrated(self, y_pred: np.ndarray) -> TaskData:
        """This data with its preprocessor calibrated on model outputs `y_pred` on the test
        inputs (families that `calibrates` only)."""
        raise NotImplementedError

    def score(self, y_pred: np.ndarray) -> dict[str, float]:
        """The task's metrics, in human units, of model outputs on the test inputs."""
        raise NotImplementedError

    def baseline_predictions(self) -> np.ndarray:
        """What the naive baseline outputs on the test inputs, shaped like the model's."""
        raise NotImplementedError

    def baseline_scores(self) -> dict[str, float]:
        return self.score(self.baseline_predictions())

    def fit_classical(self):
        """The family's classical model (a `rnn_zoo.classical.ClassicalModel`), fitted and
        tuned on `classical_fields` only; use `rnn_zoo.classical.fit_classical(data)`, which caches."""
        raise NotImplementedError

    def classical_metrics(self, model) -> dict[str, float]:
        """The task's metrics of a fitted classical model on the test split."""
        return self.score(model.predict(self))

    def served_scores(self, serve) -> dict[str, float]:
        """The task's metrics of an exported model's `serve` signature run on the raw test
        inputs (families with `scored_through_export` only)."""
        raise NotImplementedError

    def serving_examples(self, n: int) -> dict[str, np.ndarray]:
        """`n` test inputs in the form the export's `serve` takes them, keyed by its
        argument name; test samples repeat when `n` exceeds the test set."""
        raise NotImplementedError

    def plot_predictions(self, y_pred: np.ndarray, folder: Path, *, title: str) -> Path:
        """The family's figure of the model's test outputs, saved in `folder`; by default the
        first test targets against the outputs."""
        n = min(200, len(self.y_test))  # a readable stretch of the test set
        series = {"true": np.ravel(self.y_test[:n]), "predicted": np.ravel(y_pred[:n])}
        return plot_series(series, folder / "predictions.png", title=f"{title}: first test targets", ylabel="value")

    def _test_rows(self, n: int, available: int | None = None) -> np.ndarray:
        return np.arange(n) % (available or len(self.x_test))


@dataclasses.dataclass
class ClassificationData(TaskData):
    """Integer class labels; the model outputs one score per class."""

    baseline_name: ClassVar[str] = "majority class"
    higher_is_better: ClassVar[tuple[str, ...]] = ("accuracy",)

    @property
    def class_names(self) -> list[str]:
        """The preprocessor's class names (it decodes the model's outputs), else the label ids."""
        if self.preprocessor is not None and self.preprocessor.classes is not None:
            return list(self.preprocessor.classes)
        return [str(i) for i in range(int(max(self.y_train.max(), self.y_test.max())) + 1)]

    def score(self, y_pred):
        return {"accuracy": float(np.mean(np.argmax(y_pred, -1) == self.y_test))}

    def per_class_scores(self, y_pred) -> dict[str, dict[str, float]]:
        """Each class's precision, recall and F1 on the test split, by class name, with its
        `support` (test samples of it); a class never predicted has precision 0, one absent
        from the test split recall 0."""
        predicted = np.argmax(y_pred, -1)
        scores = {}
        for i, name in enumerate(self.class_names):
            tp = float(np.sum((predicted == i) & (self.y_test == i)))
            precision = tp / max(int(np.sum(predicted == i)), 1)
            recall = tp / max(int(np.sum(self.y_test == i)), 1)
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            support = int(np.sum(self.y_test == i))
            scores[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
        return scores

    @staticmethod
    def macro_f1(per_class: dict[str, dict[str, float]]) -> float:
        """The mean F1 of the classes in the test split (a class the preprocessor knows that
        the test split lacks, e.g. a preset's scored on a smaller file, is left out)."""
        present = [s["f1"] for s in per_class.values() if s["support"]]
        return float(np.mean(present)) if present else 0.0

    def plot_predictions(self, y_pred, folder, *, title):
        """The confusion matrix of the test set."""
        return plot_confusion(self.y_test, y_pred.argmax(-1), self.class_names, folder / "confusion.png", title=title)

    def baseline_predictions(self):
        # Ties go to the lowest class id; with every class equally frequent (the letters
        # tasks) this is chance accuracy.
        n_classes = len(self.class_names)
        majority = np.bincount(self.y_train, minlength=n_classes).argmax()
        return np.eye(n_classes, dtype=np.float32)[np.full(len(self.y_test), majority)]


@dataclasses.dataclass
class RegressionData(TaskData):
    """Real-valued targets; the baseline repeats the last input value."""

    baseline_name: ClassVar[str] = "last input value"

    @staticmethod
    def error_scores(true, predicted) -> dict[str, float]:
        err = np.asarray(predicted, dtype=np.float64) - true
        mse = float(np.mean(err**2))
        return {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(err)))}

    def score(self, y_pred):
        return self.error_scores(self.y_test, np.reshape(y_pred, self.y_test.shape))

    def baseline_predictions(self):
        return self.x_test[:, -1, :]
