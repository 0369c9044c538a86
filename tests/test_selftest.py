"""The self-test proves every check can fail: each mutant of the reference is caught."""

from __future__ import annotations

import pytest

from grader import api
from grader.notebook import read_notebook
from grader.outcomes import SpecError
from grader.selftest import BUILD_ONLY_SAMPLES, SelftestResult, is_build_only, mutated
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


def test_a_mutant_trains_only_when_a_check_it_names_reads_training() -> None:
    spec = find_assignment("cifar10-cnn")
    mutants = {m.id: m for m in spec.mutants}
    assert is_build_only(spec, mutants["wrong-filter-count"])  # layers, parameter counts
    assert not is_build_only(spec, mutants["trained-on-one-class"])  # held-out accuracy


@pytest.mark.slow
def test_build_only_mutants_fit_one_batch_and_the_others_train(
    cifar_selftest: SelftestResult,
) -> None:
    for outcome in cifar_selftest.mutants:
        fits = outcome.result.fits
        assert fits, outcome.mutant.id
        if outcome.unmeasured:
            assert max(len(f.epochs) for f in fits) == 1  # a fit that raised has none
            assert {f.samples_cap for f in fits} == {BUILD_ONLY_SAMPLES}
            assert not set(outcome.collateral) & outcome.unmeasured
        else:
            assert max(len(f.epochs) for f in fits) > 1
    trained = {o.mutant.id for o in cifar_selftest.mutants if not o.unmeasured}
    assert trained == {"trained-on-one-class", "relu-model-trained-on-one-class"}
    reference = cifar_selftest.built_reference  # its failures count as the reference's
    assert reference is not None and max(len(f.epochs) for f in reference.fits) == 1


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
    "assignment",
    [
        "csv-to-array",
        "file-splitting",
        "loss-selection",
        "transfer-learning",
        "vgg16-fashion-mnist",
    ],
)
def test_each_course_assignment_catches_all_its_mutants(assignment: str) -> None:
    """`grade selftest` of the other assignments, offline, three runs at a time."""
    result = api.selftest(assignment, api.Options(data="fixture"), jobs=3)
    assert result.reference_failures == []
    assert len(result.mutants) >= 5
    assert {m.mutant.id: m.missed for m in result.mutants if m.missed} == {}
    assert result.ok
