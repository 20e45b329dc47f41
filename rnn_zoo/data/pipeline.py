"""Arrays in memory -> batched, cached, prefetched tf.data pipelines."""

from __future__ import annotations

import numpy as np


def make_dataset(x, y, batch_size: int, *, shuffle: bool, seed: int = 0, drop_remainder: bool = False):
    """(x, y) -> tf.data.Dataset: cache, optional seeded reshuffle per epoch, batch, prefetch."""
    import tensorflow as tf  # here, so that `import rnn_zoo` stays light

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
