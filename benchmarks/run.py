"""The grader's costs, measured side by side in one run, as whole processes:

    python benchmarks/run.py [--repeat 10] [--assignments csv-to-array,loss-selection]
                             [--batch 12] [--skip-batch] [--out docs/performance.md]

1. overhead: `grade reference/<id>.ipynb` (quick profile) against `benchmarks/bare.py`, the
   same prepared notebook executed with plain nbclient (same data, same epoch caps, no
   sandbox, no collect step, no checks, no report);
2. the quick self-check's wall time is the `grade` column of the same runs;
3. batch scaling: `grade batch` on N copies of a reference (each told apart by its metadata,
   as students' notebooks are) with 1 and with 2 workers;
4. regrading: the same batch again after the accuracy threshold changed, against its first
   run (kept runs are re-scored, nothing executes);
5. the sandbox's start-up cost (`benchmarks/sandbox.py`).

Medians and min–max over `--repeat` runs; runs alternate between the two sides so both see
the same machine noise. `docs/performance.md` gets this run's sections; its others are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml
from sections import replace_sections  # benchmarks/sections.py

HERE = Path(__file__).parent
ROOT = HERE.parent
ASSIGNMENTS = (
    "csv-to-array",
    "file-splitting",
    "loss-selection",
    "transfer-learning",
    "cifar10-cnn",
)


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: some check failed, still a full run
        raise RuntimeError(f"{command} failed:\n{done.stderr[-2000:]}")
    return seconds


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s ({min(values):.1f}–{max(values):.1f})"


@dataclass
class Overhead:
    """Whole-process times of both sides, and where each `grade` run's time went."""

    graded: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)
    phases: list[dict[str, float]] = field(default_factory=list)

    def row(self, assignment: str) -> str:
        extra = statistics.median(self.graded) - statistics.median(self.plain)
        ratio = statistics.median(self.graded) / statistics.median(self.plain)
        return (
            f"| {assignment} | {spread(self.graded)} | {spread(self.plain)} | "
            f"+{extra:.1f} s ({ratio:.2f}×) |"
        )

    def phase_row(self, assignment: str) -> str:
        """Median seconds per phase; the rest of the process is start-up and the report."""
        medians = {
            name: statistics.median(p.get(name, 0.0) for p in self.phases) for name in PHASES
        }
        rest = statistics.median(self.graded) - sum(medians.values())
        cells = " | ".join(f"{medians[name]:.1f} s" for name in PHASES)
        return f"| {assignment} | {cells} | {rest:.1f} s |"


PHASES = ("data", "notebook", "checks")


def overhead(assignment: str, repeat: int, scratch: Path) -> Overhead:
    reference = str(ROOT / "reference" / f"{assignment}.ipynb")
    result = scratch / "result.json"
    grade = ["grade", reference, "--out", str(scratch / "reports"), "--json", str(result)]
    bare = [sys.executable, str(HERE / "bare.py"), reference]
    measured = Overhead()
    for _ in range(repeat):
        measured.plain.append(timed(bare))
        measured.graded.append(timed(grade))
        measured.phases.append(json.loads(result.read_text())["phases"])
    return measured


def batch_scaling(assignment: str, copies: int, scratch: Path) -> dict[str, float]:
    """`grade batch` on `copies` students' copies of a reference, with 1 and with 2 workers;
    then the 2-worker batch again after its accuracy threshold was lowered."""
    folder = scratch / "class"
    folder.mkdir(exist_ok=True)
    reference = json.loads((ROOT / "reference" / f"{assignment}.ipynb").read_text())
    for number in range(copies):
        reference["metadata"]["student"] = f"s{number:02}"
        (folder / f"s{number:02}.ipynb").write_text(json.dumps(reference))
    times = {}
    for jobs in (1, 2):
        out = scratch / f"batch-{jobs}"
        command = ["grade", "batch", str(folder), "--out", str(out), "--jobs", str(jobs)]
        times[str(jobs)] = timed(command)
    course = _threshold_lowered(assignment, scratch / "course")
    times["regrade"] = timed([*command, "--assignments", str(course)])
    return times


def _threshold_lowered(assignment: str, course: Path) -> Path:
    """An instructor's copy of the assignment whose accuracy checks ask 0.05 less."""
    shutil.copytree(ROOT / "assignments" / assignment, course / assignment)
    spec_file = course / assignment / "assignment.yaml"
    spec = yaml.safe_load(spec_file.read_text())
    for step in spec["steps"]:
        for check in step["checks"]:
            if check["check"] == "accuracy":
                check["args"]["min"] -= 0.05
    spec_file.write_text(yaml.safe_dump(spec))
    return course


def sandbox_cost(repeat: int) -> str:
    done = subprocess.run(
        [sys.executable, str(HERE / "sandbox.py"), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return done.stdout.rstrip()


def machine() -> str:
    memory = psutil.virtual_memory().total / 1024**3
    return (
        f"{platform.platform()}, {os.cpu_count()} cores, {memory:.0f} GB, "
        f"Python {platform.python_version()}"
    )


def report(
    measured: dict[str, Overhead],
    batch: dict[str, float] | None,
    copies: int,
    sandbox: str,
    command: str,
) -> str:
    lines = [
        "# Performance",
        "",
        f"Measured on {machine()}, no GPU. Rerun with `{command}`.",
        "",
        "## Overhead: grading against executing the same notebook",
        "",
        "| reference (quick) | `grade` (the self-check) | plain nbclient | overhead |",
        "|---|---|---|---|",
        *(m.row(assignment) for assignment, m in measured.items()),
        "",
        "## Where `grade`'s time goes (medians)",
        "",
        "Data: making or loading the datasets and the prepared notebook; notebook: the kernel,",
        "from start-up to the collect step; checks: what the grader waits for after the",
        "notebook, its checker process loading what the notebook left and running every check",
        "(the checker imports Keras while the notebook runs) while the report's figures are",
        "drawn; the rest: Python start-up, imports and writing the report.",
        "",
        "| reference | data | notebook | checks | the rest |",
        "|---|---|---|---|---|",
        *(m.phase_row(assignment) for assignment, m in measured.items()),
        "",
    ]
    if batch:
        speedup = batch["1"] / batch["2"]
        regrade = batch["2"] / batch["regrade"]
        lines += [
            "## Batch scaling and regrading",
            "",
            f"`grade batch` on {copies} notebooks: 1 worker {batch['1']:.0f} s, "
            f"2 workers {batch['2']:.0f} s: **{speedup:.2f}×**.",
            "",
            f"The same batch again after its accuracy threshold changed (kept runs re-scored, "
            f"nothing executed): {batch['regrade']:.1f} s, **{regrade:.0f}×** faster than its "
            f"first run with 2 workers.",
            "",
        ]
    lines += ["## Sandbox start-up", "", "```", sandbox, "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the grader's costs.")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--assignments", default=",".join(ASSIGNMENTS))
    parser.add_argument("--batch", type=int, default=12, help="notebooks in the batch test")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args()
    measured: dict[str, Overhead] = {}
    with tempfile.TemporaryDirectory(dir="/var/tmp") as folder:
        scratch = Path(folder)
        for assignment in args.assignments.split(","):
            measured[assignment] = overhead(assignment, args.repeat, scratch)
            print(measured[assignment].row(assignment), flush=True)
        batch = None
        if not args.skip_batch:
            batch = batch_scaling("csv-to-array", args.batch, scratch)
            print(f"batch: {batch}", flush=True)
    sandbox = sandbox_cost(10)
    print(sandbox)
    command = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    replace_sections(args.out, report(measured, batch, args.batch, sandbox, command.strip()))


if __name__ == "__main__":
    main()
