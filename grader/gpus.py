"""GPU placement for local batch workers: each worker process gets its own GPU(s) through
`CUDA_VISIBLE_DEVICES`, which its kernels inherit (they turn on TensorFlow's memory growth).

The GPUs are listed with `nvidia-smi`, so the grader's process does not import TensorFlow
or touch a GPU itself. None of this has run on GPU hardware; tests use fake device lists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from multiprocessing.queues import Queue

VISIBLE = "CUDA_VISIBLE_DEVICES"


def visible_gpus() -> list[str]:
    """GPU ids this process may use: `CUDA_VISIBLE_DEVICES` when set, else nvidia-smi's."""
    given = os.environ.get(VISIBLE)
    if given is not None:
        return [device for device in given.split(",") if device.strip() not in ("", "-1")]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return parse_indices(listed.stdout) if listed.returncode == 0 else []


def parse_indices(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().isdigit()]


def placement(gpus: list[str], workers: int) -> list[str | None]:
    """What each worker sees: GPUs dealt round-robin (more workers than GPUs share them;
    more GPUs than workers: a worker gets several). No GPU: None, the CPU."""
    if not gpus:
        return [None] * workers
    shares: list[list[str]] = [[] for _ in range(workers)]
    for number, gpu in enumerate(gpus):
        shares[number % workers].append(gpu)
    for number, share in enumerate(shares):
        if not share:
            share.append(gpus[number % len(gpus)])
    return [",".join(share) for share in shares]


def take_device(devices: Queue) -> None:
    """A worker process's initializer: take the next device set, for its kernels to see."""
    device = devices.get()
    if device is not None:
        os.environ[VISIBLE] = device
