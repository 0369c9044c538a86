"""Shared fixtures: Keras imported once, and submissions built from tiny models in memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader import api
from grader.artifacts import Artifacts, ModelArtifact, VariableArtifact
from grader.checks.context import Submission
from grader.checks.runner import run_check
from grader.results import CheckResult, FitRecord
from grader.selftest import SelftestResult
from grader.spec import CheckSpec, StepSpec

ROOT = Path(__file__).parent.parent
NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture(scope="session")
def cifar_selftest() -> SelftestResult:
    """The CIFAR-10 self-test: the reference and every mutant graded (about 12 kernel runs)."""
    return api.selftest("cifar10-cnn")


@pytest.fixture(scope="session")
def keras() -> Any:
    import keras

    return keras


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
