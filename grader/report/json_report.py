"""The machine-readable result: one JSON document per graded notebook."""

from __future__ import annotations

import json
import os
from pathlib import Path

from grader import __version__
from grader.results import GradeResult


def render(result: GradeResult) -> str:
    return json.dumps({"grader_version": __version__, **result.to_dict()}, indent=2, default=str)


def write(result: GradeResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(render(result), encoding="utf-8")
    os.replace(partial, path)
