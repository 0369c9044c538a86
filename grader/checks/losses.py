"""Whether a model's loss fits its labels and its last layer: the classic silent mistakes.

Keras trains happily with many wrong pairs: `categorical_crossentropy` on one sigmoid unit
(the loss is always 0), a softmax over one unit (always 1.0), `from_logits=True` after a
softmax, a linear output scored as probabilities. These rules name each one; the
`loss_matches` check applies them with the labels the task uses, and the advice applies
the label-free ones to every compiled model of every assignment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from grader.checks.context import CheckContext
from grader.checks.layers import activation_applied
from grader.checks.registry import Params, check
from grader.outcomes import CheckFailed

Labels = Literal["binary", "integer", "onehot"]

_ALIASES = {
    "bce": "binary_crossentropy",
    "cce": "categorical_crossentropy",
    "scce": "sparse_categorical_crossentropy",
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
}
_EXPECTED = {
    "binary": "binary_crossentropy",
    "integer": "sparse_categorical_crossentropy",
    "onehot": "categorical_crossentropy",
}
_CROSS_ENTROPIES = set(_EXPECTED.values())


@dataclass(frozen=True)
class LossInfo:
    name: str | None
    from_logits: bool


@dataclass(frozen=True)
class OutputInfo:
    units: int | None
    activation: str | None


def loss_of(model: Any) -> LossInfo:
    """The compiled loss as a snake-case name, whether given as a string, object or function."""
    loss = getattr(model, "loss", None)
    if loss is None:
        return LossInfo(None, False)
    if isinstance(loss, str):
        return LossInfo(_canonical(loss), False)
    config = loss.get_config() if hasattr(loss, "get_config") else {}
    name = getattr(loss, "__name__", None) or type(loss).__name__
    return LossInfo(_canonical(name), bool(config.get("from_logits", False)))


def _canonical(name: str) -> str:
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return _ALIASES.get(snake, snake)


def output_of(model: Any) -> OutputInfo:
    """Units and activation of the last layer that has them; a later activation layer
    (`Activation`, `Softmax()`, `ReLU()`) is what the model ends with, Dropout is skipped."""
    units = activation = None
    for layer in reversed(model.layers):
        config = layer.get_config()
        if activation is None:
            applied = activation_applied(type(layer).__name__, config)
            if applied is None and "activation" in config:
                applied = _activation_name(config["activation"])
            activation = applied
        if "units" in config:
            return OutputInfo(int(config["units"]), activation)
    return OutputInfo(units, activation)


def _activation_name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("config", {}).get("name") or value.get("class_name"))
    return str(value)


def label_free_problems(
    loss: LossInfo, output: OutputInfo, activation: bool = True
) -> list[str]:
    """Mismatches visible without knowing the labels; with `activation` False, those that
    only a change of the last activation mends are left out (a layer check grades it)."""
    problems = []
    probability = output.activation in ("softmax", "sigmoid")
    if activation and output.activation == "softmax" and output.units == 1:
        problems.append("a softmax over one unit always outputs 1.0: use sigmoid for one unit")
    if loss.name == "categorical_crossentropy" and output.units == 1:
        problems.append(
            "categorical cross-entropy on one output unit is always 0, so nothing is learned: "
            "use binary_crossentropy"
        )
    if loss.name in _CROSS_ENTROPIES and loss.from_logits and probability:
        problems.append(
            f"from_logits=True after a {output.activation} applies it twice: "
            "drop from_logits or make the last layer linear"
        )
    linear = output.activation == "linear"
    if activation and loss.name in _CROSS_ENTROPIES and not loss.from_logits and linear:
        problems.append(
            "the last layer is linear but the loss expects probabilities: "
            "add softmax/sigmoid or pass from_logits=True"
        )
    return problems


def label_problems(
    loss: LossInfo, output: OutputInfo, labels: Labels, classes: list[int]
) -> list[str]:
    """Mismatches between the loss, the output units and the label encoding; `classes` lists
    the unit counts accepted (e.g. 25 or 26 when the last class has no samples)."""
    expected = _EXPECTED[labels]
    if loss.name is None:
        return ["the model was never compiled with a loss"]
    binary_as_two = (
        labels == "binary" and loss.name == "sparse_categorical_crossentropy" and output.units == 2
    )
    problems = []
    if loss.name != expected and not binary_as_two:
        problems.append(f"{_DESCRIBED[labels]} need {expected}, not {loss.name}")
    units = [1] if labels == "binary" and not binary_as_two else classes
    if output.units not in units:
        shown = " or ".join(map(str, units))
        problems.append(f"the last layer has {output.units} unit(s); these labels need {shown}")
    return problems


def activation_problems(loss: LossInfo, output: OutputInfo, labels: Labels) -> list[str]:
    """One class out of several needs one distribution over them: a softmax (or logits)."""
    several = labels != "binary" and (output.units or 0) > 1
    if several and output.activation == "sigmoid" and not loss.from_logits:
        return [
            f"{output.units} sigmoid units are independent yes/no scores, not one distribution "
            "over the classes: end with activation='softmax'"
        ]
    return []


_DESCRIBED = {
    "binary": "labels 0/1 scored by one unit",
    "integer": "integer class labels",
    "onehot": "one-hot labels",
}


class LossMatches(Params):
    """`last_activation: false` where the step's layer check already grades the last layer's
    activation: a wrong activation then costs that check only, not this one as well."""

    labels: Labels
    classes: int | list[int] = 2
    last_activation: bool = True


@check("loss_matches", LossMatches, "Loss matches labels and output")
def check_loss_matches(ctx: CheckContext, params: LossMatches) -> str:
    """The loss fits the label encoding and the last layer (units, activation, from_logits)."""
    model = ctx.model()
    loss, output = loss_of(model), output_of(model)
    classes = params.classes if isinstance(params.classes, list) else [params.classes]
    problems = label_problems(loss, output, params.labels, classes)
    if params.last_activation:
        problems += activation_problems(loss, output, params.labels)
    problems += label_free_problems(loss, output, params.last_activation)
    if problems:
        raise CheckFailed(
            f"The loss does not fit the {params.labels} labels: {'; '.join(problems)}.",
            expected=_EXPECTED[params.labels],
            received={
                "loss": loss.name,
                "from_logits": loss.from_logits,
                "last units": output.units,
                "last activation": output.activation,
            },
            hint=problems[0] + ".",
        )
    logits = ", from logits" if loss.from_logits else ""
    return f"{loss.name}{logits} on {output.units} {output.activation} unit(s)"
