"""Reading a submission, stripping what cannot be trusted, and injecting the kernel harness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.reader import NotJSONError

from grader.outcomes import UsageError

INIT_ROLE = "init"
COLLECT_ROLE = "collect"


def read_notebook(path: Path) -> NotebookNode:
    """Read and validate a notebook; anything unusable raises `UsageError` with the reason."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot be read ({error})") from None
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types for broken JSON
        reason = "not valid JSON" if isinstance(error, NotJSONError) else _first_line(error)
        raise UsageError(
            f"{path}: is not a Jupyter notebook ({reason}). "
            "Hint: download it again with File → Download → .ipynb; do not rename a .py file."
        ) from None
    return _validated(notebook, path)


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}"


def _validated(notebook: NotebookNode, path: Path) -> NotebookNode:
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    try:
        nbformat.validator.normalize(notebook)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        raise UsageError(f"{path}: is not a valid notebook: {error.message}") from None
    return notebook


def assignment_of(notebook: NotebookNode) -> str | None:
    """The assignment id the starter wrote into `metadata.grader.assignment`, if still there."""
    grader_meta = notebook.metadata.get("grader", {})
    value = grader_meta.get("assignment") if isinstance(grader_meta, dict) else None
    return value if isinstance(value, str) else None


def sanitized(notebook: NotebookNode) -> NotebookNode:
    """A copy with every output stripped and each code cell tagged with its notebook number."""
    clean = nbformat.v4.new_notebook(metadata={"kernelspec": _python_kernelspec()})
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        clean.cells.append(
            nbformat.v4.new_code_cell(cell.source, metadata={"grader": {"cell": number}})
        )
    return clean


def _python_kernelspec() -> dict[str, str]:
    return {"name": "python3", "display_name": "Python 3", "language": "python"}


def with_harness(
    notebook: NotebookNode, install: dict[str, Any], collect: dict[str, Any]
) -> NotebookNode:
    """Put the harness init cell first and the collect cell last; arguments travel as JSON."""
    init = _harness_cell("install", install, INIT_ROLE)
    final = _harness_cell("collect", collect, COLLECT_ROLE)
    notebook.cells = [init, *notebook.cells, final]
    return notebook


def _harness_cell(function: str, arguments: dict[str, Any], role: str) -> NotebookNode:
    source = (
        "import grader.harness as _grader_harness  # added by the grader\n"
        f"_grader_harness.{function}({json.dumps(arguments)!r})"
    )
    return nbformat.v4.new_code_cell(source, metadata={"grader": {"role": role}})


def role_of(cell: NotebookNode) -> str | None:
    return cell.metadata.get("grader", {}).get("role")


def number_of(cell: NotebookNode) -> int | None:
    return cell.metadata.get("grader", {}).get("cell")
