"""Checks of the notebook's functions, called at collect time on arguments the grader chose."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from grader.checks.context import CheckContext
from grader.checks.layers import describe_layers, layer_differences
from grader.checks.registry import FunctionParams, HiddenCall, check
from grader.outcomes import CheckFailed, CheckSkipped


class BlockFunction(FunctionParams):
    """`layers` is a template: the string "{0}" stands for the hidden first argument."""

    kind: ClassVar[Literal["model", "value", "none"]] = "model"
    layers: list[dict[str, Any]]
    calls: int = 3
    arg_range: tuple[int, int] = (3, 64)
    block_input: tuple[int, ...] = (16, 16, 8)
    allow_extra: tuple[str, ...] = ("BatchNormalization", "Dropout", "Activation")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.block_input

    def hidden_calls(self, rng: np.random.Generator, folder: Path) -> list[HiddenCall]:
        low, high = self.arg_range
        values = rng.choice(np.arange(low, high + 1), size=self.calls, replace=False)
        return [HiddenCall([int(v)]) for v in values]


def _filled(template: list[dict[str, Any]], args: tuple[Any, ...]) -> list[dict[str, Any]]:
    def fill(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            return args[int(value[1:-1])]
        return value

    return [{key: fill(value) for key, value in layer.items()} for layer in template]


@check("block_function", BlockFunction, "Block function")
def check_block_function(ctx: CheckContext, params: BlockFunction) -> str:
    """The function builds the block asked for, whatever argument it gets.

    The grader calls it with arguments of its own choosing, different on every run, and
    inspects the layers it returns; extra normalisation, dropout or activation layers that
    later steps add are allowed.
    """
    calls = ctx.calls()
    if not calls:
        raise CheckSkipped(f"`{params.function}` was not called: the notebook did not finish")
    shown = []
    for call in calls:
        signature = f"{params.function}({', '.join(map(repr, call.args))})"
        if call.path is None:
            raise CheckFailed(
                f"Expected {signature} to return a block of layers, received an error: "
                f"{call.error}.",
                expected="a list of layers or a Sequential",
                received=call.error,
                hint=f"{params.function} must work for any filter count, not only the task's.",
            )
        found = describe_layers(ctx.submission.load_file_model(call.path, signature))
        found = [layer for layer in found if layer["type"] not in params.allow_extra]
        problems = layer_differences(_filled(params.layers, call.args), found)
        if problems:
            raise CheckFailed(
                f"{signature} returned a different block: {'; '.join(problems)}.",
                expected=[layer["type"] for layer in params.layers],
                received=[layer["type"] for layer in found],
                hint="use the function's argument for the filter count of both convolutions.",
            )
        shown.append(signature)
    return f"{', '.join(shown)} each built the block asked for"
