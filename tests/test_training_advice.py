"""Advice from the fits: overfitting and learning rates far off, never points."""

from __future__ import annotations

from dataclasses import replace

from grader.results import EpochRecord, FitRecord
from grader.training_advice import fit_advice


def fit(val_losses: list[float], learning_rate: float | None = 0.001) -> FitRecord:
    epochs = tuple(
        EpochRecord(n, 1.0, {"loss": 1.0 / n, "val_loss": v})
        for n, v in enumerate(val_losses, start=1)
    )
    return FitRecord(
        "model", "sequential", len(epochs), None, True, 32, epochs, learning_rate=learning_rate
    )


def test_a_validation_loss_rising_after_its_lowest_point_is_overfitting() -> None:
    (advice,) = fit_advice((fit([1.0, 0.6, 0.5, 0.62, 0.7, 0.8]),))
    assert advice.startswith("fit 1 (`model`): the validation loss was lowest at epoch 3 of 6")
    assert "EarlyStopping(restore_best_weights=True)" in advice


def test_noise_and_a_late_minimum_are_not_overfitting() -> None:
    assert fit_advice((fit([1.0, 0.6, 0.5, 0.52, 0.51]),)) == ()  # within 10%
    assert fit_advice((fit([1.0, 0.9, 0.8, 0.7, 0.75]),)) == ()  # lowest one epoch ago
    assert fit_advice((fit([]),)) == ()  # no validation at all


def test_learning_rates_far_off_are_named() -> None:
    (high,) = fit_advice((fit([1.0, 0.9], learning_rate=0.5),))
    assert "learning rate 0.5 is very high" in high
    (low,) = fit_advice((fit([1.0, 0.9], learning_rate=1e-8),))
    assert "so low" in low
    assert fit_advice((fit([1.0, 0.9], learning_rate=1e-4),)) == ()  # fine-tuning: fine


def test_pixels_left_in_0_255_are_named_unless_the_model_rescales_them() -> None:
    raw = replace(fit([1.0, 0.9]), input_max=255.0, first_layer="Conv2D")
    (advice,) = fit_advice((raw,))
    assert "go up to 255" in advice and "Rescaling(1/255)" in advice
    assert fit_advice((replace(raw, first_layer="Rescaling"),)) == ()
    assert fit_advice((replace(raw, input_max=1.0),)) == ()


def test_a_model_many_times_larger_than_the_reference_gets_advice() -> None:
    from grader.advice import size_advice
    from grader.results import ComparisonRow
    from grader.spec import find_assignment

    spec = find_assignment("csv-to-array", [])
    row = ComparisonRow("model", "The model", "model", 227_098 * 11, 3, 1.0, {}, None)
    (advice,) = size_advice(spec, (row,))
    assert advice.startswith("`model` has 2,498,078 parameters, 11× the reference's 227,098")
    assert size_advice(spec, (replace(row, params=227_098 * 3),)) == ()
