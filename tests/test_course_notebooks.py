"""Course notebooks as students hand them in, through the whole pipeline (one kernel each).

A Colab notebook in the course's Keras 2 style must grade fully; the starters, with every
graded body left as `None` or `pass`, must give a complete report of clear failures.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
import pytest

from grader import api
from grader.results import GradeResult
from tests.conftest import NOTEBOOKS, ROOT

pytestmark = pytest.mark.slow


def grade(path: Path, out: Path) -> GradeResult:
    options = api.Options(data="fixture", out_dir=out, json_path=out / "result.json")
    return api.grade_notebook(path, None, options)


def test_a_colab_notebook_in_the_course_style_grades_fully(tmp_path: Path) -> None:
    """`!pip`, `%matplotlib`, `drive.mount`, the metadata checker, `!gdown`, `/content`
    paths, `lr=`, `layer.output_shape`, a bare callback, a renamed graded function and a
    Python 2 cell that does not parse."""
    path = NOTEBOOKS / "course" / "csv-to-array-colab.ipynb"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = grade(path, tmp_path)
    statuses = {c.id: c.status for c in result.checks}
    assert set(statuses.values()) == {"passed"}, [c.message for c in result.checks]
    assert result.score == result.max_score
    parsed = next(c for c in result.checks if c.id == "parse.parsed_csv")
    assert "graded `read_csv_file` as `parse_data_from_input`" in parsed.message
    broken = [cell for cell in result.cells if cell.status == "error"]
    assert [cell.error.ename for cell in broken if cell.error] == ["SyntaxError"]
    assert (tmp_path / "result.json").is_file()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# Steps whose code the starter already gives (the dense baseline to compare with).
GIVEN_IN_STARTER = {"vgg16-fashion-mnist": ("mlp",)}


@pytest.mark.parametrize(
    "assignment", ["csv-to-array", "file-splitting", "transfer-learning", "vgg16-fashion-mnist"]
)
def test_an_untouched_starter_gets_a_full_report_of_clear_failures(
    tmp_path: Path, assignment: str
) -> None:
    result = grade(ROOT / "assignments" / assignment / "starter.ipynb", tmp_path)
    assert not result.grader_failed
    assert result.report_path is not None and Path(result.report_path).is_file()
    to_do = [c for c in result.checks if c.step not in GIVEN_IN_STARTER.get(assignment, ())]
    for check in to_do:
        assert check.status in ("failed", "skipped", "submission_error"), check
        assert check.message and (check.hint or check.status == "skipped"), check
    function_checks = [
        c for c in result.checks if c.step in ("dirs", "split", "parse", "generators")
    ]
    assert all(c.status == "failed" for c in function_checks), function_checks


def test_a_graded_function_whose_cell_does_not_parse_costs_only_its_checks(
    tmp_path: Path,
) -> None:
    notebook = nbformat.read(ROOT / "reference" / "csv-to-array.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "def train_val_generators" in c.source)
    cell.source = cell.source.replace("def train_val_generators(", "def train_val_generators(:")
    path = tmp_path / "broken.ipynb"
    nbformat.write(notebook, path)
    result = grade(path, tmp_path)
    statuses = {c.id: c.status for c in result.checks}
    assert statuses["generators.array_generators"] == "submission_error"
    broken = next(c for c in result.checks if c.id == "generators.array_generators")
    assert f"cell {notebook.cells.index(cell) + 1}" in broken.message
    assert statuses["parse.parsed_csv"] == "passed"
    assert statuses["model.layer_rules"] == statuses["model.loss_matches"] == "passed"
