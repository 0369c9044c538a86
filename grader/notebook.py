"""Reading a submission, stripping what cannot be trusted, and injecting the kernel harness."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.reader import NotJSONError

from grader.outcomes import UsageError

INIT_ROLE = "init"
COLLECT_ROLE = "collect"


# Outputs are stripped before grading; a notebook this large is nearly all old outputs.
MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024


def read_notebook(path: Path) -> NotebookNode:
    """Read and validate a notebook; anything unusable raises `UsageError` with the reason.

    nbformat 3 notebooks are converted to nbformat 4, as Jupyter does when it opens them.
    """
    text = _text_of(path)
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several unrelated types for broken JSON
        reason = "not valid JSON" if isinstance(error, NotJSONError) else _first_line(error)
        raise UsageError(
            f"{path}: is not a Jupyter notebook ({reason}). "
            "Hint: download it again with File → Download → .ipynb; do not rename a .py file."
        ) from None
    return _validated(notebook, path)


def _text_of(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise UsageError(
                f"{path}: is {size / 1024**2:.0f} MB; notebooks up to "
                f"{MAX_NOTEBOOK_BYTES // 1024**2} MB are graded. Hint: clear the outputs "
                "(Edit → Clear All Outputs) and save it again."
            )
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(
            f"{path}: is not a text file, so not a Jupyter notebook. "
            "Hint: download it again with File → Download → .ipynb."
        ) from None
    except OSError as error:
        raise UsageError(f"{path}: cannot be read ({error})") from None


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


_GRADED = re.compile(r"^\s*#\s*GRADED FUNCTION:\s*(\w+)", re.MULTILINE)
_DEF = re.compile(r"^def\s+(\w+)", re.MULTILINE)


def graded_functions(notebook: NotebookNode) -> dict[str, str]:
    """Names the course's `# GRADED FUNCTION: name` comments announce, mapped to the function
    the cell actually defines (a student may have renamed it)."""
    found = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        announced = _GRADED.search(cell.source)
        defined = _defined_functions(cell.source)
        if announced and defined:
            found[announced.group(1)] = defined[0]
    return found


def _defined_functions(source: str) -> list[str]:
    """Top-level `def` names; a cell that does not parse is searched line by line."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _DEF.findall(source)
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


def relocated(notebook: NotebookNode, mapping: dict[str, str]) -> NotebookNode:
    """Rewrite hard-coded absolute folders (`/tmp`, `/content`) to the run's own copies.

    Used when the kernel is not sandboxed: notebooks written for Colab read and write
    `/tmp/...` and `/content/...`; sharing the machine's real `/tmp` between runs would let
    them see each other's files.
    """
    for cell in notebook.cells:
        for old, new in mapping.items():
            pattern = rf"(?<![\w.\-/]){re.escape(old)}(?=[/'\"\s)]|$)"
            cell.source = re.sub(pattern, lambda _m, n=new: n, cell.source)
    return notebook


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
    source = harness_source(function, arguments)
    return nbformat.v4.new_code_cell(source, metadata={"grader": {"role": role}})


def harness_source(function: str, arguments: dict[str, Any]) -> str:
    """The code of an injected cell: one call into the kernel harness, arguments as JSON."""
    return (
        "import grader.harness as _grader_harness  # added by the grader\n"
        f"_grader_harness.{function}({json.dumps(arguments)!r})"
    )


def role_of(cell: NotebookNode) -> str | None:
    return cell.metadata.get("grader", {}).get("role")


def number_of(cell: NotebookNode) -> int | None:
    return cell.metadata.get("grader", {}).get("cell")
