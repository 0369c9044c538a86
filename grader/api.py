"""The Python API: `grade_notebook`, `selftest`, `demo`. The command line only calls these."""

from __future__ import annotations

import functools
import multiprocessing
import secrets
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from nbformat import NotebookNode

from grader import datasets
from grader.artifacts import read_artifacts
from grader.checker import start_judge
from grader.checks.context import Submission
from grader.checks.registry import HiddenCall
from grader.collect import collect_source
from grader.cores import share_cores
from grader.datasets.holdouts import Holdouts
from grader.datasets.placement import place_data
from grader.execute import Budget, execute
from grader.harness.flavour import LEGACY_ENVIRONMENT
from grader.keras_import import import_keras
from grader.kernel import package_root
from grader.notebook import (
    assignment_of,
    graded_functions,
    read_notebook,
    relocated,
    sanitized,
    with_harness,
)
from grader.outcomes import UsageError
from grader.progress import Progress
from grader.report import gradescope, junit, plots, step_summary
from grader.results import CellResult, CheckResult, DataSource, GradeResult
from grader.sandbox import Isolation, Sandbox, choose_isolation, hidden_paths, python_folders
from grader.selftest import (
    MutantOutcome,
    SelftestResult,
    build_only,
    is_build_only,
    mutated,
    training_checks,
)
from grader.spec import (
    SPEC_FILE,
    AssignmentSpec,
    DataChoice,
    ProfileName,
    find_assignment,
    list_assignments,
    load_spec,
)
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
    cache_dir: Path | None = None  # a batch's kept runs and drawn figures


def grade_notebook(
    path: Path,
    assignment: str | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
) -> GradeResult:
    """Execute and grade one notebook; writes the HTML report (and JSON if asked)."""
    options = options or Options()
    notebook = read_notebook(path)
    spec = find_assignment(assignment_id(notebook, assignment, path), options.assignments_dirs)
    result = grade_loaded(notebook, path.name, spec, options, progress)
    return write_reports(result, path.stem, options)


def assignment_id(notebook: NotebookNode, given: str | None, path: Path) -> str:
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
    phases = _Phases(started)
    isolation = choose_isolation(options.sandbox)
    workspace = create_workspace(runs_dir() if isolation.sandboxed else None)
    judge = start_judge()  # before the data: a checker process loads Keras meanwhile
    holdouts: Holdouts | None = None
    try:
        secret_seed = secrets.randbits(32)
        data, holdouts = _served_data(spec, options, workspace, secret_seed)
        prepared = prepared_notebook(notebook, spec, options, workspace, data, isolation)
        phases.lap("data")
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
        if options.html:
            plots.load_ahead()
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
        phases.lap("notebook")
        artifacts = read_artifacts(workspace.artifacts_dir)
        problems = _no_code(run.cells) + run.problems
        data = holdouts.attach(data)
        named = spec.named_variables
        submission = Submission(
            artifacts, run.cells, data, options.profile, problems, hidden, claimed=named
        )
        judging = judge.submit(spec, submission)
        if options.html and artifacts:
            plots.draw_ahead(artifacts.fits)  # the report's figures, while the checks run
        verdicts = judging.result()
        phases.lap("checks")
    finally:
        judge.close()
        if holdouts is not None:
            holdouts.close()
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
        checks=verdicts.checks,
        cells=run.cells,
        fits=artifacts.fits if artifacts else (),
        environment=environment,
        problems=problems + _other_task(spec, verdicts.checks),
        comparison=verdicts.comparison,
        advice=verdicts.advice,
        notes=artifacts.notes if artifacts else (),
        isolation=isolation.detail,
        phases=phases.seconds,
    )


def _served_data(
    spec: AssignmentSpec, options: Options, workspace: Workspace, secret_seed: int
) -> tuple[dict[str, datasets.PreparedData], Holdouts]:
    """Each dataset's served part, made now; the held-out parts, drawn while the notebook
    runs."""
    profile = spec.profiles[options.profile]
    data: dict[str, datasets.PreparedData] = {}
    draws: dict[str, datasets.HoldoutDraw] = {}
    for name in spec.datasets:
        sizes = profile.sizes.get(name, datasets.DataSizes())
        data[name], draws[name] = datasets.prepare_served(
            name,
            sizes,
            options.data,
            options.data_dir,
            secret_seed,
            workspace.data_dir,
            workspace.private_dir,
        )
    return data, Holdouts(draws)


class _Phases:
    """Where a run's time goes: the seconds of each phase, in order."""

    def __init__(self, started: float) -> None:
        self.seconds: dict[str, float] = {}
        self.last = started

    def lap(self, name: str) -> None:
        """The phase `name` ends now."""
        now = time.perf_counter()
        self.seconds[name] = round(now - self.last, 2)
        self.last = now


def _other_task(spec: AssignmentSpec, checks: tuple[CheckResult, ...]) -> tuple[str, ...]:
    """A notebook in which no step of the assignment was found: likely another task's."""
    absent = [c for c in checks if c.status == "skipped" and "not found" in c.message]
    if not checks or any(c.status == "passed" for c in checks) or len(absent) < len(checks) / 2:
        return ()
    steps = sorted({c.step for c in absent}, key=[s.id for s in spec.steps].index)
    return (
        f"none of the {len(spec.steps)} steps of `{spec.id}` was found in this notebook "
        f"(missing: {', '.join(steps)}). Hint: is it the notebook of this assignment? Grade "
        "it with `--assignment ID` (`grade list` shows them).",
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
        "min_steps": profile.min_steps,
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
        figures = options.cache_dir / "figures" if options.cache_dir else None
        html.write(result, path, figures)
        result = replace(result, report_path=str(path))
    if options.json_path is not None:
        json_report.write(result, options.json_path)
    if options.junit_path is not None:
        junit.write(result, options.junit_path)
    if options.gradescope_path is not None:
        gradescope.write(result, options.gradescope_path)
    step_summary.append_to_github_summary(result)
    return result


# One run of a self-test: a mutant's id (None: the reference), and whether it is build-only.
_Run = tuple[str | None, bool]


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
    built = [m for m in spec.mutants if is_build_only(spec, m)]
    runs: list[_Run] = [(None, False), *((m.id, m in built) for m in spec.mutants)]
    if built:  # the reference build-only: what cutting training alone would fail
        runs.append((None, True))
    runs.sort(key=lambda run: run[1])  # the longest first: trained runs, then build-only ones
    if jobs <= 1:
        results = [_selftest_run(spec_file, options, run) for run in runs]
    else:
        context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
        with ProcessPoolExecutor(
            jobs, mp_context=context, initializer=_start_selftest_worker, initargs=(jobs,)
        ) as pool:
            results = list(pool.map(functools.partial(_selftest_run, spec_file, options), runs))
    by_run = dict(zip(runs, results, strict=True))
    training = training_checks(spec)
    outcomes = tuple(
        MutantOutcome(m, by_run[m.id, m in built], training if m in built else frozenset())
        for m in spec.mutants
    )
    return SelftestResult(
        spec.id, by_run[None, False], outcomes, by_run.get((None, True)), training
    )


def _start_selftest_worker(jobs: int) -> None:
    """A self-test worker takes its share of the cores, then loads Keras for its checks."""
    share_cores(jobs)
    import_keras()


def _selftest_run(spec_file: Path, options: Options, run: _Run) -> GradeResult:
    """One run of a self-test: the reference or one mutant of it, trained or build-only."""
    mutant_id, built = run
    spec = load_spec(spec_file)
    reference = read_notebook(spec.reference)
    graded = build_only(spec, options.profile) if built else spec
    if mutant_id is None:
        name = f"{spec.reference.name} (build-only)" if built else spec.reference.name
        return grade_loaded(reference, name, graded, options)
    mutant = next(m for m in spec.mutants if m.id == mutant_id)
    return grade_loaded(mutated(reference, mutant, spec), f"mutant {mutant.id}", graded, options)


def assignments(extra_dirs: list[Path] | None = None) -> dict[str, AssignmentSpec]:
    """Every assignment the grader knows, by id: the instructor's folders first."""
    return {i: load_spec(path) for i, path in list_assignments(extra_dirs).items()}


def demo(options: Options | None = None) -> GradeResult:
    """Grade the bundled sample submission, offline, with fixture data."""
    options = replace(options or Options(), data="fixture")
    return grade_notebook(DEMO_NOTEBOOK, None, options)
