"""docs/performance.md is shared by the benchmark scripts: each rewrites only its sections."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from sections import replace_sections  # benchmarks/ is a folder of scripts, not a package

FILE = """# Performance

Measured on machine A.

## Overhead

old overhead

## Notes by hand

kept words

## Against nbgrader

old nbgrader
"""


def test_a_run_replaces_its_sections_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "performance.md"
    path.write_text(FILE)
    replace_sections(path, "# Performance\n\nMeasured on machine B.\n\n## Overhead\n\nnew\n")
    replace_sections(path, "## Against nbgrader\n\nnew nbgrader\n\n## Sandbox\n\nadded\n")
    text = path.read_text()
    assert "machine B" in text and "machine A" not in text
    assert "old overhead" not in text and "old nbgrader" not in text
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Overhead", "## Notes by hand", "## Against nbgrader", "## Sandbox"]
    assert "kept words" in text and "new nbgrader" in text and "added" in text


def test_the_first_run_writes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "performance.md"
    replace_sections(path, "# Performance\n\n## Overhead\n\nnew\n")
    assert path.read_text() == "# Performance\n\n## Overhead\n\nnew\n"
