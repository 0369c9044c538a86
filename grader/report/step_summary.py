"""The GitHub Actions job summary: a Markdown table of checks, appended to the file GitHub
names in `$GITHUB_STEP_SUMMARY`, so the result shows on the run's page without a download."""

from __future__ import annotations

import os
from pathlib import Path

from grader.report.text import format_points, score_text, verdict
from grader.results import CheckResult, GradeResult

SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"
_ICONS = {
    "passed": "✅",
    "failed": "❌",
    "skipped": "⏭",
    "submission_error": "❌",
    "grader_error": "⚠",
}
_VERDICT_ICONS = {"passed": "✅", "not passed": "❌", "withheld": "⚠"}


def markdown(result: GradeResult) -> str:
    """The summary of `result` as GitHub-flavoured Markdown."""
    lines = [*_header(result), "", *_table(result.checks)]
    hints = [check for check in result.checks if check.status != "passed" and check.hint]
    if hints:
        lines += ["", "**Hints**", ""]
        lines += [f"- **{_inline(c.title)}** (`{c.id}`): {_inline(c.hint or '')}" for c in hints]
    return "\n".join(lines) + "\n"


def append_to_github_summary(result: GradeResult) -> bool:
    """Append the summary when running in GitHub Actions; return whether anything was written."""
    target = os.environ.get(SUMMARY_VARIABLE)
    if not target:
        return False
    with Path(target).open("a", encoding="utf-8") as stream:
        stream.write(markdown(result) + "\n")
    return True


def _header(result: GradeResult) -> list[str]:
    said = verdict(result)
    outcome = "" if result.score is None else f", {said}"  # "withheld" says it already
    lines = [
        f"### {_VERDICT_ICONS[said]} {_inline(result.assignment)}: "
        f"score {score_text(result)}{outcome}",
        "",
        f"Notebook {_inline(result.notebook)} · profile **{result.profile}** · "
        f"data **{result.data_source}** · device {_inline(result.device)} · "
        f"{result.duration_s:.1f} s",
    ]
    if result.problems:
        lines += ["", *(f"- ⚠ {_inline(problem)}" for problem in result.problems)]
    return lines


def _table(checks: tuple[CheckResult, ...]) -> list[str]:
    rows = [
        f"| {_ICONS[c.status]} | {_inline(c.step_title)} · {_inline(c.title)} (`{c.id}`) | "
        f"{format_points(c.points)}/{format_points(c.max_points)} | {_inline(c.message)} |"
        for c in checks
    ]
    return ["| | Check | Points | Message |", "|---|---|---|---|", *rows]


def _inline(text: str) -> str:
    """Text safe inside one table cell: no pipes or newlines that break the row, no HTML."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("|", "\\|").replace("\r", "").replace("\n", "<br>")
