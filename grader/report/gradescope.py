"""Gradescope's autograder `results.json`: the score, a run summary and one test per check.

Gradescope knows no withheld score: when the grader failed on a check, `score` is 0 and the
output says plainly that this 0 is not a grade.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from grader import atomic
from grader.report.text import check_details, score_text
from grader.results import CheckResult, GradeResult

WITHHELD = (
    "Score withheld: the grader itself failed on a check (a bug in the grader, not in the "
    "notebook), so the 0 recorded here is not a grade; ask your instructor to regrade."
)


def results(result: GradeResult) -> dict[str, Any]:
    """The `results.json` document as a dict, in Gradescope's specification."""
    return {
        "score": 0 if result.score is None else result.score,
        "execution_time": math.ceil(result.duration_s),
        "output": _summary(result),
        "tests": [
            _test(check, f"{step}.{index}")
            for step, (_, _, checks) in enumerate(result.steps(), start=1)
            for index, check in enumerate(checks, start=1)
        ],
    }


def write(result: GradeResult, path: Path) -> None:
    """Write `results.json` atomically: Gradescope never reads half a file."""
    atomic.write_text(path, json.dumps(results(result), indent=2, default=str))


def _summary(result: GradeResult) -> str:
    lines = [
        f"{result.title} ({result.assignment}), notebook {result.notebook}",
        f"Profile {result.profile} · data {result.data_source} · device {result.device}",
        f"Score {score_text(result)}",
    ]
    if result.score is None:
        lines.append(WITHHELD)
    lines += [f"Warning: {problem}" for problem in result.problems]
    return "\n".join(lines)


def _test(check: CheckResult, number: str) -> dict[str, Any]:
    return {
        "name": f"{check.step_title}: {check.title} [{check.id}]",
        "number": number,
        "score": check.points,
        "max_score": check.max_points,
        "status": "passed" if check.status == "passed" else "failed",
        "output": "\n".join([check.message, *check_details(check)]),
        "visibility": "visible",
    }
