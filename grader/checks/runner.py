"""Running every check of a spec against one submission, turning outcomes into results."""

from __future__ import annotations

import functools
import traceback
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from grader.checks.context import CheckContext, Submission
from grader.checks.registry import CheckDef, JudgeFunction, Params, get_check
from grader.outcomes import CheckFailed, CheckSkipped, SubmissionError
from grader.results import CheckResult
from grader.spec import AssignmentSpec, CheckSpec, StepSpec, is_whole_layer_list


def run_checks(spec: AssignmentSpec, submission: Submission) -> tuple[CheckResult, ...]:
    return tuple(
        run_check(check_id, step, check_spec, submission, spec.layers_of(step.model))
        for check_id, step, check_spec in spec.iter_checks(submission.profile)
    )


def _own_layers(step: StepSpec) -> list[dict[str, Any]] | None:
    for check_spec in step.checks:
        if is_whole_layer_list(check_spec):
            return check_spec.args.get("layers")
    return None


def run_check(
    check_id: str,
    step: StepSpec,
    check_spec: CheckSpec,
    submission: Submission,
    layers: list[dict[str, Any]] | None = None,
) -> CheckResult:
    """Run one check; `layers` (the step model's layer list) lets a renamed model be found."""
    definition = _definition(check_spec)
    ctx = CheckContext(submission, step.model, layers or _own_layers(step), check_id)
    base = _base(check_id, step, check_spec)
    params = check_spec.params(submission.profile)
    try:
        with warnings.catch_warnings():  # Keras warnings about a student's model: not ours
            warnings.simplefilter("ignore")
            outcome = definition.function(ctx, params)
    except CheckSkipped as skipped:
        return base(
            status="skipped",
            message=skipped.reason,
            hint=skipped.hint or check_spec.hint,
            hint_from_spec=not skipped.hint,
        )
    except SubmissionError as error:
        return base(
            status="submission_error", message=error.message, hint=error.hint, cell=error.cell
        )
    except CheckFailed as failure:
        return failed(_measured(base, ctx), failure, check_spec)
    except Exception as error:  # a bug of ours: withhold the score rather than zero it
        return grader_error(base(status="grader_error", message=""), error)
    measured = _measured(base, ctx)
    if definition.judge is None:
        return passed(measured, outcome or "passed", check_spec)
    return judged(replace(measured, measurement=outcome), definition.judge, params, check_spec)


def _definition(check_spec: CheckSpec) -> CheckDef:
    definition = get_check(check_spec.check)
    assert definition is not None, "unknown checks are rejected when the spec loads"
    return definition


def _base(check_id: str, step: StepSpec, check_spec: CheckSpec) -> Callable[..., CheckResult]:
    """A result of this check, waiting for its verdict's fields."""
    return functools.partial(
        CheckResult,
        id=check_id,
        step=step.id,
        step_title=step.title,
        title=check_spec.title or _definition(check_spec).title,
        max_points=check_spec.points,
        required=check_spec.required,
        points=0.0,
    )


def withheld(spec: AssignmentSpec, profile: str, reason: str) -> tuple[CheckResult, ...]:
    """Every check's score withheld: the grader could not run its checks, for `reason`."""
    return tuple(
        grader_error(_base(check_id, step, check_spec)(status="grader_error", message=""), reason)
        for check_id, step, check_spec in spec.iter_checks(profile)
    )


def _measured(base: Callable[..., CheckResult], ctx: CheckContext) -> CheckResult:
    """What a check found before its verdict: the verdict fields are set by `passed`/`failed`."""
    return base(
        status="passed",
        message="",
        evaluation=ctx.evaluation,
        layers=ctx.layers,
        notes=tuple(dict.fromkeys(ctx.notes)),
    )


def judged(
    measured: CheckResult, judge: JudgeFunction, params: Params, check_spec: CheckSpec
) -> CheckResult:
    """The verdict of `judge` on a kept measurement, under the spec's parameters and points."""
    assert measured.measurement is not None, "only a measured check is judged"
    try:
        message = judge(measured.measurement, params)
    except CheckFailed as failure:
        return failed(measured, failure, check_spec)
    except Exception as error:  # e.g. a measurement kept by an older grader
        return grader_error(measured, error)
    return passed(measured, message, check_spec)


def grader_error(result: CheckResult, error: Exception | str) -> CheckResult:
    """A bug or failure of ours: the score is withheld rather than zeroed."""
    if isinstance(error, str):
        detail = error
    else:
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    return replace(
        result,
        status="grader_error",
        points=0.0,
        message=f"the grader failed on this check: {detail}",
        hint="this is not your fault; please report it to the instructor.",
        hint_from_spec=False,
    )


def passed(measured: CheckResult, message: str, check_spec: CheckSpec) -> CheckResult:
    return replace(
        measured,
        status="passed",
        points=check_spec.points,
        message=_noted(message, measured.notes),
        expected=None,
        received=None,
        hint=None,
        hint_from_spec=False,
    )


def failed(measured: CheckResult, failure: CheckFailed, check_spec: CheckSpec) -> CheckResult:
    return replace(
        measured,
        status="failed",
        points=0.0,
        message=_noted(failure.message, measured.notes),
        expected=failure.expected,
        received=failure.received,
        hint=failure.hint or check_spec.hint,
        hint_from_spec=not failure.hint,
    )


def _noted(message: str, notes: tuple[str, ...]) -> str:
    return "; ".join([message, *notes])
