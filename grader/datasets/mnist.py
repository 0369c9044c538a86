"""MNIST handwritten digits, as `keras.datasets.mnist.load_data` returns them.

Real data: `mnist.npz` (Keras's file) in `--data-dir` or the Keras cache. The fixture is made
of real handwriting too: scikit-learn's bundled 8×8 digits (1,797 scans by 43 writers),
enlarged to a 20×20 digit centred in a 28×28 frame like MNIST's, with light noise. Training
and test images come from different scans, so test images are unseen handwriting.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from grader.datasets.base import Split, Splits
from grader.datasets.fixture_cache import cached_arrays

CLASS_NAMES = tuple(str(digit) for digit in range(10))
FILE = "mnist.npz"
_SIDE, _DIGIT = 28, 20
_NOISE = 10.0


def load_real(data_dir: Path | None) -> Splits | None:
    for folder in [data_dir, Path.home() / ".keras" / "datasets"]:
        if folder is not None and (folder / FILE).is_file():
            with np.load(folder / FILE, allow_pickle=False) as data:
                train = Split(data["x_train"], data["y_train"])
                return Splits(train, Split(data["x_test"], data["y_test"]))
    return None


def make_fixture(seed: int, n_train: int, n_test: int) -> Splits:
    rng = np.random.default_rng(seed)
    first, second = _scans()
    return Splits(_sample(rng, first, n_train), _sample(rng, second, n_test))


@cache
def _scans() -> tuple[Split, Split]:
    """The bundled scans enlarged to MNIST's layout, split in two halves by scan."""
    halves = Splits.from_arrays(cached_arrays("mnist-scans", (), _enlarged_scans))
    return halves.train, halves.test


def _enlarged_scans() -> dict[str, np.ndarray]:
    from skimage.transform import resize
    from sklearn.datasets import load_digits

    digits = load_digits()
    big = resize(digits.images / 16.0, (len(digits.images), _DIGIT, _DIGIT), order=1)
    frames = np.zeros((len(big), _SIDE, _SIDE))
    margin = (_SIDE - _DIGIT) // 2
    frames[:, margin : margin + _DIGIT, margin : margin + _DIGIT] = big
    half = len(frames) // 2
    labels = digits.target.astype("uint8")
    halves = Splits(Split(frames[:half], labels[:half]), Split(frames[half:], labels[half:]))
    return halves.as_arrays()


def _sample(rng: np.random.Generator, scans: Split, n: int) -> Split:
    """`n` images drawn from `scans`, each shifted by up to 2 pixels and with fresh noise."""
    chosen = rng.integers(0, len(scans), size=n)
    images = np.empty((n, _SIDE, _SIDE), dtype="uint8")
    for row, index in enumerate(chosen):
        shifted = np.roll(scans.x[index], tuple(rng.integers(-2, 3, size=2)), axis=(0, 1))
        noisy = shifted * 255.0 + rng.normal(0.0, _NOISE, size=shifted.shape)
        images[row] = np.clip(noisy, 0, 255).astype("uint8")
    return Split(images, scans.y[chosen])
