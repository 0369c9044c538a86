"""Grading a class: finding submissions, resuming, surviving a crashed worker, the gradebook."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import run_cli
from rich.console import Console

from grader import api, batch, classroom, gpus, progress
from grader.batch import Row, Submission
from grader.cores import THREAD_VARIABLES, threads_per_run
from grader.report import gradebook
from grader.sandbox import bubblewrap_problem
from grader.spec import find_assignment

HOSTILE = Path(__file__).parent / "notebooks" / "hostile"


def test_students_are_named_by_their_file_or_their_folder(tmp_path: Path) -> None:
    for relative in ["alice.ipynb", "bob/homework.ipynb", "bob/extra.ipynb", "carol/a/hw.ipynb"]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("{}")
    (tmp_path / "dave" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "dave" / ".ipynb_checkpoints" / "hw-checkpoint.ipynb").write_text("{}")
    submissions = batch.find_submissions([tmp_path])
    found = {s.student: s.path.relative_to(tmp_path).as_posix() for s in submissions}
    assert found == {
        "alice": "alice.ipynb",
        "bob": "bob/extra.ipynb",
        "bob-2": "bob/homework.ipynb",
        "carol": "carol/a/hw.ipynb",
    }


def test_the_cache_key_changes_with_the_notebook_the_spec_and_the_options(tmp_path: Path) -> None:
    spec = find_assignment("csv-to-array", [])
    key = batch.cache_key(b"notebook", spec, batch.options_key("quick", "auto", None))
    assert key == batch.cache_key(b"notebook", spec, batch.options_key("quick", "auto", None))
    assert key != batch.cache_key(b"notebook!", spec, batch.options_key("quick", "auto", None))
    assert key != batch.cache_key(b"notebook", spec, batch.options_key("full", "auto", None))
    copied = tmp_path / "csv-to-array"
    shutil.copytree(spec.root, copied)
    text = (copied / "assignment.yaml").read_text().replace("above_chance: 1.0e-6}", "min: 0.7}")
    (copied / "assignment.yaml").write_text(text)
    changed = find_assignment("csv-to-array", [tmp_path])
    assert key != batch.cache_key(b"notebook", changed, batch.options_key("quick", "auto", None))


def test_a_stored_row_counts_only_under_its_own_key(tmp_path: Path) -> None:
    row = Row("alice", "alice.ipynb", "graded", 3.0, 13.0, steps={"parse": 3.0})
    path = tmp_path / "results" / "alice.json"
    batch.write_row(path, "key-1", row)
    assert batch.read_row(path, "key-1") == row
    assert batch.read_row(path, "key-2") is None
    path.write_text('{"key": "key-1", "row": {"stud')  # what a kill during a write could leave
    assert batch.read_row(path, "key-1") is None
    assert not list(path.parent.glob(".*.partial"))


def crash_on_bob(submission: Submission) -> Row:
    """A worker that dies on one submission (as a segfault in a native library would)."""
    if submission.student == "bob":
        os._exit(1)
    return Row(submission.student, submission.path.name, "graded", 1.0, 1.0)


def test_a_crashed_worker_costs_only_the_submission_it_crashed_on(tmp_path: Path) -> None:
    pending = [(Submission(name, tmp_path / f"{name}.ipynb"), name) for name in "abc"]
    pending.insert(1, (Submission("bob", tmp_path / "bob.ipynb"), "bob"))
    rows: dict[str, Row] = {}
    batch.run_pool(pending, crash_on_bob, 2, lambda s, k, row: rows.update({s.student: row}))
    assert {name: row.status for name, row in rows.items()} == {
        "a": "graded",
        "b": "graded",
        "c": "graded",
        "bob": "failed",
    }
    assert "crashed twice" in rows["bob"].message


def _rows() -> list[Row]:
    alice_checks = {"s1.x": "passed", "s2.y": "failed"}
    bob_checks = {"s1.x": "passed", "s2.y": "passed"}
    return [
        Row("alice", "a.ipynb", "graded", 3.0, 4.0, "", {"s1": 2.0, "s2": 1.0}, alice_checks),
        Row("bob", "b.ipynb", "graded", 4.0, 4.0, "", {"s1": 2.0, "s2": 2.0}, bob_checks),
        Row("carol", "c.ipynb", "refused", None, 0.0, "is not a text file"),
    ]


def test_the_score_distribution_puts_each_graded_student_in_a_band_of_ten_percent() -> None:
    bins = gradebook.distribution(_rows())  # alice 75 %, bob 100 %, carol not graded
    assert [(b.low, b.students) for b in bins if b.students] == [(70, 1), (90, 1)]
    assert len(bins) == 10 and max(b.share for b in bins) == 1.0
    assert gradebook.distribution(_rows()[2:]) == []
    page = gradebook.render(_rows(), "csv-to-array")
    assert 'title="1 student(s) at 90–100 %"' in page and "data:image/png" not in page


def test_grades_csv_has_a_column_per_step_and_the_total() -> None:
    table = list(csv.reader(io.StringIO(gradebook.grades_csv(_rows()))))
    assert table[0] == ["student", "notebook", "status", "s1", "s2", "total", "max", "message"]
    assert table[1][:8] == ["alice", "a.ipynb", "graded", "2", "1", "3", "4", ""]
    assert table[3][:3] == ["carol", "c.ipynb", "refused"] and table[3][-1] == "is not a text file"


def test_the_gradebook_puts_the_checks_the_class_failed_most_first() -> None:
    rates = gradebook.check_rates(_rows())
    assert [(r.check, r.passed, r.graded) for r in rates] == [("s2.y", 1, 2), ("s1.x", 2, 2)]
    page = gradebook.render(_rows(), "csv-to-array")
    assert page.count("<tr>") >= 5
    assert "is not a text file" in page


@pytest.mark.slow
@pytest.mark.skipif(bubblewrap_problem() is not None, reason="batch runs every kernel sandboxed")
def test_a_batch_resumes_and_grades_again_only_what_changed(tmp_path: Path) -> None:
    submissions = tmp_path / "class"
    (submissions / "bob").mkdir(parents=True)
    shutil.copy(HOSTILE / "nbformat-3.ipynb", submissions / "alice.ipynb")
    shutil.copy(HOSTILE / "patch-numpy.ipynb", submissions / "bob" / "homework.ipynb")
    shutil.copy(HOSTILE / "binary.ipynb", submissions / "carol.ipynb")
    options = api.Options(out_dir=tmp_path / "out", cell_timeout=30)
    first = classroom.grade_batch([submissions], "csv-to-array", options, jobs=2)
    scores = {row.student: (row.status, row.score) for row in first.rows}
    assert scores == {"alice": ("graded", 3.0), "bob": ("graded", 0.0), "carol": ("refused", None)}
    assert first.graded_now == 2
    assert (tmp_path / "out" / "reports" / "alice.csv-to-array.html").exists()
    assert "alice,alice.ipynb,graded,3,0,0,0,3,13," in first.grades.read_text()

    again = classroom.grade_batch([submissions], "csv-to-array", options, jobs=2)
    assert again.graded_now == 0 and again.rows == first.rows

    course = _course_with(tmp_path / "course", "check: parsed_csv, points: 3", "points: 5")
    rescored = classroom.grade_batch(
        [submissions], "csv-to-array", replace(options, assignments_dirs=[course]), jobs=2
    )
    assert (rescored.graded_now, rescored.rescored) == (0, 2)
    assert {row.student: row.score for row in rescored.rows} == {
        "alice": 5.0,
        "bob": 0.0,
        "carol": None,
    }
    report = (tmp_path / "out" / "reports" / "alice.csv-to-array.html").read_text()
    assert "re-scored from the kept run" in report

    edited = (HOSTILE / "nbformat-3.ipynb").read_text() + "\n"  # alice's, one byte longer
    (submissions / "bob" / "homework.ipynb").write_text(edited)
    changed = classroom.grade_batch([submissions], "csv-to-array", options, jobs=2)
    assert (changed.graded_now, changed.rescored) == (1, 1)  # alice: back to the first spec
    assert {row.student: row.score for row in changed.rows}["bob"] == 3.0


def _course_with(folder: Path, old: str, new: str) -> Path:
    """An instructor's copy of csv-to-array with one edit to its spec."""
    spec = find_assignment("csv-to-array", [])
    shutil.copytree(spec.root, folder / "csv-to-array")
    spec_file = folder / "csv-to-array" / "assignment.yaml"
    spec_file.write_text(spec_file.read_text().replace(old, old.replace("points: 3", new)))
    return folder


def test_gpus_are_dealt_to_workers_round_robin() -> None:
    assert gpus.parse_indices("0\n1\n\nNo devices\n") == ["0", "1"]
    assert gpus.placement([], 2) == [None, None]
    assert gpus.placement(["0", "1"], 2) == ["0", "1"]
    assert gpus.placement(["0", "1", "2", "3"], 2) == ["0,2", "1,3"]
    assert gpus.placement(["0"], 3) == ["0", "0", "0"]


def seen_devices(submission: Submission) -> Row:
    """Reports its worker process and the GPUs that process was given."""
    time.sleep(0.5)  # long enough for both workers to get tasks
    seen = f"{os.getpid()}:{os.environ.get(gpus.VISIBLE, 'none')}"
    return Row(submission.student, "", "graded", 1.0, 1.0, seen)


def test_each_local_worker_sees_its_own_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No GPU here: a fake device list stands in for nvidia-smi's."""
    monkeypatch.setattr(batch, "visible_gpus", lambda: ["0", "1"])
    pending = [(Submission(f"s{n}", tmp_path / f"s{n}.ipynb"), f"k{n}") for n in range(6)]
    rows: list[Row] = []
    batch.run_pool(pending, seen_devices, 2, lambda s, k, row: rows.append(row))
    devices = dict(row.message.split(":") for row in rows)  # worker process → its GPUs
    assert sorted(devices.values()) == ["0", "1"]


def seen_threads(submission: Submission) -> Row:
    """Grades nothing; says how many threads its worker's TensorFlow and kernels may use."""
    seen = os.environ.get("TF_NUM_INTRAOP_THREADS", "unset")
    return Row(submission.student, "", "graded", 1.0, 1.0, seen)


def test_workers_share_the_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More workers than cores: each sets its share for its kernels."""
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    jobs = 2 * (os.cpu_count() or 1) + 1
    pending = [(Submission(f"s{n}", tmp_path / f"s{n}.ipynb"), f"k{n}") for n in range(2)]
    rows: list[Row] = []
    batch.run_pool(pending, seen_threads, jobs, lambda s, k, row: rows.append(row))
    assert {row.message for row in rows} == {str(threads_per_run(jobs))} == {"1"}


def test_the_report_names_each_gpu_with_its_peak_memory() -> None:
    environment = {"gpus": ["NVIDIA T4", "NVIDIA T4"], "gpu_peak_bytes": [2 * 1024**3, None]}
    assert api._device(environment) == "NVIDIA T4 (peak 2.0 GB), NVIDIA T4"
    assert api._device({"gpus": []}) == "CPU"


def reports_a_cell(submission: Submission) -> Row:
    """Grades nothing; tells the parent's display it is in cell 1 of 2."""
    shown = batch.worker_progress(submission.student)
    shown.cell_started(1, 2, "import keras")
    shown.close()
    return Row(submission.student, "", "graded", 1.0, 1.0)


def test_workers_report_what_their_kernels_are_doing(tmp_path: Path) -> None:
    pending = [(Submission(f"s{n}", tmp_path / f"s{n}.ipynb"), f"k{n}") for n in range(3)]
    seen: list[tuple[str, str | None]] = []
    batch.run_pool(pending, reports_a_cell, 2, lambda s, k, r: None, lambda *m: seen.append(m))
    for student in ("s0", "s1", "s2"):
        assert seen.index((student, "cell 1/2  import keras")) < seen.index((student, None))


def test_the_board_shows_done_total_eta_and_the_running_submissions() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    board = progress.Board(total=4, jobs=2, console=console)
    board.finished(10.0)
    board.finished(None)  # kept from an earlier run: no duration
    board.update("alice", "fit 1 · epoch 2/3")
    text = board._render().plain
    board.close()
    assert text.splitlines()[0] == "2/4 done · ETA 10 s"
    assert "alice" in text and "epoch 2/3" in text


@pytest.mark.slow
@pytest.mark.skipif(bubblewrap_problem() is not None, reason="batch runs every kernel sandboxed")
def test_grade_batch_on_the_command_line_lists_each_student_and_the_gradebook(
    tmp_path: Path,
) -> None:
    submissions = tmp_path / "class"
    submissions.mkdir()
    shutil.copy(HOSTILE / "nbformat-3.ipynb", submissions / "ann.ipynb")
    shutil.copy(HOSTILE / "binary.ipynb", submissions / "bo.ipynb")
    out = tmp_path / "out"
    done = run_cli("batch", str(submissions), "--out", str(out), "--jobs", "1")
    assert done.returncode == 1, done.stderr  # one notebook could not be graded
    assert re.search(r"^ann +3/13 · \d+\.\d s$", done.stderr, re.MULTILINE)  # as they end
    assert re.search(r"^bo +refused: .*is not a text file", done.stderr, re.MULTILINE)
    assert f"Gradebook: {out / 'index.html'}" in done.stdout
    assert (out / "grades.csv").read_text().count("\n") == 3
