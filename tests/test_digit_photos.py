"""Photos of digits: `predict` on an MNIST task reads PNG, JPEG, GIF and BMP images of any
size and mode through MNIST's own preprocessing (`mnist_photo`); `--raw` keeps the strict
28x28 path. The fixture images are made here, with Pillow, in their real formats."""

import json
from pathlib import Path

import numpy as np
import pytest
from harness import one_line_error
from PIL import Image, ImageDraw, ImageFont

import rnn_zoo
from rnn_zoo.cli import main
from rnn_zoo.errors import InputError
from rnn_zoo.tasks.mnist import mnist_photo, open_image

FONTS = Path(__import__("matplotlib").get_data_path()) / "fonts" / "ttf"
ROWS, COLS = np.mgrid[:28, :28]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def drawn(digit: str, size=(300, 400), *, paper=(235, 230, 220), ink=(25, 20, 40), font="DejaVuSans.ttf", px=220):
    """An RGB photo-like image: `digit` in dark ink on light paper, off-centre."""
    image = Image.new("RGB", size, paper)
    face = ImageFont.truetype(str(FONTS / font), px)
    ImageDraw.Draw(image).text((size[0] // 5, size[1] // 8), digit, fill=ink, font=face)
    return image


def as_mode(image, mode: str):
    """The same drawing as an image of pixel mode `mode` (how a user's file may hold it)."""
    grey = image.convert("L")
    if mode == "RGBA":  # black ink on a transparent sheet: composited on white paper
        alpha = Image.eval(grey, lambda v: 255 - v)
        return Image.merge("RGBA", (*Image.new("RGB", image.size, (0, 0, 0)).split(), alpha))
    if mode == "I;16":  # a 16-bit scan
        return Image.fromarray((np.asarray(grey, dtype=np.uint16) * 257).astype(np.uint16))
    if mode == "P":
        return image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    if mode == "1":  # a bilevel scan, thresholded (not dithered)
        return grey.convert("1", dither=Image.Dither.NONE)
    if mode == "L-bright":  # already as MNIST has it: bright ink on black
        return Image.eval(grey, lambda v: 255 - v)
    return image.convert(mode)


def assert_mnist_like(out: np.ndarray):
    """28x28 uint8, bright ink on a black border, the ink's longest side 20 pixels, its centre
    of mass at (14, 14) (to the pixel)."""
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert out.max() == 255 and out[0].max() == out[-1].max() == out[:, 0].max() == out[:, -1].max() == 0
    assert (out > 0).mean() < 0.5  # mostly black: the ink is the bright part
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) == 20
    weight = out.astype(float) / out.sum()
    assert abs((weight * ROWS).sum() - 14) <= 0.6 and abs((weight * COLS).sum() - 14) <= 0.6


@pytest.mark.backend_free
@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "I;16", "L-bright", "1"])
@pytest.mark.parametrize("size", [(300, 400), (61, 45), (900, 250)])
def test_any_mode_and_size_is_preprocessed_as_mnist_was(mode, size):
    px = min(size) * 3 // 4
    out = mnist_photo(as_mode(drawn("7", size, px=px), mode))
    assert_mnist_like(out)
    reference = mnist_photo(drawn("7", size, px=px))
    assert np.abs(out.astype(int) - reference).mean() < 12  # the same digit, whatever the mode


@pytest.mark.backend_free
@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg"), ("GIF", ".gif"), ("BMP", ".bmp")])
def test_every_accepted_format_reads_the_same_digit(fmt, suffix, tmp_path):
    image = drawn("4", (200, 150), px=120)
    path = tmp_path / f"photo{suffix}"
    image.save(path, fmt)
    out = mnist_photo(open_image(path))
    assert_mnist_like(out)
    assert np.abs(out.astype(int) - mnist_photo(image)).mean() < 8


@pytest.mark.backend_free
def test_blank_images_are_refused():
    for image in (Image.new("RGB", (64, 48), "white"), Image.new("L", (28, 28), 0), Image.new("RGBA", (40, 40))):
        with pytest.raises(InputError, match="the image is blank"):
            mnist_photo(image)


@pytest.mark.backend_free
def test_numpy_arrays_work_from_python():
    grey = np.asarray(drawn("2").convert("L"))
    assert np.array_equal(mnist_photo(grey), mnist_photo(drawn("2").convert("L")))
    assert_mnist_like(mnist_photo(np.asarray(drawn("2"))))


def test_shipped_presets_read_clearly_drawn_digits(tmp_path, capsys):
    paths = []
    for digit in "0123456789":
        paths.append(tmp_path / f"{digit}.png")
        drawn(digit).save(paths[-1])
    for name, at_least in (("mnist_lstm", 9), ("mnist_lstm_tuned", 10)):
        code, out, err = run(capsys, "predict", name, *map(str, paths))
        assert code == 0, err
        assert sum(a == b for a, b in zip(out.split(), "0123456789")) >= at_least, (name, out.split())
    # Every format, and Python: the same answer as the command line.
    for fmt, suffix in (("JPEG", ".jpg"), ("GIF", ".gif"), ("BMP", ".bmp")):
        drawn("3").save(tmp_path / f"3{suffix}", fmt)
        code, out, _ = run(capsys, "predict", "mnist_lstm_tuned", "--json", str(tmp_path / f"3{suffix}"))
        assert code == 0 and json.loads(out)["prediction"] == 3
    preset = rnn_zoo.load_preset("mnist_lstm_tuned")
    assert preset.predict(mnist_photo(Image.open(tmp_path / "3.gif")))["prediction"] == 3


def test_raw_takes_only_a_28x28_image_as_it_is(tmp_path, capsys):
    big = tmp_path / "big.png"
    drawn("5").save(big)
    code, _, err = run(capsys, "predict", "mnist_lstm", "--raw", str(big))
    assert one_line_error(err, code) and "image of shape (400, 300); expected (28, 28)" in err
    small = tmp_path / "small.png"
    Image.fromarray(mnist_photo(drawn("5"))).save(small)
    raw = run(capsys, "predict", "mnist_lstm_tuned", "--raw", str(small))
    assert raw[0] == 0 and raw[1].strip() == "5"
    assert run(capsys, "predict", "mnist_lstm_tuned", str(small))[1] == raw[1]  # MNIST-like already: the same
    code, _, err = run(capsys, "predict", "letters_4pre1", "--raw", "abcd")
    assert one_line_error(err, code) and "--raw applies to image inputs" in err


def test_unreadable_blank_and_other_formats_are_one_line_errors(tmp_path, capsys):
    accepted = "a PNG, JPEG, GIF or BMP image"
    drawn("1").save(tmp_path / "photo.tiff", "TIFF")
    drawn("1").save(tmp_path / "photo.webp", "WEBP")
    png = tmp_path / "whole.png"
    drawn("1").save(png)
    (tmp_path / "cut.png").write_bytes(png.read_bytes()[:200])
    (tmp_path / "text.png").write_text("not an image\n")
    Image.new("RGB", (80, 60), (250, 250, 250)).save(tmp_path / "blank.jpg")
    Image.fromarray(np.zeros((28, 28), np.uint16)).save(tmp_path / "deep.png")
    Image.new("1", (10_000, 9_000)).save(tmp_path / "huge.png")  # 90 megapixels in a small file
    cases = {
        "photo.tiff": accepted,
        "photo.webp": accepted,
        "text.png": accepted,
        "cut.png": "is not a readable image",
        "blank.jpg": "the image is blank",
        "missing.png": "no image file",
        "huge.png": "image too large",
    }
    for name, message in cases.items():
        code, out, err = run(capsys, "predict", "mnist_lstm", str(tmp_path / name))
        assert one_line_error(err, code) and message in err and not out, (name, err)
        assert name in err
    code, _, err = run(capsys, "predict", "mnist_lstm", "--raw", str(tmp_path / "deep.png"))
    assert one_line_error(err, code) and "--raw takes 8-bit grey" in err


def test_the_photo_benchmark_writes_its_results_and_table(tmp_path):
    from tools.digit_photos import draw_photo, main, photos_table

    one, again = draw_photo(6, np.random.default_rng(3)), draw_photo(6, np.random.default_rng(3))
    assert one.mode == "RGB" and np.array_equal(np.asarray(one), np.asarray(again))  # seeded
    out = tmp_path / "photos.json"
    argv = ["--per-digit", "1", "--seed", "1", "--data-dir", str(tmp_path), "--out", str(out), "--no-tables"]
    assert main(argv) == 0
    results = json.loads(out.read_text())
    assert results["settings"]["images"] == 10 and results["machine"]["cores"] and results["date"]
    assert [row["task"] for row in results["rows"]] == ["mnist_lstm", "mnist_lstm_tuned"]
    for row in results["rows"]:
        assert sum(row["photo_correct_per_digit"]) == round(10 * row["photo_accuracy"])
        assert "mnist_subset_accuracy" not in row  # no MNIST in the folder: never downloaded
    assert "not measured (no local MNIST)" in photos_table(results)
    assert main(["--per-digit", "0", "--no-tables"]) == 2
