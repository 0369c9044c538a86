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
from collections.abc import Iterator
from types import ModuleType


@functools.cache
def import_keras() -> ModuleType:
    """`import keras`, once, with descriptor 2 silenced for the duration."""
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
