"""Advice from the recorded fits, costing no points: overfitting, learning rates far from
what the optimizer is usually given, and pixels fed unscaled.

Read from the epoch logs the grader's harness kept (losses per epoch, the learning rate while
`fit` ran), not from anything the notebook printed.
"""

from __future__ import annotations

from grader.results import FitRecord

# A rise of the validation loss past its lowest point, relative to that point, that is
# worth saying: smaller wiggles are noise on small validation sets.
OVERFIT_RISE = 0.10
MIN_EPOCHS_AFTER_BEST = 2
# Inputs larger than this, fed to a model that does not start by scaling them, are pixels
# left in 0..255.
UNSCALED_ABOVE = 10.0
SCALING_LAYERS = {"Rescaling", "Normalization", "BatchNormalization", "Lambda"}
# Learning rates outside these are advised on: Adam and RMSprop usually start at 0.001, SGD
# at 0.01, fine-tuning goes down to 1e-5.
HIGH_LEARNING_RATE = 0.1
LOW_LEARNING_RATE = 1e-6


def fit_advice(fits: tuple[FitRecord, ...]) -> tuple[str, ...]:
    advice: list[str] = []
    for number, fit in enumerate(fits, start=1):
        for problem in (_overfitting(fit), _learning_rate(fit), _unscaled(fit)):
            if problem:
                advice.append(f"fit {number} (`{fit.model}`): {problem}.")
    return tuple(advice)


def _overfitting(fit: FitRecord) -> str | None:
    losses = fit.metric("val_loss")
    best = fit.best_validation_epoch
    if best is None or len(losses) < best + MIN_EPOCHS_AFTER_BEST:
        return None
    lowest, last = min(losses), losses[-1]
    if lowest <= 0 or (last - lowest) / lowest < OVERFIT_RISE:
        return None
    return (
        f"the validation loss was lowest at epoch {best} of {len(losses)} ({lowest:.3f}) and "
        f"rose to {last:.3f} by the end: the model overfits from there. Fewer epochs, "
        "dropout, augmentation or `EarlyStopping(restore_best_weights=True)` would help"
    )


def _unscaled(fit: FitRecord) -> str | None:
    if (
        fit.input_max is None
        or fit.input_max <= UNSCALED_ABOVE
        or fit.first_layer in SCALING_LAYERS
    ):
        return None
    return (
        f"the training inputs go up to {fit.input_max:g} and the model does not rescale them: "
        "divide the images by 255 (or start the model with `Rescaling(1/255)`) so it can learn"
    )


def _learning_rate(fit: FitRecord) -> str | None:
    rate = fit.learning_rate
    if rate is None or rate <= 0:
        return None
    if rate >= HIGH_LEARNING_RATE:
        return (
            f"learning rate {rate:g} is very high (Adam and RMSprop usually start at 0.001, "
            "SGD at 0.01): a loss that jumps or grows is the sign"
        )
    if rate <= LOW_LEARNING_RATE:
        return f"learning rate {rate:g} is so low that the model can hardly learn in a few epochs"
    return None
