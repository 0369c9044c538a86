"""The fidelity suite: notebooks written the ways real students write them, graded in the
quick profile, each with the verdict a fair grader gives it (`expected.tsv` beside them).

`tests/notebooks/students/<assignment>/expected.tsv` has a row per notebook: `not_passed`
lists the checks a fair grader must not pass (empty for a valid notebook); every other
quick-profile check must pass. A wrong notebook whose mistake concerns no training check runs
build-only (its fits cut to one batch, as the self-test runs such mutants), and so does a
valid one where the quick profile judges no learning (no accuracy or history threshold); the
checks that read training are then not compared.

`python -m tests.fidelity` rewrites docs/fidelity.md from the tables.
"""

from __future__ import annotations

import csv
import functools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.spec import AssignmentSpec

STUDENTS = Path(__file__).parent / "notebooks" / "students"
DOCS = Path(__file__).parent.parent / "docs" / "fidelity.md"


@dataclass(frozen=True)
class Case:
    assignment: str
    notebook: Path
    not_passed: frozenset[str]
    what: str

    @property
    def valid(self) -> bool:
        return not self.not_passed


@dataclass(frozen=True)
class Verdict:
    """How one graded notebook differs from its row: checks that should not have passed and
    did, and checks that should have passed and did not (with the grader's message)."""

    case: Case
    wrongly_passed: tuple[str, ...]
    wrongly_failed: tuple[tuple[str, str], ...]
    build_only: bool

    @property
    def agrees(self) -> bool:
        return not self.wrongly_passed and not self.wrongly_failed


def assignments() -> list[str]:
    return sorted(p.parent.name for p in STUDENTS.glob("*/expected.tsv"))


def cases(assignment: str) -> list[Case]:
    folder = STUDENTS / assignment
    with (folder / "expected.tsv").open(encoding="utf-8", newline="") as table:
        rows = list(csv.DictReader(table, delimiter="\t"))
    return [
        Case(
            assignment,
            folder / row["notebook"],
            frozenset(c.strip() for c in (row["not_passed"] or "").split(",") if c.strip()),
            row["what_it_tests"],
        )
        for row in rows
    ]


def grade_all(assignment: str, jobs: int = 3) -> list[Verdict]:
    """Every notebook of one assignment, `jobs` at a time (each a kernel and its checks; three
    on two cores keep both busy while a kernel starts, as the self-test found)."""
    from grader.cores import share_cores

    todo = cases(assignment)
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=share_cores, initargs=(jobs,)
    ) as pool:
        return list(pool.map(functools.partial(grade_case), todo))


def grade_case(case: Case) -> Verdict:
    from grader.api import Options, grade_loaded
    from grader.notebook import read_notebook
    from grader.selftest import build_only, training_checks
    from grader.spec import find_assignment

    spec = find_assignment(case.assignment)
    training = training_checks(spec)
    built = not case.not_passed & training and (not case.valid or not judges_learning(spec))
    graded = build_only(spec, "quick") if built else spec
    options = Options(html=False, out_dir=Path("/nonexistent-not-written"))
    result = grade_loaded(read_notebook(case.notebook), case.notebook.name, graded, options)
    unmeasured = training if built else frozenset()
    not_passed = {c.id: c.message for c in result.checks if c.status != "passed"}
    compared = {c.id for c in result.checks} - unmeasured
    return Verdict(
        case,
        tuple(sorted((case.not_passed - set(not_passed)) & compared)),
        tuple(sorted((i, m) for i, m in not_passed.items() if i in compared - case.not_passed)),
        built,
    )


def judges_learning(spec: AssignmentSpec) -> bool:
    """Whether the quick profile judges how well a model learned (held-out accuracy, a
    history metric): its valid notebooks must then train as the profile trains them."""
    return any(c.check in LEARNING for _, _, c in spec.iter_checks("quick"))


LEARNING = frozenset({"accuracy", "learns", "history"})


def disagreements(verdicts: list[Verdict]) -> str:
    lines = []
    for verdict in verdicts:
        for check in verdict.wrongly_passed:
            lines.append(f"{verdict.case.notebook.name}: {check} passed; it should not")
        for check, message in verdict.wrongly_failed:
            lines.append(f"{verdict.case.notebook.name}: {check} did not pass: {message}")
    return "\n".join(lines)


def write_docs() -> None:
    parts = [DOCS_HEAD]
    for assignment in assignments():
        rows = cases(assignment)
        valid = sum(case.valid for case in rows)
        parts.append(f"\n## {assignment} ({valid} valid, {len(rows) - valid} wrong)\n")
        parts.append("| notebook | must not pass | what it tests |\n|---|---|---|")
        for case in rows:
            failing = ", ".join(f"`{c}`" for c in sorted(case.not_passed)) or "— (all pass)"
            what = case.what.replace("|", "\\|")
            parts.append(f"| `{case.notebook.name}` | {failing} | {what} |")
    DOCS.write_text("\n".join(parts) + "\n", encoding="utf-8")


DOCS_HEAD = """# Fidelity: correct solutions pass, real mistakes cost their points

The grader is measured on notebooks written the many ways students write Keras, none of them
by the authors of the reference solutions: the course's 2021, 2023 and 2024 notebook
revisions, renamed functions and variables, the Functional API, `model.add`, `tf.keras` and
`keras`, separate `ReLU()`/`Activation` layers, `Dense(512)` heads, other optimizers,
callbacks, Colab lines. Each *valid* notebook is a complete, correct submission and must pass
every quick-profile check; each *wrong* notebook has one realistic mistake and must fail
exactly the checks listed, and pass every other one.

`tests/test_fidelity.py` grades every notebook below (`tests/notebooks/students/`) and asserts
the whole table (marked slow; wrong notebooks whose mistake concerns no training check run
build-only, their fits cut to one batch, and their training checks are not compared). This
page is written from the `expected.tsv` tables by `python -m tests.fidelity`.
"""


if __name__ == "__main__":
    write_docs()
