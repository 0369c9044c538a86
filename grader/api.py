"""The Python API: `grade_notebook`, `selftest`, `demo`. The command line only calls these."""

from __future__ import annotations

import functools
import multiprocessing
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from nbformat import NotebookNode

from grader import batch, cluster, datasets
from grader.advice import model_advice, size_advice
from grader.artifacts import read_artifacts
from grader.checks.context import Submission
from grader.checks.registry import HiddenCall
from grader.checks.runner import run_checks
from grader.collect import collect_source
from grader.comparison import compare_steps
from grader.datasets.placement import place_data
from grader.execute import Budget, execute
from grader.harness.flavour import LEGACY_ENVIRONMENT
from grader.kernel import package_root
from grader.notebook import (
    assignment_of,
    graded_functions,
    read_notebook,
    relocated,
    sanitized,
    with_harness,
)
from grader.outcomes import GraderError, UsageError
from grader.progress import Progress
from grader.report import gradescope, junit, step_summary
from grader.results import CellResult, DataSource, GradeResult
from grader.sandbox import Isolation, Sandbox, choose_isolation, hidden_paths, python_folders
from grader.selftest import MutantOutcome, SelftestResult, mutated
from grader.spec import (
    SPEC_FILE,
    AssignmentSpec,
    DataChoice,
    ProfileName,
    find_assignment,
    list_assignments,
    load_spec,
)
from grader.training_advice import fit_advice
from grader.watchdog import GB, default_memory_bytes
from grader.workspace import Workspace, create_workspace, runs_dir

DEMO_NOTEBOOK = Path(__file__).parent / "demo" / "submission.ipynb"
# In a checkout, what the kernel must not read: solutions, mutants, reports, history.
_CHECKOUT_PRIVATE = ("reference", "assignments", "tests", "reports", "benchmarks", ".git")


@dataclass(frozen=True)
class Options:
    """How to grade; every default of the command line lives here, once."""

    profile: ProfileName = "quick"
    data: DataChoice = "auto"
    data_dir: Path | None = None
    out_dir: Path = Path("reports")
    json_path: Path | None = None
    junit_path: Path | None = None
    gradescope_path: Path | None = None
    timeout: float | None = None
    cell_timeout: float | None = None
    assignments_dirs: list[Path] = field(default_factory=list)
    html: bool = True
    sandbox: bool | None = None  # None: when bubblewrap works here
    memory_gb: float | None = None  # None: a share of the machine
    hidden: tuple[Path, ...] = ()  # more folders kept out of the kernel's sight (a class)


def grade_notebook(
    path: Path,
    assignment: str | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
) -> GradeResult:
    """Execute and grade one notebook; writes the HTML report (and JSON if asked)."""
    options = options or Options()
    notebook = read_notebook(path)
    spec = find_assignment(_assignment_id(notebook, assignment, path), options.assignments_dirs)
    result = grade_loaded(notebook, path.name, spec, options, progress)
    return write_reports(result, path.stem, options)


def _assignment_id(notebook: NotebookNode, given: str | None, path: Path) -> str:
    found = given or assignment_of(notebook)
    if found is None:
        raise UsageError(
            f"{path}: the notebook does not say which assignment it is. "
            "Hint: pass --assignment ID (see `grade list`)."
        )
    return found


def grade_loaded(
    notebook: NotebookNode,
    name: str,
    spec: AssignmentSpec,
    options: Options,
    progress: Progress | None = None,
) -> GradeResult:
    started = time.perf_counter()
    profile = spec.profiles[options.profile]
    isolation = choose_isolation(options.sandbox)
    workspace = create_workspace(runs_dir() if isolation.sandboxed else None)
    try:
        secret_seed = secrets.randbits(32)
        data = {
            ds: datasets.prepare(
                ds,
                profile.sizes.get(ds, datasets.DataSizes()),
                options.data,
                options.data_dir,
                secret_seed,
                workspace.data_dir,
                workspace.private_dir,
            )
            for ds in spec.datasets
        }
        prepared = prepared_notebook(notebook, spec, options, workspace, data, isolation)
        budget = _budget(options, spec)
        hidden: dict[str, list[HiddenCall]] = {}
        collect = functools.partial(
            collect_source,
            spec,
            options.profile,
            workspace,
            graded_functions(notebook),
            secret_seed,
            hidden,
        )
        environment = LEGACY_ENVIRONMENT if spec.keras == 2 else {}
        sandbox = _sandbox(spec, options, workspace) if isolation.sandboxed else None
        workspace.snapshot()
        run = execute(
            prepared,
            workspace.root,
            budget,
            environment,
            collect,
            sandbox,
            workspace.restore,
            progress,
        )
        artifacts = read_artifacts(workspace.artifacts_dir)
        problems = _no_code(run.cells) + run.problems
        submission = Submission(artifacts, run.cells, data, options.profile, problems, hidden)
        checks = run_checks(spec, submission)
        comparison = compare_steps(spec, submission)
        advice = (
            model_advice(submission)
            + fit_advice(artifacts.fits if artifacts else ())
            + size_advice(spec, comparison)
        )
    finally:
        workspace.remove()
    environment = artifacts.environment if artifacts else {}
    return GradeResult(
        assignment=spec.id,
        title=spec.title,
        notebook=name,
        profile=options.profile,
        data_source=_data_source(data),
        device=_device(environment),
        duration_s=round(time.perf_counter() - started, 2),
        checks=checks,
        cells=run.cells,
        fits=artifacts.fits if artifacts else (),
        environment=environment,
        problems=problems,
        comparison=comparison,
        advice=advice,
        notes=artifacts.notes if artifacts else (),
        isolation=isolation.detail,
    )


def _no_code(cells: tuple[CellResult, ...]) -> tuple[str, ...]:
    if any(cell.source.strip() for cell in cells):
        return ()
    return ("the notebook has no code: nothing was run. Hint: was the right file handed in?",)


def _budget(options: Options, spec: AssignmentSpec) -> Budget:
    profile = spec.profiles[options.profile]
    memory = options.memory_gb
    return Budget(
        timeout=options.timeout or profile.timeout,
        cell_timeout=options.cell_timeout or profile.cell_timeout,
        memory_bytes=int(memory * GB) if memory else default_memory_bytes(),
    )


def _sandbox(spec: AssignmentSpec, options: Options, workspace: Workspace) -> Sandbox:
    """The kernel sees its workspace; not the other runs, the grader's data, the solutions."""
    root = package_root()
    checkout = [root / name for name in _CHECKOUT_PRIVATE] if (root / ".git").exists() else []
    candidates = [
        runs_dir(),
        spec.root,
        spec.reference.parent,
        *options.assignments_dirs,
        options.data_dir,
        Path.home() / ".keras" / "datasets",
        Path.home() / ".keras" / "models",
        *checkout,
        *options.hidden,
    ]
    hidden = hidden_paths(candidates, root)
    return Sandbox(workspace.root, workspace.tmp_dir, hidden, (root, *python_folders()))


def prepared_notebook(
    notebook: NotebookNode,
    spec: AssignmentSpec,
    options: Options,
    workspace: Workspace,
    data: dict[str, datasets.PreparedData],
    isolation: Isolation,
) -> NotebookNode:
    """Outputs stripped, harness cells added; `/tmp` and `/content` paths rewritten to the
    run's own folders unless the sandbox shows those folders there."""
    profile = spec.profiles[options.profile]
    served = place_data(data, workspace)
    install = {
        "seed": 0,
        "keras": spec.keras,
        "deterministic": profile.deterministic,
        "max_epochs": profile.max_epochs,
        "budget_by_size": [rule.model_dump() for rule in profile.budget_by_size],
        "datasets": served.load_data,
        "downloads": served.downloads,
        "cache_dir": str(workspace.root / ".keras"),
    }
    code = sanitized(notebook)
    if not isolation.sandboxed:
        code = relocated(code, workspace.folder_map())
    return with_harness(code, install, {})


def _data_source(data: dict[str, datasets.PreparedData]) -> DataSource:
    sources = {d.source for d in data.values()}
    for source in ("fixture", "subsampled", "real"):
        if source in sources:
            return source  # type: ignore[return-value]
    return "none"


def _device(environment: dict) -> str:
    """`CPU`, or each GPU the kernel saw with the most memory it used there."""
    gpus = environment.get("gpus") or []
    peaks = environment.get("gpu_peak_bytes") or []
    if not gpus:
        return "CPU"
    named = []
    for number, name in enumerate(gpus):
        peak = peaks[number] if number < len(peaks) else None
        named.append(name if peak is None else f"{name} (peak {peak / GB:.1f} GB)")
    return ", ".join(named)


def write_reports(result: GradeResult, stem: str, options: Options) -> GradeResult:
    """Write every report asked for; in GitHub Actions, also the job summary."""
    from grader.report import html, json_report  # matplotlib loads only when reports are due

    if options.html:
        path = options.out_dir / f"{stem}.{result.assignment}.html"
        html.write(result, path)
        result = replace(result, report_path=str(path))
    if options.json_path is not None:
        json_report.write(result, options.json_path)
    if options.junit_path is not None:
        junit.write(result, options.junit_path)
    if options.gradescope_path is not None:
        gradescope.write(result, options.gradescope_path)
    step_summary.append_to_github_summary(result)
    return result


def selftest(assignment_id: str, options: Options | None = None, jobs: int = 1) -> SelftestResult:
    """Grade the reference (every check must pass) and each mutant (its checks must fail).

    With `jobs` > 1 the runs go to that many worker processes: each run is a kernel plus
    the grader's checks, independent of the others.
    """
    options = replace(options or Options(), html=False, json_path=None)
    spec = find_assignment(assignment_id, options.assignments_dirs)
    spec_file = spec.root / SPEC_FILE
    reference = read_notebook(spec.reference)
    for mutant in spec.mutants:  # a replacement that misses is a spec error: say so first
        mutated(reference, mutant, spec)
    runs = [None, *(m.id for m in spec.mutants)]
    if jobs <= 1:
        results = [_selftest_run(spec_file, options, run) for run in runs]
    else:
        context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            results = list(pool.map(functools.partial(_selftest_run, spec_file, options), runs))
    outcomes = tuple(MutantOutcome(m, r) for m, r in zip(spec.mutants, results[1:], strict=True))
    return SelftestResult(spec.id, results[0], outcomes)


def _selftest_run(spec_file: Path, options: Options, mutant_id: str | None) -> GradeResult:
    """One run of a self-test: the reference (`mutant_id` None) or one mutant of it."""
    spec = load_spec(spec_file)
    reference = read_notebook(spec.reference)
    if mutant_id is None:
        return grade_loaded(reference, spec.reference.name, spec, options)
    mutant = next(m for m in spec.mutants if m.id == mutant_id)
    return grade_loaded(mutated(reference, mutant, spec), f"mutant {mutant.id}", spec, options)


@dataclass(frozen=True)
class BatchResult:
    rows: tuple[batch.Row, ...]
    index: Path
    grades: Path
    graded_now: int  # the rest came from results of an earlier run under the same key


def grade_batch(
    paths: list[Path],
    assignment: str | None = None,
    options: Options | None = None,
    jobs: int | None = None,
    on_row: Callable[[batch.Row, bool], None] | None = None,
    scheduler: str | None = None,
    watch: batch.Watch | None = None,
) -> BatchResult:
    """Grade every notebook under `paths` into `options.out_dir`: one HTML report and one
    result file per student, `index.html` and `grades.csv`. Results already there under the
    same key are kept, so an interrupted batch resumes where it stopped.

    With `scheduler` (a Dask scheduler's address) the submissions are graded on that
    cluster's workers instead of `jobs` local worker processes.
    """
    options = options or Options()
    jobs = jobs or batch.default_jobs()
    share = default_memory_bytes(jobs) / GB
    options = replace(
        options,
        sandbox=True if options.sandbox is None else options.sandbox,
        memory_gb=options.memory_gb or share,
        hidden=(*options.hidden, *paths),
        json_path=None,
    )
    if options.sandbox:
        choose_isolation(True)  # no bubblewrap: say so before grading anything
    out = options.out_dir
    rows: dict[str, batch.Row] = {}
    pending: list[tuple[batch.Submission, str, AssignmentSpec]] = []
    title = assignment or "class"
    for submission in batch.find_submissions(paths):
        planned = _plan(submission, assignment, options)
        if isinstance(planned, batch.Row):
            rows[submission.student] = planned
            if on_row:
                on_row(planned, False)
            continue
        spec, key = planned
        title = assignment or spec.id
        kept = batch.read_row(_row_file(out, submission), key)
        if kept is not None:
            rows[submission.student] = kept
            if on_row:
                on_row(kept, True)
        else:
            pending.append((submission, key, spec))

    def done(submission: batch.Submission, key: str, row: batch.Row) -> None:
        batch.write_row(_row_file(out, submission), key, row)
        rows[submission.student] = row
        if on_row:
            on_row(row, False)

    if scheduler is None:
        grade_one = functools.partial(grade_submission, assignment, options)
        batch.run_pool([(s, k) for s, k, _ in pending], grade_one, jobs, done, watch)
    else:
        tasks = [(s, k, cluster.task_of(s, spec, options)) for s, k, spec in pending]
        cluster.run_on_cluster(tasks, scheduler, _keep_report(out, done))
    ordered = tuple(rows[student] for student in sorted(rows))
    from grader.report import gradebook  # matplotlib loads only when reports are due

    index, grades = gradebook.write(ordered, out, title)
    return BatchResult(ordered, index, grades, len(pending))


def _keep_report(
    out: Path, done: Callable[[batch.Submission, str, batch.Row], None]
) -> Callable[[batch.Submission, str, cluster.Outcome], None]:
    """Write the report a worker sent back beside the local ones, then record the row."""

    def keep(submission: batch.Submission, key: str, outcome: cluster.Outcome) -> None:
        row = outcome.row
        if outcome.report is not None and outcome.report_name is not None:
            report = out / batch.REPORTS / outcome.report_name
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_bytes(outcome.report)
            row = replace(row, report=f"{batch.REPORTS}/{outcome.report_name}")
        done(submission, key, row)

    return keep


def _row_file(out: Path, submission: batch.Submission) -> Path:
    return out / batch.RESULTS / f"{submission.student}.json"


def _plan(
    submission: batch.Submission, assignment: str | None, options: Options
) -> tuple[AssignmentSpec, str] | batch.Row:
    """The spec and cache key of a submission, or its row when it cannot be graded."""
    try:
        data = submission.path.read_bytes()
        notebook = read_notebook(submission.path)
        spec = find_assignment(
            _assignment_id(notebook, assignment, submission.path), options.assignments_dirs
        )
    except UsageError as error:
        return batch.refused(submission, error)
    key = batch.cache_key(
        data, spec, batch.options_key(options.profile, options.data, options.data_dir)
    )
    return spec, key


def grade_submission(
    assignment: str | None, options: Options, submission: batch.Submission
) -> batch.Row:
    """One student, in a worker process: every outcome is a row, never an exception."""
    student_options = replace(options, out_dir=options.out_dir / batch.REPORTS)
    try:
        notebook = read_notebook(submission.path)
        spec = find_assignment(
            _assignment_id(notebook, assignment, submission.path), options.assignments_dirs
        )
        shown = batch.worker_progress(submission.student)
        try:
            result = grade_loaded(notebook, submission.path.name, spec, student_options, shown)
        finally:
            shown.close()
        result = write_reports(result, submission.student, student_options)
    except (UsageError, GraderError) as error:
        return batch.refused(submission, error)
    except Exception as error:  # a bug in the grader: this student's row says so, the batch goes on
        return batch.Row(
            submission.student, submission.path.name, "failed", None, 0.0, f"grader bug: {error!r}"
        )
    return _row_of(submission, result, options.out_dir)


def _row_of(submission: batch.Submission, result: GradeResult, out: Path) -> batch.Row:
    steps = {step: sum(c.points for c in checks) for step, _, checks in result.steps()}
    report = Path(result.report_path).relative_to(out).as_posix() if result.report_path else None
    return batch.Row(
        student=submission.student,
        notebook=submission.path.name,
        status="graded",
        score=result.score,
        max_score=result.max_score,
        message="; ".join(result.problems),
        steps=steps,
        checks={c.id: c.status for c in result.checks},
        report=report,
        seconds=result.duration_s,
    )


def assignments(extra_dirs: list[Path] | None = None) -> dict[str, AssignmentSpec]:
    """Every assignment the grader knows, by id: the instructor's folders first."""
    return {i: load_spec(path) for i, path in list_assignments(extra_dirs).items()}


def demo(options: Options | None = None) -> GradeResult:
    """Grade the bundled sample submission, offline, with fixture data."""
    options = replace(options or Options(), data="fixture")
    return grade_notebook(DEMO_NOTEBOOK, None, options)
