"""Grading a class: `grade_batch` finds the submissions, keeps what an earlier run graded under
the same key, re-scores what an earlier run executed under the same execution key (only
points or thresholds changed: `rescore`), and grades the rest on local worker processes
(`batch`) or on a Dask cluster (`cluster`); then writes the gradebook. `grade_submission` is
one student's task, wherever it runs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from grader import atomic, batch, cluster, rescore
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

CACHE = "cache"


@dataclass(frozen=True)
class BatchResult:
    rows: tuple[batch.Row, ...]
    index: Path
    grades: Path
    graded_now: int  # executed in this run
    rescored: int = 0  # scored from a kept run; the rest were kept or refused


@dataclass(frozen=True)
class _Planned:
    """A gradable submission: its spec, the key of its result and the key of its execution."""

    submission: batch.Submission
    spec: AssignmentSpec
    key: str
    run_key: str


def grade_batch(
    paths: list[Path],
    assignment: str | None = None,
    options: Options | None = None,
    jobs: int | None = None,
    on_row: Callable[[batch.Row, batch.Source], None] | None = None,
    scheduler: str | None = None,
    watch: batch.Watch | None = None,
) -> BatchResult:
    """Grade every notebook under `paths` into `options.out_dir`: one HTML report and one
    result file per student, `index.html` and `grades.csv`. Results already there under the
    same key are kept, so an interrupted batch resumes where it stopped. Every run is kept in
    `options.cache_dir` (default: `cache/` in the output folder) by its execution key; a
    spec changed only in points or thresholds re-scores those runs instead of executing them.

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
        cache_dir=options.cache_dir or options.out_dir / CACHE,
    )
    if options.sandbox:
        choose_isolation(True)  # no bubblewrap: say so before grading anything
    out = options.out_dir
    rows: dict[str, batch.Row] = {}

    def done(submission: batch.Submission, key: str, row: batch.Row) -> None:
        batch.write_row(_row_file(out, submission), key, row)
        rows[submission.student] = row
        if on_row:
            on_row(row, "graded")

    pending, title, rescored = _triage(paths, assignment, options, rows, on_row)
    if scheduler is None:
        grade_one = functools.partial(grade_submission, assignment, options)
        batch.run_pool([(p.submission, p.key) for p in pending], grade_one, jobs, done, watch)
    else:
        tasks = [
            (p.submission, p.key, cluster.task_of(p.submission, p.spec, options)) for p in pending
        ]
        cluster.run_on_cluster(tasks, scheduler, _keep_outcome(options, done))
    ordered = tuple(rows[student] for student in sorted(rows))
    from grader.report import gradebook  # matplotlib loads only when reports are due

    index, grades = gradebook.write(ordered, out, title)
    return BatchResult(ordered, index, grades, len(pending), rescored)


def _triage(
    paths: list[Path],
    assignment: str | None,
    options: Options,
    rows: dict[str, batch.Row],
    on_row: Callable[[batch.Row, batch.Source], None] | None,
) -> tuple[list[_Planned], str, int]:
    """Settle into `rows` what needs no kernel (unreadable notebooks, results kept under the
    same key, kept runs re-scored); return the submissions still to grade, the gradebook's
    title and how many were re-scored."""
    pending: list[_Planned] = []
    title = assignment or "class"
    rescored = 0
    # Each assignment's spec read once for the class, not once per student.
    find = functools.cache(lambda given: find_assignment(given, options.assignments_dirs))
    for submission in batch.find_submissions(paths):
        planned = _plan(submission, assignment, options, find)
        source: batch.Source
        if isinstance(planned, batch.Row):  # refused: found out now
            row, source = planned, "graded"
        else:
            title = assignment or planned.spec.id
            settled = _settled(planned, options)
            if settled is None:
                pending.append(planned)
                continue
            row, source = settled
            rescored += source == "rescored"
        rows[submission.student] = row
        if on_row:
            on_row(row, source)
    return pending, title, rescored


def _settled(planned: _Planned, options: Options) -> tuple[batch.Row, batch.Source] | None:
    """The row of a submission that needs no kernel: kept under the same key, or its kept
    run re-scored (and stored under the new key)."""
    row_file = _row_file(options.out_dir, planned.submission)
    kept = batch.read_row(row_file, planned.key)
    if kept is not None:
        return kept, "kept"
    rescored = _rescored(planned, options)
    if rescored is None:
        return None
    batch.write_row(row_file, planned.key, rescored)
    return rescored, "rescored"


def _rescored(planned: _Planned, options: Options) -> batch.Row | None:
    """The row of a kept run scored under the current spec, with its report; None when no
    run of this notebook was kept under the same execution key."""
    kept = rescore.load(_kept_file(options, planned.run_key))
    result = rescore.rescore(kept, planned.spec) if kept is not None else None
    if result is None:
        return None
    student_options = replace(options, out_dir=options.out_dir / batch.REPORTS)
    result = write_reports(result, planned.submission.student, student_options)
    return _row_of(planned.submission, result, options.out_dir)


def _keep_outcome(
    options: Options, done: Callable[[batch.Submission, str, batch.Row], None]
) -> Callable[[batch.Submission, str, cluster.Outcome], None]:
    """Write the report and the kept run a worker sent back beside the local ones, then
    record the row."""

    def keep(submission: batch.Submission, key: str, outcome: cluster.Outcome) -> None:
        row = outcome.row
        if outcome.report is not None and outcome.report_name is not None:
            report = options.out_dir / batch.REPORTS / outcome.report_name
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_bytes(outcome.report)
            row = replace(row, report=f"{batch.REPORTS}/{outcome.report_name}")
        if outcome.run is not None and outcome.run_key is not None:
            atomic.write_text(_kept_file(options, outcome.run_key), outcome.run)
        done(submission, key, row)

    return keep


def _kept_file(options: Options, run_key: str) -> Path:
    assert options.cache_dir is not None, "grade_batch sets it"
    return options.cache_dir / f"{run_key}.json"


def _row_file(out: Path, submission: batch.Submission) -> Path:
    return out / batch.RESULTS / f"{submission.student}.json"


def _plan(
    submission: batch.Submission,
    assignment: str | None,
    options: Options,
    find: Callable[[str], AssignmentSpec],
) -> _Planned | batch.Row:
    """The spec (from `find`, by id) and keys of a submission, or its row when it cannot be
    graded."""
    try:
        data = submission.path.read_bytes()
        notebook = read_notebook(submission.path)
        spec = find(assignment_id(notebook, assignment, submission.path))
    except UsageError as error:
        return batch.refused(submission, error)
    key = batch.cache_key(data, spec, _options_key(options))
    return _Planned(submission, spec, key, _run_key(data, spec, options))


def _options_key(options: Options) -> str:
    return batch.options_key(options.profile, options.data, options.data_dir)


def _run_key(notebook: bytes, spec: AssignmentSpec, options: Options) -> str:
    return rescore.execution_key(notebook, spec, _options_key(options))


def grade_submission(
    assignment: str | None, options: Options, submission: batch.Submission
) -> batch.Row:
    """One student, in a worker process: every outcome is a row, never an exception. The
    run is kept in `options.cache_dir` under its execution key."""
    student_options = replace(options, out_dir=options.out_dir / batch.REPORTS)
    try:
        data = submission.path.read_bytes()
        notebook = read_notebook(submission.path)
        spec = find_assignment(
            assignment_id(notebook, assignment, submission.path), options.assignments_dirs
        )
        shown = batch.worker_progress(submission.student)
        try:
            result = grade_loaded(notebook, submission.path.name, spec, student_options, shown)
        finally:
            shown.close()
        rescore.keep(_kept_file(options, _run_key(data, spec, options)), result)
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
