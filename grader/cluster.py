"""Grading a class on a Dask distributed cluster (`grade batch --scheduler tcp://HOST:PORT`).

Each submission is one task. Its input is the notebook's bytes and the assignment's spec;
its output is the gradebook row, the HTML report's bytes and the run kept for re-scoring.
Workers need the grader installed (and bubblewrap, for the sandbox), but no file system
shared with the instructor's machine. Dask schedules, retries the tasks of a worker that
dies, and gives a task up when it has killed workers too often; nothing here schedules by
itself.

Workers are started with `dask worker tcp://HOST:PORT --nthreads 1` (one kernel at a time
each; `--resources GPU=1` on GPU nodes), or through dask-jobqueue on SLURM.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from grader.batch import Row, Submission, crashed, refused
from grader.outcomes import GraderError, UsageError
from grader.spec import SPEC_FILE, AssignmentSpec

if TYPE_CHECKING:
    from grader.api import Options


@dataclass(frozen=True)
class Task:
    student: str
    notebook_name: str
    notebook: bytes
    assignment_id: str
    spec: bytes
    options: Options


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: the row, the report, and the run kept for re-scoring."""

    row: Row
    report_name: str | None = None
    report: bytes | None = None
    run_key: str | None = None
    run: str | None = None


def task_of(submission: Submission, spec: AssignmentSpec, options: Options) -> Task:
    return Task(
        submission.student,
        submission.path.name,
        submission.path.read_bytes(),
        spec.id,
        (spec.root / SPEC_FILE).read_bytes(),
        options,
    )


def grade_task(task: Task) -> Outcome:
    """Runs on a worker: everything it needs is in `task`, everything it made is returned."""
    from grader import classroom  # on the worker: the grader and its imports load here
    from grader.keras_import import import_keras

    import_keras()  # once per worker: its checks then run in the worker, warm (grader.checker)
    with tempfile.TemporaryDirectory(prefix="grade-task-") as folder:
        root = Path(folder)
        spec_dir = root / "assignments" / task.assignment_id
        spec_dir.mkdir(parents=True)
        (spec_dir / SPEC_FILE).write_bytes(task.spec)
        notebook = root / task.notebook_name
        notebook.write_bytes(task.notebook)
        options = replace(
            task.options,
            out_dir=root / "out",
            assignments_dirs=[root / "assignments"],
            hidden=(),
            cache_dir=root / "cache",
        )
        submission = Submission(task.student, notebook)
        row = classroom.grade_submission(task.assignment_id, options, submission)
        kept = next(options.cache_dir.glob("*.json"), None)
        run = (kept.stem, kept.read_text(encoding="utf-8")) if kept else (None, None)
        if row.report is None:
            return Outcome(row, None, None, *run)
        report = options.out_dir / row.report
        return Outcome(row, report.name, report.read_bytes(), *run)


def run_on_cluster(
    tasks: list[tuple[Submission, str, Task]],
    scheduler: str,
    done: Callable[[Submission, str, Outcome], None],
) -> None:
    """Send every task to the cluster at `scheduler`; `done` gets each outcome once."""
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout="20s")
    except OSError as error:
        raise UsageError(
            f"no Dask scheduler answered at {scheduler} ({error}). "
            "Hint: start one with `dask scheduler` and workers with `dask worker ADDRESS`."
        ) from None
    with client:
        futures = {
            client.submit(grade_task, task, key=f"grade-{key[:16]}-{submission.student}"): (
                submission,
                key,
            )
            for submission, key, task in tasks
        }
        for future in as_completed(futures):
            submission, key = futures[future]
            done(submission, key, _outcome(future, submission))


def _outcome(future: object, submission: Submission) -> Outcome:
    from distributed import Future
    from distributed.scheduler import KilledWorker

    assert isinstance(future, Future)
    try:
        return future.result()
    except KilledWorker:
        return Outcome(crashed(submission))
    except (UsageError, GraderError) as error:
        return Outcome(refused(submission, error))
    except Exception as error:  # the task failed on the worker: this row says so
        message = f"the task failed on its worker: {error!r}"
        return Outcome(Row(submission.student, submission.path.name, "failed", None, 0.0, message))
