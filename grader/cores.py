"""Sharing the machine's cores between runs at once (batch workers, self-test workers).

TensorFlow and the OpenMP kernels under it start as many threads as there are cores, in
every process. Three kernels on two cores then run eighteen busy threads that wait on each
other; measured here (three fits of a small CNN at once, 2 cores): 59 s with TensorFlow's
default threads, 48-51 s with one thread each. A worker process therefore sets its share
before it imports anything, and its kernels inherit it (see `kernel._PASSED`).
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def threads_per_run(runs: int, cores: int | None = None) -> int:
    """Each of `runs` concurrent runs gets an equal share of the cores, at least one."""
    available = cores if cores is not None else os.cpu_count() or 1
    return max(1, available // max(1, runs))


def share_cores(runs: int) -> None:
    """In a worker process, before TensorFlow loads: this process and the kernels it starts
    use their share of the cores. A variable the user set is left as it is; one run alone
    keeps TensorFlow's default (all cores)."""
    if runs <= 1:
        return
    threads = str(threads_per_run(runs))
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, threads)
