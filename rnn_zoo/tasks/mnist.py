"""MNIST read row by row: 28 timesteps of 28 pixels."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import tf_call
from ..classical import ClassicalModel
from ..data import ClassificationData, Preprocessor, RemoteFile, Serving, search_dirs
from ..data.sources import check_published
from ..errors import DataError, DataNotFoundError, InputError, one_line
from ..preprocessing import Range, checked_shape
from ..registry import DatasetInfo, Goal, ModelSpec, TaskSpec, TrainSpec, get_task, register

IDX_NAMES = {
    "x_train": ("train-images-idx3-ubyte", 3),
    "y_train": ("train-labels-idx1-ubyte", 1),
    "x_test": ("t10k-images-idx3-ubyte", 3),
    "y_test": ("t10k-labels-idx1-ubyte", 1),
}
# The official files, from the mirror tensorflow_datasets and Keras also download from.
MIRROR = "https://storage.googleapis.com/cvdf-datasets/mnist/"
IDX_SHA256 = {
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# The sha256 of the four uint8 arrays of the official IDX files above (x_train, y_train,
# x_test, y_test, in that order, row by row): one hash for any copy of MNIST, whether read
# from mnist.npz, the IDX files (compressed or not) or a TFDS copy.
MNIST_CONTENT_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"


def content_sha256(arrays) -> str:
    digest = hashlib.sha256()
    for key in ("x_train", "y_train", "x_test", "y_test"):
        digest.update(np.ascontiguousarray(arrays[key], dtype=np.uint8).tobytes())
    return digest.hexdigest()


MNIST = DatasetInfo(
    name="MNIST handwritten digits (60000 training, 10000 test images)",
    license="Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative of the NIST datasets; "
    "it is made available under the terms of the Creative Commons Attribution-Share Alike 3.0 licence",
    citation="Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits",
    url="http://yann.lecun.com/exdb/mnist/",
)


# -- the file formats: IDX (gzipped or not) and Keras's mnist.npz --------------------------
_IDX_UBYTE = 0x08


def read_idx(path: Path, *, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes (optionally gzipped) as a uint8 array.

    The magic number is 0x0000 0x08 ndim (2051 for images, 2049 for labels); the payload
    must hold exactly the product of the dimensions."""
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read IDX data ({e})") from None
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != (_IDX_UBYTE << 8 | ndim):
        raise DataError(
            f"{path}: bad IDX magic number {magic}; expected {_IDX_UBYTE << 8 | ndim} "
            f"(unsigned bytes, {ndim} dimension(s))"
        )
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    payload = raw[4 + 4 * ndim :]
    if len(payload) != int(np.prod(dims)):
        raise DataError(f"{path}: header says shape {dims} ({int(np.prod(dims))} bytes) but holds {len(payload)}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


def read_mnist_npz(path: Path) -> dict[str, np.ndarray]:
    """Keras' mnist.npz: x_train, y_train, x_test, y_test."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(f"{path}: missing arrays {missing}; expected {list(keys)}")
            arrays = {k: npz[k] for k in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{path}: not a readable mnist.npz ({e})") from None
    # Keras' layout holds raw uint8 pixels; scaled floats would be divided by 255 twice.
    for key in ("x_train", "x_test"):
        if arrays[key].dtype != np.uint8:
            raise DataError(
                f"{path}: {key} holds {arrays[key].dtype} pixels; expected uint8 values 0-255 "
                "(the Keras mnist.npz layout, not images already scaled)"
            )
    return arrays


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


def _read_prepared_tfds():
    """A copy that tensorflow_datasets has already prepared (in its default folder), else
    None. Never downloads: offline, TFDS retries for minutes before it gives up."""
    tfds_dir = Path(os.environ.get("TFDS_DATA_DIR") or Path.home() / "tensorflow_datasets")
    if not (tfds_dir / "mnist").is_dir():
        return None  # skip importing TFDS when it cannot have a copy
    import tensorflow_datasets as tfds

    builder = tfds.builder("mnist", data_dir=str(tfds_dir))
    if not builder.is_prepared():
        return None
    train, test = tfds.as_numpy(builder.as_dataset(split=["train", "test"], batch_size=-1, as_supervised=True))
    arrays = {"x_train": train[0][..., 0], "y_train": train[1], "x_test": test[0][..., 0], "y_test": test[1]}
    return arrays, f"tensorflow_datasets ({builder.data_dir})"


def _download(folder):
    for stem, sha in IDX_SHA256.items():
        if _idx_path(folder, stem) is None:
            RemoteFile(MIRROR + stem + ".gz", stem + ".gz", sha).fetch(folder)
    return _read_local(folder)


def _check(arrays, source):
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{source}: {part} images have shape {x.shape}; expected (n, 28, 28)")
        if y.shape != (len(x),):
            raise DataError(f"{source}: {len(x)} {part} images but labels of shape {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{source}: {part} labels are {y.dtype}; expected integer digits 0..9")
        bad = np.unique(y[(y < 0) | (y > 9)])
        if bad.size:
            raise DataError(f"{source}: {part} labels {bad[:10].tolist()} are out of range; expected digits 0..9")


# -- photos of digits: MNIST's own preprocessing, with Pillow ------------------------------
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP")  # the formats Pillow is let open; others are refused
ACCEPTED = "a PNG, JPEG, GIF or BMP image (or a .npy array of 28x28 uint8 pixels)"
DIGIT_BOX = 20  # MNIST: the digit's longest side, anti-aliased into this many pixels ...
CANVAS = 28  # ... in a canvas this size, its centre of mass at pixel (14, 14)
_MIN_CONTRAST = 0.15  # ink this close to the paper (of the full range) is no ink: a blank image
_NOISE_FLOOR = 0.25  # of the ink's contrast: fainter pixels are paper (noise, shadows), set to 0


def open_image(path) -> Any:
    """The image file at `path` as a Pillow image, loaded (JPEG's EXIF orientation applied).
    Only PNG, JPEG, GIF (the first frame) and BMP are opened; anything else, a truncated
    file or an image of more than Pillow's MAX_IMAGE_PIXELS is an InputError."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=IMAGE_FORMATS) as image:
                image.load()
                return ImageOps.exif_transpose(image)
        except Image.UnidentifiedImageError:
            raise InputError(f"{path} is not {ACCEPTED}") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InputError(f"{path}: image too large; expected at most {Image.MAX_IMAGE_PIXELS:,} pixels") from None
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise InputError(f"{path} is not a readable image ({one_line(e)}); expected {ACCEPTED}") from None


def _as_pillow(image):
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    try:
        return Image.fromarray(np.asarray(image))
    except (TypeError, ValueError) as e:
        raise InputError(f"not an image: {one_line(e)}; expected a Pillow image or an array of pixels") from None


def grey_levels(image) -> np.ndarray:
    """A Pillow image (any mode: 1, L, P, RGB, RGBA, LA, 16-bit I;16, I, F, ...) or an array of
    pixels as float grey levels in [0, 1], transparent parts composited on white paper."""
    from PIL import Image

    image = _as_pillow(image)
    if image.mode.startswith("I") or image.mode == "F":  # 16 and 32-bit grey, float grey
        pixels = np.asarray(image, dtype=np.float64)
        top = float(np.nanmax(np.abs(pixels))) if pixels.size else 1.0
        scale = next((t for t in (1.0, 255.0, 65535.0) if top <= t), top)
        return np.clip(np.nan_to_num(pixels / scale), 0.0, 1.0)
    try:
        rgba = image.convert("RGBA")
    except ValueError:
        raise InputError(f"images of pixel mode {image.mode} are not read; expected grey, RGB or RGBA") from None
    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(paper, rgba).convert("L"), dtype=np.float64) / 255.0


def bright_ink(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the ink as MNIST has it, 0 on the paper up to 1 at the ink, and the mask of the ink's
    pixels). The paper's level is the median of the border pixels; ink darker than it (dark
    on light paper) is inverted. A 3x3 median filter (on images of 56 pixels or more a side)
    keeps specks of noise out of the mask."""
    from PIL import Image, ImageFilter

    if grey.ndim != 2 or min(grey.shape) < 2:
        raise InputError(f"an image of shape {grey.shape} holds no digit; expected a 2-D image")
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    paper = float(np.median(border))
    if paper > grey.mean():  # the paper is lighter than the image on average: dark ink
        grey, paper = 1.0 - grey, 1.0 - paper
    smooth = grey
    if min(grey.shape) >= 2 * CANVAS:
        smooth = np.asarray(Image.fromarray(grey.astype(np.float32), "F").filter(ImageFilter.MedianFilter(3)))
    contrast = float(smooth.max()) - paper
    if contrast < _MIN_CONTRAST:
        raise InputError(
            f"the image is blank (its darkest and lightest parts differ by {max(contrast, 0):.0%}); "
            "expected a digit on plain paper"
        )
    floor = paper + _NOISE_FLOOR * contrast
    ink = np.clip((grey - floor) / (paper + contrast - floor), 0.0, 1.0)
    return ink, smooth > paper + 0.5 * contrast


def _ink_box(mask: np.ndarray) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _scaled(patch: np.ndarray, longest: int) -> np.ndarray:
    """`patch` resized (Lanczos, anti-aliased) so that its longest side is `longest` pixels."""
    from PIL import Image

    h, w = patch.shape
    scale = longest / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    out = np.asarray(Image.fromarray(patch.astype(np.float32), "F").resize(size, Image.Resampling.LANCZOS))
    out = np.clip(out, 0.0, 1.0)
    return out / out.max() if out.max() > 0 else out


def _centred(digit: np.ndarray, size: int) -> np.ndarray:
    """`digit` in a `size` x `size` canvas, its centre of mass at pixel (size/2, size/2) as far
    as the canvas allows (the whole digit stays inside)."""
    canvas = np.zeros((size, size), dtype=np.float64)
    h, w = digit.shape
    total = digit.sum()
    cy = (digit.sum(axis=1) @ np.arange(h)) / total
    cx = (digit.sum(axis=0) @ np.arange(w)) / total
    top = int(np.clip(round(size / 2 - cy), 0, size - h))
    left = int(np.clip(round(size / 2 - cx), 0, size - w))
    canvas[top : top + h, left : left + w] = digit
    return canvas


def mnist_photo(image) -> np.ndarray:
    """A photo or scan of a digit (a Pillow image of any size and mode, or an array of
    pixels) as MNIST's images were made, a 28x28 uint8 image: grey (transparency on white),
    the ink bright on a black background (dark ink on light paper is inverted, the paper
    found from the border pixels), cropped to the ink, its longest side scaled to 20 pixels
    keeping the aspect ratio (anti-aliased), placed in 28x28 with its centre of mass at
    (14, 14). A blank image is an InputError.

        from PIL import Image
        preset.predict(mnist_photo(Image.open("photo.jpg")))"""
    ink, mask = bright_ink(grey_levels(image))
    digit = _scaled(ink[_ink_box(mask)], DIGIT_BOX)
    return np.round(_centred(digit, CANVAS) * 255).astype(np.uint8)


def raw_pixels(image) -> np.ndarray:
    """An image taken as it is (`predict --raw`): 8-bit grey pixels (colour made grey), no
    preprocessing; 16-bit and float images are refused."""
    image = _as_pillow(image)
    if image.mode.startswith("I") or image.mode == "F":
        raise InputError(f"pixels of mode {image.mode}; --raw takes 8-bit grey (uint8 values 0-255)")
    return np.asarray(image.convert("L"))


@dataclasses.dataclass(frozen=True)
class PixelScaler(Preprocessor):
    """Grey images, read row by row: uint8 pixels / 255 -> [0, 1] floats."""

    height: int = 28
    width: int = 28

    input_name = "images"
    input_description = "a grey image"
    ranges = {"height": Range(1, 4096), "width": Range(1, 4096)}

    def parse_input(self, text, shape, *, raw: bool = False):
        """The path of a PNG, JPEG, GIF or BMP image of any size and mode, made a 28x28 digit
        by MNIST's own preprocessing (`mnist_photo`); with `raw`, a 28x28 image taken as it
        is (grey, white digit on black). A .npy array is always taken as it is."""
        path = Path(text)
        if not path.is_file():
            raise InputError(f"no image file {text}; expected {ACCEPTED}")
        if path.suffix == ".npy":
            try:
                image = np.load(path, allow_pickle=False)
            except (ValueError, OSError, EOFError) as e:
                raise InputError(f"{text} is not a readable .npy array ({e})") from None
        else:
            try:
                image = raw_pixels(open_image(path)) if raw else mnist_photo(open_image(path))
            except InputError as e:
                raise InputError(e if str(e).startswith(text) else f"{text}: {e}") from None
        if image.shape != tuple(shape):
            raise InputError(
                f"{text}: image of shape {image.shape}; expected {tuple(shape)} (grey, white digit on black)"
                + ("; without --raw an image of any size is preprocessed as MNIST's were" if raw else "")
            )
        if image.dtype != np.uint8:
            raise InputError(f"{text}: pixels of type {image.dtype}; expected uint8 values 0-255")
        return image

    @property
    def input_shape(self):
        return (self.height, self.width)

    @property
    def classes(self):
        return [str(digit) for digit in range(10)]

    def example_input(self):
        image = np.zeros((self.height, self.width), dtype=np.uint8)
        image[4:-4, self.width // 2 - 2 : self.width // 2 + 2] = 255  # a white vertical stroke: a one
        return image

    def transform(self, images: np.ndarray) -> np.ndarray:
        return images.astype(np.float32) / 255.0

    def serving(self, model):
        """uint8 images (0 = black background) -> the digit and the probabilities."""
        import tensorflow as tf

        call = tf_call(model)

        def serve(images):
            # Checked here too: a SavedModel's signature does not check shapes (30x28 was read).
            images = checked_shape(images, (self.height, self.width), "uint8 images")
            probabilities = tf.nn.softmax(call(tf.cast(images, tf.float32) / 255.0))
            return {"prediction": tf.argmax(probabilities, -1, output_type=tf.int32), "probabilities": probabilities}

        return Serving(serve, [tf.TensorSpec([None, self.height, self.width], tf.uint8, name=self.input_name)])


@dataclasses.dataclass
class MnistData(ClassificationData):
    HOLDOUT = 10000  # training images that choose the classical model's C
    C_GRID = (0.01, 0.1, 1.0)

    def fit_classical(self):
        """Multinomial logistic regression on the 784 pixels. Its inverse regularisation C is
        chosen on the last `HOLDOUT` training images (fitted on the others), then the model
        is refitted on the whole training split."""
        from sklearn.linear_model import LogisticRegression

        x, y = self.x_train.reshape(len(self.x_train), -1), self.y_train
        holdout = min(self.HOLDOUT, len(x) // 5)

        def fit(c, rows):
            return LogisticRegression(C=c, max_iter=300).fit(x[rows], y[rows])

        if holdout:
            fitted, held = slice(None, len(x) - holdout), slice(len(x) - holdout, None)
            c = max(self.C_GRID, key=lambda c: fit(c, fitted).score(x[held], y[held]))
        else:
            c = 1.0
        model = fit(c, slice(None))

        def predict(data):
            return model.predict_proba(data.x_test.reshape(len(data.x_test), -1)).astype(np.float32)

        return ClassicalModel("logistic regression on the pixels", predict, {"C": c})

    def serving_examples(self, n):
        return {"images": np.round(self.x_test[self._test_rows(n)] * 255).astype(np.uint8)}


def load_mnist(
    *, data_dir=None, seed: int = 0, preprocessor: PixelScaler | None = None, allow_modified_data: bool = False
) -> MnistData:
    """From mnist.npz or the four IDX files (.gz or not) in the search folders, else from
    a copy tensorflow_datasets already prepared, else the official IDX files are
    downloaded (sha256-checked) into the last search folder. Pixels scaled to [0, 1].
    Images and labels must be MNIST's own (`MNIST_CONTENT_SHA256`), unless `allow_modified_data`."""
    dirs = search_dirs(data_dir)
    found = next((r for r in map(_read_local, dirs) if r is not None), None) or _read_prepared_tfds()
    if found is None:
        try:
            found = _download(dirs[-1])
        except DataNotFoundError as e:
            raise DataNotFoundError(
                f"MNIST is not in {', '.join(map(str, dirs))} (looked for mnist.npz or the four IDX files "
                f"{', '.join(s + '.gz' for s in IDX_SHA256)}) and {e}. Point RNN_ZOO_DATA or data_dir= "
                "at a folder holding them."
            ) from None
    arrays, source = found
    _check(arrays, source)
    sha256 = content_sha256(arrays)
    published = check_published(source, sha256, MNIST_CONTENT_SHA256, "MNIST", allow=allow_modified_data)
    absent = sorted(set(range(10)) - set(np.unique(arrays["y_train"]).tolist()))
    if absent:
        warnings.warn(f"{source}: no training image of digit(s) {absent}: a model cannot learn them", stacklevel=3)
    scaler = preprocessor or PixelScaler()
    return MnistData(
        scaler.transform(arrays["x_train"]),
        arrays["y_train"].astype(np.int32),
        scaler.transform(arrays["x_test"]),
        arrays["y_test"].astype(np.int32),
        source=source,
        preprocessor=scaler,
        sha256=sha256,
        published=published,
    )


register(
    TaskSpec(
        name="mnist_lstm",
        family="mnist",
        description="MNIST digit from its 28 rows: Dense(128) per row -> LSTM(128) -> Dense(10)",
        recipe="MorvanZhou TensorFlow RNN classification tutorial (LSTM on MNIST rows)",
        input_shape=(28, 28),
        input_dtype="float32",
        model=ModelSpec(cell="lstm", units=(128,), projection_units=128, head_units=10),
        # Sparse categorical cross-entropy on integer labels is the tutorial's categorical
        # cross-entropy on one-hot labels, without materialising the one-hots.
        train=TrainSpec(
            optimizer="adam",
            learning_rate=1e-3,
            loss="sparse_categorical_crossentropy",
            from_logits=True,
            metrics=("sparse_categorical_accuracy",),
            epochs=1,
            batch_size=100,
        ),
        loader=load_mnist,
        data_source="MNIST (mnist.npz or IDX files; downloads)",
        dataset=MNIST,
        target="reproduce: test accuracy >= 95% after one epoch (the tuned variant: >= 99.0%)",
        goals=(Goal("accuracy", ">=", 0.95),),
    )
)

register(
    dataclasses.replace(
        get_task("mnist_lstm"),
        name="mnist_lstm_tuned",
        description="MNIST digit from its 28 rows: Dense(128) per row -> Bidirectional(LSTM(128)) -> Dense(10)",
        recipe="zoo-tuned: bidirectional LSTM, Adam with cosine decay from 2e-3, 8 epochs",
        model=dataclasses.replace(get_task("mnist_lstm").model, bidirectional=True),
        train=dataclasses.replace(get_task("mnist_lstm").train, learning_rate=2e-3, lr_schedule="cosine", epochs=8),
        target="test accuracy >= 99.0% (mean over seeds)",
        goals=(Goal("accuracy", ">=", 0.99, over="mean"),),
        variant_of="mnist_lstm",
    )
)
