"""Whole notebooks through the whole pipeline, one kernel each, on fixture data.

Scenario notebooks live in tests/notebooks/; variants of the reference are built here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from grader import api
from grader.results import GradeResult
from grader.selftest import SelftestResult
from tests.conftest import NOTEBOOKS, ROOT, run_cli

pytestmark = pytest.mark.slow
REFERENCE = ROOT / "reference" / "cifar10-cnn.ipynb"


def grade(path: Path, out: Path, **options: object) -> GradeResult:
    settings = api.Options(
        data="fixture", out_dir=out, json_path=out / f"{path.stem}.json", **options
    )  # type: ignore[arg-type]
    return api.grade_notebook(path, None, settings)


EARLY_STEPS = {f"step{n}" for n in range(1, 8)}


def early(result: GradeResult) -> dict[str, str]:
    """Statuses of the checks of steps 1-7, which the scenario notebooks cover."""
    return {c.id: c.status for c in result.checks if c.step in EARLY_STEPS}


def variant(tmp_path: Path, after: str, source: str) -> Path:
    """Steps 1-7 of the reference, with a cell `source` inserted after the first cell that
    contains `after` (steps 1-7 keep these scenario runs short)."""
    notebook = nbformat.read(REFERENCE, as_version=4)
    end = next(i for i, c in enumerate(notebook.cells) if c.source.startswith("## Step 8"))
    notebook.cells = notebook.cells[:end]
    index = next(i for i, c in enumerate(notebook.cells) if after in c.source)
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    path = tmp_path / "variant.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def reference(
    cifar_selftest: SelftestResult, tmp_path_factory: pytest.TempPathFactory
) -> tuple[GradeResult, Path]:
    """The self-test's grading of the reference (one kernel run for both), with its reports."""
    out = tmp_path_factory.mktemp("reference")
    options = api.Options(out_dir=out, json_path=out / "cifar10-cnn.json")
    return api.write_reports(cifar_selftest.reference, "reference", options), out


def test_reference_passes_every_check(reference: tuple[GradeResult, Path]) -> None:
    result, _ = reference
    assert [c.id for c in result.checks if c.status != "passed"] == []
    assert result.exit_code == 0 and result.score == result.max_score
    assert (result.profile, result.data_source, result.device) == ("quick", "fixture", "CPU")


def test_reference_training_is_capped_and_timed(reference: tuple[GradeResult, Path]) -> None:
    result, _ = reference
    fits = {fit.model: fit for fit in result.fits}
    assert len(fits) == 8
    minimal, large = fits["minimal_model"], fits["model_4blocks"]
    assert (minimal.epochs_requested, len(minimal.epochs), minimal.samples_cap) == (150, 20, None)
    assert (large.epochs_requested, len(large.epochs), large.samples_cap) == (50, 2, 500)
    assert all(e.seconds > 0 and "val_accuracy" in e.metrics for e in minimal.epochs)


def test_reference_report_compares_the_steps(reference: tuple[GradeResult, Path]) -> None:
    result, _ = reference
    rows = {row.step: row for row in result.comparison}
    assert list(rows) == [
        "step3",
        "step8",
        "step9-sigmoid",
        "step9-relu",
        "step9-four",
        "step10",
        "step11",
        "step12",
    ]
    assert (rows["step3"].params, rows["step8"].params) == (1180, 7390)
    assert rows["step8"].mean_epoch_seconds and rows["step3"].final["val_accuracy"] > 0.1
    page = Path(result.report_path or "").read_text()
    table = page.split('class="comparison"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 8
    assert page.count('class="curves"') == 8


def test_the_step_12_model_classifies_the_cat_photo(reference: tuple[GradeResult, Path]) -> None:
    result, _ = reference
    check = next(c for c in result.checks if c.id == "step13.any_size")
    assert check.status == "passed"
    assert re.search(
        r"cat photo 32×48 → top 3: \w+ 0\.\d\d, \w+ 0\.\d\d, \w+ 0\.\d\d", check.message
    )
    assert all(c.seconds >= 0 and c.status == "ok" for c in result.cells)


def test_json_result_has_the_contract_fields(reference: tuple[GradeResult, Path]) -> None:
    _, out = reference
    data = json.loads((out / "cifar10-cnn.json").read_text())
    for key in (
        "assignment",
        "profile",
        "data_source",
        "device",
        "score",
        "max_score",
        "passed",
        "duration_s",
        "checks",
        "cells",
        "fits",
        "environment",
    ):
        assert key in data
    check = data["checks"][0]
    assert {
        "id",
        "step",
        "status",
        "points",
        "max_points",
        "expected",
        "received",
        "message",
        "hint",
    } <= set(check)
    epoch = data["fits"][0]["epochs"][0]
    assert {"epoch", "seconds", "loss", "accuracy", "val_loss", "val_accuracy"} <= set(epoch)
    assert data["environment"]["tensorflow"]


def test_html_report_has_curves_and_epoch_timings(reference: tuple[GradeResult, Path]) -> None:
    result, _ = reference
    page = Path(result.report_path or "").read_text()
    assert 'class="curves"' in page and 'class="epoch-times"' in page
    assert "data:image/png;base64," in page and 'class="epoch-table"' in page


def test_an_error_in_one_cell_costs_only_the_checks_that_need_it(tmp_path: Path) -> None:
    result = grade(NOTEBOOKS / "error-in-one-cell.ipynb", tmp_path)
    failing = {i: s for i, s in early(result).items() if s != "passed"}
    assert failing == {"step5.probabilities": "submission_error"}
    check = next(c for c in result.checks if c.id == "step5.probabilities")
    cell = next(c for c in result.cells if c.index == check.cell)
    assert cell.status == "error" and cell.error and cell.error.ename == "ValueError"
    assert f"cell {cell.index} raised ValueError" in check.message
    assert result.exit_code == 1


def test_renamed_model_is_found_by_its_structure(tmp_path: Path) -> None:
    result = grade(NOTEBOOKS / "missing-model-variable.ipynb", tmp_path)
    layers = next(c for c in result.checks if c.id == "step3.layers")
    assert layers.status == "passed"
    assert "matched model variable `net`" in layers.message


def test_a_cell_that_does_not_parse_fails_alone(tmp_path: Path) -> None:
    result = grade(NOTEBOOKS / "syntax-error-cell.ipynb", tmp_path)
    assert set(early(result).values()) == {"passed"}
    assert [c.error.ename for c in result.cells if c.error] == ["SyntaxError"]


def test_colab_lines_are_handled_by_policy(tmp_path: Path) -> None:
    result = grade(NOTEBOOKS / "colab-style.ipynb", tmp_path)
    assert set(early(result).values()) == {"passed"}
    assert all(c.status == "ok" for c in result.cells)


def test_a_cell_over_its_time_limit_is_stopped_and_the_rest_still_runs(tmp_path: Path) -> None:
    """Without the sandbox too (the hostile suite covers it sandboxed)."""
    path = Path(__file__).parent / "notebooks" / "hostile" / "sleep-forever.ipynb"
    result = grade(path, tmp_path, cell_timeout=3, sandbox=False)
    assert [c.status for c in result.cells][-2:] == ["timeout", "ok"]
    (parse,) = [c for c in result.checks if c.id == "parse.parsed_csv"]
    assert parse.status == "passed"
    assert result.isolation == "not isolated: --no-sandbox was given"


def test_a_dying_kernel_costs_only_the_cell_it_died_in(tmp_path: Path) -> None:
    """A fresh kernel runs the notebook again without that cell: the checks before it pass."""
    path = variant(tmp_path, "minimal_model.compile(", "import os\nos._exit(1)")
    result = grade(path, tmp_path)
    (died,) = [c for c in result.cells if c.error and c.error.ename == "DeadKernel"]
    assert any(f"the kernel died in cell {died.index}" in p for p in result.problems)
    assert any(f"again without cell {died.index}" in p for p in result.problems)
    assert set(early(result).values()) == {"passed"}
    assert result.exit_code == 1


def test_input_fails_at_once_instead_of_hanging(tmp_path: Path) -> None:
    path = variant(tmp_path, "n_params = ", "answer = input('your name?')")
    result = grade(path, tmp_path, cell_timeout=60)
    (failed,) = [c for c in result.cells if c.status != "ok"]
    assert failed.status == "error" and failed.seconds < 30


def test_demo_finds_the_two_typical_mistakes(tmp_path: Path) -> None:
    completed = run_cli("demo", "--out", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert "step3" in completed.stdout and "Open the report:" in completed.stdout
    report = next(tmp_path.glob("*.html")).read_text()
    assert "Rescaling" in report and "pool_size" in report
    # steps 8-13 are not in the demo's notebook: no points, one line each, nothing borrowed
    assert "matched model variable `minimal_model`" not in completed.stdout
    assert "5 checks" in completed.stdout
    assert "score 15/78" in completed.stdout


def test_a_notebook_without_the_starter_names_is_graded_by_structure(tmp_path: Path) -> None:
    """`model` reused for every step, step 9's models in a dict, the GAP model as `net`."""
    result = grade(NOTEBOOKS / "renamed-models.ipynb", tmp_path)
    assert [c.id for c in result.checks if c.status != "passed"] == []
    matched = {c.step: c.message for c in result.checks if c.id.endswith(".layers")}
    assert "matched model variable `_trained_1`" in matched["step3"]
    assert "matched model variable `models['four']`" in matched["step9-four"]
    assert "matched model variable `net`" in matched["step12"]
