"""Runs at once share the cores: each worker's TensorFlow and its kernels get their share."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader import cores
from grader.cores import THREAD_VARIABLES, share_cores, threads_per_run
from grader.kernel import kernel_environment


@pytest.mark.parametrize(
    ("runs", "available", "expected"),
    [(1, 2, 2), (2, 2, 2), (3, 2, 1), (4, 2, 1), (8, 32, 8), (3, 8, 5), (1, 8, 8)],
)
def test_each_run_gets_twice_its_share_within_the_machine(
    runs: int, available: int, expected: int
) -> None:
    assert threads_per_run(runs, available) == expected


@pytest.fixture
def no_thread_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_thread_settings")
def test_a_worker_among_several_sets_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 8)
    share_cores(4)
    assert {name: os.environ[name] for name in THREAD_VARIABLES} == dict.fromkeys(
        THREAD_VARIABLES, "4"
    )


@pytest.mark.usefixtures("no_thread_settings")
@pytest.mark.parametrize("runs", [1, 2])
def test_a_share_of_all_cores_keeps_tensorflows_default(
    runs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 2)
    share_cores(runs)
    assert not any(name in os.environ for name in THREAD_VARIABLES)


@pytest.mark.usefixtures("no_thread_settings")
def test_a_thread_count_the_user_set_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cores.os, "cpu_count", lambda: 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "6")
    share_cores(3)
    assert os.environ["OMP_NUM_THREADS"] == "6"
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "1"


def test_a_sandboxed_kernel_keeps_its_workers_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox passes few variables to the kernel; the thread counts are among them."""
    for name in THREAD_VARIABLES:
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("GRADER_SOME_TOKEN", "secret")
    env = kernel_environment(tmp_path, sandboxed=True)
    assert {name: env[name] for name in THREAD_VARIABLES} == dict.fromkeys(THREAD_VARIABLES, "1")
    assert "GRADER_SOME_TOKEN" not in env
