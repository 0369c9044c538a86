"""Arguments of the courses' Keras era that today's Keras ignores: `lr=` for the learning rate.

Keras 2.11 to 2.15 (and `tf-keras` since) accept `RMSprop(lr=0.0001)` with a warning and train
at the optimizer's default rate; the course notebooks of 2021 and 2022 wrote it that way. The
grader reads the notebook's own source for such calls: a compile check then grades the rate
the student asked for, and advice says what the call did.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from grader.results import CellResult


@dataclass(frozen=True)
class IgnoredRate:
    """`optimizer(lr=value)` in cell `cell`."""

    optimizer: str
    value: float
    cell: int


def ignored_rates(cells: Iterable[CellResult]) -> list[IgnoredRate]:
    """Every optimizer call given `lr=` as a number, in cell order."""
    found = []
    for cell in cells:
        for call in _calls(cell.source):
            name = _called_name(call.func)
            for keyword in call.keywords:
                value = _number(keyword.value)
                if keyword.arg == "lr" and name and value is not None:
                    found.append(IgnoredRate(name, value, cell.index))
    return found


def asked_rate(cells: Iterable[CellResult], optimizer: str) -> float | None:
    """The last `lr=` a call of this optimizer class was given, if any."""
    rates = [r.value for r in ignored_rates(cells) if r.optimizer == optimizer]
    return rates[-1] if rates else None


def _calls(source: str) -> list[ast.Call]:
    code = "\n".join(
        "" if line.lstrip().startswith(("!", "%")) else line for line in source.splitlines()
    )
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _number(node: ast.expr) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return None if isinstance(node.value, bool) else float(node.value)
    return None
