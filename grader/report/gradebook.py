"""A class's gradebook: `index.html` (sortable table, score distribution, the checks the
class failed most) and `grades.csv` (one row per student, one column per step, the total)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader import atomic
from grader.batch import Row
from grader.report import html
from grader.report.text import format_points


@dataclass(frozen=True)
class CheckRate:
    check: str
    passed: int
    graded: int

    @property
    def rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def step_ids(rows: Sequence[Row]) -> list[str]:
    """Steps in the order the spec lists them (the order of the first graded row)."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row.steps or {}))
    return list(seen)


def check_rates(rows: Sequence[Row]) -> list[CheckRate]:
    """Per check, how many graded students passed it; the least passed first."""
    graded = [row for row in rows if row.checks]
    names = {name for row in graded for name in row.checks or {}}
    rates = [
        CheckRate(
            name, sum((row.checks or {}).get(name) == "passed" for row in graded), len(graded)
        )
        for name in names
    ]
    return sorted(rates, key=lambda r: (r.rate, r.check))


def grades_csv(rows: Sequence[Row]) -> str:
    steps = step_ids(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "notebook", "status", *steps, "total", "max", "message"])
    for row in rows:
        points = [
            format_points(row.steps[s]) if row.steps and s in row.steps else "" for s in steps
        ]
        total = "" if row.score is None else format_points(row.score)
        maximum = format_points(row.max_score) if row.max_score else ""
        writer.writerow(
            [row.student, row.notebook, row.status, *points, total, maximum, row.message]
        )
    return buffer.getvalue()


@dataclass(frozen=True)
class Bin:
    """Students whose score is in [low, low + 10) % of the maximum (the last bin holds 100)."""

    low: int
    students: int
    share: float  # of the fullest bin, for the bar's height


def distribution(rows: Sequence[Row]) -> list[Bin]:
    """The graded students' scores in ten bins of 10 %; empty when nobody was graded. Drawn
    by the page itself (HTML bars): the gradebook is rewritten on every batch and re-score,
    and matplotlib alone would take most of a re-score's time."""
    scores = [row.score / row.max_score for row in rows if row.score is not None and row.max_score]
    if not scores:
        return []
    counts = [0] * 10
    for score in scores:
        counts[min(int(score * 10), 9)] += 1
    return [Bin(10 * i, count, count / max(counts)) for i, count in enumerate(counts)]


def render(rows: Sequence[Row], title: str) -> str:
    template = html.templates().get_template("gradebook.html.j2")
    return template.render(
        title=title,
        rows=rows,
        steps=step_ids(rows),
        rates=check_rates(rows),
        distribution=distribution(rows),
        graded=sum(row.status == "graded" for row in rows),
    )


def write(rows: Sequence[Row], out_dir: Path, title: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    index, grades = out_dir / "index.html", out_dir / "grades.csv"
    atomic.write_text(index, render(rows, title))
    atomic.write_text(grades, grades_csv(rows))
    return index, grades
