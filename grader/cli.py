"""The `grade` command. Thin: parses flags, calls `grader.api`, prints, sets the exit code.

Exit codes: 0 every required check passed; 1 some did not; 2 unusable input (unreadable
notebook, unknown assignment, bad spec or flags); 3 grader error.
"""

from __future__ import annotations

import atexit
import gc
import json
import sys
import traceback
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from grader import __version__, api, batch, classroom, explain, progress
from grader.outcomes import GraderError, UsageError
from grader.report.terminal import (
    print_batch_row,
    print_batch_summary,
    print_selftest,
    print_summary,
)

EXIT_USAGE, EXIT_GRADER = 2, 3
_SUBCOMMANDS = {"notebook", "batch", "selftest", "list", "demo", "explain", "schema"}
_TOP_LEVEL_FLAGS = {"--help", "-h", "--version"}

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Grade Keras/TensorFlow homework notebooks: `grade NOTEBOOK.ipynb`.",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Profile(str, Enum):
    quick = "quick"
    full = "full"


class DataSource(str, Enum):
    auto = "auto"
    real = "real"
    fixture = "fixture"


ProfileOpt = Annotated[Profile, typer.Option(help="quick: self-check; full: final grade.")]
DataOpt = Annotated[DataSource, typer.Option(help="real data, synthetic fixture, or auto.")]
DataDirOpt = Annotated[Path | None, typer.Option(help="Folder with the real datasets.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for the HTML report.")]
TimeoutOpt = Annotated[float | None, typer.Option(help="Whole-run limit, seconds.")]
CellTimeoutOpt = Annotated[float | None, typer.Option(help="Per-cell limit, seconds.")]
MemoryOpt = Annotated[
    float | None,
    typer.Option(help="Memory limit of the kernel, GB; default: 3/4 of the machine's memory."),
]
SandboxOpt = Annotated[
    bool | None,
    typer.Option(
        "--sandbox/--no-sandbox",
        help="Run the kernel in bubblewrap; default: when bubblewrap works on this machine.",
        show_default=False,
    ),
]
AssignmentsOpt = Annotated[
    list[Path] | None, typer.Option("--assignments", help="Extra folder of assignments.")
]


def _run(action: Callable[[], int]) -> None:
    """Turn every failure into a message and an exit code; never a traceback."""
    try:
        code = action()
    except UsageError as error:
        err.print(f"[red]error:[/] {escape(str(error))}")
        code = EXIT_USAGE
    except GraderError as error:
        err.print(f"[magenta]grader error:[/] {escape(str(error))}")
        code = EXIT_GRADER
    except KeyboardInterrupt:
        err.print("interrupted")
        code = 130
    except Exception as error:  # our bug: say so plainly, keep the details for the report
        detail = "".join(traceback.format_exception(error)[-3:])
        err.print(f"[magenta]grader error (a bug in the grader):[/] {escape(detail)}")
        code = EXIT_GRADER
    raise typer.Exit(code)


def _options(
    profile: Profile,
    data: DataSource,
    data_dir: Path | None,
    out: Path,
    assignments: list[Path] | None,
    **extra: object,
) -> api.Options:
    return api.Options(
        profile=profile.value,
        data=data.value,
        data_dir=data_dir,
        out_dir=out,
        assignments_dirs=list(assignments or []),
        **extra,
    )  # type: ignore[arg-type]


DEFAULTS = api.Options()
DEFAULT_PROFILE = Profile(DEFAULTS.profile)
DEFAULT_DATA = DataSource(DEFAULTS.data)


@app.command("notebook")
def grade_notebook(
    notebook: Path,
    assignment: Annotated[
        str | None, typer.Option(help="Assignment id; default: metadata.")
    ] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    data: DataOpt = DEFAULT_DATA,
    data_dir: DataDirOpt = DEFAULTS.data_dir,
    out: OutOpt = DEFAULTS.out_dir,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write JSON here.")] = None,
    junit_path: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML here (CI test reports).")
    ] = None,
    gradescope_path: Annotated[
        Path | None, typer.Option("--gradescope", help="Write Gradescope results.json here.")
    ] = None,
    timeout: TimeoutOpt = None,
    cell_timeout: CellTimeoutOpt = None,
    memory: MemoryOpt = None,
    sandbox: SandboxOpt = None,
    assignments: AssignmentsOpt = None,
) -> None:
    """Grade one notebook (`grade NOTEBOOK` is short for `grade notebook NOTEBOOK`)."""
    options = _options(
        profile,
        data,
        data_dir,
        out,
        assignments,
        json_path=json_path,
        junit_path=junit_path,
        gradescope_path=gradescope_path,
        timeout=timeout,
        cell_timeout=cell_timeout,
        memory_gb=memory,
        sandbox=sandbox,
    )

    def action() -> int:
        shown = progress.for_terminal()
        try:
            result = api.grade_notebook(notebook, assignment, options, shown)
        finally:
            shown.close()
        print_summary(result)
        return result.exit_code

    _run(action)


@app.command()
def selftest(
    assignment_ids: Annotated[list[str] | None, typer.Argument(help="Default: all.")] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    data: DataOpt = DataSource.fixture,
    data_dir: DataDirOpt = None,
    assignments: AssignmentsOpt = None,
    jobs: Annotated[int, typer.Option(min=1, help="Runs at once (worker processes).")] = 1,
) -> None:
    """Run each assignment's reference and mutants: proves every check can fail."""
    options = _options(profile, data, data_dir, DEFAULTS.out_dir, assignments)

    def action() -> int:
        ids = assignment_ids or list(api.assignments(options.assignments_dirs))
        results = [api.selftest(i, options, jobs) for i in ids]
        for result in results:
            print_selftest(result)
        return 0 if all(r.ok for r in results) else 1

    _run(action)


@app.command("batch")
def batch_command(
    paths: Annotated[list[Path], typer.Argument(help="Notebooks, or folders searched for them.")],
    assignment: Annotated[
        str | None, typer.Option(help="Assignment id; default: each notebook's metadata.")
    ] = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    data: DataOpt = DEFAULT_DATA,
    data_dir: DataDirOpt = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for reports, results and the gradebook.")
    ] = Path("reports/batch"),
    jobs: Annotated[
        int | None,
        typer.Option(min=1, help="Notebooks at once; default: as the cores and memory allow."),
    ] = None,
    timeout: TimeoutOpt = None,
    cell_timeout: CellTimeoutOpt = None,
    memory: MemoryOpt = None,
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox/--no-sandbox", help="Run each kernel in bubblewrap (required)."),
    ] = True,
    scheduler: Annotated[
        str | None,
        typer.Option(help="A Dask scheduler (tcp://HOST:PORT): grade on its workers."),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option(help="Kept runs, for re-scoring without executing; default: OUT/cache."),
    ] = None,
    assignments: AssignmentsOpt = None,
) -> None:
    """Grade a class: every notebook found, N at a time; resumes where it stopped, and
    re-scores kept runs when only points or thresholds changed."""
    options = _options(
        profile,
        data,
        data_dir,
        out,
        assignments,
        timeout=timeout,
        cell_timeout=cell_timeout,
        memory_gb=memory,
        sandbox=sandbox,
        cache_dir=cache,
    )

    def action() -> int:
        console = Console(stderr=True, soft_wrap=True, highlight=False)
        board = None
        if console.is_terminal:
            workers = jobs or batch.default_jobs()
            board = progress.Board(len(batch.find_submissions(paths)), workers, console)

        def on_row(row: batch.Row, source: batch.Source) -> None:
            if board is not None:
                board.finished(row.seconds if source == "graded" else None)
            print_batch_row(row, source, console)

        watch = board.update if board is not None else None
        try:
            result = classroom.grade_batch(
                paths, assignment, options, jobs, on_row, scheduler, watch
            )
        finally:
            if board is not None:
                board.close()
        print_batch_summary(result)
        return 0 if all(row.status == "graded" for row in result.rows) else 1

    _run(action)


@app.command("list")
def list_command(assignments: AssignmentsOpt = None) -> None:
    """List the assignments the grader knows."""

    def action() -> int:
        for assignment_id, spec in api.assignments(list(assignments or [])).items():
            typer.echo(f"{assignment_id:<24} {spec.title}")
        return 0

    _run(action)


@app.command()
def demo(out: OutOpt = DEFAULTS.out_dir) -> None:
    """Grade the bundled sample submission (two typical mistakes), offline."""

    def action() -> int:
        result = api.demo(api.Options(out_dir=out))
        print_summary(result)
        typer.echo(f"\nOpen the report: {Path(result.report_path or '').resolve()}")
        return 0

    _run(action)


@app.command("explain")
def explain_command(
    check: Annotated[str, typer.Argument(help="A check name (params) or id (step3.params).")],
    assignment: Annotated[
        str | None, typer.Option(help="Show the check's arguments in this assignment.")
    ] = None,
    assignments: AssignmentsOpt = None,
) -> None:
    """Say what a check verifies and which parameters it takes."""

    def action() -> int:
        typer.echo(explain.explain(check, assignment, list(assignments or [])))
        return 0

    _run(action)


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write it here; default: print.")
    ] = None,
) -> None:
    """Print the JSON Schema of assignment.yaml, for editors."""

    def action() -> int:
        text = json.dumps(explain.assignment_schema(), indent=2) + "\n"
        if out is None:
            typer.echo(text, nl=False)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        return 0

    _run(action)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"grade {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    """Grade Keras/TensorFlow homework notebooks."""


def main() -> None:
    """Entry point: `grade NOTEBOOK` is short for `grade notebook NOTEBOOK`."""
    # Registered first, so it runs last: the objects left then are frozen out of the cyclic
    # collection Python runs at exit, which took 0.6 s of a self-check for nothing (the
    # process is ending; reference counting still closes files and finalizes objects).
    atexit.register(gc.freeze)
    args = sys.argv[1:]
    if args and args[0] not in _SUBCOMMANDS and args[0] not in _TOP_LEVEL_FLAGS:
        args = ["notebook", *args]
    app(args=args, prog_name="grade")
