"""Checks of transfer learning: a pretrained base cut where the task says, frozen, loaded from
the grader's own weights file, and fine-tuned in a second phase with a lower learning rate.

Phases are seen through the training state the harness records at every `fit` (trainable
layers, trainable parameters, learning rate), since the final model only shows the last one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.context import CheckContext
from grader.checks.registry import Params, check
from grader.datasets import dataset_module
from grader.outcomes import CheckFailed
from grader.results import FitRecord


class FrozenBase(Params):
    """Every layer up to and including `until` (the cut) must have no trainable weights."""

    until: str


@check("frozen_base", FrozenBase, "Frozen base")
def check_frozen_base(ctx: CheckContext, params: FrozenBase) -> str:
    """No layer of the pretrained base (up to the cut) trains."""
    model = ctx.model()
    base = _layers_until(model, params.until)
    training = [layer.name for layer in base if layer.trainable_weights]
    if training:
        raise CheckFailed(
            f"Expected every base layer up to `{params.until}` to be frozen, received "
            f"{len(training)} that still train ({', '.join(training[:5])}...).",
            expected=0,
            received=len(training),
            hint="freeze the base before building the head: "
            "for layer in pre_trained_model.layers: layer.trainable = False.",
        )
    return f"{len(base)} base layers up to `{params.until}` are frozen"


_HEAD_STARTS = ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D")


def _layers_until(model: object, name: str) -> list:
    """The layers up to `name`, looking inside nested models too: a base called as a layer
    (augmentation in front of it, the 2024 revision's style) keeps its own layers there. A
    base cut elsewhere is what comes before the head (its `cut_at` check says where)."""
    layers = _flat_layers(model)
    names = [layer.name for layer in layers]
    kinds = [type(layer).__name__ for layer in layers]
    if name not in names and any(kind in _HEAD_STARTS for kind in kinds):
        return layers[: next(i for i, kind in enumerate(kinds) if kind in _HEAD_STARTS)]
    if name not in names:
        raise CheckFailed(
            f"Expected a layer named `{name}` in the model, received none.",
            expected=name,
            received=names[-5:],
            hint=f"build the head on the output of the base's layer `{name}`.",
        )
    return layers[: names.index(name) + 1]


class CutAt(Params):
    """The head's first layer (of type `head`) takes the output of the base layer `layer`."""

    layer: str
    head: str = "Flatten"


@check("cut_at", CutAt, "Base cut at the right layer")
def check_cut_at(ctx: CheckContext, params: CutAt) -> str:
    """The new head is attached to the output of the named layer of the base."""
    ctx.match_model(
        lambda model: (
            _outputs(model) is not None
            and any(layer.name == params.layer for layer in _flat_layers(model))
        ),
    )
    model = ctx.model()
    heads = [layer for layer in _flat_layers(model) if type(layer).__name__ == params.head]
    if not heads:
        raise CheckFailed(
            f"Expected a {params.head} layer starting the new head, received none.",
            expected=params.head,
            received=[type(layer).__name__ for layer in model.layers[-5:]],
            hint=f"start the head with layers.{params.head}()(last_output).",
        )
    source = _producer(heads[0])
    if source != params.layer:
        raise CheckFailed(
            f"Expected the head to start from the output of `{params.layer}`, received the "
            f"output of `{source}`.",
            expected=params.layer,
            received=source,
            hint=f"last_output = pre_trained_model.get_layer('{params.layer}').output.",
        )
    return f"the head starts from `{source}`"


def _producer(layer: object) -> str | None:
    """The name of the layer whose output feeds `layer` (Keras 3 functional graph); when that
    is a nested model (the base cut with `Model(base.input, mixed7.output)`), the layer that
    makes the nested model's output."""
    return _maker(layer.input)  # type: ignore[attr-defined]


def _maker(tensor: object) -> str | None:
    history = getattr(tensor, "_keras_history", None)
    operation = getattr(history, "operation", None) or (history[0] if history else None)
    if hasattr(operation, "layers") and getattr(operation, "outputs", None):
        return _maker(operation.outputs[0])
    return getattr(operation, "name", None)


class WeightsFromFile(Params):
    """`resource` is the dataset name of the weights file; `positions` pick which of the
    base's weighted layers to compare (in order), e.g. the first, a middle and a late one."""

    resource: str
    positions: tuple[int, ...] = (0, 40, 80)


@check(
    "weights_from_file",
    WeightsFromFile,
    "Weights loaded from the file",
    reads_training=True,  # a base that trains moves away from the file
)
def check_weights_from_file(ctx: CheckContext, params: WeightsFromFile) -> str:
    """The base's weights are the ones in the grader's copy of the weights file."""
    from grader.datasets.pretrained import layer_weights, weight_layer_names

    ctx.match_model(lambda model: _outputs(model) is None and bool(_weighted(model)))
    model = ctx.model()
    path = ctx.dataset(params.resource).files / dataset_module(params.resource).FILE
    in_file = weight_layer_names(path)
    in_model = _weighted(model)
    compared = []
    for position in params.positions:
        if position >= min(len(in_file), len(in_model)):
            continue
        layer, name = in_model[position], in_file[position]
        expected = layer_weights(path, [name])[name]
        if not _same_weights(expected, layer.get_weights()):
            raise CheckFailed(
                f"Expected layer `{layer.name}` to hold the weights file's `{name}`, received "
                "other values.",
                expected=f"weights of `{name}` from {path.name}",
                received="different values",
                hint="load the file into the base: pre_trained_model.load_weights("
                "local_weights_file), before freezing it.",
            )
        compared.append(layer.name)
    return f"layers {', '.join(compared)} hold the file's weights"


def _weighted(model: object) -> list:
    """Layers holding weights, inside a nested base too, in order: as `load_weights` pairs
    them with the file's."""
    return [layer for layer in _flat_layers(model) if layer.get_weights()]


# How far a layer's weights may have moved from the file's, relative to their size, and still
# count as loaded from it: a base left trainable drifts a little while it trains (a separate
# check fails it for not being frozen), a base never loaded is as far as two random draws.
_DRIFT = 0.2


def _same_weights(expected: list[np.ndarray], received: list[np.ndarray]) -> bool:
    return len(expected) == len(received) and all(
        a.shape == b.shape
        and float(np.linalg.norm(a - b)) <= _DRIFT * float(np.linalg.norm(a)) + 1e-6
        for a, b in zip(expected, received, strict=True)
    )


class BaseModel(Params):
    """The model contains a pretrained base: its layers named `prefix*` hold `params`. When
    the step's variable is missing, the exported model with such a base and `outputs`
    output units stands for it (most trained first), for this check and the step's next."""

    prefix: str
    params: int
    outputs: int | None = None


@check("base_model", BaseModel, "Pretrained base")
def check_base_model(ctx: CheckContext, params: BaseModel) -> str:
    """The convolutional base is the named application (by its layer names and size)."""
    ctx.match_model(
        lambda model: (
            _base_params(model, params.prefix) == params.params
            and params.outputs in (None, _outputs(model))
        ),
    )
    count = _base_params(ctx.model(), params.prefix)
    if count != params.params:
        raise CheckFailed(
            f"Expected a base whose `{params.prefix}*` layers hold {params.params:,} "
            f"parameters, received {count:,}.",
            expected=params.params,
            received=count,
            hint="use the application with include_top=False as the convolutional base.",
        )
    return f"`{params.prefix}*` layers: {count:,} parameters"


def _base_params(model: object, prefix: str) -> int:
    return sum(
        int(layer.count_params()) for layer in _flat_layers(model) if layer.name.startswith(prefix)
    )


def _outputs(model: Any) -> int | None:
    shape = tuple(model.outputs[0].shape) if getattr(model, "outputs", None) else ()
    return int(shape[-1]) if len(shape) == 2 and shape[-1] is not None else None


class DenseNetwork(Params):
    """The model to compare with: only dense layers (no convolution), `outputs` softmax
    units. A renamed one is found the same way (see `BaseModel`)."""

    outputs: int = 10


@check("dense_network", DenseNetwork, "Dense network")
def check_dense_network(ctx: CheckContext, params: DenseNetwork) -> str:
    """The comparison model is a plain dense network with one softmax output per class."""
    ctx.match_model(lambda model: _is_dense(model) and _outputs(model) == params.outputs)
    model = ctx.model()
    convolutions = [layer.name for layer in _flat_layers(model) if "Conv" in type(layer).__name__]
    if convolutions or _outputs(model) != params.outputs:
        raise CheckFailed(
            f"Expected a dense network with {params.outputs} outputs, received "
            f"{len(convolutions)} convolution layer(s) and {_outputs(model)} outputs.",
            expected=f"Dense layers only, {params.outputs} outputs",
            received={"convolutions": convolutions[:4], "outputs": _outputs(model)},
            hint="the comparison is a multilayer perceptron: Flatten, then Dense layers, the "
            f"last one Dense({params.outputs}, activation='softmax').",
        )
    dense = [layer for layer in _flat_layers(model) if type(layer).__name__ == "Dense"]
    return f"{len(dense)} Dense layers, {params.outputs} outputs"


def _is_dense(model: Any) -> bool:
    kinds = {type(layer).__name__ for layer in _flat_layers(model)}
    return "Dense" in kinds and not any("Conv" in kind for kind in kinds)


def _flat_layers(model: object) -> list:
    flat = []
    for layer in model.layers:  # type: ignore[attr-defined]
        flat += _flat_layers(layer) if hasattr(layer, "layers") else [layer]
    return flat


class Phases(Params):
    """Feature extraction (first `fit`: no `prefix*` layer trains), then fine-tuning (last
    `fit`: some base layers train, all of them in the blocks named by `fine_tune`, the last
    block(s) of the base, at a lower learning rate)."""

    prefix: str = "block"
    fine_tune: tuple[str, ...] = ("block5",)


@check("phases", Phases, "Feature extraction, then fine-tuning")
def check_phases(ctx: CheckContext, params: Phases) -> str:
    """Two training phases as transfer learning does them, read from the harness's records."""
    fits = [f for f in ctx.fits() if f.trainable_params is not None]
    if len(fits) < 2:
        raise CheckFailed(
            f"Expected two training phases (two fit calls), received {len(fits)}.",
            expected=2,
            received=len(fits),
            hint="train the head with the base frozen, then unfreeze the last block, "
            "recompile with a lower learning rate and fit again.",
        )
    first, last = fits[0], fits[-1]
    _check_extraction(first, params)
    _check_fine_tuning(last, params)
    if not (
        first.learning_rate and last.learning_rate and last.learning_rate < first.learning_rate
    ):
        raise CheckFailed(
            f"Expected a lower learning rate when fine-tuning, received {first.learning_rate} "
            f"then {last.learning_rate}.",
            expected=f"< {first.learning_rate}",
            received=last.learning_rate,
            hint="recompile before fine-tuning with a smaller rate, e.g. Adam(learning_rate=1e-5).",
        )
    return (
        f"phase 1: {first.trainable_params:,} trainable at {first.learning_rate:g}; "
        f"phase 2: {last.trainable_params:,} trainable at {last.learning_rate:g}"
    )


def _check_extraction(fit: FitRecord, params: Phases) -> None:
    training = [n for n in fit.trainable_layers if n.startswith(params.prefix)]
    if training:
        raise CheckFailed(
            f"Expected the base frozen in the first phase, received {len(training)} base "
            f"layers training ({', '.join(training[:4])}...).",
            expected=0,
            received=len(training),
            hint="set conv_base.trainable = False before compiling for the first fit.",
        )


def _check_fine_tuning(fit: FitRecord, params: Phases) -> None:
    base = [n for n in fit.trainable_layers if n.startswith(params.prefix)]
    wrong = [n for n in base if not n.startswith(params.fine_tune)]
    blocks = " or ".join(f"`{block}*`" for block in params.fine_tune)
    if wrong or not base:
        shown = f"{len(wrong)} layers outside them ({', '.join(wrong[:4])}...)" if wrong else "none"
        raise CheckFailed(
            f"Expected only layers of the last block(s) of the base ({blocks}) to train when "
            f"fine-tuning, received {shown}.",
            expected=f"{' or '.join(params.fine_tune)} layers only",
            received=wrong or base,
            hint=f"unfreeze the base, then freeze every layer whose name does not start "
            f"with '{params.fine_tune[-1]}'; recompile before fitting.",
        )
