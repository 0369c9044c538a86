"""The checker process: the same verdicts as checks run in the grader's own process, and a
checker that dies withholds every score with a message instead of stopping the grader."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import make_submission

from grader.checker import Checker, InProcess, checker_environment, judge, start_judge
from grader.checks.context import Submission
from grader.kernel import package_root
from grader.outcomes import GraderError
from grader.spec import find_assignment


def _tiny_cifar_model(keras: Any) -> Any:
    return keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def test_the_checker_process_reaches_the_verdicts_checks_reach_here(
    tmp_path: Path, keras: Any
) -> None:
    spec = find_assignment("cifar10-cnn", [])
    submission = make_submission(tmp_path, models={"minimal_model": _tiny_cifar_model(keras)})
    here = judge(spec, submission)
    checker = Checker()
    try:
        there = checker.submit(spec, submission).result(timeout=300)
    finally:
        checker.close()
    assert there == here
    by_id = {check.id: check for check in there.checks}
    assert by_id["step3.input_shape"].status == "passed"  # the model was loaded over there
    assert by_id["step3.params"].status == "failed"


class _Fatal:
    """Unpickled in the checker, it ends that process, as a model crashing TensorFlow would."""

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return os._exit, (3,)


def test_a_checker_that_dies_withholds_every_score_and_says_why() -> None:
    spec = find_assignment("cifar10-cnn", [])
    submission = Submission(None, (), {"cifar10": _Fatal()}, "quick")  # type: ignore[dict-item]
    checker = Checker()
    try:
        verdicts = checker.submit(spec, submission).result(timeout=300)
    finally:
        checker.close()
    assert verdicts.checks, "every check of the spec has a result"
    for check in verdicts.checks:
        assert check.status == "grader_error"
        assert check.points == 0
        assert "checker process stopped (exit code 3)" in check.message
        assert "not your fault" in (check.hint or "")


def test_checks_that_raise_in_the_checker_reach_the_grader_as_its_own_error() -> None:
    spec = find_assignment("cifar10-cnn", [])
    broken = Submission("not artifacts", (), {}, "quick")  # type: ignore[arg-type]
    checker = Checker()  # a bug of ours, not the student's: the grader's own error
    try:
        with pytest.raises(GraderError, match=r"(?s)the checks failed:.*AttributeError"):
            checker.submit(spec, broken).result(timeout=300)
    finally:
        checker.close()


def test_where_keras_is_loaded_the_checks_run_in_this_process(keras: Any) -> None:
    assert isinstance(start_judge(), InProcess)


def test_the_checker_runs_this_grader_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    environment = checker_environment()
    assert environment["CUDA_VISIBLE_DEVICES"] == "", "the GPUs stay the kernels'"
    assert environment["PYTHONPATH"].split(os.pathsep) == [str(package_root()), "/elsewhere"]
