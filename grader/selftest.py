"""Proving an assignment's checks can fail: the reference passes, every mutant is caught."""

from __future__ import annotations

from dataclasses import dataclass

import nbformat
from nbformat import NotebookNode

from grader.checks.registry import get_check
from grader.outcomes import SpecError
from grader.results import GradeResult
from grader.spec import AssignmentSpec, MutantSpec, ProfileName, SizeBudget

# A build-only run cuts every `fit` to one epoch on this many samples (one batch).
BUILD_ONLY_SAMPLES = 32


@dataclass(frozen=True)
class MutantOutcome:
    """A mutant's run. `unmeasured`: checks whose verdicts the run could not give (those
    reading training, when the run was build-only); they are not counted as collateral."""

    mutant: MutantSpec
    result: GradeResult
    unmeasured: frozenset[str] = frozenset()

    @property
    def failed_checks(self) -> set[str]:
        return {c.id for c in self.result.checks if c.status != "passed"}

    @property
    def missed(self) -> list[str]:
        """Checks the mutant names that still passed: each one is a check that cannot fail."""
        return [c for c in self.mutant.catches if c not in self.failed_checks]

    @property
    def collateral(self) -> list[str]:
        return sorted(self.failed_checks - set(self.mutant.catches) - self.unmeasured)


@dataclass(frozen=True)
class SelftestResult:
    """`built_reference`: the reference run build-only, when some mutant runs that way. It
    must pass every check that does not read training, or cutting training alone would be
    what fails a build-only mutant's checks."""

    assignment: str
    reference: GradeResult
    mutants: tuple[MutantOutcome, ...]
    built_reference: GradeResult | None = None
    training: frozenset[str] = frozenset()

    @property
    def reference_failures(self) -> list[str]:
        failures = [c.id for c in self.reference.checks if c.status != "passed"]
        if self.built_reference is not None:
            failures += [
                f"{c.id} (build-only)"
                for c in self.built_reference.checks
                if c.status != "passed" and c.id not in self.training
            ]
        return failures

    @property
    def ok(self) -> bool:
        return not self.reference_failures and not any(m.missed for m in self.mutants)


def mutated(reference: NotebookNode, mutant: MutantSpec, spec: AssignmentSpec) -> NotebookNode:
    """The reference with the mutant's replacements; each `old` must occur exactly once."""
    notebook = nbformat.from_dict(reference)
    for replacement in mutant.replace:
        hits = [c for c in notebook.cells if replacement.old in c.source]
        count = sum(c.source.count(replacement.old) for c in hits)
        if count != 1:
            raise SpecError(
                f"{spec.id}/assignment.yaml: mutant {mutant.id!r}: {replacement.old!r} occurs "
                f"{count} times in {spec.reference.name}; it must occur exactly once"
            )
        hits[0].source = hits[0].source.replace(replacement.old, replacement.new)
    return notebook


def training_checks(spec: AssignmentSpec) -> frozenset[str]:
    """The ids of the checks whose verdicts depend on how far training went."""
    return frozenset(
        check_id
        for check_id, _, check_spec in spec.iter_checks()
        if (definition := get_check(check_spec.check)) is not None and definition.reads_training
    )


def is_build_only(spec: AssignmentSpec, mutant: MutantSpec) -> bool:
    """Whether the mutant can be proven caught without training: none of the checks it
    names reads training, so a run whose fits stop after one batch gives their verdicts."""
    return not set(mutant.catches) & training_checks(spec)


def build_only(spec: AssignmentSpec, profile: ProfileName) -> AssignmentSpec:
    """The spec with the profile's training cut to one epoch of one batch per `fit`: the
    notebook still builds, compiles and fits every model, the harness still records each
    fit, but the run is spared most of its training."""
    one_batch = SizeBudget(min_params=0, max_epochs=1, max_samples=BUILD_ONLY_SAMPLES)
    cut = spec.profiles[profile].model_copy(update={"max_epochs": 1, "budget_by_size": [one_batch]})
    return spec.model_copy(update={"profiles": {**spec.profiles, profile: cut}})
