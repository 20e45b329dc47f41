"""Arrays in memory -> batched, cached, prefetched tf.data pipelines."""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf


def make_dataset(x, y, batch_size: int, *, shuffle: bool, seed: int = 0, drop_remainder: bool = False):
    """(x, y) -> tf.data.Dataset: cache, optional seeded reshuffle per epoch, batch, prefetch."""
    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def interleave_streams(x: np.ndarray, batch_size: int) -> np.ndarray:
    """Reorder one long sequence of chunks so that row j of consecutive batches walks the
    j-th contiguous stretch: what a stateful RNN needs to carry state across batches.
    A tail that does not fill a whole batch is dropped."""
    length = len(x) // batch_size
    order = (np.arange(batch_size)[None, :] * length + np.arange(length)[:, None]).ravel()
    return x[order]


@dataclasses.dataclass
class TaskData:
    """A task's data as numpy arrays, plus what is needed to read its results.

    Subclasses add family-specific helpers (a letter codec, the price scaler, the
    vocabulary). `source` says where the data came from (a path, or "generated").
    `stateful` data keeps its order: batches continue one another.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    stateful: bool = dataclasses.field(default=False, kw_only=True)

    def datasets(self, batch_size: int, seed: int = 0):
        """(train_ds, test_ds); only the training set is shuffled, with `seed`."""
        if self.stateful:
            return tuple(
                make_dataset(
                    interleave_streams(x, batch_size), interleave_streams(y, batch_size),
                    batch_size, shuffle=False, drop_remainder=True,
                )
                for x, y in ((self.x_train, self.y_train), (self.x_test, self.y_test))
            )
        return (
            make_dataset(self.x_train, self.y_train, batch_size, shuffle=True, seed=seed),
            make_dataset(self.x_test, self.y_test, batch_size, shuffle=False),
        )
