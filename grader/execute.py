"""Running a prepared notebook in a fresh kernel: timeouts, `allow_errors`, per-cell wall times,
the watchdog's memory and process limits, and a cap on what a cell may print."""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from grader.capped import CappedClient
from grader.kernel import kernel_environment, kernel_manager, kernel_pid
from grader.notebook import COLLECT_ROLE, number_of, role_of
from grader.outcomes import GraderError
from grader.progress import Progress, Silent
from grader.results import CellError, CellResult
from grader.sandbox import Sandbox
from grader.watchdog import Limits, Watchdog

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# nbclient logs timeouts and interrupts as errors; the result reports them, so keep it quiet.
_QUIET = logging.getLogger("grader.nbclient")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


@dataclass(frozen=True)
class Budget:
    timeout: float
    cell_timeout: float
    memory_bytes: int
    max_processes: int = 256
    output_bytes: int = 1_000_000  # per cell; the rest is cut


_LIMIT_NAMES = {"memory": "MemoryLimit", "processes": "ProcessLimit", "time": "TimeLimit"}
# A cell still running this long after its interrupt ignores interrupts (a loop in C code):
# the watchdog stops the kernel.
_INTERRUPT_GRACE_S = 10


@dataclass(frozen=True)
class Execution:
    cells: tuple[CellResult, ...]
    collected: bool
    problems: tuple[str, ...]
    seconds: float


def execute(
    notebook: NotebookNode,
    workspace: Path,
    budget: Budget,
    environment: dict[str, str] | None = None,
    collect_source: Callable[[], str] | None = None,
    sandbox: Sandbox | None = None,
    restore: Callable[[], None] | None = None,
    progress: Progress | None = None,
) -> Execution:
    """Run every cell; a failing cell costs only itself, the collect cell always gets its turn.

    `collect_source`, when given, writes the collect cell just before it runs, so what it
    hands the kernel (hidden inputs) does not exist while the student's cells run.

    When the kernel dies in a student's cell (a crash, or stopped by the watchdog) and
    `restore` is given, the workspace is restored and a fresh kernel runs the notebook once
    more without that cell, so the checks that do not need it still get their points.
    """
    started = time.perf_counter()
    progress = progress or Silent()
    kernel = _Kernel(workspace, budget, environment, sandbox, started + budget.timeout, progress)
    first = kernel.attempt(copy.deepcopy(notebook), collect_source, skip=None)
    if first.died_in is None or first.collected or restore is None or kernel.out_of_time():
        return first.execution(notebook, started)
    restore()
    second = kernel.attempt(copy.deepcopy(notebook), collect_source, skip=first.death)
    second.problems[:0] = [*first.problems, _rerun_note(first.died_in)]
    return second.execution(notebook, started)


def _rerun_note(cell: int) -> str:
    return (
        f"a fresh kernel ran the notebook again without cell {cell}, so the checks that "
        "do not depend on it were graded"
    )


@dataclass(frozen=True)
class _Kernel:
    """How to start a kernel for this run; each `attempt` starts a new one."""

    workspace: Path
    budget: Budget
    environment: dict[str, str] | None
    sandbox: Sandbox | None
    deadline: float
    progress: Progress

    def out_of_time(self) -> bool:
        return time.perf_counter() >= self.deadline

    def attempt(
        self,
        notebook: NotebookNode,
        collect_source: Callable[[], str] | None,
        skip: CellResult | None,
    ) -> _Attempt:
        client = CappedClient(
            notebook,
            km=kernel_manager(self.workspace, self.sandbox),
            timeout=int(self.budget.cell_timeout),
            allow_errors=True,
            interrupt_on_timeout=True,
            resources={"metadata": {"path": str(self.workspace)}},
            log=_QUIET,
            output_limit=self.budget.output_bytes,
            on_progress=self.progress.epoch,
        )
        attempt = _Attempt(client, self.budget, self.deadline, skip, self.progress)
        env = kernel_environment(self.workspace, self.sandbox is not None, self.environment)
        try:
            with (
                (self.workspace / ".kernel" / "kernel.log").open("wb") as log,
                client.setup_kernel(env=env, stdout=log, stderr=log, cleanup_kc=True),
            ):
                attempt.watch(kernel_pid(client.km))
                with attempt.watchdog:
                    attempt.all_cells(collect_source)
        except DeadKernelError as error:
            attempt.kernel_died(error)
        except (RuntimeError, OSError, TimeoutError) as error:
            raise GraderError(f"the kernel could not be started or driven: {error}") from error
        return attempt


class _Attempt:
    """One kernel's run through the notebook: the cells so far, the problems, the watchdog."""

    def __init__(
        self,
        client: NotebookClient,
        budget: Budget,
        deadline: float,
        skip: CellResult | None,
        progress: Progress,
    ) -> None:
        self.client = client
        self.progress = progress
        self.budget = budget
        self.deadline = deadline
        self.skip = skip
        self.cells: list[CellResult] = []
        self.problems: list[str] = []
        self.collected = False
        self.death: CellResult | None = None
        self.watchdog: Watchdog | None = None

    @property
    def died_in(self) -> int | None:
        """The student's cell the kernel died in, if it did."""
        return self.death.index if self.death is not None else None

    def watch(self, pid: int | None) -> None:
        if pid is None:
            raise GraderError("the kernel started but its process is not known")
        limits = Limits(self.budget.memory_bytes, self.budget.max_processes)
        self.watchdog = Watchdog(pid, limits)

    def all_cells(self, collect_source: Callable[[], str] | None) -> None:
        assert self.watchdog is not None
        for index, cell in enumerate(self.client.nb.cells):
            role = role_of(cell)
            if role == COLLECT_ROLE:
                if collect_source is not None:
                    cell.source = _written(collect_source)
                self.watchdog.cell_started(600 + _INTERRUPT_GRACE_S)
                self.collected = _run_collect(self.client, cell, index, self.problems)
                continue
            if self.skip is not None and number_of(cell) == self.skip.index:
                self.cells.append(self.skip)  # it killed the first kernel: not run again
                continue
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0 and role is None:
                self.cells.append(_not_run(cell, "the whole-notebook time limit was reached"))
                continue
            self.client.timeout = int(max(1, min(self.budget.cell_timeout, remaining)))
            self.watchdog.cell_started(self.client.timeout + _INTERRUPT_GRACE_S)
            if role is None:
                total = max(number_of(c) or 0 for c in _student_cells(self.client.nb))
                self.progress.cell_started(number_of(cell) or 0, total, _first_line(cell))
            result = _run_cell(self.client, cell, index)
            if role is None:
                self.cells.append(result)
                self.progress.cell_finished(result)
            elif result.status != "ok":  # it runs before any student code: our fault
                raise GraderError(
                    f"the grader's setup cell failed in the kernel: {_describe(result)}"
                )

    def kernel_died(self, error: Exception) -> None:
        """Mark the cell that was running, and say what happened."""
        breach = self.watchdog.breach if self.watchdog is not None else None
        student = _student_cells(self.client.nb)
        if len(self.cells) >= len(student):
            where = f"{breach.what} while collecting ({breach.detail})" if breach else str(error)
            self.problems.append(f"the kernel died after the last cell: {where}")
            return
        cell = student[len(self.cells)]
        number = number_of(cell) or 0
        if breach is not None:
            died = CellError(_LIMIT_NAMES[breach.kind], f"{breach.what} ({breach.detail})")
            problem = f"{breach.what} in cell {number} ({breach.detail}); the kernel was stopped"
        else:
            died = CellError("DeadKernel", "the kernel died while running this cell")
            problem = f"the kernel died in cell {number}: its process ended ({_why(error)})"
        self.death = CellResult(number, _first_line(cell), 0.0, "error", died, cell.source)
        self.cells.append(self.death)
        self.problems.append(problem)

    def execution(self, notebook: NotebookNode, started: float) -> Execution:
        """The result; cells never reached are listed as such."""
        student = _student_cells(notebook)
        done = {cell.index for cell in self.cells}
        missing = [_not_run(c, "not reached") for c in student if number_of(c) not in done]
        cells = sorted([*self.cells, *missing], key=lambda c: c.index)
        seconds = time.perf_counter() - started
        return Execution(tuple(cells), self.collected, tuple(self.problems), seconds)


def _written(collect_source: Callable[[], str]) -> str:
    try:
        return collect_source()
    except Exception as error:  # our bug, not the student's: the score is withheld
        raise GraderError(f"the grader could not prepare the collect step: {error}") from error


def _run_cell(client: NotebookClient, cell: NotebookNode, index: int) -> CellResult:
    started = time.perf_counter()
    client.execute_cell(cell, index)
    seconds = time.perf_counter() - started
    error = _error_of(cell)
    timed_out = (
        error is not None and seconds >= client.timeout and error.ename == "KeyboardInterrupt"
    )
    status = "timeout" if timed_out else ("error" if error else "ok")
    if timed_out:
        error = CellError(
            "CellTimeout", f"the cell ran longer than {client.timeout} s and was stopped"
        )
    return CellResult(number_of(cell) or 0, _first_line(cell), seconds, status, error, cell.source)


def _run_collect(client: NotebookClient, cell: NotebookNode, index: int, problems: list) -> bool:
    client.timeout = 600
    result = _run_cell(client, cell, index)
    if result.status != "ok":
        problems.append(f"collecting the notebook's models failed: {_describe(result)}")
    return result.status == "ok"


def _error_of(cell: NotebookNode) -> CellError | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            lines = tuple(_ANSI.sub("", line) for line in output.get("traceback", []))
            return CellError(output.get("ename", "Error"), output.get("evalue", ""), lines)
    return None


def _describe(result: CellResult) -> str:
    return f"{result.error.ename}: {result.error.evalue}" if result.error else result.status


def _first_line(cell: NotebookNode) -> str:
    lines = [line for line in cell.source.splitlines() if line.strip()]
    return lines[0][:80] if lines else ""


def _student_cells(notebook: NotebookNode) -> list[NotebookNode]:
    return [c for c in notebook.cells if number_of(c) is not None]


def _not_run(cell: NotebookNode, reason: str) -> CellResult:
    error = CellError("NotRun", reason)
    return CellResult(number_of(cell) or 0, _first_line(cell), 0.0, "not_run", error, cell.source)


def _why(error: Exception) -> str:
    said = str(error).strip()
    return said if said and said != "Kernel died" else "an exit, a crash or a signal"
