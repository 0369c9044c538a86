"""The self-test proves every check can fail: each mutant of the reference is caught."""

from __future__ import annotations

import pytest

from grader import api
from grader.notebook import read_notebook
from grader.outcomes import SpecError
from grader.selftest import SelftestResult, mutated
from grader.spec import MutantSpec, Replacement, find_assignment


def test_a_replacement_must_hit_exactly_once() -> None:
    spec = find_assignment("cifar10-cnn")
    reference = read_notebook(spec.reference)
    ambiguous = MutantSpec(
        id="m",
        description="d",
        catches=["step3.params"],
        replace=[Replacement(old="minimal_model", new="m")],
    )
    with pytest.raises(SpecError, match=r"occurs \d+ times"):
        mutated(reference, ambiguous, spec)


def test_mutation_leaves_the_reference_untouched() -> None:
    spec = find_assignment("cifar10-cnn")
    reference = read_notebook(spec.reference)
    before = [c.source for c in reference.cells]
    mutant = mutated(reference, spec.mutants[0], spec)
    assert [c.source for c in reference.cells] == before
    assert [c.source for c in mutant.cells] != before


@pytest.mark.slow
def test_reference_passes_every_check(cifar_selftest: SelftestResult) -> None:
    assert cifar_selftest.reference_failures == []


@pytest.mark.slow
def test_every_mutant_is_caught_by_the_checks_it_names(cifar_selftest: SelftestResult) -> None:
    assert len(cifar_selftest.mutants) >= 8
    missed = {m.mutant.id: m.missed for m in cifar_selftest.mutants if m.missed}
    assert missed == {}
    assert cifar_selftest.ok


@pytest.mark.slow
@pytest.mark.parametrize(
    "assignment", ["csv-to-array", "file-splitting", "loss-selection", "transfer-learning"]
)
def test_each_course_assignment_catches_all_its_mutants(assignment: str) -> None:
    """`grade selftest` of the other assignments, offline, three runs at a time."""
    result = api.selftest(assignment, api.Options(data="fixture"), jobs=3)
    assert result.reference_failures == []
    assert len(result.mutants) >= 5
    assert {m.mutant.id: m.missed for m in result.mutants if m.missed} == {}
    assert result.ok
