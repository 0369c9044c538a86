"""Checks of the notebook's data variables, compared with values the grader computes itself."""

from __future__ import annotations

from typing import Literal

import numpy as np

from grader.checks.context import CheckContext
from grader.checks.registry import Params, check
from grader.outcomes import CheckFailed


class ServedSplit(Params):
    variable: str
    dataset: str
    split: Literal["train", "test"]


class OneHot(ServedSplit):
    classes: int


class ParamAnswer(Params):
    variable: str


class Probabilities(Params):
    """`before_training_on`: the dataset whose first test images the step's model predicted
    before it was trained; rows equal to the trained model's predictions on them were
    computed after `fit`, not before."""

    variable: str
    classes: int
    min_rows: int = 1
    max_rows: int | None = None
    before_training_on: str | None = None
    after_training_on: str | None = None


@check("loaded", ServedSplit, "Data as loaded")
def check_loaded(ctx: CheckContext, params: ServedSplit) -> str:
    """The variable holds the images the dataset's `load_data()` returned, unchanged."""
    served = getattr(ctx.dataset(params.dataset).served, params.split).x
    received = ctx.variable(params.variable, lambda a: _same_array(a, served))
    if not _same_array(received, served):
        raise CheckFailed(
            f"Expected `{params.variable}` to hold the {params.split} images of shape "
            f"{served.shape}, received an array of shape {received.shape}.",
            expected=list(served.shape),
            received=list(received.shape),
            hint=f"load the data with keras.datasets.{params.dataset}.load_data() and keep "
            "the images as they come; scale them inside the model.",
        )
    return f"{len(received):,} images of shape {received.shape[1:]}"


@check("one_hot", OneHot, "One-hot labels")
def check_one_hot(ctx: CheckContext, params: OneHot) -> str:
    """The variable is the one-hot encoding of the served labels, computed by the grader."""
    labels = getattr(ctx.dataset(params.dataset).served, params.split).y.reshape(-1)
    expected = np.eye(params.classes, dtype=np.float32)[labels]
    received = ctx.variable(params.variable, lambda a: _same_array(a, expected))
    if received.shape != expected.shape:
        raise CheckFailed(
            f"Expected `{params.variable}` of shape {expected.shape}, received {received.shape}.",
            expected=list(expected.shape),
            received=list(received.shape),
            hint=f"use keras.utils.to_categorical(labels, {params.classes}).",
        )
    wrong = int(np.sum(np.any(received != expected, axis=1)))
    if wrong:
        raise CheckFailed(
            f"Expected one-hot rows matching the labels, received {wrong:,} rows that differ.",
            expected="one 1 at each label's index, 0 elsewhere",
            received=f"{wrong} wrong rows",
            hint="encode the labels in their original order, without shuffling them apart "
            "from the images.",
        )
    return f"{len(received):,} one-hot rows of {params.classes} classes"


@check("param_answer", ParamAnswer, "Parameter count answer")
def check_param_answer(ctx: CheckContext, params: ParamAnswer) -> str:
    """The number the notebook gives equals the parameter count of its own step model."""
    expected = int(ctx.model().count_params())
    received = ctx.variable(params.variable, lambda a: _the_number(a, expected))
    if not _the_number(received, expected):
        raise CheckFailed(
            f"Expected `{params.variable}` = {expected:,}, received {received.tolist()}.",
            expected=expected,
            received=received.tolist(),
            hint=f"use {ctx.model_name()}.count_params(), or add up every layer's weights.",
        )
    return f"{expected:,} parameters"


@check("probabilities", Probabilities, "Probability vectors")
def check_probabilities(ctx: CheckContext, params: Probabilities) -> str:
    """The variable holds probability vectors: rows of `classes` values in [0, 1] summing to 1."""
    received = ctx.variable(params.variable, lambda a: _stands_for(ctx, params, a))
    if received.ndim != 2 or received.shape[1] != params.classes or len(received) < params.min_rows:
        raise CheckFailed(
            f"Expected `{params.variable}` of shape (≥{params.min_rows}, {params.classes}), "
            f"received {received.shape}.",
            expected=[f"≥{params.min_rows}", params.classes],
            received=list(received.shape),
            hint="keep what model.predict(images) returns for a few images.",
        )
    sums = received.sum(axis=1)
    if received.min() < 0 or received.max() > 1 or not np.allclose(sums, 1, atol=1e-3):
        raise CheckFailed(
            "Expected probabilities (each row in [0, 1], summing to 1), received rows summing "
            f"to {np.round(sums, 3).tolist()}.",
            expected=1.0,
            received=np.round(sums, 3).tolist(),
            hint="the last layer needs activation='softmax'.",
        )
    if params.before_training_on is not None:
        _check_before_training(ctx, params, received)
    return f"{len(received)} probability vectors"


def _stands_for(ctx: CheckContext, params: Probabilities, value: np.ndarray) -> bool:
    """Whether a renamed global can be this variable: probability rows in the number asked
    for; predictions of the trained model for "after training", and not for "before"."""
    if not _probability_rows(value, params):
        return False
    if params.max_rows is not None and len(value) > params.max_rows:
        return False
    if params.before_training_on is not None:
        return not _trained_predictions(ctx, params.before_training_on, value)
    if params.after_training_on is not None:
        return _trained_predictions(ctx, params.after_training_on, value)
    return True


def _trained_predictions(ctx: CheckContext, dataset: str, received: np.ndarray) -> bool:
    """Whether `received` is the step model's prediction, as trained, on the first test
    images (the commonest choice), fed raw or scaled to [0, 1]."""
    images = ctx.dataset(dataset).served.test.x[: len(received)]
    if len(images) < len(received):
        return False
    model = ctx.model()
    for scale in (1.0, 1 / 255):
        trained = np.asarray(model(images.astype("float32") * scale, training=False))
        if trained.shape == received.shape and np.allclose(trained, received, atol=1e-4):
            return True
    return False


def _check_before_training(ctx: CheckContext, params: Probabilities, received: np.ndarray) -> None:
    """The commonest way to predict "before training": the first test images. The trained
    model's own predictions on them tell a cell run after `fit`."""
    assert params.before_training_on is not None
    if _trained_predictions(ctx, params.before_training_on, received):
        raise CheckFailed(
            f"Expected `{params.variable}` from the untrained model, received the trained "
            "model's predictions on the same images.",
            expected="predictions made before fit",
            received="equal to the trained model's predictions",
            hint="run the cell that predicts before the cell that calls fit (restart the "
            "kernel and run the cells in order).",
        )


def _same_array(received: np.ndarray, expected: np.ndarray) -> bool:
    return received.shape == expected.shape and bool(np.array_equal(received, expected))


def _the_number(received: np.ndarray, expected: int) -> bool:
    return received.size == 1 and float(received.reshape(-1)[0]) == expected


def _probability_rows(received: np.ndarray, params: Probabilities) -> bool:
    shape_ok = received.ndim == 2 and received.shape[1] == params.classes
    if not shape_ok or len(received) < params.min_rows:
        return False
    in_range = received.min() >= 0 and received.max() <= 1
    return bool(in_range and np.allclose(received.sum(axis=1), 1, atol=1e-3))


class RgbImages(ServedSplit):
    """Grey images prepared for an ImageNet base: three channels, at least `min_side` pixels."""

    min_side: int = 32


@check("rgb_images", RgbImages, "Images prepared for the pretrained base")
def check_rgb_images(ctx: CheckContext, params: RgbImages) -> str:
    """Every served image, turned into RGB at a size the base accepts, with pixels scaled to
    [0, 1] or centred the way the base's `preprocess_input` does."""
    served = getattr(ctx.dataset(params.dataset).served, params.split).x
    received = ctx.variable(params.variable)
    shape = received.shape
    if (
        received.ndim != 4
        or shape[0] != len(served)
        or shape[-1] != 3
        or min(shape[1:3]) < params.min_side
    ):
        raise CheckFailed(
            f"Expected `{params.variable}` of shape ({len(served)}, ≥{params.min_side}, "
            f"≥{params.min_side}, 3), received {shape}.",
            expected=[len(served), f">={params.min_side}", f">={params.min_side}", 3],
            received=list(shape),
            hint="repeat the grey channel three times (np.repeat(x[..., None], 3, -1)) and pad "
            "or resize 28×28 to at least 32×32.",
        )
    low, high = float(received.min()), float(received.max())
    if high > 1.0 + 1e-6 and low >= 0.0:
        raise CheckFailed(
            f"Expected pixels in [0, 1] (or centred by preprocess_input), received {low:g} to "
            f"{high:g}.",
            expected="[0, 1]",
            received=[low, high],
            hint="divide by 255, or apply the base's preprocess_input.",
        )
    return f"{len(received):,} images of shape {shape[1:]}, pixels {low:.2f} to {high:.2f}"
