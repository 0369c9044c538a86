"""Running a prepared notebook in a fresh kernel: timeouts, `allow_errors`, per-cell wall times,
the watchdog's memory and process limits, and a cap on what a cell may print."""

from __future__ import annotations

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
from grader.results import CellError, CellResult
from grader.sandbox import Sandbox
from grader.watchdog import Breach, Limits, Watchdog

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
) -> Execution:
    """Run every cell; a failing cell costs only itself, the collect cell always gets its turn.

    `collect_source`, when given, writes the collect cell just before it runs, so what it
    hands the kernel (hidden inputs) does not exist while the student's cells run.
    """
    started = time.perf_counter()
    client = CappedClient(
        notebook,
        km=kernel_manager(workspace, sandbox),
        timeout=int(budget.cell_timeout),
        allow_errors=True,
        interrupt_on_timeout=True,
        resources={"metadata": {"path": str(workspace)}},
        log=_QUIET,
        output_limit=budget.output_bytes,
    )
    run = _Run(client, budget, started + budget.timeout)
    env = kernel_environment(workspace, sandbox is not None, environment)
    try:
        with (
            (workspace / ".kernel" / "kernel.log").open("wb") as log,
            client.setup_kernel(env=env, stdout=log, stderr=log, cleanup_kc=True),
        ):
            run.watch(kernel_pid(client.km))
            with run.watchdog:
                run.all_cells(collect_source)
    except DeadKernelError as error:
        run.problems.append(_kernel_died(run.cells, notebook, error, run.breach()))
    except (RuntimeError, OSError, TimeoutError) as error:
        raise GraderError(f"the kernel could not be started or driven: {error}") from error
    cells = run.cells
    if len(cells) < len(_student_cells(notebook)):
        cells += [_not_run(c, "not reached") for c in _student_cells(notebook)[len(cells) :]]
    return Execution(
        tuple(cells), run.collected, tuple(run.problems), time.perf_counter() - started
    )


class _Run:
    """One execution's state: the cells so far, the problems, the watchdog."""

    def __init__(self, client: NotebookClient, budget: Budget, deadline: float) -> None:
        self.client = client
        self.budget = budget
        self.deadline = deadline
        self.cells: list[CellResult] = []
        self.problems: list[str] = []
        self.collected = False
        self.watchdog: Watchdog

    def watch(self, pid: int | None) -> None:
        if pid is None:
            raise GraderError("the kernel started but its process is not known")
        limits = Limits(self.budget.memory_bytes, self.budget.max_processes)
        self.watchdog = Watchdog(pid, limits)

    def all_cells(self, collect_source: Callable[[], str] | None) -> None:
        notebook = self.client.nb
        for index, cell in enumerate(notebook.cells):
            role = role_of(cell)
            if role == COLLECT_ROLE:
                if collect_source is not None:
                    cell.source = _written(collect_source)
                self.watchdog.cell_started(600 + _INTERRUPT_GRACE_S)
                self.collected = _run_collect(self.client, cell, index, self.problems)
                continue
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0 and role is None:
                self.cells.append(_not_run(cell, "the whole-notebook time limit was reached"))
                continue
            self.client.timeout = int(max(1, min(self.budget.cell_timeout, remaining)))
            self.watchdog.cell_started(self.client.timeout + _INTERRUPT_GRACE_S)
            result = _run_cell(self.client, cell, index)
            if role is None:
                self.cells.append(result)
            elif result.status != "ok":  # it runs before any student code: our fault
                raise GraderError(
                    f"the grader's setup cell failed in the kernel: {_describe(result)}"
                )

    def breach(self) -> Breach | None:
        """Why the watchdog stopped the kernel, if it did."""
        watchdog = getattr(self, "watchdog", None)
        return watchdog.breach if watchdog is not None else None


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


def _kernel_died(
    cells: list[CellResult], notebook: NotebookNode, error: Exception, breach: Breach | None
) -> str:
    """Mark the cell that was running, and say what happened."""
    student = _student_cells(notebook)
    if len(cells) >= len(student):
        if breach is not None:
            return f"{breach.what} while collecting ({breach.detail}); the kernel was stopped"
        return f"the kernel died after the last cell ({error})"
    cell = student[len(cells)]
    number = number_of(cell) or 0
    if breach is not None:
        died = CellError(_LIMIT_NAMES[breach.kind], f"{breach.what} ({breach.detail})")
        problem = f"{breach.what} in cell {number} ({breach.detail}); the kernel was stopped"
    else:
        died = CellError("DeadKernel", "the kernel died while running this cell")
        problem = f"the kernel died in cell {number} ({error})"
    cells.append(CellResult(number, _first_line(cell), 0.0, "error", died, cell.source))
    return f"{problem}; later cells did not run"
