"""Stand-ins for the course's local helper modules, which exist only in its own Jupyter lab.

The 2024 revisions of the course's notebooks run `import unittests` and then
`unittests.test_train_val_datasets(train_val_datasets)` after each exercise: the module sits
beside the notebook on Coursera and is never handed in. Without it every later cell would
fail, so the grader serves a stand-in whose `test_*` functions say that the course's own
tests are not run here (the grader runs its own checks) and return None. A real module of
that name, when the notebook has one, is imported instead.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Callable
from typing import Any

Note = Callable[[str], None]

STAND_INS = ("unittests",)


class _StandIn(types.ModuleType):
    """A module whose every `test_*` attribute is a test that is not run."""

    def __init__(self, name: str, note: Note) -> None:
        super().__init__(name, f"Served by the grader in place of the course's `{name}`.")
        self._note = note

    def __getattr__(self, attribute: str) -> Any:
        if not attribute.startswith("test_"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {attribute!r}")
        return self._skipped_test(attribute)

    def _skipped_test(self, attribute: str) -> Callable[..., None]:
        module, note = self.__name__, self._note

        def test(*args: Any, **kwargs: Any) -> None:
            note(
                f"[grader] {module}.{attribute}(...) skipped: the course's own tests are not "
                "run by the grader, which grades with its own checks."
            )

        test.__name__ = test.__qualname__ = attribute
        return test


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on `sys.meta_path`: answers only for a stand-in name no other finder found."""

    def __init__(self, note: Note) -> None:
        self._note = note

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in STAND_INS:
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _StandIn(spec.name, self._note)

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def install_course_modules(note: Note) -> None:
    """Serve the stand-ins to `import unittests` where no real module is found."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.append(_Finder(note))
