"""Where the checks run: in a process of the grader's own that loads Keras while the kernel runs.

Importing TensorFlow costs the grader about three seconds, and the checks need it only once
the notebook has finished. A checker process started beside the kernel pays that import while
the notebook executes (the kernel is mostly idle then: starting, importing, training small
models), so the checks start warm. Where Keras is loaded already (a batch worker, whose
initializer loads it once for all its students; a data set that needed it), they run here.

The checker is the grader's, not the student's: it loads only the files the grader collected,
with the same safe loading as in-process checks. If it dies (a model that crashes TensorFlow
on load), every score is withheld with a message saying so; the grader itself carries on.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Protocol

from grader.advice import model_advice, size_advice
from grader.checks.context import Submission
from grader.checks.runner import run_checks, withheld
from grader.comparison import compare_steps
from grader.keras_import import import_keras
from grader.results import CheckResult, ComparisonRow
from grader.spec import AssignmentSpec
from grader.training_advice import fit_advice


@dataclass(frozen=True)
class Verdicts:
    """What the grader concludes about a submission once its notebook has run."""

    checks: tuple[CheckResult, ...]
    comparison: tuple[ComparisonRow, ...]
    advice: tuple[str, ...]


def judge(spec: AssignmentSpec, submission: Submission) -> Verdicts:
    """Every check of `spec`, the step comparison and the advice, in this process."""
    checks = run_checks(spec, submission)
    comparison = compare_steps(spec, submission)
    fits = submission.artifacts.fits if submission.artifacts else ()
    advice = model_advice(submission) + fit_advice(fits) + size_advice(spec, comparison)
    return Verdicts(checks, comparison, advice)


class Judge(Protocol):
    def submit(self, spec: AssignmentSpec, submission: Submission) -> Future[Verdicts]: ...

    def close(self) -> None: ...


def start_judge() -> Judge:
    """A checker process started now; this process when Keras is loaded here already, or
    when it may not start processes of its own (a daemon, such as a Dask worker's)."""
    if "keras" in sys.modules or multiprocessing.current_process().daemon:
        return InProcess()
    return Checker()


class InProcess:
    """Checks run in the calling process, when asked."""

    def submit(self, spec: AssignmentSpec, submission: Submission) -> Future[Verdicts]:
        done: Future[Verdicts] = Future()
        try:
            done.set_result(judge(spec, submission))
        except BaseException as error:
            done.set_exception(error)
        return done

    def close(self) -> None:
        pass


class Checker:
    """A spawned process that loads Keras from the moment it starts, then judges one submission."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
        self._pool = ProcessPoolExecutor(1, mp_context=context, initializer=_warm_up)
        self._pool.submit(int)  # starts the process now, not when the notebook is done

    def submit(self, spec: AssignmentSpec, submission: Submission) -> Future[Verdicts]:
        verdicts = self._pool.submit(judge, spec, submission)
        outcome: Future[Verdicts] = Future()
        verdicts.add_done_callback(lambda ran: _settle(outcome, ran, spec, submission.profile))
        return outcome

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _settle(
    outcome: Future[Verdicts], ran: Future[Verdicts], spec: AssignmentSpec, profile: str
) -> None:
    """The checker's verdicts; if it died, every score withheld, and why."""
    error = ran.exception()
    if isinstance(error, BrokenProcessPool):
        reason = "the grader's checker process stopped while loading or checking this notebook"
        outcome.set_result(Verdicts(withheld(spec, profile, reason), (), ()))
    elif error is not None:
        outcome.set_exception(error)
    else:
        outcome.set_result(ran.result())


def _warm_up() -> None:
    """The checker's first act: load Keras. Its descriptor 2 goes nowhere for good, which
    silences TensorFlow's C++ start-up notices without touching the grader's own output
    (errors come back through the pool as exceptions)."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    import_keras()
