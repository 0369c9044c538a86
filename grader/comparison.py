"""The side-by-side table of every trained step: parameters, epoch time, final scores."""

from __future__ import annotations

from grader.checks.context import CheckContext, Submission
from grader.outcomes import CheckSkipped, SubmissionError
from grader.results import ComparisonRow
from grader.spec import AssignmentSpec

_FINAL_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def compare_steps(spec: AssignmentSpec, submission: Submission) -> tuple[ComparisonRow, ...]:
    """A row for each step whose model was trained, in spec order; a step's own model once."""
    rows: list[ComparisonRow] = []
    seen: set[str] = set()
    for step in spec.steps:
        if step.model is None:
            continue
        context = CheckContext(submission, step.model, spec.layers_of(step.model))
        try:
            name = context.model_name()
            fits = context.fits()
            params = int(context.model().count_params())
        except (CheckSkipped, SubmissionError):
            continue
        if not fits or name in seen:
            continue
        seen.add(name)
        epochs = [e for fit in fits for e in fit.epochs]
        times = [e.seconds for e in epochs]
        last = epochs[-1].metrics if epochs else {}
        rows.append(
            ComparisonRow(
                step=step.id,
                title=step.title,
                model=name,
                params=params,
                epochs=len(epochs),
                mean_epoch_seconds=sum(times) / len(times) if times else None,
                final={k: last[k] for k in _FINAL_METRICS if k in last},
                best_validation_epoch=fits[-1].best_validation_epoch,
            )
        )
    return tuple(rows)
