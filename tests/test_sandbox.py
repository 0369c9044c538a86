"""The sandbox's pieces, without a kernel: bubblewrap's arguments, what is hidden, the
watchdog on real processes, the output cap, and the report when there is no sandbox."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbformat.v4 import new_notebook

from grader.capped import MB, CappedClient
from grader.outcomes import UsageError
from grader.sandbox import Sandbox, bubblewrap_problem, choose_isolation, hidden_paths
from grader.watchdog import Limits, Watchdog

needs_bubblewrap = pytest.mark.skipif(
    bubblewrap_problem() is not None, reason=f"no sandbox here: {bubblewrap_problem()}"
)


@pytest.fixture
def outside_tmp() -> Iterator[Path]:
    """A folder not under `/tmp`, which every sandbox replaces with its own."""
    folder = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="grader-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _sandbox(tmp_path: Path, hidden: tuple[Path, ...] = ()) -> Sandbox:
    workspace = tmp_path / "work"
    (workspace / "tmp").mkdir(parents=True)
    return Sandbox(workspace, workspace / "tmp", hidden)


def _inside(sandbox: Sandbox, code: str) -> subprocess.CompletedProcess[str]:
    command = sandbox.wrap([sys.executable, "-c", code])
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_hidden_paths_keep_the_package_and_drop_what_is_inside_another(tmp_path: Path) -> None:
    package = tmp_path / "checkout"
    (package / "grader").mkdir(parents=True)
    (package / "reference").mkdir()
    outer = tmp_path / "class"
    (outer / "alice").mkdir(parents=True)
    candidates = [package, package / "reference", outer, outer / "alice", tmp_path / "gone", None]
    assert hidden_paths(candidates, package) == (package / "reference", outer)


def test_no_sandbox_is_said_and_a_required_one_that_cannot_run_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not choose_isolation(False).sandboxed
    assert "--no-sandbox" in choose_isolation(False).detail
    monkeypatch.setattr("grader.sandbox.bubblewrap_problem", lambda: "bwrap is not installed")
    assert choose_isolation(None).detail == "not isolated: bwrap is not installed"
    with pytest.raises(UsageError, match="apt-get install bubblewrap"):
        choose_isolation(True)


def test_gpu_devices_are_passed_into_the_sandbox(
    outside_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No GPU here: a fake device list stands in for /dev/nvidia*."""
    monkeypatch.setattr("grader.sandbox.gpu_devices", lambda: ["/dev/nvidia0", "/dev/nvidiactl"])
    arguments = _sandbox(outside_tmp).arguments()
    assert "--dev-bind /dev/nvidia0 /dev/nvidia0" in " ".join(arguments)
    assert arguments.index("--dev-bind") > arguments.index("--dev")  # on top of the new /dev


@needs_bubblewrap
def test_inside_only_the_workspace_and_its_tmp_are_writable(outside_tmp: Path) -> None:
    tmp_path = outside_tmp
    secret = tmp_path / "solutions"
    secret.mkdir()
    (secret / "answer.txt").write_text("42")
    sandbox = _sandbox(tmp_path, (secret,))
    code = f"""
import os
open('/tmp/scratch', 'w').write('ok')
open('/content/in-workspace', 'w').write('ok')
for path in ['{tmp_path}/outside', '/usr/x', '/new-top-level']:
    try:
        open(path, 'w')
    except OSError as error:
        print('refused', error.errno)
print(sorted(os.listdir('{secret}')), os.getpid())
"""
    done = _inside(sandbox, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("refused 30") == 3  # EROFS: read-only file system
    assert "[] 2" in done.stdout  # the solutions hidden; its own PID namespace
    assert (sandbox.tmp_dir / "scratch").exists()
    assert (sandbox.workspace / "in-workspace").exists()
    assert not (tmp_path / "outside").exists()


@needs_bubblewrap
def test_a_checkout_under_tmp_stays_importable_and_its_solutions_hidden(
    outside_tmp: Path, tmp_path: Path
) -> None:
    """CI may check the project out under /tmp, which every sandbox replaces."""
    checkout = tmp_path / "checkout"
    (checkout / "grader").mkdir(parents=True)
    (checkout / "grader" / "__init__.py").write_text("NAME = 'grader'")
    (checkout / "reference").mkdir()
    (checkout / "reference" / "answer.ipynb").write_text("{}")
    workspace = outside_tmp / "work"
    (workspace / "tmp").mkdir(parents=True)
    sandbox = Sandbox(workspace, workspace / "tmp", (checkout / "reference",), (checkout,))
    code = f"""
import os, sys
sys.path.insert(0, '{checkout}')
import grader
print(grader.NAME, os.listdir('{checkout / "reference"}'), os.listdir('/tmp'))
"""
    done = _inside(sandbox, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1)[0] == "grader"
    assert "[]" in done.stdout  # the reference folder shows empty


@needs_bubblewrap
def test_inside_there_is_no_network(outside_tmp: Path) -> None:
    code = """
import socket
names = [name for _, name in socket.if_nameindex()]
try:
    socket.create_connection(('1.1.1.1', 53), timeout=3)
except OSError as error:
    print('unreachable', names)
"""
    done = _inside(_sandbox(outside_tmp), code)
    assert done.stdout.strip() == "unreachable ['lo']", done.stderr


def test_the_watchdog_stops_a_process_tree_over_its_memory_limit() -> None:
    hog = "import time\nblocks = [bytearray(50 * 2**20) for _ in range(40)]\ntime.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", hog])
    try:
        with Watchdog(process.pid, Limits(memory_bytes=300 * 2**20)) as watchdog:
            process.wait(timeout=60)
    finally:
        process.kill()
    assert watchdog.breach is not None and watchdog.breach.kind == "memory"
    assert watchdog.breach.what == "memory limit 0.3 GB exceeded"
    assert watchdog.peak_bytes > 300 * 2**20


def test_the_watchdog_stops_a_cell_that_outlives_its_deadline() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = time.monotonic()
    try:
        with Watchdog(process.pid, Limits(memory_bytes=2**40)) as watchdog:
            watchdog.cell_started(0.5)
            process.wait(timeout=60)
    finally:
        process.kill()
    assert watchdog.breach is not None and watchdog.breach.kind == "time"
    assert time.monotonic() - started < 30


def test_output_past_the_cap_is_dropped_with_one_note() -> None:
    client = CappedClient(new_notebook(), output_limit=MB)
    client.clear_before_next_output = False  # as `execute_cell` leaves it
    outs: list = []
    chunk = {"name": "stdout", "text": "x" * (MB // 2)}
    for _ in range(6):
        client.output(outs, _message("stream", chunk), None, 0)
    error = {"ename": "E", "evalue": "kept", "traceback": []}
    client.output(outs, _message("error", error), None, 0)
    texts = [out.get("text", "") for out in outs]
    assert sum(len(t) for t in texts) < 1.1 * MB
    assert sum("output cut here" in t for t in texts) == 1
    assert outs[-1]["output_type"] == "error"


def _message(kind: str, content: dict) -> dict:
    return {"msg_type": kind, "header": {"msg_type": kind}, "parent_header": {}, "content": content}
