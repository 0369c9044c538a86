"""The loss rules: every silent label/activation/loss mismatch is named, correct pairs pass."""

from __future__ import annotations

from typing import Any

import pytest

from grader.checks.losses import (
    LossInfo,
    OutputInfo,
    activation_problems,
    label_free_problems,
    label_problems,
    loss_of,
    output_of,
)

SIGMOID_1 = OutputInfo(1, "sigmoid")
SOFTMAX_10 = OutputInfo(10, "softmax")
LINEAR_10 = OutputInfo(10, "linear")


@pytest.mark.parametrize(
    ("loss", "output", "labels", "classes"),
    [
        (LossInfo("binary_crossentropy", False), SIGMOID_1, "binary", [2]),
        (
            LossInfo("sparse_categorical_crossentropy", False),
            OutputInfo(2, "softmax"),
            "binary",
            [2],
        ),
        (LossInfo("sparse_categorical_crossentropy", False), SOFTMAX_10, "integer", [10]),
        (LossInfo("sparse_categorical_crossentropy", True), LINEAR_10, "integer", [10]),
        (LossInfo("categorical_crossentropy", False), SOFTMAX_10, "onehot", [10]),
        (
            LossInfo("sparse_categorical_crossentropy", False),
            OutputInfo(25, "softmax"),
            "integer",
            [25, 26],
        ),
    ],
)
def test_matching_pairs_have_no_problems(
    loss: LossInfo, output: OutputInfo, labels: Any, classes: list[int]
) -> None:
    assert label_problems(loss, output, labels, classes) == []
    assert label_free_problems(loss, output) == []


@pytest.mark.parametrize(
    ("loss", "output", "labels", "words"),
    [
        (LossInfo("categorical_crossentropy", False), SIGMOID_1, "binary", "always 0"),
        (
            LossInfo("binary_crossentropy", False),
            OutputInfo(1, "softmax"),
            "binary",
            "always outputs 1.0",
        ),
        (
            LossInfo("categorical_crossentropy", False),
            SOFTMAX_10,
            "integer",
            "integer class labels",
        ),
        (
            LossInfo("sparse_categorical_crossentropy", False),
            SOFTMAX_10,
            "onehot",
            "one-hot labels",
        ),
        (
            LossInfo("sparse_categorical_crossentropy", True),
            SOFTMAX_10,
            "integer",
            "applies it twice",
        ),
        (
            LossInfo("sparse_categorical_crossentropy", False),
            LINEAR_10,
            "integer",
            "from_logits=True",
        ),
        (LossInfo("mean_squared_error", False), SOFTMAX_10, "integer", "not mean_squared_error"),
        (
            LossInfo("sparse_categorical_crossentropy", False),
            OutputInfo(24, "softmax"),
            "integer",
            "24 unit",
        ),
    ],
)
def test_each_mismatch_is_named(
    loss: LossInfo, output: OutputInfo, labels: Any, words: str
) -> None:
    problems = label_problems(loss, output, labels, [10]) + label_free_problems(loss, output)
    assert any(words in problem for problem in problems), problems


def test_sigmoid_units_for_one_class_of_several_are_named_and_binary_is_not() -> None:
    loss = LossInfo("sparse_categorical_crossentropy", False)
    (problem,) = activation_problems(loss, OutputInfo(10, "sigmoid"), "integer")
    assert "10 sigmoid units" in problem and "softmax" in problem
    assert activation_problems(loss, SIGMOID_1, "binary") == []
    assert activation_problems(loss, SOFTMAX_10, "onehot") == []


def test_a_wrong_activation_costs_once_where_a_layer_check_grades_it() -> None:
    """`last_activation: false`: the loss check leaves the last activation to the layers."""
    softmax_1 = OutputInfo(1, "softmax")
    binary = LossInfo("binary_crossentropy", False)
    assert label_free_problems(binary, softmax_1, activation=False) == []
    assert label_free_problems(LossInfo("categorical_crossentropy", False), SIGMOID_1, False)


def test_losses_given_as_strings_objects_or_functions_read_the_same(keras: Any) -> None:
    def compiled(loss: Any) -> Any:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss=loss)
        return model

    as_object = compiled(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert loss_of(as_object) == LossInfo("sparse_categorical_crossentropy", True)
    assert (
        loss_of(compiled("sparse_categorical_crossentropy")).name
        == "sparse_categorical_crossentropy"
    )
    assert loss_of(compiled(keras.losses.sparse_categorical_crossentropy)).name == (
        "sparse_categorical_crossentropy"
    )
    assert output_of(as_object) == OutputInfo(3, "softmax")


def test_advice_names_the_model_and_its_mismatch(keras: Any, tmp_path: Any) -> None:
    from grader.advice import model_advice
    from tests.conftest import make_submission

    broken = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    broken.compile(optimizer="adam", loss="categorical_crossentropy")
    fine = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    fine.compile(optimizer="adam", loss="binary_crossentropy")
    advice = model_advice(make_submission(tmp_path, {"net": broken, "other": fine}))
    assert len(advice) == 1
    assert advice[0].startswith("`net`: categorical cross-entropy on one output unit is always 0")
