"""Serving datasets: `keras.datasets.<name>.load_data` returns the data the grader chose."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

_MODULES = ("keras.datasets.{}", "keras.src.datasets.{}", "keras._tf_keras.keras.datasets.{}")
_LEGACY_MODULES = ("tf_keras.datasets.{}", "tf_keras.src.datasets.{}")


def serve_datasets(datasets: dict[str, str]) -> None:
    """`datasets` maps a Keras dataset name to the `.npz` file the grader wrote for it."""
    patterns = _MODULES + (_LEGACY_MODULES if "tf_keras" in sys.modules else ())
    for name, path in datasets.items():
        loader = _loader(path)
        for pattern in patterns:
            try:
                module = importlib.import_module(pattern.format(name))
            except ImportError:
                continue
            module.load_data = loader  # type: ignore[attr-defined]


def _loader(path: str) -> Callable[..., Any]:
    def load_data(*args: Any, **kwargs: Any) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
        """Served by the grader from its own copy of the data; nothing is downloaded."""
        import numpy as np

        with np.load(path) as data:
            return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])

    return load_data
