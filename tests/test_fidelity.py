"""Every notebook of the fidelity suite gets the verdict a fair grader gives it."""

from __future__ import annotations

import pytest

from tests import fidelity


@pytest.mark.slow
@pytest.mark.parametrize("assignment", fidelity.assignments())
def test_every_student_notebook_gets_its_fair_verdict(assignment: str) -> None:
    verdicts = fidelity.grade_all(assignment)
    assert all(v.agrees for v in verdicts), "\n" + fidelity.disagreements(verdicts)


def test_every_assignment_has_six_valid_and_six_wrong_notebooks_that_exist() -> None:
    for assignment in fidelity.assignments():
        cases = fidelity.cases(assignment)
        assert all(case.notebook.is_file() for case in cases), assignment
        assert sum(case.valid for case in cases) >= 6, assignment
        assert sum(not case.valid for case in cases) >= 6, assignment


def test_the_expected_checks_exist_in_the_quick_profile() -> None:
    from grader.spec import find_assignment

    for assignment in fidelity.assignments():
        known = {i for i, _, _ in find_assignment(assignment).iter_checks("quick")}
        for case in fidelity.cases(assignment):
            assert case.not_passed <= known, (case.notebook.name, case.not_passed - known)


def test_the_docs_table_is_written_from_the_expected_tables() -> None:
    text = fidelity.DOCS.read_text(encoding="utf-8")
    for assignment in fidelity.assignments():
        for case in fidelity.cases(assignment):
            assert f"`{case.notebook.name}`" in text, "run `python -m tests.fidelity`"
