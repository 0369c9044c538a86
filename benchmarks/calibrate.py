"""Calibrate an assignment's quick training checks on a family of valid solutions.

Grades the reference and every valid notebook of the fidelity suite
(`tests/notebooks/students/<id>/`, rows of `expected.tsv` with nothing in `not_passed`) in the
quick profile, and every wrong one whose mistake is a training check's, and prints what each
training check measured (accuracy, chance, p-value or the metric), so that a threshold can be
chosen between the valid family and the broken ones, not on the reference alone.

    python benchmarks/calibrate.py file-splitting [--jobs 2]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(notebook: Path, assignment: str) -> list[str]:
    from grader.api import Options, grade_loaded
    from grader.notebook import read_notebook
    from grader.selftest import training_checks
    from grader.spec import find_assignment

    spec = find_assignment(assignment)
    training = training_checks(spec)
    result = grade_loaded(read_notebook(notebook), notebook.name, spec, Options(html=False))
    epochs = [len(fit.epochs) for fit in result.fits]
    rows = [f"{notebook.name}  ({result.duration_s:.0f} s, epochs per fit {epochs})"]
    for check in result.checks:
        if check.id in training:
            rows.append(f"    {check.id:<28} {check.status:<8} {check.message[:110]}")
    return rows


def main() -> None:
    from tests.fidelity import cases

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    from grader.selftest import training_checks
    from grader.spec import find_assignment

    spec = find_assignment(args.assignment)
    training = training_checks(spec)
    chosen = [spec.reference] + [
        case.notebook
        for case in cases(args.assignment)
        if case.valid or case.not_passed & training
    ]
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        for rows in pool.map(measure, chosen, [args.assignment] * len(chosen)):
            print("\n".join(rows), flush=True)


if __name__ == "__main__":
    main()
