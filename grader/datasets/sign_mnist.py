"""Sign Language MNIST as the Coursera course serves it (two CSV files), and a learnable fixture.

The real files hold one image per row: `label,pixel1,...,pixel784`, a 28x28 grey hand sign.
The fixture keeps that format but draws its images from scikit-learn's bundled handwritten
digits, so that a small CNN has a real, learnable signal without any download.
"""

from __future__ import annotations

import string
import warnings
from functools import lru_cache
from pathlib import Path
from typing import TextIO

import numpy as np

from grader.datasets.base import Split, Splits
from grader.datasets.fixture_cache import cached_arrays
from grader.outcomes import UsageError

# One name per letter A..Y, indexed by label. The real data never has 9 (J) nor 25 (Z): both
# need a motion. J keeps its place at 9 so that a label is its letter's index in the alphabet,
# the way the course's notebook turns labels into letters; Z is left out, as no label reaches it.
CLASS_NAMES: tuple[str, ...] = tuple(string.ascii_uppercase[:25])
ABSENT_LABELS = (9,)
LABELS: tuple[int, ...] = tuple(k for k in range(len(CLASS_NAMES)) if k not in ABSENT_LABELS)

FILES = ("sign_mnist_train.csv", "sign_mnist_test.csv")
SUBFOLDERS = ("sign_mnist", "sign-language-mnist")
SIDE = 28
HEADER = ",".join(["label", *(f"pixel{i}" for i in range(1, SIDE * SIDE + 1))])

# What the course's week 4 notebook downloads (`!gdown --id <id>`), and the file each id gives.
DOWNLOADS: dict[str, str] = {
    "gdrive:1z0DkA9BytlLxO1C0BAWzknLyQmZAp0HR": FILES[0],
    "gdrive:1z1BIj4qmri59GWBG4ivMNFtpZ4AXIbzg": FILES[1],
}

# Where the course's notebook reads the files (its working folder) -> the file that goes there.
PLACE: dict[str, str] = {name: name for name in FILES}

_REDOWNLOAD = "Hint: download it again; the course's files are listed in sign_mnist.DOWNLOADS."


def find_real(data_dir: Path | None) -> tuple[Path, Path] | None:
    """The train and test CSV files, directly in `data_dir` or in its usual subfolders."""
    if data_dir is None:
        return None
    for folder in (data_dir, *(data_dir / name for name in SUBFOLDERS)):
        train, test = (folder / name for name in FILES)
        if train.is_file() and test.is_file():
            return train, test
    return None


def load_real(data_dir: Path | None) -> Splits | None:
    """Read both CSV files as uint8 images (N, 28, 28) and labels (N,), or None if absent."""
    found = find_real(data_dir)
    if found is None:
        return None
    train, test = found
    return Splits(train=read_csv(train), test=read_csv(test))


def read_csv(path: Path) -> Split:
    """Parse one file of the real format; a malformed file raises UsageError naming it."""
    with open(path, encoding="ascii", errors="replace") as file:
        _check_header(file.readline().strip(), path)
        values = _parse_rows(file, path)
    return _to_split(values, path)


def _check_header(header: str, path: Path) -> None:
    if header != HEADER:
        shown = header if len(header) <= 60 else f"{header[:60]}…"
        raise UsageError(
            f"{path}: expected the header 'label,pixel1,...,pixel784', received {shown!r}. "
            f"{_REDOWNLOAD}"
        )


def _parse_rows(file: TextIO, path: Path) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data": reported below instead
            values = np.loadtxt(file, delimiter=",", dtype=np.int32, ndmin=2)
    except ValueError as exc:
        raise UsageError(f"{path}: not rows of integers ({exc}). {_REDOWNLOAD}") from exc
    if values.shape[0] == 0:
        raise UsageError(f"{path}: the header is followed by no rows. {_REDOWNLOAD}")
    if values.shape[1] != 1 + SIDE * SIDE:
        raise UsageError(
            f"{path}: expected 785 values per row (label and 784 pixels), "
            f"received {values.shape[1]}. {_REDOWNLOAD}"
        )
    return values


def _to_split(values: np.ndarray, path: Path) -> Split:
    labels, pixels = values[:, 0], values[:, 1:]
    wrong = labels[(labels < 0) | (labels >= len(CLASS_NAMES))]
    if wrong.size:
        raise UsageError(f"{path}: expected labels 0-24, received {wrong[0]}. {_REDOWNLOAD}")
    if pixels.min() < 0 or pixels.max() > 255:
        received = pixels.min() if pixels.min() < 0 else pixels.max()
        raise UsageError(f"{path}: expected pixels 0-255, received {received}. {_REDOWNLOAD}")
    images = pixels.astype(np.uint8).reshape(-1, SIDE, SIDE)
    return Split(images, labels.astype(np.uint8))


def write_csv(split: Split, path: Path) -> None:
    """Write a split in the real format: the header, then `label,pixels...` per row."""
    texts = [str(v) for v in range(256)]
    rows = np.concatenate([split.y.reshape(-1, 1), split.x.reshape(len(split), -1)], axis=1)
    with open(path, "w", encoding="ascii", newline="\n") as file:
        file.write(HEADER + "\n")
        for row in rows.astype(np.uint8).tolist():
            file.write(",".join(map(texts.__getitem__, row)) + "\n")


def write_files(splits: Splits, folder: Path) -> dict[str, Path]:
    """Write both files into `folder`, named as the course's downloads; return them by name."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in FILES}
    write_csv(splits.train, paths[FILES[0]])
    write_csv(splits.test, paths[FILES[1]])
    return paths


# The fixture. Each of the 24 labels is a handwritten digit (label % 10) drawn in one of three
# placements (label // 10): 0 fills the frame, 1 is small at the top left, 2 small at the
# bottom right. Labels are distinct, so the (digit, placement) pairs are too. Train and test
# draw from disjoint halves of each digit's scans, so test images come from unseen strokes.
_FULL_SIZES = (22, 26)  # side range of a digit that fills the frame
_SMALL_SIZES = (11, 14)  # side range of a small digit
_MARGINS = (1, 3)  # gap range between a small digit and its corner
_BACKGROUND = (0, 40)
_CONTRAST = (190, 240)
_NOISE = 8.0


def make_fixture(seed: int, n_train: int, n_test: int) -> Splits:
    """Balanced 24-label data in the real layout; the same seed gives the same arrays."""
    rng = np.random.default_rng(seed)
    train_pool, test_pool = _digit_pools()
    return Splits(train=_sample(rng, n_train, train_pool), test=_sample(rng, n_test, test_pool))


@lru_cache(maxsize=1)
def _digit_pools() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Per digit, the 8x8 scans (0..1) of the first and of the second half of the set."""
    kept = cached_arrays("sign-mnist-digit-pools", (), _split_scans)
    return tuple(kept[f"first{d}"] for d in range(10)), tuple(kept[f"second{d}"] for d in range(10))


def _split_scans() -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits  # imported late: the real data does not need it

    digits = load_digits()
    images = digits.images / 16.0
    halves = {}
    for digit in range(10):
        scans = images[digits.target == digit]
        middle = len(scans) // 2
        halves[f"first{digit}"] = scans[:middle]
        halves[f"second{digit}"] = scans[middle:]
    return halves


def _sample(rng: np.random.Generator, n: int, pool: tuple[np.ndarray, ...]) -> Split:
    labels = np.asarray(LABELS, np.uint8)[rng.permutation(np.arange(n) % len(LABELS))]
    images = np.empty((n, SIDE, SIDE), np.uint8)
    for i, label in enumerate(labels.tolist()):
        scans = pool[label % 10]
        images[i] = _draw(rng, scans[rng.integers(len(scans))], label // 10)
    return Split(images, labels)


def _draw(rng: np.random.Generator, scan: np.ndarray, placement: int) -> np.ndarray:
    """One 28x28 image: the scan resized and placed on a noisy, dim background."""
    from skimage.transform import resize

    side, top, left = _placement(rng, placement)
    canvas = np.full((SIDE, SIDE), rng.uniform(*_BACKGROUND))
    stroke = resize(scan, (side, side), order=1, anti_aliasing=False)
    canvas[top : top + side, left : left + side] += stroke * rng.uniform(*_CONTRAST)
    canvas += rng.normal(0.0, _NOISE, canvas.shape)
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


def _placement(rng: np.random.Generator, placement: int) -> tuple[int, int, int]:
    """Side, top row and left column of the digit for a placement, with a little jitter."""
    if placement == 0:
        side = int(rng.integers(_FULL_SIZES[0], _FULL_SIZES[1] + 1))
        top, left = (SIDE - side) // 2 + rng.integers(-1, 2, size=2)
        return side, int(np.clip(top, 0, SIDE - side)), int(np.clip(left, 0, SIDE - side))
    side = int(rng.integers(_SMALL_SIZES[0], _SMALL_SIZES[1] + 1))
    top, left = rng.integers(_MARGINS[0], _MARGINS[1] + 1, size=2)
    if placement == 2:
        top, left = SIDE - side - top, SIDE - side - left
    return side, int(top), int(left)
