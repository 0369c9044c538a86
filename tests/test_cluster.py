"""A batch on a real Dask cluster: a scheduler and two workers on loopback, one of which is
killed while it grades. Every submission must be graded exactly once, and nothing lost."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader import api, classroom, rescore
from grader.batch import Row
from grader.sandbox import bubblewrap_problem

distributed = pytest.importorskip("distributed")

HOSTILE = Path(__file__).parent / "notebooks" / "hostile"
SLOW_CELL = "import time\ntime.sleep(4)  # long enough to be killed in the middle"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bubblewrap_problem() is not None, reason="workers grade sandboxed"),
]


def _dask(*args: str, log: Path) -> subprocess.Popen[bytes]:
    """`dask scheduler` or `dask worker`, as an instructor starts them; output to `log`."""
    command = [sys.executable, "-m", "dask", *args]
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    scheduler_file = tmp_path / "scheduler.json"
    processes = [
        _dask(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
            log=tmp_path / "scheduler.log",
        )
    ]
    workers = [
        _dask(
            "worker",
            "--scheduler-file",
            str(scheduler_file),
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--name",
            f"worker-{n}",
            log=tmp_path / f"worker-{n}.log",
        )
        for n in (1, 2)
    ]
    try:
        with distributed.Client(scheduler_file=str(scheduler_file), timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            address = client.scheduler.address
        yield address, workers
    finally:
        for process in [*workers, *processes]:
            process.kill()
            process.wait()


def _class(folder: Path) -> Path:
    """Four students: three correct functions, one wrong; each notebook sleeps a little."""
    import nbformat

    folder.mkdir()
    for student, source in [("ann", "nbformat-3"), ("ben", "patch-numpy")] + [
        (name, "nbformat-3") for name in ("cat", "dan")
    ]:
        notebook = nbformat.read(HOSTILE / f"{source}.ipynb", as_version=4)
        notebook.cells.append(nbformat.v4.new_code_cell(SLOW_CELL))
        nbformat.write(notebook, folder / f"{student}.ipynb")
    return folder


def _kill_a_busy_worker(address: str, worker: subprocess.Popen[bytes]) -> threading.Thread:
    """Once both workers are grading, kill the second one."""

    def kill() -> None:
        with distributed.Client(address, timeout="30s") as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                busy = [tasks for tasks in client.processing().values() if tasks]
                if len(busy) == 2:
                    worker.kill()
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_batch_on_a_cluster_survives_a_killed_worker(
    tmp_path: Path, cluster: tuple[str, list[subprocess.Popen[bytes]]]
) -> None:
    address, workers = cluster
    submissions = _class(tmp_path / "class")
    finished: list[str] = []

    def seen(row: Row, kept: bool) -> None:
        finished.append(row.student)

    killer = _kill_a_busy_worker(address, workers[1])
    options = api.Options(out_dir=tmp_path / "out", cell_timeout=60)
    result = classroom.grade_batch(
        [submissions], "csv-to-array", options, on_row=seen, scheduler=address
    )
    killer.join(timeout=5)
    assert workers[1].poll() is not None, "the second worker was never killed"
    assert Counter(finished) == Counter(["ann", "ben", "cat", "dan"])  # each exactly once
    scores = {row.student: row.score for row in result.rows}
    assert scores == {"ann": 3.0, "ben": 0.0, "cat": 3.0, "dan": 3.0}
    for row in result.rows:  # each report came back from its worker
        assert row.report and (tmp_path / "out" / row.report).exists()
    kept = [rescore.load(path) for path in (tmp_path / "out" / "cache").glob("*.json")]
    assert sorted(run.notebook for run in kept if run) == [  # and each run, to re-score
        "ann.ipynb",
        "ben.ipynb",
        "cat.ipynb",
        "dan.ipynb",
    ]
