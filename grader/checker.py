"""Where the checks run: in a process of the grader's own that loads Keras while the kernel runs.

Importing TensorFlow costs the grader about three seconds, and the checks need it only once
the notebook has finished. A checker process started beside the kernel pays that import while
the notebook executes (a kernel starting, importing and training a small model seldom keeps
two cores busy), so the checks start warm. Where Keras is loaded already (a batch worker, whose
initializer loads it once for all its students; a Dask worker; a data set that needed it),
they run here.

The checker is the grader's, not the student's: it loads only the files the grader collected,
with the same safe loading as in-process checks. If it dies (a model that crashes TensorFlow
on load), every score is withheld with a message saying so; the grader itself carries on.
The checker is a fresh interpreter rather than a `multiprocessing` child, which would import
the caller's main module again (a script calling `grade_notebook` unguarded would re-run).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import traceback
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Protocol

from grader.advice import course_era_advice, model_advice, size_advice
from grader.checks.context import Submission
from grader.checks.runner import run_checks, withheld
from grader.comparison import compare_steps
from grader.keras_import import import_keras
from grader.kernel import package_root
from grader.outcomes import GraderError
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
    advice = (
        model_advice(submission)
        + course_era_advice(submission)
        + fit_advice(fits)
        + size_advice(spec, comparison)
    )
    return Verdicts(checks, comparison, advice)


class Judge(Protocol):
    def submit(self, spec: AssignmentSpec, submission: Submission) -> Future[Verdicts]: ...

    def close(self) -> None: ...


def start_judge() -> Judge:
    """A checker process started now; this process when Keras is loaded here already, or
    when no process can be started (the checks are then only slower)."""
    if "keras" in sys.modules:
        return InProcess()
    try:
        return Checker()
    except OSError:
        return InProcess()


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


# The checker's command: a fresh interpreter, not a re-import of the caller's main module.
_SERVE = "from grader.checker import serve; serve()"


class Checker:
    """A process that loads Keras from the moment it starts, then judges one submission sent
    to it through its standard input (pickled) and answers through its standard output."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # TensorFlow's C++ start-up notices
            env=checker_environment(),
        )

    def submit(self, spec: AssignmentSpec, submission: Submission) -> Future[Verdicts]:
        outcome: Future[Verdicts] = Future()
        exchange = threading.Thread(target=self._exchange, args=(outcome, spec, submission))
        exchange.start()  # the caller draws the report's figures meanwhile
        return outcome

    def close(self) -> None:
        """Stop the checker if it still runs (it exits by itself once it has answered)."""
        if self._process.poll() is None:
            self._process.kill()
        with self._process:  # closes its pipes and waits for it
            pass

    def _exchange(
        self, outcome: Future[Verdicts], spec: AssignmentSpec, submission: Submission
    ) -> None:
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        try:
            with process.stdin:
                pickle.dump((spec, submission), process.stdin)
            kind, answer = pickle.load(process.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            reason = f"the grader's checker process stopped ({_exit(process.wait())})"
            outcome.set_result(Verdicts(withheld(spec, submission.profile, reason), (), ()))
        except BaseException as error:  # e.g. a submission that cannot be sent: a bug of ours
            outcome.set_exception(error)
        else:
            if kind == "verdicts":
                outcome.set_result(answer)
            else:
                outcome.set_exception(GraderError(f"the checks failed:\n{answer}"))


def checker_environment() -> dict[str, str]:
    """The grader's environment, with this very grader first on the import path, and no GPU:
    the checks' work is small, and TensorFlow takes a GPU's whole memory once it touches it,
    which a kernel of a batch running beside may need."""
    inherited = os.environ.get("PYTHONPATH")
    python_path = os.pathsep.join([str(package_root()), *([inherited] if inherited else [])])
    return {**os.environ, "PYTHONPATH": python_path, "CUDA_VISIBLE_DEVICES": ""}


def _exit(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def serve() -> None:
    """The checker's side: load Keras while waiting for the submission the grader sends, then
    judge it, once. Keras loads on a thread of its own: checks that need no model (a notebook
    of plain functions) do not wait for it, and those that do wait only for what is left."""
    answers = os.fdopen(os.dup(1), "wb")
    _to_null(1)  # anything the checks print must not garble the answer
    threading.Thread(target=import_keras, daemon=True).start()
    try:
        spec, submission = pickle.load(sys.stdin.buffer)
    except EOFError:  # the grader needed no checks after all
        os._exit(0)
    try:
        answer: tuple[str, object] = ("verdicts", judge(spec, submission))
    except Exception:
        answer = ("error", traceback.format_exc())
    pickle.dump(answer, answers)
    answers.flush()
    os._exit(0)  # TensorFlow's own teardown takes a second that nobody waits for


def _to_null(descriptor: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)
