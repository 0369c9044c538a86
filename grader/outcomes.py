"""Outcomes as exceptions: what a check, a submission or the grader itself can end in."""

from __future__ import annotations

from typing import Any


class CheckFailed(Exception):
    """A check found the submission wrong: says what was expected, what it got, how to fix it."""

    def __init__(
        self,
        message: str,
        *,
        expected: Any = None,
        received: Any = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.received = received
        self.hint = hint


class CheckSkipped(Exception):
    """A check could not run because something it needs is absent (e.g. a model variable)."""

    def __init__(self, reason: str, *, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


class UsageError(Exception):
    """Input the grader cannot use at all: unreadable notebook, unknown assignment, bad flags."""


class SpecError(UsageError):
    """An assignment spec that does not validate; the message names file and key path."""


class GraderError(Exception):
    """A fault of the grader or its environment, not of the submission: the score is withheld."""


class SubmissionError(Exception):
    """A check could not run because a student cell raised: names the cell and the exception."""

    def __init__(self, message: str, *, cell: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cell = cell
        self.hint = hint


class NotAttempted(CheckSkipped):
    """The step's variable is still the starter's placeholder (`None`): nothing to grade."""
