"""Plain-text pieces every renderer shares, so a value reads the same in each format."""

from __future__ import annotations

from typing import Any

from grader.results import CheckResult, GradeResult


def format_points(value: float) -> str:
    """2.0 -> "2", 1.5 -> "1.5"."""
    return f"{value:g}"


def format_value(value: Any) -> str:
    """An expected or received value as a student reads it: 1,180 not 1180, (None, 10)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def check_details(check: CheckResult) -> list[str]:
    """Expected, received, cell and hint of a check that did not pass, one per line.

    A passed check gets none: CI readers show this text only beside failures.
    """
    if check.status == "passed":
        return []
    lines = []
    if check.expected is not None:
        lines.append(f"Expected: {format_value(check.expected)}")
    if check.received is not None:
        lines.append(f"Received: {format_value(check.received)}")
    if check.cell is not None:
        lines.append(f"Cell: {check.cell}")
    if check.hint:
        lines.append(f"Hint: {check.hint}")
    return lines


def score_text(result: GradeResult) -> str:
    """ "7/10", or why there is no score: a grader error withholds it rather than zeroing it."""
    if result.score is None:
        return f"withheld (grader error), out of {format_points(result.max_score)}"
    return f"{format_points(result.score)}/{format_points(result.max_score)}"


def verdict(result: GradeResult) -> str:
    if result.score is None:
        return "withheld"
    return "passed" if result.passed else "not passed"
