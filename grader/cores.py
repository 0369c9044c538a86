"""Sharing the machine's cores between runs at once (batch workers, self-test workers).

TensorFlow and the OpenMP kernels under it start as many threads as there are cores, in
every process. Measured here (2 cores): three fits of a small CNN at once took 59 s with
TensorFlow's default threads and 48-51 s with one thread each; but a batch of 12 notebooks on
2 workers took 83-89 s with one thread per kernel and 75-78 s with the default two. Idle
phases (imports, Python cells, the grader's own work) leave cores free that a second thread
uses, so each run gets twice its share of the cores, never more than all of them: one
thread each for three runs on 2 cores, 8 each for 8 workers on 32 cores (instead of 32). A
worker sets its share before it imports anything, and its kernels inherit it (see
`kernel._PASSED`).
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def threads_per_run(runs: int, cores: int | None = None) -> int:
    """Twice each run's share of the cores, at least one and at most all of them."""
    available = cores if cores is not None else os.cpu_count() or 1
    return max(1, min(available, 2 * available // max(1, runs)))


def share_cores(runs: int) -> None:
    """In a worker process, before TensorFlow loads: this process and the kernels it starts
    use `threads_per_run` threads. A variable the user set is left as it is; where the share
    is all the cores, TensorFlow's default is left alone."""
    available = os.cpu_count() or 1
    threads = threads_per_run(runs, available)
    if threads >= available:
        return
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(threads))
