"""Shared fixtures: Keras imported once, and submissions built from tiny models in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader import api
from grader.artifacts import Artifacts, ModelArtifact, VariableArtifact, read_artifacts
from grader.checks.context import Submission
from grader.checks.runner import run_check
from grader.keras_import import import_keras
from grader.results import CheckResult, FitRecord
from grader.selftest import SelftestResult
from grader.spec import CheckSpec, StepSpec

ROOT = Path(__file__).parent.parent
NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture(autouse=True)
def _no_github_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run in GitHub Actions too: keep their gradings out of that job's own summary."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture(scope="session")
def cifar_selftest() -> SelftestResult:
    """The CIFAR-10 self-test: the reference and every mutant graded (12 kernel runs, three
    at a time)."""
    return api.selftest("cifar10-cnn", jobs=3)


@pytest.fixture(scope="session", autouse=True)
def keras() -> Any:
    """Keras, loaded once for the session: gradings in this process then run their checks
    here (see `grader.checker`); `grade` run as a command starts its checker process."""
    return import_keras()


def make_submission(
    folder: Path,
    models: dict[str, Any] | None = None,
    variables: dict[str, Any] | None = None,
    fits: tuple[FitRecord, ...] = (),
    data: dict | None = None,
) -> Submission:
    """A submission as the collect cell would leave it, from in-memory models and arrays."""
    (folder / "models").mkdir(parents=True, exist_ok=True)
    model_entries = {}
    for name, model in (models or {}).items():
        path = folder / "models" / f"{name}.keras"
        model.save(path)
        model_entries[name] = ModelArtifact(name, path, None, (name,))
    variable_entries = {}
    for name, value in (variables or {}).items():
        path = folder / f"{name}.npy"
        np.save(path, np.asarray(value))
        variable_entries[name] = VariableArtifact(name, True, "ndarray", path)
    artifacts = Artifacts(folder, model_entries, fits, variable_entries)
    return Submission(artifacts, (), data or {}, "quick")


def grade_one(
    submission: Submission, check: str, args: dict[str, Any], model: str | None = "model"
) -> CheckResult:
    step = StepSpec(id="step", title="a step", model=model, checks=[])
    return run_check(f"step.{check}", step, CheckSpec(check=check, args=args), submission)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`grade ARGS` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "grader", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def called_on_hidden_inputs(
    tmp_path: Path, check: str, args: dict[str, Any], namespace: dict[str, Any], seed: int = 7
) -> Submission:
    """A function check's collect step run in this process, as the kernel runs it: the
    grader makes the hidden inputs, the notebook's `namespace` is called, artifacts read back."""
    from grader.checks.registry import get_check
    from grader.harness.calls import export_calls
    from grader.harness.export import MANIFEST

    definition = get_check(check)
    assert definition is not None
    params = definition.params(**args)
    hidden_folder = tmp_path / "hidden"
    hidden_folder.mkdir()
    hidden = params.hidden_calls(np.random.default_rng(seed), hidden_folder)
    call = {
        "check": f"step.{check}",
        "functions": [params.function],
        "args": [c.args for c in hidden],
        "kind": params.kind,
        "input_shape": params.input_shape,
    }
    out = tmp_path / "artifacts"
    out.mkdir()
    calls = export_calls(out, [call], namespace)
    manifest = {"models": {}, "fits": [], "variables": {}, "globals": [], "calls": calls}
    (out / MANIFEST).write_text(json.dumps(manifest))
    return Submission(read_artifacts(out), (), {}, "quick", hidden={f"step.{check}": hidden})
