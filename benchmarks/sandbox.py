"""What the sandbox costs: the same small notebook graded with and without bubblewrap.

    python benchmarks/sandbox.py [--repeat 10]

The notebook (`tests/notebooks/hostile/nbformat-3.ipynb`: one graded function, no
TensorFlow) keeps the kernel's own work small, so the difference is start-up: bubblewrap's
namespaces and mounts, and IPC sockets instead of TCP. Runs alternate, to share the
machine's noise.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from grader import api
from grader.notebook import read_notebook
from grader.spec import find_assignment

NOTEBOOK = Path(__file__).parent.parent / "tests" / "notebooks" / "hostile" / "nbformat-3.ipynb"


def measure(repeat: int) -> dict[str, list[float]]:
    notebook = read_notebook(NOTEBOOK)
    spec = find_assignment("csv-to-array", [])
    times: dict[str, list[float]] = {"sandboxed": [], "not isolated": []}
    for _ in range(repeat):
        for label, sandbox in (("sandboxed", True), ("not isolated", False)):
            options = api.Options(html=False, sandbox=sandbox)
            started = time.perf_counter()
            result = api.grade_loaded(notebook, NOTEBOOK.name, spec, options)
            times[label].append(time.perf_counter() - started)
            assert result.score == 3, result.problems  # the function check passed
    return times


def summary(times: dict[str, list[float]]) -> str:
    lines = []
    for label, values in times.items():
        middle, low, high = statistics.median(values), min(values), max(values)
        lines.append(f"{label:>13}: median {middle:.2f} s ({low:.2f}–{high:.2f})")
    added = statistics.median(times["sandboxed"]) - statistics.median(times["not isolated"])
    lines.append(f"{'sandbox adds':>13}: {added:+.2f} s per notebook (medians)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    print(summary(measure(parser.parse_args().repeat)))


if __name__ == "__main__":
    main()
