"""Plain containers for image-classification data, shared by every dataset loader."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """Images and their labels, in the layout `keras.datasets.*.load_data` returns."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def take(self, indices: np.ndarray) -> Split:
        return Split(self.x[indices], self.y[indices])


@dataclass(frozen=True)
class Splits:
    """The train and test parts of a dataset, as published."""

    train: Split
    test: Split

    def as_arrays(self) -> dict[str, np.ndarray]:
        """Named as `keras.datasets.*.load_data` files name them."""
        return {
            "x_train": self.train.x,
            "y_train": self.train.y,
            "x_test": self.test.x,
            "y_test": self.test.y,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Splits:
        train = Split(arrays["x_train"], arrays["y_train"])
        return cls(train, Split(arrays["x_test"], arrays["y_test"]))
