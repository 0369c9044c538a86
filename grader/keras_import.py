"""Importing Keras in the grader's own process without TensorFlow's start-up chatter.

TensorFlow's C++ side writes CUDA probing and CPU-feature notices straight to file
descriptor 2 before Python's logging can filter them; they would bury the summary. The
import takes seconds, so grading starts it in the background (`import_keras_in_background`)
while the kernel runs; the checks then find Keras loaded.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import sys
import threading
from collections.abc import Iterator
from types import ModuleType

_importing = threading.Lock()


def import_keras() -> ModuleType:
    """`import keras`, once; waits for an import already under way in the background."""
    with _importing:
        return _imported()


def import_keras_in_background() -> None:
    """Start `import_keras` on a thread; a failure there is raised again by the next call."""

    def attempt() -> None:
        with contextlib.suppress(Exception):
            import_keras()

    threading.Thread(target=attempt, name="import-keras").start()


@functools.cache
def _imported() -> ModuleType:
    with _stderr_silenced():
        import keras
        import tensorflow as tf
    tf.get_logger().setLevel("ERROR")  # e.g. retracing notices; failures still raise
    # Keras logs through absl when it loads a model whose optimizer state it drops: noise.
    logging.getLogger("absl").setLevel(logging.ERROR)
    return keras


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Descriptor 2 goes to /dev/null; meanwhile Python's own `sys.stderr` (the progress
    display, say) still reaches the real one, through a duplicate of it."""
    shown = sys.stderr
    shown.flush()
    python_side = _duplicate_of_stderr() if _writes_to_descriptor_2(shown) else shown
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        sys.stderr = python_side
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = shown
        os.dup2(saved, 2)
        os.close(saved)


def _writes_to_descriptor_2(stream: object) -> bool:
    try:
        return stream.fileno() == 2  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


@functools.cache
def _duplicate_of_stderr() -> io.TextIOWrapper:
    """A stream on a copy of descriptor 2, open for the process's life: whoever picked it up
    while the import ran may keep writing to it."""
    return io.TextIOWrapper(
        io.FileIO(os.dup(2), "w"), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )
