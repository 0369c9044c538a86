"""Checks of training: that `fit` ran as asked, and accuracy on the grader's held-out data."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from grader.checks.context import CheckContext
from grader.checks.evaluation import evaluation_of
from grader.checks.registry import Params, check
from grader.keras_import import import_keras
from grader.outcomes import CheckFailed


class Trained(Params):
    min_epochs: int = 1
    validation: bool = True
    batch_size: int | None = None
    judged: ClassVar[tuple[str, ...]] = ("min_epochs", "validation", "batch_size")


class Accuracy(Params):
    """`input_scale` is applied to the held-out images first, for notebooks that scale
    outside the model (e.g. `ImageDataGenerator(rescale=1/255)`). Where the task leaves the
    preprocessing open, `preprocess` lists what to try ("scale"; "vgg16": the ImageNet
    mean subtraction of `vgg16.preprocess_input`); the best counts and is named."""

    dataset: str
    min: float | None = None
    above_chance: float | None = Field(default=None, gt=0, lt=1)
    # Where the held-out classes are so different that an untrained network splits them by
    # luck (two-photo fixtures), a model that learned must also be surer of the right class
    # than guessing: held-out cross-entropy at least this share below the class frequencies'.
    confidence_gain: float | None = Field(default=None, gt=0, lt=1)
    input_scale: float = 1.0
    preprocess: tuple[Literal["scale", "vgg16"], ...] = ("scale",)
    judged: ClassVar[tuple[str, ...]] = ("min", "above_chance", "confidence_gain")

    @model_validator(mode="after")
    def _some_threshold(self) -> Accuracy:
        if self.min is None and self.above_chance is None:
            raise ValueError("give `min` (an accuracy) or `above_chance` (a significance level)")
        return self


class HistoryMetric(Params):
    """The last epoch's value of a metric the harness recorded, e.g. `val_accuracy`, in the
    model's `first` or `last` fit (phases of transfer learning are separate fits)."""

    metric: str
    min: float
    fit: Literal["first", "last"] = "last"
    judged: ClassVar[tuple[str, ...]] = ("min",)


def judge_trained(measured: dict[str, Any], params: Trained) -> str:
    epochs, model = measured["epochs"], measured["model"]
    if epochs < params.min_epochs:
        raise CheckFailed(
            f"Expected at least {params.min_epochs} epoch(s) of training, received {epochs}.",
            expected=params.min_epochs,
            received=epochs,
            hint=f"call {model}.fit(...) and let it finish.",
        )
    if params.validation and not measured["validation"]:
        raise CheckFailed(
            "Expected training with validation data, received fit calls without it.",
            expected="validation_data",
            received=None,
            hint="pass validation_data=(x_test, y_test_onehot) to fit to see test curves.",
        )
    sizes = measured["batch_sizes"]
    if params.batch_size is not None and sizes != [params.batch_size]:
        raise CheckFailed(
            f"Expected batch size {params.batch_size}, received {sizes}.",
            expected=params.batch_size,
            received=sizes,
            hint=f"pass batch_size={params.batch_size} to fit.",
        )
    return f"{epochs} epoch(s) in {measured['fits']} fit call(s)"


@check("trained", Trained, "Training run", judge_trained, reads_training=True)
def check_trained(ctx: CheckContext, params: Trained) -> dict[str, Any]:
    """`fit` ran on this step's model for at least the epochs asked, with validation data."""
    fits = ctx.fits()
    return {
        "model": ctx.model_name(),
        "epochs": sum(len(f.epochs) for f in fits),
        "fits": len(fits),
        "validation": any(f.has_validation for f in fits),
        "batch_sizes": sorted({f.batch_size for f in fits}, key=str),
    }


def judge_accuracy(measured: dict[str, Any], params: Accuracy) -> str:
    """`min`: the course's threshold. `above_chance`: a binomial test of the held-out
    predictions against always guessing the commonest class, at that significance level; it
    says the model learned, which any correct solution does within a quick budget, whatever
    its architecture and optimizer. `confidence_gain`: it is also surer of the right class
    than guessing (see `Accuracy`)."""
    accuracy, images = measured["accuracy"], measured["images"]
    shown = f"accuracy {accuracy:.3f} on {images:,} held-out images"
    if params.above_chance is not None:
        shown += _judge_above_chance(measured, params.above_chance)
    if params.confidence_gain is not None:
        shown += _judge_confidence(measured, params.confidence_gain)
    if params.min is None:
        return shown
    if accuracy < params.min:
        raise CheckFailed(
            f"Expected accuracy ≥ {params.min:.2f} on the grader's held-out images, received "
            f"{accuracy:.3f}.",
            expected=params.min,
            received=round(accuracy, 4),
            hint="check the loss, the learning rate and that inputs are scaled to [0, 1]; "
            "the training curves in the report show whether the model learned at all.",
        )
    return f"{shown} (≥ {params.min:.2f})"


def _shown_p(p_value: float) -> str:
    """`= 3e-05`, or `< 1e-300` where the test's value underflows to 0."""
    return f"= {p_value:.1g}" if p_value > 0 else "< 1e-300"


def _judge_above_chance(measured: dict[str, Any], level: float) -> str:
    from scipy.stats import binomtest

    images, chance = measured["images"], measured["chance"]
    correct = round(measured["accuracy"] * images)
    p_value = binomtest(correct, images, chance, alternative="greater").pvalue
    if p_value >= level:
        raise CheckFailed(
            f"Expected accuracy clearly above chance on the grader's {images:,} held-out images "
            f"(guessing the commonest class scores {chance:.3f}; a binomial test must give "
            f"p < {level:g}), received {measured['accuracy']:.3f} (p = {p_value:.2g}).",
            expected=f"> {chance:.3f} with p < {level:g}",
            received=round(measured["accuracy"], 4),
            hint="the model did not learn: check the loss against the labels, the last "
            "layer's activation and that inputs are scaled to [0, 1]; the training curves in "
            "the report show whether the loss fell.",
        )
    return f": above chance ({chance:.3f}), p {_shown_p(p_value)}"


def _judge_confidence(measured: dict[str, Any], gain: float) -> str:
    entropy, guessing = measured["cross_entropy"], measured["prior_entropy"]
    if entropy > (1 - gain) * guessing:
        raise CheckFailed(
            f"Expected a model that learned: held-out cross-entropy at least {gain:.0%} below "
            f"the {guessing:.3f} of guessing the class frequencies, received {entropy:.3f} (its "
            f"accuracy {measured['accuracy']:.3f} is luck: the outputs stay as unsure as a "
            "guess).",
            expected=f"<= {(1 - gain) * guessing:.3f}",
            received=round(entropy, 4),
            hint="the model did not learn: check that fit ran, that the labels match the "
            "loss and the last layer (class_mode, units, activation), and the training curves.",
        )
    return f"; cross-entropy {entropy:.3f} against guessing's {guessing:.3f}"


@check("accuracy", Accuracy, "Held-out accuracy", judge_accuracy, reads_training=True)
def check_accuracy(ctx: CheckContext, params: Accuracy) -> dict[str, Any]:
    """Accuracy measured by the grader, on held-out images the notebook never saw, is high enough.

    The threshold belongs to the profile: in `quick` the model must have learned (above
    chance, and surer of the right class than guessing: see `judge_accuracy`); in `full` it
    is the course's.
    """
    model = ctx.model()
    holdout = ctx.dataset(params.dataset).holdout
    assert holdout is not None, "every dataset the grader prepares keeps held-out images"
    predictions = {
        (way, geometry): _predictions(model, holdout, params, way, geometry)
        for way in params.preprocess
        for geometry in _geometries(model, holdout.x)
    }
    tried = {key: _share_right(p, holdout.y) for key, p in predictions.items()}
    best = max(tried, key=lambda key: tried[key])
    accuracy = tried[best]
    classes = ctx.dataset(params.dataset).class_names
    ctx.evaluation = evaluation_of(holdout.x, holdout.y, predictions[best], classes)
    if len(set(tried.values())) > 1:
        shaped = "resized" if best[1] == "resize" else "padded"
        ctx.notes.append(f"inputs preprocessed as {best[0]!r}, images {shaped} to fit")
    return {
        "accuracy": accuracy,
        "images": len(holdout),
        "chance": _commonest_share(holdout.y),
        "cross_entropy": _cross_entropy(predictions[best], holdout.y),
        "prior_entropy": _prior_entropy(holdout.y),
    }


def _geometries(model: Any, x: np.ndarray) -> tuple[str, ...]:
    """Both ways of fitting the images to the model's input when their sizes differ; else
    one (the images go in as they are)."""
    wanted = tuple(model.inputs[0].shape[1:])
    return ("resize", "pad") if _other_size(x.shape, wanted) else ("resize",)


def _other_size(shape: tuple[int, ...], wanted: tuple[int | None, ...]) -> bool:
    """Images (N, H, W, ...) of another height or width than a model's fixed image input."""
    fixed = len(wanted) == 3 and None not in wanted[:2]
    return len(shape) >= 3 and fixed and tuple(shape[1:3]) != wanted[:2]


def _labels(truth: np.ndarray) -> np.ndarray:
    labels = truth.reshape(len(truth), -1)
    return (labels.argmax(axis=1) if labels.shape[1] > 1 else labels.reshape(-1)).astype(int)


def _cross_entropy(outputs: np.ndarray, truth: np.ndarray) -> float:
    """Mean held-out cross-entropy of the model's outputs (softmax applied to scores that are
    not probabilities, e.g. logits)."""
    outputs = outputs.astype("float64")
    if outputs.min() < 0 or not np.allclose(outputs.sum(axis=1), 1, atol=1e-3):
        shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
        outputs = shifted / shifted.sum(axis=1, keepdims=True)
    right = outputs[np.arange(len(outputs)), _labels(truth)]
    return float(-np.mean(np.log(np.clip(right, 1e-7, 1.0))))


def _prior_entropy(truth: np.ndarray) -> float:
    """The cross-entropy of always predicting the class frequencies: what guessing scores."""
    shares = np.bincount(_labels(truth)) / len(truth)
    shares = shares[shares > 0]
    return float(-np.sum(shares * np.log(shares)))


def _commonest_share(truth: np.ndarray) -> float:
    """The accuracy of always guessing the commonest class: chance, for these images."""
    labels = _labels(truth)
    return float(np.bincount(labels).max() / len(labels))


def _share_right(probabilities: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(probabilities.argmax(axis=1) == _labels(truth)))


def _predictions(model: Any, holdout: Any, params: Accuracy, way: str, geometry: str) -> np.ndarray:
    """Class probabilities with one preprocessing, the held-out images resized or padded to
    the input (one sigmoid unit becomes two columns)."""
    if way == "vgg16":
        x = fitted_to(model, holdout.x, 1.0, geometry)[..., ::-1]
        x = x - np.array([103.939, 116.779, 123.68], dtype="float32")
    else:
        x = fitted_to(model, holdout.x, params.input_scale, geometry)
    probabilities = np.asarray(model.predict(x, batch_size=64, verbose=0))
    if probabilities.ndim == 2 and probabilities.shape[1] == 1:  # one sigmoid unit
        probabilities = np.hstack([1 - probabilities, probabilities])
    if probabilities.ndim != 2 or probabilities.shape[0] != len(holdout):
        raise CheckFailed(
            f"Expected predictions of shape ({len(holdout)}, classes), received "
            f"{probabilities.shape}.",
            expected=[len(holdout), "classes"],
            received=list(probabilities.shape),
            hint="the model must end in a Dense layer with one unit per class.",
        )
    return probabilities


def fitted_to(
    model: Any, x: np.ndarray, scale: float = 1.0, geometry: str = "resize"
) -> np.ndarray:
    """Images in the shape the model takes: a channel axis added or repeated (grey to RGB),
    resized or zero-padded (`geometry`) to a larger input, or flattened."""
    import tensorflow as tf

    wanted = tuple(model.inputs[0].shape[1:])
    x = x.astype("float32") * scale
    if x.ndim == len(wanted):  # grey images without their channel axis
        x = x[..., None]
    if x.ndim == 4 and len(wanted) == 3 and x.shape[-1] == 1 and wanted[-1] == 3:
        x = np.repeat(x, 3, axis=-1)
    if x.ndim == 4 and _other_size(x.shape, wanted):
        x = _padded(x, wanted[:2]) if geometry == "pad" else tf.image.resize(x, wanted[:2]).numpy()
    if len(wanted) == 1:
        x = x.reshape(len(x), -1)
    return x


def _padded(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Zero borders around smaller images (28×28 in a 32×32 frame); larger ones are resized."""
    import tensorflow as tf

    extra = [size[0] - x.shape[1], size[1] - x.shape[2]]
    if min(extra) < 0:
        return tf.image.resize(x, size).numpy()
    pads = [
        (0, 0),
        (extra[0] // 2, extra[0] - extra[0] // 2),
        (extra[1] // 2, extra[1] - extra[1] // 2),
    ]
    return np.pad(x, [*pads, (0, 0)])


def judge_history(measured: dict[str, Any], params: HistoryMetric) -> str:
    value = measured["value"]
    if value is None or value < params.min:
        shown = "not recorded" if value is None else f"{value:.3f}"
        raise CheckFailed(
            f"Expected {params.metric} ≥ {params.min:.2f} after training, received {shown}.",
            expected=params.min,
            received=value,
            hint="train longer or improve the model; the curves in the report show where "
            "it stopped improving.",
        )
    return f"{params.metric} {value:.3f} after {measured['epochs']} epoch(s) (≥ {params.min:.2f})"


@check("history", HistoryMetric, "Training result", judge_history, reads_training=True)
def check_history(ctx: CheckContext, params: HistoryMetric) -> dict[str, Any]:
    """The last epoch of the model's last `fit` reached the course's threshold.

    The values are the ones the harness recorded in the kernel; the course states its
    thresholds this way (training and validation accuracy after training).
    """
    fits = [f for f in ctx.fits() if f.epochs]
    if not fits:
        raise CheckFailed(
            f"Expected a training run that records {params.metric}, received none.",
            expected=params.metric,
            received=None,
            hint=f"train {ctx.model_name()} with fit(...) and let it finish.",
        )
    chosen = fits[0] if params.fit == "first" else fits[-1]
    return {"value": chosen.epochs[-1].metrics.get(params.metric), "epochs": len(chosen.epochs)}


class Learns(Params):
    """`labels` is the encoding the model is for; binary is "the digit is even"."""

    dataset: str
    labels: Literal["binary", "integer", "onehot"]
    classes: int = 10
    epochs: int = 3
    samples: int = 1000
    input_scale: float = 1 / 255
    min_accuracy: float
    judged: ClassVar[tuple[str, ...]] = ("min_accuracy",)


def judge_learns(measured: dict[str, Any], params: Learns) -> str:
    losses, accuracy = measured["losses"], measured["accuracy"]
    if not losses[-1] < losses[0] * 0.95:
        raise CheckFailed(
            f"Expected the loss to fall when the grader trains the model, received "
            f"{losses[0]:.4f} → {losses[-1]:.4f} over {len(losses)} epochs.",
            expected="a falling loss",
            received=[round(v, 4) for v in losses],
            hint="a loss that does not move usually does not fit the labels or the last "
            "layer; see the loss check of this step.",
        )
    if accuracy < params.min_accuracy:
        raise CheckFailed(
            f"Expected accuracy ≥ {params.min_accuracy:.2f} after the grader's training, "
            f"received {accuracy:.3f}.",
            expected=params.min_accuracy,
            received=round(accuracy, 4),
            hint="check that the last layer's units and activation fit the labels.",
        )
    return f"loss {losses[0]:.3f} → {losses[-1]:.3f}, accuracy {accuracy:.3f} on unseen images"


@check("learns", Learns, "Learns when the grader trains it", judge_learns)
def check_learns(ctx: CheckContext, params: Learns) -> dict[str, Any]:
    """A fresh copy of the model (same layers, loss and optimizer, new weights), trained by
    the grader on its own images, lowers its loss and beats chance on images it did not see.

    This is what a mismatched loss silently breaks: the notebook's own training may print a
    falling number that means nothing.
    """
    model = ctx.model()
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise CheckFailed(
            "Expected a compiled model, received one without an optimizer or loss.",
            expected="model.compile(optimizer=..., loss=...)",
            received=None,
            hint="compile the model before the grader can train it.",
        )
    holdout = ctx.dataset(params.dataset).holdout
    assert holdout is not None, "every dataset the grader prepares keeps held-out images"
    x = fitted_to(model, holdout.x, params.input_scale)
    digits = holdout.y.reshape(-1)
    targets = _encoded(digits, params.labels, params.classes)
    cut = min(params.samples, len(x) * 3 // 4)
    try:
        losses, predicted = _train_fresh(model, x[:cut], targets[:cut], x[cut:], params.epochs)
    except Exception as error:  # Keras rejects some mismatches outright, e.g. wrong shapes
        raise CheckFailed(
            f"Expected the model to train on {params.labels} labels, received an error: "
            f"{type(error).__name__}: {str(error)[:300]}",
            expected="training runs",
            received=type(error).__name__,
            hint="the loss must fit the labels' encoding; see the loss check of this step.",
        ) from None
    truth = (digits[cut:] % 2 == 0) if params.labels == "binary" else digits[cut:]
    return {"losses": losses, "accuracy": float(np.mean(predicted == truth))}


def _encoded(digits: np.ndarray, labels: str, classes: int) -> np.ndarray:
    if labels == "binary":
        return (digits % 2 == 0).astype("float32")
    if labels == "onehot":
        return np.eye(classes, dtype="float32")[digits]
    return digits.astype("int64")


def _train_fresh(
    model: Any, x: np.ndarray, y: np.ndarray, x_eval: np.ndarray, epochs: int
) -> tuple[list[float], np.ndarray]:
    keras = import_keras()
    keras.utils.set_random_seed(0)
    fresh = keras.models.clone_model(model)
    optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    fresh.compile(optimizer=optimizer, loss=model.loss)
    history = fresh.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    # Called directly, not through `predict`, which would trace a function for two batches
    # (0.1 s of each of loss-selection's four `learns` checks).
    batches = [x_eval[start : start + 256] for start in range(0, len(x_eval), 256)]
    outputs = np.concatenate([np.asarray(fresh(batch, training=False)) for batch in batches])
    if outputs.shape[-1] == 1:
        predicted = outputs.reshape(-1) > (0.0 if _is_linear(fresh) else 0.5)
    else:
        predicted = outputs.argmax(axis=-1)
    return [float(v) for v in history.history["loss"]], predicted


def _is_linear(model: Any) -> bool:
    return model.layers[-1].get_config().get("activation") == "linear"
