"""Generator and CSV-parsing checks, with the notebook's functions run in this process on the
grader's hidden inputs (ImageDataGenerator exists only in Keras 2, `tf_keras`, as in the course)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import called_on_hidden_inputs, grade_one

DIRECTORY_ARGS = {"function": "train_val_generators"}


def directory_generators(**changes: Any) -> Callable[[str, str], Any]:
    def train_val_generators(training_dir: str, validation_dir: str) -> Any:
        from tf_keras.preprocessing.image import ImageDataGenerator

        settings = {"rescale": changes.get("rescale", 1 / 255)}
        size = changes.get("target_size", (150, 150))
        mode = changes.get("class_mode", "binary")
        train = ImageDataGenerator(**settings).flow_from_directory(
            training_dir, target_size=size, class_mode=mode, batch_size=4
        )
        other = training_dir if changes.get("same_folder") else validation_dir
        validation = ImageDataGenerator(**settings).flow_from_directory(
            other, target_size=size, class_mode=mode, batch_size=4
        )
        return (train,) if changes.get("one") else (train, validation)

    return train_val_generators


def test_the_course_generators_pass(keras: Any, tmp_path: Path) -> None:
    namespace = {"train_val_generators": directory_generators()}
    submission = called_on_hidden_inputs(
        tmp_path, "directory_generators", DIRECTORY_ARGS, namespace
    )
    result = grade_one(submission, "directory_generators", DIRECTORY_ARGS, model=None)
    assert result.status == "passed", result.message


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        ({"rescale": None}, "rescale=1./255"),
        ({"target_size": (100, 100)}, "target_size=(150, 150)"),
        ({"class_mode": "categorical"}, "class_mode='binary'"),
        ({"same_folder": True}, "its own directory argument"),
        ({"one": True}, "return both generators"),
    ],
)
def test_generator_mistakes_fail_with_a_hint(
    keras: Any, tmp_path: Path, change: dict[str, Any], hint: str
) -> None:
    namespace = {"train_val_generators": directory_generators(**change)}
    submission = called_on_hidden_inputs(
        tmp_path, "directory_generators", DIRECTORY_ARGS, namespace
    )
    result = grade_one(submission, "directory_generators", DIRECTORY_ARGS, model=None)
    assert result.status == "failed"
    assert hint in (result.hint or ""), (result.message, result.hint)


def test_augmentation_is_required_where_the_task_asks(keras: Any, tmp_path: Path) -> None:
    args = {**DIRECTORY_ARGS, "augmented_training": True}
    namespace = {"train_val_generators": directory_generators()}
    submission = called_on_hidden_inputs(tmp_path, "directory_generators", args, namespace)
    result = grade_one(submission, "directory_generators", args, model=None)
    assert result.status == "failed"
    assert "augment" in result.message


ARRAY_ARGS = {"function": "train_val_generators"}


def array_generators(channel: bool = True, rescale: float | None = 1 / 255) -> Callable:
    def train_val_generators(images: Any, labels: Any, val_images: Any, val_labels: Any) -> Any:
        from tf_keras.preprocessing.image import ImageDataGenerator

        if channel:
            images, val_images = images[..., None], val_images[..., None]
        make = ImageDataGenerator(rescale=rescale)
        return make.flow(images, labels, batch_size=8), make.flow(val_images, val_labels)

    return train_val_generators


def test_array_generators_with_a_channel_axis_pass(keras: Any, tmp_path: Path) -> None:
    namespace = {"train_val_generators": array_generators()}
    submission = called_on_hidden_inputs(tmp_path, "array_generators", ARRAY_ARGS, namespace)
    result = grade_one(submission, "array_generators", ARRAY_ARGS, model=None)
    assert result.status == "passed", result.message


def test_array_generators_without_rescaling_fail(keras: Any, tmp_path: Path) -> None:
    namespace = {"train_val_generators": array_generators(rescale=None)}
    submission = called_on_hidden_inputs(tmp_path, "array_generators", ARRAY_ARGS, namespace)
    result = grade_one(submission, "array_generators", ARRAY_ARGS, model=None)
    assert result.status == "failed"
    assert "rescale" in (result.hint or "")


def test_array_generators_without_a_channel_axis_fail(keras: Any, tmp_path: Path) -> None:
    namespace = {"train_val_generators": array_generators(channel=False)}
    submission = called_on_hidden_inputs(tmp_path, "array_generators", ARRAY_ARGS, namespace)
    result = grade_one(submission, "array_generators", ARRAY_ARGS, model=None)
    assert result.status == "failed"


PARSE_ARGS = {"function": "parse_data_from_input"}


def parser(**changes: Any) -> Callable[[str], Any]:
    def parse_data_from_input(filename: str) -> Any:
        with open(filename) as file:
            rows = list(csv.reader(file))
        rows = rows if changes.get("keep_header") else rows[1:]
        data = np.array(rows[:-1] if changes.get("drop_last") else rows)
        if changes.get("keep_header"):
            data = data[1:]
            rows = rows[1:]
        labels = data[:, 0].astype(changes.get("dtype", "float64"))
        images = data[:, 1:].astype(changes.get("dtype", "float64"))
        if not changes.get("flat"):
            images = images.reshape(-1, 28, 28)
        return (labels, images) if changes.get("swap") else (images, labels)

    return parse_data_from_input


def test_a_correct_parser_passes(tmp_path: Path) -> None:
    namespace = {"parse_data_from_input": parser()}
    submission = called_on_hidden_inputs(tmp_path, "parsed_csv", PARSE_ARGS, namespace)
    result = grade_one(submission, "parsed_csv", PARSE_ARGS, model=None)
    assert result.status == "passed", result.message


@pytest.mark.parametrize(
    ("change", "hint"),
    [
        ({"swap": True}, "images first"),
        ({"flat": True}, "reshape"),
        ({"dtype": "int64"}, "float64"),
        ({"drop_last": True}, "every row after the header"),
    ],
)
def test_parser_mistakes_fail_with_a_hint(
    tmp_path: Path, change: dict[str, Any], hint: str
) -> None:
    namespace = {"parse_data_from_input": parser(**change)}
    submission = called_on_hidden_inputs(tmp_path, "parsed_csv", PARSE_ARGS, namespace)
    result = grade_one(submission, "parsed_csv", PARSE_ARGS, model=None)
    assert result.status == "failed"
    assert hint in (result.hint or ""), (result.message, result.hint)


def test_a_parser_that_returns_none_fails_clearly(tmp_path: Path) -> None:
    namespace = {"parse_data_from_input": lambda filename: (None, None)}
    submission = called_on_hidden_inputs(tmp_path, "parsed_csv", PARSE_ARGS, namespace)
    result = grade_one(submission, "parsed_csv", PARSE_ARGS, model=None)
    assert result.status == "failed"
    assert "two arrays" in result.message
