"""Grading a class: `grade_batch` finds the submissions, keeps what an earlier run graded under
the same key, and grades the rest on local worker processes (`batch`) or on a Dask cluster
(`cluster`); then writes the gradebook. `grade_submission` is one student's task, wherever it
runs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from grader import batch, cluster
from grader.api import (
    Options,
    assignment_id,
    grade_loaded,
    write_reports,
)
from grader.notebook import read_notebook
from grader.outcomes import GraderError, UsageError
from grader.results import GradeResult
from grader.sandbox import choose_isolation
from grader.spec import AssignmentSpec, find_assignment
from grader.watchdog import GB, default_memory_bytes


@dataclass(frozen=True)
class BatchResult:
    rows: tuple[batch.Row, ...]
    index: Path
    grades: Path
    graded_now: int  # the rest came from results of an earlier run under the same key


def grade_batch(
    paths: list[Path],
    assignment: str | None = None,
    options: Options | None = None,
    jobs: int | None = None,
    on_row: Callable[[batch.Row, bool], None] | None = None,
    scheduler: str | None = None,
    watch: batch.Watch | None = None,
) -> BatchResult:
    """Grade every notebook under `paths` into `options.out_dir`: one HTML report and one
    result file per student, `index.html` and `grades.csv`. Results already there under the
    same key are kept, so an interrupted batch resumes where it stopped.

    With `scheduler` (a Dask scheduler's address) the submissions are graded on that
    cluster's workers instead of `jobs` local worker processes.
    """
    options = options or Options()
    jobs = jobs or batch.default_jobs()
    share = default_memory_bytes(jobs) / GB
    options = replace(
        options,
        sandbox=True if options.sandbox is None else options.sandbox,
        memory_gb=options.memory_gb or share,
        hidden=(*options.hidden, *paths),
        json_path=None,
    )
    if options.sandbox:
        choose_isolation(True)  # no bubblewrap: say so before grading anything
    out = options.out_dir
    rows, pending, title = _triage(paths, assignment, options, on_row)

    def done(submission: batch.Submission, key: str, row: batch.Row) -> None:
        batch.write_row(_row_file(out, submission), key, row)
        rows[submission.student] = row
        if on_row:
            on_row(row, False)

    if scheduler is None:
        grade_one = functools.partial(grade_submission, assignment, options)
        batch.run_pool([(s, k) for s, k, _ in pending], grade_one, jobs, done, watch)
    else:
        tasks = [(s, k, cluster.task_of(s, spec, options)) for s, k, spec in pending]
        cluster.run_on_cluster(tasks, scheduler, _keep_report(out, done))
    ordered = tuple(rows[student] for student in sorted(rows))
    from grader.report import gradebook  # matplotlib loads only when reports are due

    index, grades = gradebook.write(ordered, out, title)
    return BatchResult(ordered, index, grades, len(pending))


Pending = list[tuple[batch.Submission, str, AssignmentSpec]]


def _triage(
    paths: list[Path],
    assignment: str | None,
    options: Options,
    on_row: Callable[[batch.Row, bool], None] | None,
) -> tuple[dict[str, batch.Row], Pending, str]:
    """Rows already settled (unreadable notebooks, results kept under the same key), the
    submissions still to grade, and the gradebook's title."""
    rows: dict[str, batch.Row] = {}
    pending: Pending = []
    title = assignment or "class"
    for submission in batch.find_submissions(paths):
        planned = _plan(submission, assignment, options)
        if isinstance(planned, batch.Row):
            row, kept = planned, False
        else:
            spec, key = planned
            title = assignment or spec.id
            stored = batch.read_row(_row_file(options.out_dir, submission), key)
            if stored is None:
                pending.append((submission, key, spec))
                continue
            row, kept = stored, True
        rows[submission.student] = row
        if on_row:
            on_row(row, kept)
    return rows, pending, title


def _keep_report(
    out: Path, done: Callable[[batch.Submission, str, batch.Row], None]
) -> Callable[[batch.Submission, str, cluster.Outcome], None]:
    """Write the report a worker sent back beside the local ones, then record the row."""

    def keep(submission: batch.Submission, key: str, outcome: cluster.Outcome) -> None:
        row = outcome.row
        if outcome.report is not None and outcome.report_name is not None:
            report = out / batch.REPORTS / outcome.report_name
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_bytes(outcome.report)
            row = replace(row, report=f"{batch.REPORTS}/{outcome.report_name}")
        done(submission, key, row)

    return keep


def _row_file(out: Path, submission: batch.Submission) -> Path:
    return out / batch.RESULTS / f"{submission.student}.json"


def _plan(
    submission: batch.Submission, assignment: str | None, options: Options
) -> tuple[AssignmentSpec, str] | batch.Row:
    """The spec and cache key of a submission, or its row when it cannot be graded."""
    try:
        data = submission.path.read_bytes()
        notebook = read_notebook(submission.path)
        spec = find_assignment(
            assignment_id(notebook, assignment, submission.path), options.assignments_dirs
        )
    except UsageError as error:
        return batch.refused(submission, error)
    key = batch.cache_key(
        data, spec, batch.options_key(options.profile, options.data, options.data_dir)
    )
    return spec, key


def grade_submission(
    assignment: str | None, options: Options, submission: batch.Submission
) -> batch.Row:
    """One student, in a worker process: every outcome is a row, never an exception."""
    student_options = replace(options, out_dir=options.out_dir / batch.REPORTS)
    try:
        notebook = read_notebook(submission.path)
        spec = find_assignment(
            assignment_id(notebook, assignment, submission.path), options.assignments_dirs
        )
        shown = batch.worker_progress(submission.student)
        try:
            result = grade_loaded(notebook, submission.path.name, spec, student_options, shown)
        finally:
            shown.close()
        result = write_reports(result, submission.student, student_options)
    except (UsageError, GraderError) as error:
        return batch.refused(submission, error)
    except Exception as error:  # a bug in the grader: this student's row says so, the batch goes on
        return batch.Row(
            submission.student, submission.path.name, "failed", None, 0.0, f"grader bug: {error!r}"
        )
    return _row_of(submission, result, options.out_dir)


def _row_of(submission: batch.Submission, result: GradeResult, out: Path) -> batch.Row:
    steps = {step: sum(c.points for c in checks) for step, _, checks in result.steps()}
    report = Path(result.report_path).relative_to(out).as_posix() if result.report_path else None
    return batch.Row(
        student=submission.student,
        notebook=submission.path.name,
        status="graded",
        score=result.score,
        max_score=result.max_score,
        message="; ".join(result.problems),
        steps=steps,
        checks={c.id: c.status for c in result.checks},
        report=report,
        seconds=result.duration_s,
    )
