"""The machine-readable result: one JSON document per graded notebook."""

from __future__ import annotations

import json
from pathlib import Path

from grader import __version__, atomic
from grader.results import GradeResult


def render(result: GradeResult) -> str:
    return json.dumps({"grader_version": __version__, **result.to_dict()}, indent=2, default=str)


def write(result: GradeResult, path: Path) -> None:
    atomic.write_text(path, render(result))
