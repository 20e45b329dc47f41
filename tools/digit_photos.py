"""`python -m tools.digit_photos`: the shipped MNIST presets on photos of digits made here.

Digits 0-9 are drawn with Pillow in several fonts (the DejaVu fonts matplotlib ships), at
several sizes, rotated by up to 15 degrees, in dark ink on light paper of a random size and
tint, blurred and with Gaussian noise, as RGB images; all seeded. Each MNIST preset reads
them twice: through MNIST's own preprocessing (`rnn_zoo.tasks.mnist.mnist_photo`, what
`rnn-zoo predict` does) and shrunk to 28x28 grey (the naive path). Writes
results/digit_photos.json and its table on the MNIST family page (`tools.pages`).

    python -m tools.digit_photos [--per-digit N] [--seed S] [--out F] [--no-tables]
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import numpy as np

from rnn_zoo.registry import get_task

from .command import ToolParser, log, run_tool, tables_or_refuse
from .pages import write_table
from .reports import machine, measured_by, write_results

MODULE = "tools.digit_photos"
COMMAND = f"python -m {MODULE}"
TABLE = "digit-photos"
RESULTS = Path("results/digit_photos.json")
MNIST_IMAGES = 1000  # MNIST test images also read through the photo path, where a local copy is found
FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Oblique.ttf")
SETTINGS = {
    "font_px": [40, 220],  # the font size, uniform in this range
    "rotation_deg": [-15, 15],
    "paper_margin": [0.2, 1.5],  # paper beyond the digit, each side, as a fraction of the font size
    "paper_level": [180, 255],  # each RGB channel of the paper
    "ink_level": [0, 80],
    "blur_radius": [0.0, 0.03],  # Gaussian blur radius, as a fraction of the font size
    "noise_std": [0.0, 12.0],  # Gaussian noise on each pixel, in levels of 0-255
}


def font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _uniform(rng, key: str) -> float:
    low, high = SETTINGS[key]
    return float(rng.uniform(low, high))


def draw_photo(digit: int, rng: np.random.Generator, *, font: str | None = None):
    """A synthetic photo of `digit` (a Pillow RGB image): dark ink on light paper, in `font`
    (else one of FONTS, at random), at a random size, rotation, paper size, blur and noise."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    size = int(_uniform(rng, "font_px"))
    face = ImageFont.truetype(str(font_dir() / (font or FONTS[rng.integers(len(FONTS))])), size)
    left, top, right, bottom = face.getbbox(str(digit))
    ink = Image.new("L", (right - left + 2, bottom - top + 2), 0)  # the digit's shape as alpha
    ImageDraw.Draw(ink).text((1 - left, 1 - top), str(digit), fill=255, font=face)
    ink = ink.rotate(_uniform(rng, "rotation_deg"), resample=Image.Resampling.BICUBIC, expand=True)
    margins = [int(_uniform(rng, "paper_margin") * size) for _ in range(4)]
    paper_size = (ink.width + margins[0] + margins[2], ink.height + margins[1] + margins[3])
    paper = Image.new("RGB", paper_size, tuple(int(_uniform(rng, "paper_level")) for _ in range(3)))
    colour = Image.new("RGB", ink.size, tuple(int(_uniform(rng, "ink_level")) for _ in range(3)))
    paper.paste(colour, (margins[0], margins[1]), ink)
    paper = paper.filter(ImageFilter.GaussianBlur(_uniform(rng, "blur_radius") * size))
    noisy = np.asarray(paper, dtype=np.float64) + rng.normal(0.0, _uniform(rng, "noise_std"), (*paper_size[::-1], 3))
    return Image.fromarray(np.clip(np.round(noisy), 0, 255).astype(np.uint8), "RGB")


def naive(image) -> np.ndarray:
    """A photo shrunk to 28x28 grey, as it is (what a user without the preprocessing gets)."""
    from PIL import Image

    return np.asarray(image.convert("L").resize((28, 28), Image.Resampling.LANCZOS))


def photos(per_digit: int, seed: int) -> tuple[list, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(10), per_digit)
    return [draw_photo(int(d), rng) for d in labels], labels


def mnist_test_images(data_dir, n: int):
    """(the first `n` MNIST test images as uint8, their labels) from a local copy (never a
    download), else None."""
    from rnn_zoo.data import search_dirs
    from rnn_zoo.tasks.mnist import _read_local

    found = next((r for r in map(_read_local, search_dirs(data_dir)) if r is not None), None)
    return None if found is None else (found[0]["x_test"][:n], found[0]["y_test"][:n].astype(int))


def accuracy(preset, batch: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether `preset` reads each image of `batch` as its label."""
    return np.array([int(out["prediction"]) for out in preset.predict(batch)]) == labels


def mnist_presets() -> list[str]:
    from rnn_zoo.shipped import list_presets

    return [name for name in list_presets() if get_task(name).family == "mnist"]


def measure(per_digit: int, seed: int, *, data_dir=None, mnist_images: int = MNIST_IMAGES, log=print) -> dict:
    """Every shipped MNIST preset's accuracy on the same photos, both ways; and, where a local
    copy of MNIST is found, on its first test images as they are and through the photo path
    (what the preprocessing costs on MNIST itself)."""
    from rnn_zoo.presets import load_preset
    from rnn_zoo.shipped import shipped_metadata
    from rnn_zoo.tasks.mnist import mnist_photo

    images, labels = photos(per_digit, seed)
    log(f"drew {len(images)} photos ({per_digit} of each digit, seed {seed})")
    inputs = {"photo": np.stack([mnist_photo(i) for i in images]), "naive": np.stack([naive(i) for i in images])}
    mnist = mnist_test_images(data_dir, mnist_images)
    rows = []
    for name in mnist_presets():
        preset = load_preset(name)
        row = {"task": name, "mnist_test_accuracy": shipped_metadata(name)["metrics"]["accuracy"]}
        for path, batch in inputs.items():
            right = accuracy(preset, batch, labels)
            row[f"{path}_accuracy"] = float(right.mean())
            row[f"{path}_correct_per_digit"] = [int(right[labels == d].sum()) for d in range(10)]
        if mnist is not None:
            x, y = mnist
            row["mnist_subset_accuracy"] = float(accuracy(preset, x, y).mean())
            row["mnist_subset_photo_path_accuracy"] = float(
                accuracy(preset, np.stack(list(map(mnist_photo, x))), y).mean()
            )
        log(f"{name}: {row['photo_accuracy']:.3f} with MNIST's preprocessing, {row['naive_accuracy']:.3f} naive")
        rows.append(row)
    settings = {"per_digit": per_digit, "images": len(images), "seed": seed, "fonts": list(FONTS), **SETTINGS}
    return {
        "command": COMMAND,
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "settings": {**settings, "mnist_test_images": len(mnist[1]) if mnist is not None else 0},
        "rows": rows,
    }


def photos_table(results: dict) -> str:
    """The table of results/digit_photos.json: each preset's accuracy on the photos, both
    ways, beside its MNIST test accuracy."""
    s = results["settings"]
    lines = [
        f"{measured_by(results['command'], results)}. {s['images']} synthetic photos ({s['per_digit']} of each "
        f"digit, seed {s['seed']}): the DejaVu fonts {', '.join(f.removesuffix('.ttf') for f in s['fonts'])}; "
        f"{s['font_px'][0]}-{s['font_px'][1]} px; rotated {s['rotation_deg'][0]} to {s['rotation_deg'][1]} degrees; "
        "dark ink on light paper of a random size and tint; Gaussian blur and noise (up to "
        f"{s['noise_std'][1]:g} levels); RGB.",
        "",
        "| preset | MNIST test accuracy | photos, MNIST's preprocessing (`predict`) | photos shrunk to 28x28 grey "
        f"| first {s['mnist_test_images']:,} MNIST test images: as they are / through the photo preprocessing |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in results["rows"]:
        subset = (
            f"{row['mnist_subset_accuracy']:.4f} / {row['mnist_subset_photo_path_accuracy']:.4f}"
            if "mnist_subset_accuracy" in row
            else "not measured (no local MNIST)"
        )
        lines.append(
            f"| `{row['task']}` | {row['mnist_test_accuracy']:.4f} | {row['photo_accuracy']:.4f} "
            f"| {row['naive_accuracy']:.4f} | {subset} |"
        )
    return "\n".join(lines)


def published_table() -> str:
    """The table of the results file in this checkout (docs_tables checks the page against it)."""
    return photos_table(json.loads((Path(__file__).resolve().parents[1] / RESULTS).read_text()))


def parser() -> ToolParser:
    p = ToolParser(
        MODULE, description="The shipped MNIST presets on synthetic photos of digits; writes " + str(RESULTS)
    )
    p.add_argument("--per-digit", type=int, default=30, help="photos of each digit (default 30)")
    p.add_argument("--seed", type=int, default=0, help="seed of the photos (default 0)")
    p.add_argument("--data-dir", help="folder with MNIST (default: $RNN_ZOO_DATA, then the cache; never downloads)")
    p.add_argument("--out", default=str(RESULTS), help=f"results file (default: {RESULTS})")
    p.add_argument("--no-tables", action="store_true", help="do not rewrite the table of the MNIST family page")
    return p


def digit_photos(args) -> None:
    from .command import UsageError

    if args.per_digit < 1:
        raise UsageError(f"--per-digit must be at least 1, got {args.per_digit}")
    tables = tables_or_refuse(COMMAND, no_tables=args.no_tables, names=(TABLE,))
    results = measure(args.per_digit, args.seed, data_dir=args.data_dir, log=log)
    write_results(Path(args.out), results)
    if tables:
        write_table(TABLE, photos_table(results))
    print(f"wrote {args.out}: {len(results['rows'])} preset(s)")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return run_tool(MODULE, lambda: digit_photos(args))


if __name__ == "__main__":
    sys.exit(main())
