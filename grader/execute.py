"""Running a prepared notebook in a fresh kernel: timeouts, `allow_errors`, per-cell wall times."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

import grader
from grader.notebook import COLLECT_ROLE, number_of, role_of
from grader.outcomes import GraderError
from grader.results import CellError, CellResult

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# nbclient logs timeouts and interrupts as errors; the result reports them, so keep it quiet.
_QUIET = logging.getLogger("grader.nbclient")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


@dataclass(frozen=True)
class Budget:
    timeout: float
    cell_timeout: float


@dataclass(frozen=True)
class Execution:
    cells: tuple[CellResult, ...]
    collected: bool
    problems: tuple[str, ...]
    seconds: float


def kernel_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel imports the harness from the same `grader` package as this process."""
    env = dict(os.environ)
    env.update(MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    package_root = str(Path(grader.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env.pop("JPY_PARENT_PID", None)
    env.update(extra or {})
    return env


def execute(
    notebook: NotebookNode,
    workspace: Path,
    budget: Budget,
    environment: dict[str, str] | None = None,
    collect_source: Callable[[], str] | None = None,
) -> Execution:
    """Run every cell; a failing cell costs only itself, the collect cell always gets its turn.

    `collect_source`, when given, writes the collect cell just before it runs, so what it
    hands the kernel (hidden inputs) does not exist while the student's cells run.
    """
    started = time.perf_counter()
    deadline = started + budget.timeout
    client = NotebookClient(
        notebook,
        timeout=int(budget.cell_timeout),
        allow_errors=True,
        interrupt_on_timeout=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(workspace)}},
        log=_QUIET,
    )
    cells: list[CellResult] = []
    problems: list[str] = []
    collected = False
    log = (workspace / "kernel.log").open("wb")
    try:
        kernel_env = kernel_environment(environment)
        with log, client.setup_kernel(env=kernel_env, stdout=log, stderr=log):
            for index, cell in enumerate(notebook.cells):
                role = role_of(cell)
                if role == COLLECT_ROLE:
                    if collect_source is not None:
                        cell.source = _written(collect_source)
                    collected = _run_collect(client, cell, index, problems)
                    continue
                remaining = deadline - time.perf_counter()
                if remaining <= 0 and role is None:
                    cells.append(_not_run(cell, "the whole-notebook time limit was reached"))
                    continue
                client.timeout = int(max(1, min(budget.cell_timeout, remaining)))
                result = _run_cell(client, cell, index)
                if role is None:
                    cells.append(result)
                elif result.status != "ok":  # it runs before any student code: our fault
                    raise GraderError(
                        f"the grader's setup cell failed in the kernel: {_describe(result)}"
                    )
    except DeadKernelError as error:
        problems.append(_kernel_died(cells, notebook, error))
    except (RuntimeError, OSError, TimeoutError) as error:
        raise GraderError(f"the kernel could not be started or driven: {error}") from error
    if len(cells) < sum(1 for c in notebook.cells if number_of(c) is not None):
        cells += [_not_run(c, "not reached") for c in _student_cells(notebook)[len(cells) :]]
    return Execution(tuple(cells), collected, tuple(problems), time.perf_counter() - started)


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


def _kernel_died(cells: list[CellResult], notebook: NotebookNode, error: Exception) -> str:
    student = _student_cells(notebook)
    where = f"cell {number_of(student[len(cells)])}" if len(cells) < len(student) else "the end"
    if len(cells) < len(student):
        cell = student[len(cells)]
        died = CellError("DeadKernel", "the kernel died while running this cell")
        cells.append(
            CellResult(number_of(cell) or 0, _first_line(cell), 0.0, "error", died, cell.source)
        )
    return f"the kernel died in {where} ({error}); later cells did not run"
