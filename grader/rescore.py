"""Re-scoring a kept run under a changed spec, without executing the notebook again.

Every graded run is kept (`keep`) as its whole `GradeResult`, under its execution key: what
the execution depends on, that is the notebook's bytes, the spec without what only scores
(points, titles, hints, `required`, and each check's judged parameters such as thresholds),
the profile and data choice, and the grader's version. When a batch meets a submission
whose execution key has a kept run, `rescore` gives each check of the new spec its verdict
from the kept result: unchanged, with the new points, or judged again on the kept
measurement (see `Params.judged`). Nothing runs in a kernel, and no model is loaded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from grader import __version__, atomic
from grader.checks.registry import get_check
from grader.checks.runner import judged
from grader.hashing import digest
from grader.results import CheckResult, GradeResult
from grader.spec import AssignmentSpec, CheckSpec, StepSpec

_SCORING = ("points", "title", "hint", "required")
RESCORED = "re-scored from the kept run of this notebook (the spec's points or thresholds "
RESCORED += "changed); the notebook was not executed again"


def execution_key(notebook: bytes, spec: AssignmentSpec, options_key: str) -> str:
    """What an execution depends on: change any of it and the notebook must run again."""
    executed = json.dumps(_execution_part(spec), sort_keys=True, default=str)
    return digest(notebook, executed, options_key, __version__)


def _execution_part(spec: AssignmentSpec) -> dict[str, Any]:
    """The spec as data, without what only scores a run (or only tests the spec: mutants)."""
    dumped = spec.model_dump(mode="json", exclude={"root", "title", "mutants"})
    for profile in dumped["profiles"].values():
        profile.pop("description")
    for step in dumped["steps"]:
        step.pop("title")
        for check_spec in step["checks"]:
            for field in _SCORING:
                check_spec.pop(field)
            definition = get_check(check_spec["check"])
            judged_names = definition.params.judged if definition else ()
            for args in (check_spec["args"], *check_spec["profile_args"].values()):
                for name in judged_names:
                    args.pop(name, None)
    return dumped


def rescore(kept: GradeResult, spec: AssignmentSpec) -> GradeResult | None:
    """The kept run scored under `spec`; None when the spec asks for a check the run did
    not measure (then the notebook must be executed)."""
    by_id = {check.id: check for check in kept.checks}
    checks = []
    for check_id, step, check_spec in spec.iter_checks(kept.profile):
        stored = by_id.get(check_id)
        if stored is None:
            return None
        checks.append(_rescored(stored, step, check_spec, kept.profile))
    notes = kept.notes if RESCORED in kept.notes else (*kept.notes, RESCORED)
    return replace(kept, title=spec.title, checks=tuple(checks), notes=notes, report_path=None)


def _rescored(
    stored: CheckResult, step: StepSpec, check_spec: CheckSpec, profile: str
) -> CheckResult:
    definition = get_check(check_spec.check)
    assert definition is not None, "unknown checks are rejected when the spec loads"
    scored = replace(
        stored,
        step_title=step.title,
        title=check_spec.title or definition.title,
        max_points=check_spec.points,
        required=check_spec.required,
    )
    if definition.judge is not None and stored.measurement is not None:
        return judged(scored, definition.judge, check_spec.params(profile), check_spec)
    hint = check_spec.hint if stored.hint_from_spec else stored.hint
    return replace(
        scored, points=check_spec.points if stored.status == "passed" else 0.0, hint=hint
    )


_RESULT = TypeAdapter(GradeResult)


def keep(path: Path, result: GradeResult) -> None:
    """Keep a run for re-scoring (atomically: a killed batch leaves the old file or none)."""
    kept = {"grader_version": __version__, "result": asdict(replace(result, report_path=None))}
    atomic.write_text(path, json.dumps(kept, default=str))


def load(path: Path) -> GradeResult | None:
    """A kept run, or None when there is none that this version of the grader can read."""
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("grader_version") != __version__:
        return None
    try:
        return _RESULT.validate_python(kept.get("result"))
    except ValidationError:
        return None
