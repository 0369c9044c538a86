"""Importing Keras in the grader's own process without TensorFlow's start-up chatter.

TensorFlow's C++ side writes CUDA probing and CPU-feature notices straight to file
descriptor 2 before Python's logging can filter them; they would bury the summary.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
from collections.abc import Iterator
from types import ModuleType

_importing = threading.Lock()  # the checker imports on a thread while its checks may ask


def import_keras() -> ModuleType:
    """`import keras`, once, with descriptor 2 silenced for the duration."""
    with _importing:
        return _imported()


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
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
