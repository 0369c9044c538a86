"""Grading a class: every notebook under the given paths, N at a time, each in its own kernel.

One submission's result is one small JSON file (`results/<student>.json`), written
atomically with the key of what produced it: the notebook's bytes, the assignment's spec,
the profile, the data choice and the grader's version. A batch run again (after Ctrl-C,
`kill -9`, or with more notebooks) grades only what has no result under the same key.
A submission that cannot be graded, hangs or crashes its worker gets a row saying so; the
batch goes on.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import psutil

from grader import __version__, atomic
from grader.cores import share_cores
from grader.gpus import placement, take_device, visible_gpus
from grader.hashing import digest
from grader.keras_import import import_keras
from grader.outcomes import GraderError, UsageError
from grader.progress import Progress, Silent, ToQueue
from grader.spec import SPEC_FILE, AssignmentSpec

RESULTS = "results"
REPORTS = "reports"
# A kernel with TensorFlow and a small model: what one worker needs, beside the grader.
_MEMORY_PER_WORKER = 3 * 1024**3


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


@dataclass(frozen=True)
class Row:
    """One student's line in the gradebook."""

    student: str
    notebook: str
    status: str  # "graded", "refused" (not a gradable notebook), "failed" (grader or worker)
    score: float | None
    max_score: float
    message: str = ""
    steps: dict[str, float] | None = None
    checks: dict[str, str] | None = None
    report: str | None = None
    seconds: float = 0.0


def find_submissions(paths: Iterable[Path]) -> list[Submission]:
    """Every notebook under `paths`; the student is the file's name, or the folder's when
    each student has a folder (`class/alice/homework.ipynb` is alice's)."""
    found: dict[str, Submission] = {}
    for given in paths:
        notebooks = [given] if given.is_file() else _notebooks_in(given)
        for notebook in notebooks:
            student = _student_of(notebook, given)
            name, number = student, 2
            while name in found:  # two notebooks of one student: both graded, told apart
                name, number = f"{student}-{number}", number + 1
            found[name] = Submission(name, notebook)
    return sorted(found.values(), key=lambda s: s.student)


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()
    )


def _student_of(notebook: Path, given: Path) -> str:
    if given.is_file():
        return notebook.stem
    relative = notebook.relative_to(given)
    return relative.parts[0] if len(relative.parts) > 1 else notebook.stem


def default_jobs() -> int:
    """As many workers as the cores and the memory allow."""
    cores = os.cpu_count() or 1
    memory = psutil.virtual_memory().total // _MEMORY_PER_WORKER
    return max(1, min(cores, memory))


def cache_key(notebook: bytes, spec: AssignmentSpec, options_key: str) -> str:
    """What a result depends on: change any of it and the result is made again (by
    executing, or by re-scoring a kept run: see `rescore.execution_key`)."""
    return digest(notebook, (spec.root / SPEC_FILE).read_bytes(), options_key, __version__)


def options_key(profile: str, data: str, data_dir: Path | None) -> str:
    return json.dumps([profile, data, str(data_dir)])


def read_row(path: Path, key: str) -> Row | None:
    """The stored row if it was made under `key`; anything else (missing, partial, another
    key) means grading again."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if stored.get("key") != key:
        return None
    return Row(**stored["row"])


def write_row(path: Path, key: str, row: Row) -> None:
    """Atomically: a batch killed mid-write leaves the old file or none, never half of one."""
    atomic.write_text(path, json.dumps({"key": key, "row": asdict(row)}, indent=1))


# How a row came to be: executed now, kept from an earlier run, or a kept run re-scored.
Source = Literal["graded", "kept", "rescored"]
Watch = Callable[[str, str | None], None]  # (student, what its kernel is doing, or None)

# In a worker process: where its kernels' progress goes (set by `_start_worker`).
_progress_queue: Any = None


def worker_progress(student: str) -> Progress:
    """The progress display a worker's grading reports to: the parent's, or none."""
    return ToQueue(student, _progress_queue) if _progress_queue is not None else Silent()


def _start_worker(devices: Any, progress: Any, jobs: int) -> None:
    """A worker takes its GPUs and its share of the cores, then loads Keras once for the
    checks of all its students."""
    global _progress_queue
    take_device(devices)
    share_cores(jobs)
    _progress_queue = progress
    import_keras()


def run_pool(
    pending: list[tuple[Submission, str]],
    grade_one: Callable[[Submission], Row],
    jobs: int,
    done: Callable[[Submission, str, Row], None],
    watch: Watch | None = None,
) -> None:
    """Grade `pending` on `jobs` worker processes. A worker that dies breaks the pool and
    every submission it held: those are graded again one at a time, each in a pool of its
    own, so only the one that crashes a worker again is given up."""
    for submission, key in _one_pool(pending, grade_one, jobs, done, watch):
        if _one_pool([(submission, key)], grade_one, 1, done, watch):
            done(submission, key, crashed(submission))


def _one_pool(
    queue: list[tuple[Submission, str]],
    grade_one: Callable[[Submission], Row],
    jobs: int,
    done: Callable[[Submission, str, Row], None],
    watch: Watch | None,
) -> list[tuple[Submission, str]]:
    """Run `queue`; return what a broken pool left without a result."""
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    broken: list[tuple[Submission, str]] = []
    devices, progress = context.Queue(), context.Queue()
    for device in placement(visible_gpus(), jobs):
        devices.put(device)
    relay = _Relay(progress, watch)
    with (
        relay,
        ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=_start_worker,
            initargs=(devices, progress if watch else None, jobs),
        ) as pool,
    ):
        running: dict[Future[Row], tuple[Submission, str]] = {
            pool.submit(grade_one, item[0]): item for item in queue
        }
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                submission, key = running.pop(future)
                try:
                    row = future.result()
                except BrokenProcessPool:
                    broken.append((submission, key))
                    continue
                done(submission, key, row)
    return broken


class _Relay:
    """A thread passing the workers' progress messages to `watch`, in the parent."""

    def __init__(self, queue: Any, watch: Watch | None) -> None:
        self.queue, self.watch = queue, watch
        self.thread = threading.Thread(target=self._relay, daemon=True)

    def __enter__(self) -> _Relay:
        if self.watch is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.watch is not None:
            self.queue.put(_STOP)
            self.thread.join()

    def _relay(self) -> None:
        assert self.watch is not None
        while (message := self.queue.get()) != _STOP:
            self.watch(*message)


_STOP = ("", "stop")


def crashed(submission: Submission) -> Row:
    return Row(
        submission.student,
        submission.path.name,
        "failed",
        None,
        0.0,
        "the grading process crashed twice on this notebook (see the worker's log)",
    )


def refused(submission: Submission, error: UsageError | GraderError) -> Row:
    status = "refused" if isinstance(error, UsageError) else "failed"
    return Row(submission.student, submission.path.name, status, None, 0.0, str(error))
