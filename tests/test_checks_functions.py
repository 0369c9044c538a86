"""The block-function check: the notebook's function called on hidden arguments, then inspected."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.context import Submission
from grader.checks.functions import BlockFunction
from tests.conftest import called_on_hidden_inputs, grade_one

TEMPLATE = [
    {"type": "Conv2D", "filters": "{0}", "kernel_size": [3, 3], "padding": "same"},
    {"type": "Conv2D", "filters": "{0}", "kernel_size": [3, 3], "padding": "same"},
    {"type": "MaxPooling2D", "pool_size": [2, 2]},
]
ARGS = {"function": "conv_block", "layers": TEMPLATE}


def called(tmp_path: Path, function: Callable[..., Any] | None) -> Submission:
    namespace = {"conv_block": function} if function else {}
    return called_on_hidden_inputs(tmp_path, "block_function", ARGS, namespace)


def test_hidden_arguments_differ_between_runs() -> None:
    params = BlockFunction(**ARGS)
    first = [c.args for c in params.hidden_calls(np.random.default_rng(1), Path())]
    assert first != [c.args for c in params.hidden_calls(np.random.default_rng(2), Path())]
    assert len({a[0] for a in first}) == 3


def test_a_correct_block_function_passes(keras: Any, tmp_path: Path) -> None:
    from keras import layers

    def conv_block(filters: int, batch_norm: bool = True) -> list[Any]:
        block = []
        for _ in range(2):
            block += [layers.Conv2D(filters, 3, padding="same", activation="relu")]
            block += [layers.BatchNormalization()] if batch_norm else []
        return [*block, layers.MaxPooling2D(2)]

    result = grade_one(called(tmp_path, conv_block), "block_function", ARGS, model=None)
    assert result.status == "passed", result.message
    assert "each built the block asked for" in result.message


def test_a_functional_style_block_passes(keras: Any, tmp_path: Path) -> None:
    from keras import layers

    def conv_block(x: Any, filters: int) -> Any:
        x = layers.Conv2D(filters, 3, padding="same")(x)
        x = layers.Conv2D(filters, 3, padding="same")(x)
        return layers.MaxPooling2D(2)(x)

    result = grade_one(called(tmp_path, conv_block), "block_function", ARGS, model=None)
    assert result.status == "passed", result.message


def test_a_block_with_hard_coded_filters_fails(keras: Any, tmp_path: Path) -> None:
    from keras import layers

    def conv_block(filters: int) -> list[Any]:
        return [
            layers.Conv2D(20, 3, padding="same"),
            layers.Conv2D(20, 3, padding="same"),
            layers.MaxPooling2D(2),
        ]

    result = grade_one(called(tmp_path, conv_block), "block_function", ARGS, model=None)
    assert result.status == "failed"
    assert "filters is 20; the task asks for" in result.message
    assert "any filter count" not in (result.hint or "")


def test_a_block_function_that_raises_fails_with_its_error(keras: Any, tmp_path: Path) -> None:
    def conv_block(filters: int) -> list[Any]:
        raise ValueError("only 20 or 40 supported")

    result = grade_one(called(tmp_path, conv_block), "block_function", ARGS, model=None)
    assert result.status == "failed"
    assert "ValueError: only 20 or 40 supported" in result.message


def test_a_missing_function_fails_with_a_clear_message(keras: Any, tmp_path: Path) -> None:
    result = grade_one(called(tmp_path, None), "block_function", ARGS, model=None)
    assert result.status == "failed"
    assert "no function `conv_block` in the notebook" in result.message
