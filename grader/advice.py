"""Advice that costs no points: mistakes visible in any compiled model of any assignment.

A loss that cannot fit the model's last layer (see `checks.losses`), and a model many times
larger than the reference's. Each piece of advice names the model variable; the model files
are the ones the checks already loaded.
"""

from __future__ import annotations

from grader.checks.context import Submission
from grader.checks.course_era import ignored_rates
from grader.checks.losses import label_free_problems, loss_of, output_of
from grader.outcomes import CheckSkipped
from grader.results import ComparisonRow
from grader.spec import AssignmentSpec


def model_advice(submission: Submission) -> tuple[str, ...]:
    artifacts = submission.artifacts
    if artifacts is None:
        return ()
    advice = []
    seen: set[str] = set()
    for name, artifact in artifacts.models.items():
        if artifact.path is None or str(artifact.path) in seen or name.startswith("_"):
            continue
        seen.add(str(artifact.path))
        try:
            model = submission.load_model(name)
        except CheckSkipped:
            continue
        shown = " / ".join(f"`{alias}`" for alias in artifact.aliases if not alias.startswith("_"))
        advice += [f"{shown}: {problem}." for problem in _problems(model)]
    return tuple(advice)


def course_era_advice(submission: Submission) -> tuple[str, ...]:
    """`lr=` in an optimizer call: accepted by the course's Keras, ignored by today's."""
    return tuple(
        f"cell {rate.cell}: `{rate.optimizer}(lr={rate.value:g})`: Keras ≥ 2.11 ignores `lr=` "
        f"and trains at the optimizer's default learning rate; write "
        f"`learning_rate={rate.value:g}`"
        for rate in ignored_rates(submission.cells)
    )


LARGER_THAN_REFERENCE = 10


def size_advice(spec: AssignmentSpec, rows: tuple[ComparisonRow, ...]) -> tuple[str, ...]:
    """A step's model far larger than the reference's (`reference_params` in the spec)."""
    reference = {step.id: step.reference_params for step in spec.steps if step.reference_params}
    return tuple(
        f"`{row.model}` has {row.params:,} parameters, {row.params / reference[row.step]:.0f}× "
        f"the reference's {reference[row.step]:,}: it trains slower and needs more memory "
        "than the task does. Fewer or smaller Dense layers (or more pooling before Flatten) "
        "would do"
        for row in rows
        if row.step in reference and row.params > LARGER_THAN_REFERENCE * reference[row.step]
    )


def _problems(model: object) -> list[str]:
    if getattr(model, "loss", None) is None:
        return []
    try:
        return label_free_problems(loss_of(model), output_of(model))
    except (AttributeError, TypeError, ValueError):  # an unusual model: no advice, no crash
        return []
