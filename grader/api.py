"""The Python API: `grade_notebook`, `selftest`, `demo`. The command line only calls these."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from nbformat import NotebookNode

from grader import datasets
from grader.artifacts import read_artifacts
from grader.checks.context import Submission
from grader.checks.runner import run_checks
from grader.comparison import compare_steps
from grader.execute import Budget, execute
from grader.notebook import assignment_of, read_notebook, sanitized, with_harness
from grader.outcomes import UsageError
from grader.results import DataSource, GradeResult
from grader.selftest import MutantOutcome, SelftestResult, mutated
from grader.spec import (
    AssignmentSpec,
    DataChoice,
    ProfileName,
    find_assignment,
    list_assignments,
    load_spec,
)
from grader.workspace import Workspace, create_workspace

DEMO_NOTEBOOK = Path(__file__).parent / "demo" / "submission.ipynb"


@dataclass(frozen=True)
class Options:
    """How to grade; every default of the command line lives here, once."""

    profile: ProfileName = "quick"
    data: DataChoice = "auto"
    data_dir: Path | None = None
    out_dir: Path = Path("reports")
    json_path: Path | None = None
    timeout: float | None = None
    cell_timeout: float | None = None
    assignments_dirs: list[Path] = field(default_factory=list)
    html: bool = True


def grade_notebook(
    path: Path, assignment: str | None = None, options: Options | None = None
) -> GradeResult:
    """Execute and grade one notebook; writes the HTML report (and JSON if asked)."""
    options = options or Options()
    notebook = read_notebook(path)
    spec = find_assignment(_assignment_id(notebook, assignment, path), options.assignments_dirs)
    result = grade_loaded(notebook, path.name, spec, options)
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
    notebook: NotebookNode, name: str, spec: AssignmentSpec, options: Options
) -> GradeResult:
    started = time.perf_counter()
    profile = spec.profiles[options.profile]
    workspace = create_workspace()
    try:
        secret_seed = secrets.randbits(32)
        data = {
            ds: datasets.prepare(
                ds,
                profile.sizes.get(ds, datasets.DataSizes()),
                options.data,
                options.data_dir,
                secret_seed,
            )
            for ds in spec.datasets
        }
        prepared = _prepared_notebook(notebook, spec, options, workspace, data, secret_seed)
        budget = Budget(
            options.timeout or profile.timeout, options.cell_timeout or profile.cell_timeout
        )
        run = execute(prepared, workspace.root, budget)
        artifacts = read_artifacts(workspace.artifacts_dir)
        submission = Submission(artifacts, run.cells, data, options.profile, run.problems)
        checks = run_checks(spec, submission)
        comparison = compare_steps(spec, submission)
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
        problems=run.problems,
        comparison=comparison,
    )


def _prepared_notebook(
    notebook: NotebookNode,
    spec: AssignmentSpec,
    options: Options,
    workspace: Workspace,
    data: dict[str, datasets.PreparedData],
    secret_seed: int,
) -> NotebookNode:
    profile = spec.profiles[options.profile]
    install = {
        "seed": 0,
        "deterministic": profile.deterministic,
        "max_epochs": profile.max_epochs,
        "budget_by_size": [rule.model_dump() for rule in profile.budget_by_size],
        "datasets": {n: str(datasets.write_served(d, workspace.data_dir)) for n, d in data.items()},
    }
    collect = {
        "out_dir": str(workspace.artifacts_dir),
        "variables": _wanted(spec, options, "variable"),
        "files": _wanted(spec, options, "file"),
        "calls": _hidden_calls(spec, options, secret_seed),
    }
    return with_harness(sanitized(notebook), install, collect)


def _wanted(spec: AssignmentSpec, options: Options, field: str) -> list[str]:
    """What the collect cell must export for the checks: variable names, or file names."""
    names = {
        getattr(c.params(options.profile), field, None)
        for _, _, c in spec.iter_checks(options.profile)
    }
    return sorted(n for n in names if n)


def _hidden_calls(spec: AssignmentSpec, options: Options, secret_seed: int) -> list[dict]:
    """Arguments for function checks, drawn from the run's secret seed; only collect sees them."""
    rng = np.random.default_rng(secret_seed)
    calls = []
    for check_id, _, check_spec in spec.iter_checks(options.profile):
        params = check_spec.params(options.profile)
        if hasattr(params, "hidden_calls"):
            calls.append(
                {
                    "check": check_id,
                    "function": params.function,
                    "args": params.hidden_calls(rng),
                    "input_shape": params.input_shape,
                }
            )
    return calls


def _data_source(data: dict[str, datasets.PreparedData]) -> DataSource:
    sources = {d.source for d in data.values()}
    for source in ("fixture", "subsampled", "real"):
        if source in sources:
            return source  # type: ignore[return-value]
    return "none"


def _device(environment: dict) -> str:
    gpus = environment.get("gpus") or []
    return ", ".join(gpus) if gpus else "CPU"


def write_reports(result: GradeResult, stem: str, options: Options) -> GradeResult:
    from grader.report import html, json_report  # matplotlib loads only when reports are due

    if options.html:
        path = options.out_dir / f"{stem}.{result.assignment}.html"
        html.write(result, path)
        result = replace(result, report_path=str(path))
    if options.json_path is not None:
        json_report.write(result, options.json_path)
    return result


def selftest(assignment_id: str, options: Options | None = None) -> SelftestResult:
    """Grade the reference (every check must pass) and each mutant (its checks must fail)."""
    options = replace(options or Options(), html=False, json_path=None)
    spec = find_assignment(assignment_id, options.assignments_dirs)
    reference = read_notebook(spec.reference)
    reference_result = grade_loaded(reference, spec.reference.name, spec, options)
    outcomes = tuple(
        MutantOutcome(m, grade_loaded(mutated(reference, m, spec), f"mutant {m.id}", spec, options))
        for m in spec.mutants
    )
    return SelftestResult(spec.id, reference_result, outcomes)


def assignments(extra_dirs: list[Path] | None = None) -> dict[str, AssignmentSpec]:
    """Every assignment the grader knows, by id: the instructor's folders first."""
    return {i: load_spec(path) for i, path in list_assignments(extra_dirs).items()}


def demo(options: Options | None = None) -> GradeResult:
    """Grade the bundled sample submission, offline, with fixture data."""
    options = replace(options or Options(), data="fixture")
    return grade_notebook(DEMO_NOTEBOOK, None, options)
