"""CI outputs (JUnit XML, Gradescope results.json, GitHub step summary) from hand-made results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader import api
from grader.report import gradescope, junit, step_summary
from grader.results import CheckResult, GradeResult
from tests.conftest import NOTEBOOKS, ROOT

EXAMPLES = ROOT / "examples"


def check(check_id: str, status: str, points: float, **fields: Any) -> CheckResult:
    step, name = check_id.split(".")
    values: dict[str, Any] = {
        "id": check_id,
        "step": step,
        "step_title": f"Title of {step}",
        "title": name.replace("_", " ").capitalize(),
        "status": status,
        "points": points,
        "max_points": 2.0,
        "required": True,
        "message": f"{name}: {status}",
    }
    return CheckResult(**(values | fields))


CHECKS = (
    check("step1.loaded", "passed", 2.0),
    check("step1.one_hot", "skipped", 0.0, message="Skipped: `y_train_onehot` is missing."),
    check(
        "step3.params",
        "failed",
        0.0,
        message="Expected 1,180 trainable parameters, received 2,410.",
        expected=1180,
        received=2410,
        hint="the first Conv2D has 10 filters; the task asks for 5.",
    ),
    check("step3.layers", "submission_error", 0.0, message="Cell 4 raised ValueError.", cell=4),
    check("step3.output_shape", "passed", 2.0, message="Output shape | (None, 10) <ok>"),
)


def make_result(checks: tuple[CheckResult, ...] = CHECKS) -> GradeResult:
    return GradeResult(
        assignment="cifar10-cnn",
        title="CIFAR-10 CNN",
        notebook="student.ipynb",
        profile="quick",
        data_source="fixture",
        device="CPU",
        duration_s=41.3,
        checks=checks,
    )


def with_grader_error() -> GradeResult:
    broken = check("step3.params", "grader_error", 0.0, message="The grader failed: KeyError.")
    return make_result((*CHECKS[:2], broken, *CHECKS[3:]))


def test_junit_counts_outcomes_and_names_each_check(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "junit.xml"
    junit.write(make_result(), path)
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    counts = {k: suite.attrib[k] for k in ("name", "tests", "failures", "errors", "skipped")}
    assert counts == {
        "name": "cifar10-cnn",
        "tests": "5",
        "failures": "2",
        "errors": "0",
        "skipped": "1",
    }
    assert float(suite.attrib["time"]) == pytest.approx(41.3)
    cases = suite.findall("testcase")
    assert [c.attrib["classname"] for c in cases[1:3]] == ["cifar10-cnn.step1", "cifar10-cnn.step3"]
    assert cases[2].attrib["name"] == "Params [step3.params]"
    failure = cases[2].find("failure")
    assert failure is not None and failure.attrib["type"] == "failed"
    assert failure.attrib["message"] == "Expected 1,180 trainable parameters, received 2,410."
    assert "Expected: 1,180\nReceived: 2,410\nHint: the first Conv2D" in (failure.text or "")
    assert cases[1].find("skipped") is not None and len(cases[0]) == 0
    assert cases[3].find("failure") is not None  # the student's cell raised: a failure
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert properties["profile"] == "quick" and properties["data_source"] == "fixture"


def test_junit_grader_error_is_an_error_and_control_characters_are_dropped(
    tmp_path: Path,
) -> None:
    ansi = check("step3.layers", "submission_error", 0.0, message="\x1b[31mValueError\x1b[0m")
    result = replace(with_grader_error(), checks=(*with_grader_error().checks[:3], ansi))
    path = tmp_path / "junit.xml"
    junit.write(result, path)
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert (suite.attrib["errors"], suite.attrib["failures"]) == ("1", "1")
    cases = suite.findall("testcase")
    error, failure = cases[2].find("error"), cases[3].find("failure")
    assert error is not None and error.attrib["type"] == "grader_error"
    assert failure is not None and failure.attrib["message"] == "[31mValueError[0m"
    assert {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}["score"] == (
        "withheld"
    )


def test_gradescope_scores_and_numbers_checks_by_step(tmp_path: Path) -> None:
    path = tmp_path / "results" / "results.json"
    gradescope.write(make_result(), path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["score"] == 4.0 and data["execution_time"] == 42
    assert "Profile quick · data fixture · device CPU" in data["output"]
    assert "Score 4/10" in data["output"]
    assert [t["number"] for t in data["tests"]] == ["1.1", "1.2", "2.1", "2.2", "2.3"]
    params = data["tests"][2]
    assert params["name"] == "Title of step3: Params [step3.params]"
    assert (params["score"], params["max_score"], params["status"]) == (0.0, 2.0, "failed")
    assert params["output"].splitlines() == [
        "Expected 1,180 trainable parameters, received 2,410.",
        "Expected: 1,180",
        "Received: 2,410",
        "Hint: the first Conv2D has 10 filters; the task asks for 5.",
    ]
    assert data["tests"][0]["status"] == "passed" and data["tests"][1]["status"] == "failed"
    assert {t["visibility"] for t in data["tests"]} == {"visible"}
    assert list(path.parent.iterdir()) == [path]  # the temporary file is gone


def test_gradescope_withheld_score_is_zero_with_a_clear_message() -> None:
    data = gradescope.results(with_grader_error())
    assert data["score"] == 0
    assert gradescope.WITHHELD in data["output"].splitlines()
    assert "withheld (grader error)" in data["output"]


def test_step_summary_markdown_has_header_table_and_hints() -> None:
    text = step_summary.markdown(make_result())
    lines = text.splitlines()
    assert lines[0] == "### ❌ cifar10-cnn: score 4/10, not passed"
    assert "profile **quick**" in text and "data **fixture**" in text
    rows = [line for line in lines if line.startswith("| ") and "`step" in line]
    assert [row[2] for row in rows] == ["✅", "⏭", "❌", "❌", "✅"]
    assert "| 0/2 | Expected 1,180 trainable parameters, received 2,410. |" in rows[2]
    assert "Output shape \\| (None, 10) &lt;ok&gt;" in rows[4]  # a pipe would split the row
    assert "- **Params** (`step3.params`): the first Conv2D has 10 filters" in text


def test_step_summary_withheld_score_is_marked() -> None:
    text = step_summary.markdown(with_grader_error())
    assert text.startswith("### ⚠ cifar10-cnn: score withheld (grader error), out of 10")
    assert "| ⚠ |" in text


def test_step_summary_appends_only_inside_github_actions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not step_summary.append_to_github_summary(make_result())
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert step_summary.append_to_github_summary(make_result())
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("earlier step\n### ❌ cifar10-cnn")


def test_write_reports_writes_what_options_ask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    options = api.Options(
        html=False, junit_path=tmp_path / "junit.xml", gradescope_path=tmp_path / "gs.json"
    )
    api.write_reports(make_result(), "student", options)
    assert ET.parse(tmp_path / "junit.xml").getroot().tag == "testsuites"
    assert json.loads((tmp_path / "gs.json").read_text(encoding="utf-8"))["score"] == 4.0
    assert "cifar10-cnn" in summary.read_text(encoding="utf-8")


def stand_in_autograder(root: Path) -> None:
    """A stand-in /autograder: an empty submission folder, and this grader as `grade`."""
    (root / "submission").mkdir()
    grade = root / "venv" / "bin" / "grade"
    grade.parent.mkdir(parents=True)
    grade.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m grader "$@"\n', encoding="utf-8")
    grade.chmod(0o755)


def run_autograder(root: Path) -> dict[str, Any]:
    """The Gradescope example script; it must exit 0 and leave a results.json."""
    completed = subprocess.run(
        [str(EXAMPLES / "gradescope" / "run_autograder")],
        env={**os.environ, "AUTOGRADER_ROOT": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def test_run_autograder_writes_results_when_grading_cannot_start(tmp_path: Path) -> None:
    stand_in_autograder(tmp_path)
    assert run_autograder(tmp_path)["output"].startswith("No .ipynb notebook found")
    shutil.copy(NOTEBOOKS / "not-a-notebook.ipynb", tmp_path / "submission" / "homework.ipynb")
    results = run_autograder(tmp_path)
    assert results["score"] == 0
    assert results["output"].startswith("The grader could not use this submission:")
    assert "is not a Jupyter notebook" in results["output"]


def test_github_workflow_grades_and_uploads_reports_even_on_failure() -> None:
    workflow = yaml.safe_load((EXAMPLES / "github-actions" / "grade.yml").read_text("utf-8"))
    steps = workflow["jobs"]["grade"]["steps"]
    grade = next(step for step in steps if step.get("name") == "Grade")
    assert "--profile quick --out reports" in grade["run"]
    assert "--junit reports/junit.xml" in grade["run"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"
