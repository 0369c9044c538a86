"""Paired runs: `grade` of one reference under several versions of the grader, interleaved.

    python benchmarks/paired.py REV [REV ...] [--reference csv-to-array] [--repeat 8]

Each REV (a commit, a branch, or `.` for the working tree) is checked out into a temporary
git worktree and run as `python -m grader` with that worktree first on the import path (its
kernel then imports the same grader). One untimed run per version fills its fixture cache.
Then the versions take turns, in alternating order, so that the machine's slow minutes fall
on all of them alike: on this 2-core machine the same command varies by ±1–2 s from run to
run, and only paired runs resolve a change smaller than that. Prints, per version, the median
wall time (min–max), the median CPU time of the whole process tree (grader, kernel, checker:
the work done, whatever ran at the same time) and the median of each phase.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("data", "notebook", "checks")


@dataclass
class Runs:
    root: Path
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    phases: list[dict[str, float]] = field(default_factory=list)

    def row(self, name: str) -> str:
        wall = f"{statistics.median(self.wall):.1f} s ({min(self.wall):.1f}–{max(self.wall):.1f})"
        phases = " | ".join(
            f"{statistics.median(p.get(n, 0.0) for p in self.phases):.1f} s" for n in PHASES
        )
        return f"| {name} | {wall} | {statistics.median(self.cpu):.1f} s | {phases} |"


def run_once(root: Path, reference: Path, out: Path) -> tuple[float, float, dict[str, float]]:
    """Wall and CPU seconds of one `grade`, and its phases."""
    env = dict(os.environ, PYTHONPATH=str(root))
    result = out / "result.json"
    command = [sys.executable, "-m", "grader", str(reference), "--out", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--json", str(result)], env=env, capture_output=True, text=True, cwd=out
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: a check failed, still a whole run
        raise RuntimeError(f"{root}: grade failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(result.read_text())["phases"]


def checkout(revision: str, folder: Path) -> Path:
    if revision == ".":
        return ROOT
    target = folder / revision.replace("/", "-")
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--force", str(target), revision],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return target


def measure(revisions: list[str], reference: Path, scratch: Path, repeat: int) -> dict[str, Runs]:
    versions = {revision: Runs(checkout(revision, scratch)) for revision in revisions}
    for runs in versions.values():
        run_once(runs.root, reference, scratch)  # fills this version's fixture cache
    for number in range(repeat):
        order = list(versions) if number % 2 == 0 else list(reversed(versions))
        for revision in order:
            wall, cpu, phases = run_once(versions[revision].root, reference, scratch)
            versions[revision].wall.append(wall)
            versions[revision].cpu.append(cpu)
            versions[revision].phases.append(phases)
    return versions


def main() -> None:
    parser = argparse.ArgumentParser(description="Interleaved runs of grader versions.")
    parser.add_argument("revisions", nargs="+", help="commits, branches, or . (working tree)")
    parser.add_argument("--reference", default="csv-to-array")
    parser.add_argument("--repeat", type=int, default=8)
    args = parser.parse_args()
    reference = ROOT / "reference" / f"{args.reference}.ipynb"
    try:
        with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="grader-paired-") as folder:
            versions = measure(args.revisions, reference, Path(folder), args.repeat)
    finally:  # the worktrees went with the folder; git forgets them
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
    print(f"`grade reference/{args.reference}.ipynb`, {args.repeat} runs of each, interleaved:\n")
    print("| version | wall time | CPU time | " + " | ".join(PHASES) + " |")
    print("|---|---|---|" + "---|" * len(PHASES))
    for revision, runs in versions.items():
        print(runs.row(revision))


if __name__ == "__main__":
    main()
