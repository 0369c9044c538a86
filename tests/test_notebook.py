"""Reading, sanitizing and harness injection, on the scenario notebooks."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from grader.notebook import (
    assignment_of,
    number_of,
    read_notebook,
    role_of,
    sanitized,
    with_harness,
)
from grader.outcomes import UsageError
from tests.conftest import NOTEBOOKS, ROOT

REFERENCE = ROOT / "reference" / "cifar10-cnn.ipynb"


def test_truncated_json_is_a_usage_error_with_a_hint() -> None:
    with pytest.raises(UsageError) as error:
        read_notebook(NOTEBOOKS / "not-a-notebook.ipynb")
    assert "is not a Jupyter notebook" in str(error.value)
    assert "Download" in str(error.value)


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        read_notebook(tmp_path / "absent.ipynb")


def test_outputs_are_stripped_and_cells_keep_their_notebook_numbers(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="42")]),
    ]
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, path)
    clean = sanitized(read_notebook(path))
    assert [c.outputs for c in clean.cells] == [[]]
    assert number_of(clean.cells[0]) == 2


def test_reading_never_modifies_the_submission() -> None:
    before = hashlib.sha256(REFERENCE.read_bytes()).hexdigest()
    with_harness(sanitized(read_notebook(REFERENCE)), {"a": 1}, {"b": 2})
    assert hashlib.sha256(REFERENCE.read_bytes()).hexdigest() == before


def test_harness_cells_wrap_the_notebook_and_carry_json_arguments() -> None:
    arguments = {"out_dir": '/tmp/it\'s "quoted"', "variables": ["x"]}
    notebook = with_harness(sanitized(read_notebook(REFERENCE)), {"seed": 3}, arguments)
    first, last = notebook.cells[0], notebook.cells[-1]
    assert (role_of(first), role_of(last)) == ("init", "collect")
    call = ast.parse(last.source).body[-1].value
    assert json.loads(call.args[0].value) == arguments


def test_assignment_comes_from_metadata() -> None:
    assert assignment_of(read_notebook(REFERENCE)) == "cifar10-cnn"
    assert assignment_of(nbformat.v4.new_notebook()) is None
