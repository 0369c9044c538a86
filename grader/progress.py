"""Progress while a notebook runs: which cell, and inside `fit` which epoch, loss and ETA.

The kernel's harness publishes each finished epoch as a display message of its own MIME
type (`PROGRESS_MIME`); the notebook client hands those to the run's `Progress` instead of
keeping them as outputs. On a terminal the display is live (rich); otherwise it is one plain
line per cell, so CI logs stay readable. The kernel is untrusted: what it publishes is only
ever displayed, never graded.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from grader.results import CellResult

PROGRESS_MIME = "application/vnd.grader.progress+json"


class Progress(Protocol):
    def cell_started(self, number: int, total: int, first_line: str) -> None: ...

    def epoch(self, event: dict[str, Any]) -> None: ...

    def cell_finished(self, result: CellResult) -> None: ...

    def close(self) -> None: ...


class Silent:
    """No progress: the Python API's default."""

    def cell_started(self, number: int, total: int, first_line: str) -> None:
        pass

    def epoch(self, event: dict[str, Any]) -> None:
        pass

    def cell_finished(self, result: CellResult) -> None:
        pass

    def close(self) -> None:
        pass


class Lines:
    """One line per finished cell: for logs and pipes."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.total = 0

    def cell_started(self, number: int, total: int, first_line: str) -> None:
        self.total = total

    def epoch(self, event: dict[str, Any]) -> None:
        pass

    def cell_finished(self, result: CellResult) -> None:
        line = f"cell {result.index}/{self.total} {result.status} {result.seconds:.1f} s"
        print(f"{line}  {result.first_line[:60]}", file=self.stream, flush=True)

    def close(self) -> None:
        pass


class LiveLine:
    """A live status line on a terminal: the cell, and inside `fit` the epoch."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.live = Live(Text(""), console=self.console, refresh_per_second=8, transient=True)
        self.live.start()
        self.cell = ""
        self.started = time.perf_counter()

    def cell_started(self, number: int, total: int, first_line: str) -> None:
        self.cell = f"cell {number}/{total}  {escape(first_line[:50])}"
        self.started = time.perf_counter()
        self.live.update(Text.from_markup(f"[bold]{self.cell}[/]"))

    def epoch(self, event: dict[str, Any]) -> None:
        self.live.update(Text.from_markup(f"[bold]{self.cell}[/]\n  {describe_epoch(event)}"))

    def cell_finished(self, result: CellResult) -> None:
        if result.status != "ok":
            self.console.print(f"cell {result.index}: {result.status}", highlight=False)

    def close(self) -> None:
        self.live.stop()


def describe_epoch(event: dict[str, Any]) -> str:
    """`fit 2 · epoch 3/10 · loss 0.512 · accuracy 0.801 · ETA 14 s`."""
    epoch, epochs = int(event.get("epoch", 0)), int(event.get("epochs", 0))
    metrics = event.get("metrics") or {}
    parts = [f"fit {event.get('fit', '?')}", f"epoch {epoch}/{epochs}"]
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if isinstance(metrics.get(name), int | float):
            parts.append(f"{name} {metrics[name]:.3f}")
    mean = float(event.get("mean_seconds") or 0.0)
    if epochs > epoch and mean > 0:
        parts.append(f"ETA {mean * (epochs - epoch):.0f} s")
    return " · ".join(parts)


def for_terminal(console: Console | None = None) -> Progress:
    """Live on a terminal, plain lines otherwise."""
    console = console or Console(stderr=True)
    return LiveLine(console) if console.is_terminal else Lines()


class ToQueue:
    """A batch worker's progress: sent, tagged with the student, to the parent's display."""

    def __init__(self, student: str, queue: Any) -> None:
        self.student = student
        self.queue = queue

    def cell_started(self, number: int, total: int, first_line: str) -> None:
        self.queue.put((self.student, f"cell {number}/{total}  {first_line[:40]}"))

    def epoch(self, event: dict[str, Any]) -> None:
        self.queue.put((self.student, describe_epoch(event)))

    def cell_finished(self, result: CellResult) -> None:
        pass

    def close(self) -> None:
        self.queue.put((self.student, None))


class Board:
    """A batch on a terminal: done/total, ETA, and what each running submission is doing."""

    def __init__(self, total: int, jobs: int, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.total, self.jobs = total, jobs
        self.count = 0
        self.durations: list[float] = []  # of the submissions graded in this run
        self.running: dict[str, str] = {}
        self.started = time.perf_counter()
        self.live = Live(self._render(), console=self.console, refresh_per_second=4)
        self.live.start()

    def update(self, student: str, doing: str | None) -> None:
        """What `student`'s kernel is doing now; None when its grading ended."""
        if doing is None:
            self.running.pop(student, None)
        else:
            self.running[student] = doing
        self.live.update(self._render())

    def finished(self, seconds: float | None) -> None:
        """One more submission done; `seconds` None when it was kept from an earlier run."""
        self.count += 1
        if seconds is not None:
            self.durations.append(seconds)
        self.live.update(self._render())

    def close(self) -> None:
        self.live.stop()

    def _render(self) -> Text:
        lines = [f"[bold]{self.count}/{self.total} done[/]{self._eta()}"]
        for student, doing in sorted(self.running.items()):
            lines.append(f"  {escape(student):<20} {escape(doing)}")
        return Text.from_markup("\n".join(lines))

    def _eta(self) -> str:
        left = self.total - self.count
        if not self.durations or left <= 0:
            return ""
        mean = sum(self.durations) / len(self.durations)
        return f" · ETA {mean * left / max(1, self.jobs):.0f} s"
