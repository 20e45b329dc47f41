"""MNIST read row by row: 28 timesteps of 28 pixels."""
from __future__ import annotations

import numpy as np

from ..data import TaskData, search_dirs
from ..data.formats import read_idx, read_mnist_npz
from ..errors import DataError, DataNotFoundError
from ..registry import ModelSpec, TaskSpec, TrainSpec, register

IDX_NAMES = {
    "x_train": ("train-images-idx3-ubyte", 3),
    "y_train": ("train-labels-idx1-ubyte", 1),
    "x_test": ("t10k-images-idx3-ubyte", 3),
    "y_test": ("t10k-labels-idx1-ubyte", 1),
}


def _idx_path(folder, stem):
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _read_local(folder):
    """The four arrays from mnist.npz or the four IDX files in `folder`, else None."""
    if (folder / "mnist.npz").is_file():
        return read_mnist_npz(folder / "mnist.npz"), str(folder / "mnist.npz")
    paths = {k: _idx_path(folder, stem) for k, (stem, _) in IDX_NAMES.items()}
    if all(paths.values()):
        return {k: read_idx(paths[k], ndim=IDX_NAMES[k][1]) for k in paths}, str(folder)
    return None


def _read_tfds(folder):
    import tensorflow_datasets as tfds

    train, test = tfds.as_numpy(
        tfds.load("mnist", split=["train", "test"], batch_size=-1, as_supervised=True, data_dir=str(folder / "tfds"))
    )
    return {"x_train": train[0][..., 0], "y_train": train[1], "x_test": test[0][..., 0], "y_test": test[1]}


def _check(arrays, source):
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{source}: {part} images have shape {x.shape}; expected (n, 28, 28)")
        if y.shape != (len(x),):
            raise DataError(f"{source}: {len(x)} {part} images but labels of shape {y.shape}")
        if y.size and y.max() > 9:
            raise DataError(f"{source}: {part} labels go up to {y.max()}; expected digits 0..9")


def load_mnist(*, data_dir=None, seed: int = 0) -> TaskData:
    """From mnist.npz or the four IDX files (.gz or not) in the search folders, else via
    tensorflow_datasets into the last search folder. Pixels scaled to [0, 1]."""
    dirs = search_dirs(data_dir)
    found = next((r for r in map(_read_local, dirs) if r is not None), None)
    if found is None:
        try:
            found = _read_tfds(dirs[-1]), f"tensorflow_datasets in {dirs[-1] / 'tfds'}"
        except Exception as e:  # TFDS raises many kinds when offline; all mean the same here
            raise DataNotFoundError(
                f"MNIST was not found in {', '.join(map(str, dirs))} (looked for mnist.npz or "
                f"{', '.join(s + '.gz' for s, _ in IDX_NAMES.values())}) and tensorflow_datasets "
                f"could not download it ({type(e).__name__}: {str(e)[:200]}). Point RNN_ZOO_DATA "
                "or data_dir= at a folder holding one of those."
            ) from None
    arrays, source = found
    _check(arrays, source)
    scale = lambda x: (x.astype(np.float32) / 255.0)  # noqa: E731
    return TaskData(
        scale(arrays["x_train"]), arrays["y_train"].astype(np.int32),
        scale(arrays["x_test"]), arrays["y_test"].astype(np.int32),
        source=source,
    )


register(
    TaskSpec(
        name="mnist_lstm",
        family="mnist",
        description="MNIST digit from its 28 rows: Dense(128) per row -> LSTM(128) -> Dense(10)",
        source="MorvanZhou TensorFlow RNN classification tutorial (LSTM on MNIST rows)",
        input_shape=(28, 28),
        input_dtype="float32",
        model=ModelSpec(cell="lstm", units=(128,), projection_units=128, head_units=10),
        # Sparse categorical cross-entropy on integer labels is the tutorial's categorical
        # cross-entropy on one-hot labels, without materialising the one-hots.
        train=TrainSpec(
            optimizer="adam", learning_rate=1e-3, loss="sparse_categorical_crossentropy", from_logits=True,
            metrics=("sparse_categorical_accuracy",), epochs=1, batch_size=100,
        ),
        loader=load_mnist,
        target="test accuracy >= 99.0%",
    )
)
