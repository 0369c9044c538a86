"""The terminal summary: one line per check, with expected, received and the hint on failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from grader.batch import Row, Source
from grader.results import CheckResult, GradeResult, grouped
from grader.selftest import SelftestResult

if TYPE_CHECKING:
    from grader.classroom import BatchResult

_MARKS = {
    "passed": "[green]✓[/]",
    "failed": "[red]✗[/]",
    "skipped": "[yellow]–[/]",
    "submission_error": "[red]![/]",
    "grader_error": "[magenta]?[/]",
}


def print_summary(result: GradeResult, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    console.print(_header(result))
    for problem in result.problems:
        console.print(f"[yellow]⚠ {escape(problem)}[/]")
    for step, title, checks in result.steps():
        console.print(f"\n[bold]{escape(step)}[/] · {escape(title)}")
        for group in grouped(checks):
            if len(group) == 1:
                _print_check(console, group[0])
            else:
                _print_skipped_group(console, group)
    for advice in result.advice:
        console.print(f"[cyan]ℹ advice (no points): {escape(advice)}[/]")
    if result.notes:
        console.print(
            f"[dim]{len(result.notes)} Colab/shell line(s) handled by the grader's stand-ins "
            "(listed in the report)[/]"
        )
    console.print(_footer(result))


def _header(result: GradeResult) -> str:
    return (
        f"[bold]{escape(result.notebook)}[/] · {escape(result.assignment)} · "
        f"profile {result.profile} · data {result.data_source} · {escape(result.device)}"
        + _isolation(result)
    )


def _isolation(result: GradeResult) -> str:
    """Said only when the kernel was not isolated: that is what a reader must know."""
    if result.isolation.startswith("not isolated"):
        return f"\n[yellow]{escape(result.isolation)}[/]"
    return " · sandboxed" if result.isolation else ""


def _print_check(console: Console, check: CheckResult) -> None:
    name = check.id.split(".", 1)[-1]
    points = f"{check.points:g}/{check.max_points:g}"
    console.print(
        f"  {_MARKS[check.status]} {escape(name):<16} {points:>7}  {escape(check.message)}"
    )
    if check.status != "passed" and check.hint:
        console.print(f"      [dim]Hint:[/] {escape(check.hint)}")


def _print_skipped_group(console: Console, checks: list[CheckResult]) -> None:
    """Checks skipped for one reason: the reason once, with the points they cost together."""
    first = checks[0]
    points = f"0/{sum(c.max_points for c in checks):g}"
    label = f"{len(checks)} checks"
    console.print(f"  {_MARKS['skipped']} {label:<16} {points:>7}  {escape(first.message)}")
    if first.hint:
        console.print(f"      [dim]Hint:[/] {escape(first.hint)}")


def _footer(result: GradeResult) -> str:
    score = "withheld (grader error)" if result.score is None else f"{result.score:g}"
    verdict = "[green]PASSED[/]" if result.passed else "[red]NOT PASSED[/]"
    where = f" · report: {escape(result.report_path)}" if result.report_path else ""
    return f"\n{verdict} · score {score}/{result.max_score:g} · {result.duration_s:.1f} s{where}"


def print_selftest(result: SelftestResult, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    reference_ok = not result.reference_failures
    mark = "[green]✓[/]" if reference_ok else "[red]✗[/]"
    failures = ", ".join(result.reference_failures) or "every check passed"
    console.print(f"[bold]{escape(result.assignment)}[/] self-test")
    console.print(f"  {mark} reference: {escape(failures)}")
    if result.built_reference is not None:
        console.print(
            "  · mutants whose checks do not read training ran build-only (one batch per fit);"
            " so did the reference, to show that alone fails none of those checks"
        )
    for outcome in result.mutants:
        caught = not outcome.missed
        mark = "[green]✓[/]" if caught else "[red]✗[/]"
        detail = (
            "caught by " + ", ".join(outcome.mutant.catches)
            if caught
            else "NOT caught by " + ", ".join(outcome.missed)
        )
        also = f" (also failed: {', '.join(outcome.collateral)})" if outcome.collateral else ""
        console.print(f"  {mark} mutant {escape(outcome.mutant.id)}: {escape(detail + also)}")
    console.print("[green]self-test passed[/]" if result.ok else "[red]self-test FAILED[/]")


_SOURCES = {"kept": " (kept from an earlier run)", "rescored": " (re-scored, not executed)"}


def print_batch_row(row: Row, source: Source, console: Console | None = None) -> None:
    """One line per submission as it finishes (or is found already graded or re-scored)."""
    console = console or Console(highlight=False, soft_wrap=True)
    if row.status == "graded" and row.score is not None:
        outcome = f"{row.score:g}/{row.max_score:g}"
    else:
        outcome = f"[red]{row.status}[/]: {escape(row.message[:160])}"
    shown = _SOURCES.get(source, "")
    if source == "graded" and row.status == "graded":
        shown = f" · {row.seconds:.1f} s"
    console.print(f"{escape(row.student):<24} {outcome}{shown}", highlight=False)


def print_batch_summary(result: BatchResult) -> None:
    console = Console(highlight=False, soft_wrap=True)
    rows = result.rows
    graded = [r for r in rows if r.status == "graded"]
    console.print(
        f"\n{len(rows)} submissions: {len(graded)} graded "
        f"({result.graded_now} now, {result.rescored} re-scored, "
        f"{len(rows) - result.graded_now - result.rescored} kept or refused), "
        f"{len(rows) - len(graded)} not gradable"
    )
    for row in rows:
        if row.status != "graded":
            console.print(f"  [red]{escape(row.student)}[/]: {escape(row.message[:200])}")
    console.print(f"Gradebook: {result.index}\nGrades: {result.grades}")
