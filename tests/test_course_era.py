"""Notebooks of the courses' Keras 2 era: `import keras` beside `tf.keras`, and `lr=`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

from conftest import grade_one, make_submission

from grader.advice import course_era_advice
from grader.checks.course_era import ignored_rates
from grader.results import CellResult

COURSE_CELL = """\
!wget -q https://example.org/weights.h5
model.compile(optimizer=RMSprop(lr=0.0001), loss='binary_crossentropy', metrics=['accuracy'])
"""


def cell(source: str, index: int = 3) -> CellResult:
    return CellResult(index, source.splitlines()[0], 0.1, "ok", source=source)


def compiled(keras: Any, rate: float) -> Any:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    optimizer = keras.optimizers.RMSprop(learning_rate=rate)
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    return model


def test_lr_in_the_source_is_found_beside_shell_lines() -> None:
    (rate,) = ignored_rates([cell(COURSE_CELL), cell("x = f(lr=")])
    assert (rate.optimizer, rate.value, rate.cell) == ("RMSprop", 0.0001, 3)


def test_compile_grades_the_course_era_lr_and_says_what_it_did(keras: Any, tmp_path: Path) -> None:
    """Keras ≥ 2.11 trained `RMSprop(lr=0.0001)` at 0.001: graded as the course took it."""
    args = {"optimizer": "RMSprop", "learning_rate": 0.0001, "loss": "binary_crossentropy"}
    submission = make_submission(tmp_path, {"model": compiled(keras, 0.001)})
    submission.cells = (cell(COURSE_CELL),)
    result = grade_one(submission, "compile", args)
    assert result.status == "passed", result.message
    assert "trained at 0.001: write learning_rate=0.0001" in result.message
    (advice,) = course_era_advice(submission)
    assert "`RMSprop(lr=0.0001)`" in advice and "ignores `lr=`" in advice


def test_a_wrong_rate_fails_whether_written_lr_or_learning_rate(keras: Any, tmp_path: Path) -> None:
    args = {"optimizer": "RMSprop", "learning_rate": 0.0001}
    submission = make_submission(tmp_path, {"model": compiled(keras, 0.001)})
    submission.cells = (cell(COURSE_CELL.replace("0.0001", "0.01")),)
    assert grade_one(submission, "compile", args).status == "failed"
    plain = replace(submission, cells=())
    result = grade_one(plain, "compile", args)
    assert result.status == "failed"
    assert result.message == "Expected learning rate 0.0001, received 0.001."


def test_in_a_keras_2_kernel_import_keras_is_tf_keras(tmp_path: Path) -> None:
    """A model mixing `keras.layers` and `tf.keras.layers` builds and trains, as on TF 2.15."""
    script = textwrap.dedent(
        """
        import os
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        from grader.harness.keras2 import alias_keras_to_tf_keras
        assert alias_keras_to_tf_keras()
        import numpy as np
        import tensorflow as tf
        import keras
        from keras import layers
        from keras.preprocessing.image import ImageDataGenerator
        inputs = tf.keras.Input((4,))
        hidden = layers.Dense(3, activation="relu")(inputs)
        model = keras.Model(inputs, tf.keras.layers.Dense(1, activation="sigmoid")(hidden))
        model.compile(optimizer="rmsprop", loss="binary_crossentropy")
        model.fit(np.ones((4, 4)), np.ones(4), epochs=1, verbose=0)
        import tf_keras
        assert keras is tf_keras and tf_keras.__spec__.name == "tf_keras"
        print("mixed", type(model).__module__)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "mixed tf_keras." in done.stdout
