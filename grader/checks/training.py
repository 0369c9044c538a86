"""Checks of training: that `fit` ran as asked, and accuracy on the grader's held-out data."""

from __future__ import annotations

import numpy as np

from grader.checks.context import CheckContext
from grader.checks.registry import Params, check
from grader.outcomes import CheckFailed


class Trained(Params):
    min_epochs: int = 1
    validation: bool = True
    batch_size: int | None = None


class Accuracy(Params):
    dataset: str
    min: float


@check("trained", Trained, "Training run")
def check_trained(ctx: CheckContext, params: Trained) -> str:
    """`fit` ran on this step's model for at least the epochs asked, with validation data."""
    fits = ctx.fits()
    epochs = sum(len(f.epochs) for f in fits)
    if epochs < params.min_epochs:
        raise CheckFailed(
            f"Expected at least {params.min_epochs} epoch(s) of training, received {epochs}.",
            expected=params.min_epochs,
            received=epochs,
            hint=f"call {ctx.model_name()}.fit(...) and let it finish.",
        )
    if params.validation and not any(f.has_validation for f in fits):
        raise CheckFailed(
            "Expected training with validation data, received fit calls without it.",
            expected="validation_data",
            received=None,
            hint="pass validation_data=(x_test, y_test_onehot) to fit to see test curves.",
        )
    sizes = {f.batch_size for f in fits}
    if params.batch_size is not None and sizes != {params.batch_size}:
        raise CheckFailed(
            f"Expected batch size {params.batch_size}, received {sorted(sizes, key=str)}.",
            expected=params.batch_size,
            received=sorted(sizes, key=str),
            hint=f"pass batch_size={params.batch_size} to fit.",
        )
    return f"{epochs} epoch(s) in {len(fits)} fit call(s)"


@check("accuracy", Accuracy, "Held-out accuracy")
def check_accuracy(ctx: CheckContext, params: Accuracy) -> str:
    """Accuracy measured by the grader, on held-out images the notebook never saw, is high enough.

    The threshold belongs to the profile: in `quick` it is calibrated on the reference solution
    trained under the same epoch cap and data; in `full` it is the course's.
    """
    model = ctx.model()
    holdout = ctx.dataset(params.dataset).holdout
    probabilities = np.asarray(model.predict(holdout.x, batch_size=256, verbose=0))
    if probabilities.ndim != 2 or probabilities.shape[0] != len(holdout):
        raise CheckFailed(
            f"Expected predictions of shape ({len(holdout)}, classes), received "
            f"{probabilities.shape}.",
            expected=[len(holdout), "classes"],
            received=list(probabilities.shape),
            hint="the model must end in a Dense layer with one unit per class.",
        )
    accuracy = float(np.mean(probabilities.argmax(axis=1) == holdout.y.reshape(-1)))
    if accuracy < params.min:
        raise CheckFailed(
            f"Expected accuracy ≥ {params.min:.2f} on the grader's held-out images, received "
            f"{accuracy:.3f}.",
            expected=params.min,
            received=round(accuracy, 4),
            hint="check the loss, the learning rate and that inputs are scaled to [0, 1]; "
            "the training curves in the report show whether the model learned at all.",
        )
    return f"accuracy {accuracy:.3f} on {len(holdout):,} held-out images (≥ {params.min:.2f})"
