"""Code that runs inside the student's kernel, imported by the cells the grader injects.

`install` is called by the first cell and `collect` by the last; each takes its arguments as
one JSON string. Only the collect cell learns where artifacts go.
"""

from __future__ import annotations

import json

from grader.harness.core import Harness

_active: list[Harness] = []


def install(arguments: str) -> None:
    """Seed, patch Keras and the datasets, and install the Colab and shell shims."""
    harness = Harness(json.loads(arguments))
    harness.install()
    _active[:] = [harness]


def collect(arguments: str) -> None:
    """Export models, histories and variables from the notebook's globals to the artifact dir."""
    if not _active:
        raise RuntimeError("the grader harness was not installed; nothing can be collected")
    _active[0].collect(json.loads(arguments))
