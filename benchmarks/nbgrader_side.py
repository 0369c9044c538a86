"""The grader against nbgrader, as whole processes, on the same small notebook:

    python benchmarks/nbgrader_side.py [--repeat 10] [--out docs/performance.md]

The notebook is steps 1–7 of `reference/cifar10-cnn.ipynb` (the 1,180-parameter minimal
model) with `epochs=2`, plus three nbgrader test cells (1,180 parameters, output shape
(None, 10), the model was trained). It trains 2 epochs on 2,000 images on every side:

(a) plain nbclient: `jupyter-execute` on the notebook (the baseline);
(b) `nbgrader autograde`, nbgrader 0.9.6 installed by this script into its own virtualenv
    (`--system-site-packages`, under /var/tmp) so the main environment never changes; the
    course folder is made the standard way (`source/` with nbgrader cell metadata,
    `nbgrader generate_assignment`, the released notebook filled in by the "student" under
    `submitted/`);
(c) `grade NOTEBOOK --assignment cifar10-cnn --data fixture` (quick profile: 2,000 / 500).

For (a) and (b) the grader's CIFAR-10 fixture (2,000 training, 500 test images) is written
in the published batch format into a scratch Keras cache (`KERAS_HOME`); Keras 3 cannot load
an unpublished archive offline, so their kernels get a start-up file that reads the cache's
extracted batches (`benchmarks/nbgrader/offline_cifar10.py`). All three kernels run this
environment's interpreter (nbgrader's through a kernelspec of its own) with the variables the
grader gives its kernel (`MPLBACKEND=Agg`, `TF_CPP_MIN_LOG_LEVEL=3`, `PYTHONHASHSEED=0`).

Medians and min–max over `--repeat` runs, the order of the sides reversed every repetition;
each command's start-up alone (`--version`) is timed beside them. The first repetition's
outputs are checked: every side trained 2 epochs on 2,000 images, nbgrader scored 3/3.
Prints a `## Against nbgrader` section; with `--out FILE` the section is also written into
FILE (replacing the one there, or appended). Scratch files live in /var/tmp and are removed.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from nbformat import NotebookNode
from run import machine  # benchmarks/run.py
from sections import replace_sections  # benchmarks/sections.py

from grader.datasets import cifar10
from grader.datasets.base import Split

HERE = Path(__file__).parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
VENV = Path(os.environ.get("GRADER_BENCH_NBGRADER_VENV", "/var/tmp/grader-bench-nbgrader-venv"))
NBGRADER = "nbgrader==0.9.6"
ASSIGNMENT = "cifar10-small"  # nbgrader's name for it
STUDENT = "student1"
NOTEBOOK = "cifar10.ipynb"
N_TRAIN, N_TEST, EPOCHS, BATCH = 2000, 500, 2, 64
SECTION = "## Against nbgrader"

# The nbgrader course's autograded tests, one point each.
TESTS = {
    "test_params": "assert minimal_model.count_params() == 1180, minimal_model.count_params()",
    "test_output_shape": (
        "assert minimal_model.output_shape == (None, 10), minimal_model.output_shape"
    ),
    "test_trained": (
        'assert len(history.epoch) >= 1, "the model was not trained"\n'
        'assert "val_loss" in history.history, "fit without validation data"'
    ),
}
NBGRADER_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "grader-bench"
c.Execute.timeout = 300  # seconds per cell; nbgrader's default (30) is short for training
"""


# The notebook ----------------------------------------------------------------------------


def benchmark_cells() -> list[NotebookNode]:
    """The reference's cells up to the end of step 7, training for `EPOCHS` epochs."""
    reference = nbformat.read(ROOT / "reference" / "cifar10-cnn.ipynb", as_version=4)
    cells = []
    for cell in reference.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Step 8"):
            break
        cells.append(copy.deepcopy(cell))
    fits = [c for c in cells if "epochs=150" in c.source]
    if len(fits) != 1:
        raise RuntimeError(f"expected one fit with epochs=150 before step 8, found {len(fits)}")
    fits[0].source = fits[0].source.replace("epochs=150", f"epochs={EPOCHS}")
    return cells


def nbgrader_metadata(grade_id: str, *, solution: bool) -> dict[str, object]:
    """Cell metadata as nbgrader's "Create Assignment" toolbar writes it (schema 3)."""
    meta: dict[str, object] = {
        "grade": not solution,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
    }
    if not solution:
        meta["points"] = 1
    return meta


def source_notebook() -> tuple[NotebookNode, dict[str, str]]:
    """The instructor's version and the student's answers, by nbgrader cell id.

    A code cell that the assignment's starter notebook gives as is stays plain; every other
    code cell is an answer cell whose body nbgrader replaces with a stub on release.
    """
    starter = nbformat.read(ROOT / "assignments" / "cifar10-cnn" / "starter.ipynb", as_version=4)
    given = {c.source for c in starter.cells if c.cell_type == "code"}
    notebook = nbformat.v4.new_notebook(metadata=starter.metadata)
    answers = {}
    for number, cell in enumerate(benchmark_cells()):
        if cell.cell_type == "code" and cell.source not in given:
            grade_id = f"answer_{number}"
            answers[grade_id] = cell.source
            cell.source = f"### BEGIN SOLUTION\n{cell.source}\n### END SOLUTION"
            cell.metadata["nbgrader"] = nbgrader_metadata(grade_id, solution=True)
        notebook.cells.append(cell)
    notebook.cells.append(nbformat.v4.new_markdown_cell("## Autograded tests"))
    for grade_id, test in TESTS.items():
        cell = nbformat.v4.new_code_cell(test)
        cell.metadata["nbgrader"] = nbgrader_metadata(grade_id, solution=False)
        notebook.cells.append(cell)
    return notebook, answers


def filled_in(released: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """The released notebook with the student's answers in place of the stubs."""
    submission = copy.deepcopy(released)
    for cell in submission.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return submission


# Data and environments --------------------------------------------------------------------


def write_batch(path: Path, split: Split, name: str) -> None:
    """One batch as CIFAR-10's authors pickled it: rows of R, G and B planes, labels a list."""
    planes = split.x.transpose(0, 3, 1, 2).reshape(len(split.x), -1)
    batch = {
        b"batch_label": name.encode(),
        b"labels": [int(label) for label in split.y[:, 0]],
        b"data": np.ascontiguousarray(planes),
        b"filenames": [f"{name}_{i}.png".encode() for i in range(len(split.x))],
    }
    # Protocol 4: Keras's unpickler refuses protocol 2's `_codecs.encode` for Python 3 bytes
    # (the published files are Python 2 pickles), and protocol 5's out-of-band buffers.
    path.write_bytes(pickle.dumps(batch, protocol=4))


def write_keras_cache(keras_home: Path) -> None:
    """The grader's fixture as the extracted CIFAR-10 batches in a Keras cache."""
    folder = keras_home / "datasets" / "cifar-10-batches-py-target" / cifar10.FOLDER
    folder.mkdir(parents=True)
    splits = cifar10.make_fixture(0, N_TRAIN, N_TEST)
    per_batch = N_TRAIN // len(cifar10.TRAIN_BATCHES)
    for number, name in enumerate(cifar10.TRAIN_BATCHES):
        rows = slice(number * per_batch, (number + 1) * per_batch)
        write_batch(folder / name, Split(splits.train.x[rows], splits.train.y[rows]), name)
    write_batch(folder / cifar10.TEST_BATCH, splits.test, cifar10.TEST_BATCH)


def kernel_environment(scratch: Path) -> dict[str, str]:
    """For (a) and (b): the scratch Keras cache, the start-up file, the grader's kernel settings."""
    startup = scratch / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    shutil.copy(HERE / "nbgrader" / "offline_cifar10.py", startup / "00-offline-cifar10.py")
    write_keras_cache(scratch / "keras")
    env = dict(os.environ)
    env.update(
        KERAS_HOME=str(scratch / "keras"),
        IPYTHONDIR=str(scratch / "ipython"),
        MPLBACKEND="Agg",
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONHASHSEED="0",
    )
    return env


def nbgrader_command() -> Path:
    """nbgrader in its own virtualenv, installed there once."""
    nbgrader = VENV / "bin" / "nbgrader"
    version = NBGRADER.split("==")[1]
    if nbgrader.exists():
        done = subprocess.run([nbgrader, "--version"], capture_output=True, text=True)
        if done.stdout.rstrip().endswith(version):
            return nbgrader
    print(f"installing {NBGRADER} into {VENV}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", VENV], check=True)
    pip = [VENV / "bin" / "python", "-m", "pip", "install", "--quiet", NBGRADER]
    subprocess.run(pip, check=True)
    return nbgrader


def run_checked(
    command: list[str | Path], cwd: Path, env: dict[str, str], exit_codes: tuple[int, ...] = (0,)
) -> None:
    """Run `command`; on an unexpected exit code, raise with the end of what it printed."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode not in exit_codes:
        raise RuntimeError(
            f"{' '.join(map(str, command))}: exit code {done.returncode}, expected "
            f"{exit_codes}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )


def make_course(course: Path, nbgrader: Path, env: dict[str, str]) -> NotebookNode:
    """nbgrader's course folder with one submission; returns the submitted notebook."""
    notebook, answers = source_notebook()
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    nbformat.write(notebook, course / "source" / ASSIGNMENT / NOTEBOOK)
    run_checked([nbgrader, "generate_assignment", ASSIGNMENT], course, env)
    released = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    submission = filled_in(released, answers)
    folder = course / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(submission, folder / NOTEBOOK)
    return submission


# The sides --------------------------------------------------------------------------------


@dataclass
class Side:
    """One way of running the notebook, timed as a whole process."""

    name: str
    command: list[str | Path]
    cwd: Path
    env: dict[str, str]
    exit_codes: tuple[int, ...] = (0,)
    compared: bool = True  # a row of the table; else only a part of a side's time
    before: Callable[[], None] = lambda: None  # untimed clean-up before each run
    seconds: list[float] = field(default_factory=list)

    def run(self) -> None:
        self.before()
        started = time.perf_counter()
        run_checked(self.command, self.cwd, self.env, self.exit_codes)
        self.seconds.append(time.perf_counter() - started)


def nbgrader_environment(scratch: Path, env: dict[str, str]) -> dict[str, str]:
    """(a)'s environment, with the virtualenv's `bin` last on PATH (nbgrader runs `alembic`
    from there when it creates its gradebook) and a `python3` kernelspec that runs this
    environment's interpreter, as (a)'s and (c)'s kernels do; the virtualenv's own would
    put nbgrader's packages on the kernel's path."""
    kernel = scratch / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    (kernel / "kernel.json").write_text(json.dumps(spec, indent=1))
    path = os.pathsep.join([env["PATH"], str(VENV / "bin")])
    return {**env, "JUPYTER_PATH": str(scratch / "jupyter"), "PATH": path}


def make_sides(scratch: Path) -> list[Side]:
    """(a), (b) and (c) on one submission written under `scratch`, then the start-up probes."""
    env = kernel_environment(scratch)
    nbgrader = nbgrader_command()
    course = scratch / "course"
    nbgrader_env = nbgrader_environment(scratch, env)
    submission = make_course(course, nbgrader, nbgrader_env)
    plain = scratch / "plain"
    plain.mkdir()
    nbformat.write(submission, plain / NOTEBOOK)
    out = scratch / "grade-out"
    grade = [BIN / "grade", plain / NOTEBOOK, "--assignment", "cifar10-cnn", "--data", "fixture"]
    return [
        Side(
            "plain nbclient",
            [BIN / "jupyter-execute", NOTEBOOK, "--output={notebook_name}-executed"],
            plain,
            env,
        ),
        Side(
            "nbgrader autograde",
            [nbgrader, "autograde", ASSIGNMENT, "--student", STUDENT, "--force"],
            course,
            nbgrader_env,
            before=lambda: shutil.rmtree(course / "autograded", ignore_errors=True),
        ),
        Side(
            "grade (quick)",
            [*grade, "--out", out, "--json", scratch / "grade.json"],
            scratch,
            dict(os.environ),
            exit_codes=(0, 1),  # 1: the checks of steps 8-14 fail, as they must here
            before=lambda: shutil.rmtree(out, ignore_errors=True),
        ),
        *start_ups(scratch, env, nbgrader_env, nbgrader),
    ]


def start_ups(
    scratch: Path, env: dict[str, str], nbgrader_env: dict[str, str], nbgrader: Path
) -> list[Side]:
    """Each side's command with `--version` only: what starting it costs, inside its time."""
    commands = {
        "jupyter-execute": ([BIN / "jupyter-execute"], env),
        "nbgrader": ([nbgrader], nbgrader_env),
        "grade": ([BIN / "grade"], dict(os.environ)),
    }
    return [
        Side(name, [*command, "--version"], scratch, environment, compared=False)
        for name, (command, environment) in commands.items()
    ]


# Checking what ran ------------------------------------------------------------------------


def outputs(notebook: Path) -> tuple[str, int]:
    """What the executed notebook's cells printed, and how many of them raised."""
    texts, errors = [], 0
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            texts.append(str(output.get("text", "")))
            texts.append(str(output.get("data", {}).get("text/plain", "")))
            errors += output.get("output_type") == "error"
    return "\n".join(texts), errors


def check_notebook_run(side: str, notebook: Path) -> str:
    """That the executed notebook loaded 2,000 images, ran 2 epochs of 32 steps, no errors."""
    text, errors = outputs(notebook)
    steps = -(-N_TRAIN // BATCH)
    wanted = {
        f"train: ({N_TRAIN}, 32, 32, 3)": "the training set's shape",
        f"Epoch {EPOCHS}/{EPOCHS}": "the last epoch",
        f"{steps}/{steps}": f"{steps} steps per epoch",
    }
    missing = [what for needle, what in wanted.items() if needle not in text]
    if missing or f"Epoch {EPOCHS + 1}/" in text or errors:
        raise RuntimeError(
            f"{side}: missing {missing}, {errors} cell error(s), in {notebook}:\n{text[-3000:]}"
        )
    return f"{side} loaded {N_TRAIN:,} training images and ran {EPOCHS} epochs of {steps} steps"


def check_nbgrader_score(gradebook: Path) -> str:
    """That nbgrader gave every test cell its point."""
    with closing(sqlite3.connect(gradebook)) as db:
        score, cells = db.execute("SELECT SUM(auto_score), COUNT(*) FROM grade").fetchone()
    if (score, cells) != (len(TESTS), len(TESTS)):
        raise RuntimeError(f"nbgrader: expected {len(TESTS)}/{len(TESTS)}, got {score}/{cells}")
    return f"nbgrader scored {score:g}/{len(TESTS)}"


def check_grade_run(path: Path) -> str:
    """That `grade` served 2,000 images and the minimal model trained 2 epochs on all of them."""
    result = json.loads(path.read_text())
    fits = [(len(f["epochs"]), f["samples_cap"]) for f in result["fits"]]
    loaded = next(c["message"] for c in result["checks"] if c["id"] == "step1.train-images")
    if fits != [(EPOCHS, None)] or not loaded.startswith(f"{N_TRAIN:,} images"):
        raise RuntimeError(f"grade: expected 1 fit of {EPOCHS} epochs, got {fits}; {loaded}")
    return f"grade served {loaded} ({result['data_source']}) and recorded 1 fit of {EPOCHS} epochs"


def verify(sides: list[Side], scratch: Path) -> list[str]:
    autograded = scratch / "course" / "autograded" / STUDENT / ASSIGNMENT / NOTEBOOK
    return [
        check_notebook_run(sides[0].name, scratch / "plain" / "cifar10-executed.ipynb"),
        check_notebook_run(sides[1].name, autograded),
        check_nbgrader_score(scratch / "course" / "gradebook.db"),
        check_grade_run(scratch / "grade.json"),
    ]


# Results ----------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} s ({min(values):.1f}–{max(values):.1f})"


def table(sides: list[Side]) -> list[str]:
    baseline = statistics.median(sides[0].seconds)
    rows = [
        "| side | wall time | over plain nbclient |",
        "|---|---|---|",
        f"| {sides[0].name} | {spread(sides[0].seconds)} | baseline |",
    ]
    for side in sides[1:]:
        median = statistics.median(side.seconds)
        extra = f"+{median - baseline:.1f} s ({median / baseline:.2f}×)"
        rows.append(f"| {side.name} | {spread(side.seconds)} | {extra} |")
    return rows


def section(sides: list[Side], checks: list[str], command: str) -> str:
    compared = [side for side in sides if side.compared]
    start_ups = [f"{side.name} {spread(side.seconds)}" for side in sides if not side.compared]
    return "\n".join(
        [
            SECTION,
            "",
            f"The same notebook (steps 1–7 of cifar10-cnn: the 1,180-parameter model trained "
            f"{EPOCHS} epochs on {N_TRAIN:,} images, plus three nbgrader test cells) run as "
            f"whole processes, {len(sides[0].seconds)} runs each with the sides in alternating "
            f"order, median (min–max), on {machine()}; nbgrader {NBGRADER.split('==')[1]}. "
            f"Rerun with `{command}`.",
            "",
            *table(compared),
            "",
            "Each command's start-up alone (`--version`, included in the times above): "
            + ", ".join(start_ups)
            + ".",
            "",
            "Checked on the first run: " + "; ".join(checks) + ".",
            "",
        ]
    )


def measure(sides: list[Side], repeat: int, scratch: Path) -> list[str]:
    """Run every side `repeat` times, in reversed order every other time; check the first."""
    checks: list[str] = []
    for number in range(repeat):
        order = sides if number % 2 == 0 else sides[::-1]
        for side in order:
            side.run()
            print(f"{number + 1}/{repeat} {side.name}: {side.seconds[-1]:.1f} s", flush=True)
        if number == 0:
            checks = verify(sides, scratch)
            print("\n".join(checks), flush=True)
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description="The grader against nbgrader, side by side.")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--out", type=Path, help="also write the section into this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="grader-bench-") as folder:
        scratch = Path(folder)
        sides = make_sides(scratch)
        checks = measure(sides, args.repeat, scratch)
    command = " ".join(["python benchmarks/nbgrader_side.py", *sys.argv[1:]])
    text = section(sides, checks, command)
    print(text)
    if args.out:
        replace_sections(args.out, text)


if __name__ == "__main__":
    main()
