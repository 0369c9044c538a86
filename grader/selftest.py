"""Proving an assignment's checks can fail: the reference passes, every mutant is caught."""

from __future__ import annotations

from dataclasses import dataclass

import nbformat
from nbformat import NotebookNode

from grader.outcomes import SpecError
from grader.results import GradeResult
from grader.spec import AssignmentSpec, MutantSpec


@dataclass(frozen=True)
class MutantOutcome:
    mutant: MutantSpec
    result: GradeResult

    @property
    def failed_checks(self) -> set[str]:
        return {c.id for c in self.result.checks if c.status != "passed"}

    @property
    def missed(self) -> list[str]:
        """Checks the mutant names that still passed: each one is a check that cannot fail."""
        return [c for c in self.mutant.catches if c not in self.failed_checks]

    @property
    def collateral(self) -> list[str]:
        return sorted(self.failed_checks - set(self.mutant.catches))


@dataclass(frozen=True)
class SelftestResult:
    assignment: str
    reference: GradeResult
    mutants: tuple[MutantOutcome, ...]

    @property
    def reference_failures(self) -> list[str]:
        return [c.id for c in self.reference.checks if c.status != "passed"]

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
