"""`import keras` in a Keras 2 assignment: the same Keras 2 as `tf.keras`, as on TF ≤ 2.15.

Notebooks written for TensorFlow ≤ 2.15 mix `import keras` and `tf.keras` freely: both were
Keras 2 then. Today `tf.keras` is Keras 2 only with `TF_USE_LEGACY_KERAS=1`, and `keras` is
Keras 3, so a model joining layers of the two fails. In a `keras: 2` assignment the kernel
therefore resolves `keras` and every `keras.*` module to its `tf_keras` counterpart.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

_PREFIX = "keras"


class KerasIsTfKeras(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of `keras` and `keras.x.y` answered with `tf_keras` and `tf_keras.x.y`."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _PREFIX and not fullname.startswith(f"{_PREFIX}."):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def __init__(self) -> None:
        self._own_specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module("tf_keras" + spec.name[len(_PREFIX) :])
        self._own_specs[module.__name__] = module.__spec__  # importlib replaces it next
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._own_specs.pop(module.__name__, module.__spec__)


def alias_keras_to_tf_keras() -> bool:
    """Install the alias unless Keras 3 is loaded already; True when it is in place."""
    if _PREFIX in sys.modules and not sys.modules[_PREFIX].__name__.startswith("tf_keras"):
        return False
    if not any(isinstance(finder, KerasIsTfKeras) for finder in sys.meta_path):
        sys.meta_path.insert(0, KerasIsTfKeras())
    return True
