"""Checks of a model's structure: parameter counts, shapes, layers and compile settings."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from grader.checks.context import CheckContext
from grader.checks.course_era import asked_rate
from grader.checks.layers import describe_layers, layer_differences, layer_table, same_value
from grader.checks.losses import loss_of
from grader.checks.registry import Params, check
from grader.outcomes import CheckFailed


class ParamCounts(Params):
    total: int | None = None
    trainable: int | None = None
    non_trainable: int | None = None
    judged: ClassVar[tuple[str, ...]] = ("total", "trainable", "non_trainable")


class Shape(Params):
    """`null` matches any size; `None` (the YAML string) requires a variable-size dimension."""

    shape: list[int | Literal["None"] | None]


class LayerList(Params):
    """`tail`: compare only the model's last layers (a head on a pretrained base)."""

    layers: list[dict[str, Any]]
    tail: bool = False


class LayerRules(Params):
    """Rules for tasks that leave the architecture open: how many layers of a type (at least
    `min_count`, at most `max_count`), and what the last layer must be (a list is "one of")."""

    min_count: dict[str, int] = Field(default_factory=dict)
    max_count: dict[str, int] = Field(default_factory=dict)
    last: dict[str, Any] = Field(default_factory=dict)


class CompileSettings(Params):
    optimizer: str | None = None
    learning_rate: float | None = None
    momentum: float | None = None
    loss: str | None = None


def _count(weights: list[Any]) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def judge_params(measured: dict[str, Any], params: ParamCounts) -> str:
    counts = measured["counts"]
    for kind in ("total", "trainable", "non_trainable"):
        wanted = getattr(params, kind)
        if wanted is not None and counts[kind] != wanted:
            raise CheckFailed(
                f"Expected {wanted:,} {kind.replace('_', '-')} parameters, received "
                f"{counts[kind]:,}.",
                expected=wanted,
                received=counts[kind],
                hint=f"per layer your model has: {measured['per_layer']}. Compare each layer "
                "with the task.",
            )
    return f"{counts['total']:,} parameters ({counts['trainable']:,} trainable)"


@check("params", ParamCounts, "Parameter counts", judge_params)
def check_params(ctx: CheckContext, params: ParamCounts) -> dict[str, Any]:
    """The model has exactly the total, trainable and non-trainable parameter counts asked for.

    A different count means a layer has other filters, units or kernel sizes than the task
    says, or a layer is missing or extra; the layer check of the same step names which.
    """
    model = ctx.model()
    counts = {
        "trainable": _count(model.trainable_weights),
        "non_trainable": _count(model.non_trainable_weights),
    }
    counts["total"] = counts["trainable"] + counts["non_trainable"]
    layers = ctx.submission.describe(ctx.model_name())  # cached: the layers check reads it too
    per_layer = ", ".join(f"{d['name']} {d['params']:,}" for d in layers)
    return {"counts": counts, "per_layer": per_layer}


def _dimension_matches(wanted: int | str | None, received: Any) -> bool:
    if wanted is None:
        return True
    if wanted == "None":
        return received is None
    return wanted == received


def _shape_matches(wanted: list[int | str | None], received: tuple[Any, ...]) -> bool:
    return len(wanted) == len(received) and all(map(_dimension_matches, wanted, received))


def _show(shape: Any) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _compare_shape(
    kind: str, wanted: list[int | None], received: tuple[Any, ...], hint: str
) -> str:
    if not _shape_matches(wanted, received):
        raise CheckFailed(
            f"Expected {kind} shape {_show(wanted)}, received {_show(received)}.",
            expected=wanted,
            received=list(received),
            hint=hint,
        )
    return f"{kind} {_show(received)}"


@check("input_shape", Shape, "Input shape")
def check_input_shape(ctx: CheckContext, params: Shape) -> str:
    """The model's input has the shape asked for; `null` in the spec matches any size."""
    hint = f"start the model with keras.Input(shape={_show(params.shape[1:])})."
    return _compare_shape("input", params.shape, tuple(ctx.model().inputs[0].shape), hint)


@check("output_shape", Shape, "Output shape")
def check_output_shape(ctx: CheckContext, params: Shape) -> str:
    """The model's output has the shape asked for; `null` in the spec matches any size."""
    hint = "the last layer decides the output: one unit per class for a classifier."
    return _compare_shape("output", params.shape, tuple(ctx.model().outputs[0].shape), hint)


@check("layers", LayerList, "Layers")
def check_layers(ctx: CheckContext, params: LayerList) -> str:
    """The layers come in the order asked for, each with the attributes the spec names."""
    found = describe_layers(ctx.model())
    if params.tail:
        found = found[-len(params.layers) :]
    ctx.layers = layer_table(params.layers, found)
    problems = layer_differences(params.layers, found)
    if problems:
        wanted = " → ".join(layer["type"] for layer in params.layers)
        raise CheckFailed(
            f"The layers differ from the task: {'; '.join(problems)}.",
            expected=[layer["type"] for layer in params.layers],
            received=[layer["type"] for layer in found],
            hint=f"the task's layers, in order: {wanted}.",
        )
    return " → ".join(layer["type"] for layer in found)


@check("layer_rules", LayerRules, "Layers")
def check_layer_rules(ctx: CheckContext, params: LayerRules) -> str:
    """The model has the number of layers of each type and the output layer the task asks
    for, where the task leaves the rest of the architecture to the student."""
    found = describe_layers(ctx.model())
    counts = {
        kind: sum(1 for f in found if f["type"] == kind)
        for kind in {*params.min_count, *params.max_count}
    }
    for kind, least in params.min_count.items():
        if counts[kind] < least:
            raise CheckFailed(
                f"Expected at least {least} {kind} layers, received {counts[kind]}.",
                expected=f">= {least}",
                received=counts[kind],
                hint=f"add {kind} layers until there are {least}.",
            )
    for kind, most in params.max_count.items():
        if counts[kind] > most:
            raise CheckFailed(
                f"Expected at most {most} {kind} layers, received {counts[kind]}.",
                expected=f"<= {most}",
                received=counts[kind],
                hint=f"the task allows no more than {most} {kind} layers; remove the extra ones.",
            )
    _check_last_layer(found[-1] if found else {}, params.last)
    shown = ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
    return f"{shown}; last layer {found[-1]['type']}" if found else "no layers"


def _check_last_layer(last: dict[str, Any], wanted: dict[str, Any]) -> None:
    for key, value in wanted.items():
        options = value if isinstance(value, list) else [value]
        if not any(same_value(option, last.get(key)) for option in options):
            shown = " or ".join(map(repr, options))
            raise CheckFailed(
                f"Expected the last layer's {key} to be {shown}, received {last.get(key)!r}.",
                expected=value,
                received=last.get(key),
                hint=f"end the model with a layer whose {key} is {shown}.",
            )


def compile_settings(model: Any) -> dict[str, Any]:
    optimizer = getattr(model, "optimizer", None)
    config = optimizer.get_config() if optimizer is not None else {}
    return {
        "optimizer": type(optimizer).__name__ if optimizer is not None else None,
        "learning_rate": float(config["learning_rate"]) if "learning_rate" in config else None,
        "momentum": config.get("momentum"),
        "loss": loss_of(model).name,
    }


@check("compile", CompileSettings, "Compile settings")
def check_compile(ctx: CheckContext, params: CompileSettings) -> str:
    """The model was compiled with the optimizer, learning rate, momentum and loss asked for."""
    received = compile_settings(ctx.model())
    if received["optimizer"] is None:
        raise CheckFailed(
            "Expected a compiled model, received one that was never compiled.",
            expected=params.model_dump(exclude_none=True),
            received=None,
            hint="call model.compile(optimizer=..., loss=...) before fit.",
        )
    _course_era_rate(ctx, params, received)
    for key, wanted in params.model_dump(exclude_none=True).items():
        if not same_value(wanted, received[key]):
            raise CheckFailed(
                f"Expected {key.replace('_', ' ')} {_shown(wanted)}, received "
                f"{_shown(received[key])}.",
                expected=wanted,
                received=received[key],
                hint=f"compile with {key}={wanted!r}, as the task says.",
            )
    return ", ".join(
        f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in received.items()
        if v is not None
    )


def _shown(value: Any) -> str:
    """A setting as a person writes it: 0.001, not 0.0010000000474974513 (float32)."""
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def _course_era_rate(ctx: CheckContext, params: CompileSettings, received: dict[str, Any]) -> None:
    """Grade `RMSprop(lr=0.0001)` as the course's Keras took it, and say what it did here."""
    if params.learning_rate is None or same_value(params.learning_rate, received["learning_rate"]):
        return
    asked = asked_rate(ctx.submission.cells, received["optimizer"])
    if asked is None or not same_value(params.learning_rate, asked):
        return
    ctx.notes.append(
        f"graded lr={asked:g} as the learning rate; Keras ≥ 2.11 ignores `lr=`, so this model "
        f"trained at {received['learning_rate']:g}: write learning_rate={asked:g}"
    )
    received["learning_rate"] = asked


class SavedModel(Params):
    file: str


@check("saved_model", SavedModel, "Saved model file")
def check_saved_model(ctx: CheckContext, params: SavedModel) -> str:
    """The notebook saved this step's model to the file asked for, and it loads back the same."""
    saved = ctx.submission.load_file_model(ctx.file(params.file), f"the file `{params.file}`")
    model = ctx.model()
    received = [d["type"] for d in describe_layers(saved)], int(saved.count_params())
    expected = [d["type"] for d in describe_layers(model)], int(model.count_params())
    if received != expected:
        raise CheckFailed(
            f"Expected `{params.file}` to hold `{ctx.model_name()}` ({expected[1]:,} parameters), "
            f"received a model with {received[1]:,} parameters.",
            expected=expected[0],
            received=received[0],
            hint=f"call {ctx.model_name()}.save({params.file!r}) after training it.",
        )
    return f"`{params.file}` loads back with {received[1]:,} parameters"
