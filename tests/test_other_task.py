"""A notebook of another task: one line that says no step was found, not a wall of misses."""

from __future__ import annotations

from grader.api import _other_task
from grader.results import CheckResult
from grader.spec import find_assignment


def result(check_id: str, status: str, message: str) -> CheckResult:
    step = check_id.split(".")[0]
    return CheckResult(
        id=check_id,
        step=step,
        step_title=step,
        title=check_id,
        status=status,
        points=0.0,
        max_points=1.0,
        required=True,
        message=message,
    )


def test_no_step_found_says_the_notebook_may_be_another_tasks() -> None:
    spec = find_assignment("csv-to-array")
    missing = [
        result(check_id, "skipped", "the model `model` was not found in the notebook")
        for check_id, _, _ in spec.iter_checks("quick")
    ]
    (problem,) = _other_task(spec, tuple(missing))
    assert "none of the 4 steps of `csv-to-array` was found" in problem
    assert "missing: parse, generators, model, training" in problem
    assert "--assignment" in problem


def test_a_notebook_with_one_passing_check_is_not_called_another_tasks() -> None:
    spec = find_assignment("csv-to-array")
    checks = [
        result(check_id, "skipped", "the model `model` was not found in the notebook")
        for check_id, _, _ in spec.iter_checks("quick")
    ]
    checks[0] = result(checks[0].id, "passed", "parsed")
    assert _other_task(spec, tuple(checks)) == ()
