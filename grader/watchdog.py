"""Watching the kernel from outside: its process tree's memory and process count.

A thread samples the tree a few times a second. Over a limit it kills the whole tree (inside
the sandbox, killing bubblewrap ends the kernel's PID namespace and everything in it) and
keeps the reason, so the run can say "memory limit 4.0 GB exceeded in cell 7 (peak 4.3 GB)".
It also stops a cell that keeps running past its time limit although interrupted (a loop
inside C code never sees the interrupt).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

import psutil

GB = 1024**3


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    max_processes: int = 256
    interval_s: float = 0.1


@dataclass(frozen=True)
class Breach:
    """Why the watchdog stopped the kernel."""

    kind: str  # "memory", "processes" or "time"
    what: str  # "memory limit 4.0 GB exceeded"
    detail: str  # "peak 4.3 GB"


def default_memory_bytes(workers: int = 1) -> int:
    """A share of the machine: 3/4 of its memory, split between concurrent kernels."""
    return int(psutil.virtual_memory().total * 0.75 / max(1, workers))


class Watchdog:
    """Use as a context manager around a kernel whose root process is `pid`."""

    def __init__(self, pid: int, limits: Limits) -> None:
        self.limits = limits
        self.peak_bytes = 0
        self.breach: Breach | None = None
        self._root = psutil.Process(pid)
        self._cell_deadline: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="grader-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def cell_started(self, seconds: float) -> None:
        """A cell starts; it must be over within `seconds`, interrupt included."""
        self._cell_deadline = time.monotonic() + seconds

    def _watch(self) -> None:
        while not self._stop.wait(self.limits.interval_s):
            try:
                tree = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:  # the kernel is gone: nothing left to watch
                return
            if self._check(tree):
                _kill(tree)
                return

    def _check(self, tree: list[psutil.Process]) -> bool:
        if len(tree) > self.limits.max_processes:
            limit = self.limits.max_processes
            self.breach = Breach("processes", f"process limit {limit} exceeded", f"{len(tree)}")
            return True
        used = sum(_rss(process) for process in tree)
        self.peak_bytes = max(self.peak_bytes, used)
        if used > self.limits.memory_bytes:
            limit_gb = self.limits.memory_bytes / GB
            what = f"memory limit {limit_gb:.1f} GB exceeded"
            self.breach = Breach("memory", what, f"peak {used / GB:.1f} GB")
            return True
        deadline = self._cell_deadline
        if deadline is not None and time.monotonic() > deadline:
            what = "time limit exceeded and the interrupt was ignored"
            self.breach = Breach("time", what, "a loop in C code does not see interrupts")
            return True
        return False


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:  # it ended between listing and sampling
        return 0


def _kill(tree: list[psutil.Process]) -> None:
    for process in tree:  # the root first: in the sandbox that ends the whole namespace
        with contextlib.suppress(psutil.Error):
            process.kill()
