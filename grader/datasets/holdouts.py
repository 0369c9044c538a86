"""Held-out data drawn on a thread while the notebook runs.

The checks need the held-out images only after the notebook; drawing them takes up to 2 s
(horses or humans: PNGs written and decoded in the real layout; Sign Language MNIST: each
digit resized onto its canvas), which used to come before the kernel started. The drawing
reads only the grader's own folders, never the kernel's.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from grader.datasets import HoldoutDraw, PreparedData
from grader.datasets.base import Split


class Holdouts:
    """Draws every dataset's held-out part on one thread, started at once."""

    def __init__(self, draws: dict[str, HoldoutDraw]) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="grader-holdouts")
        self._drawn = self._pool.submit(_draw_all, draws)

    def attach(self, data: dict[str, PreparedData]) -> dict[str, PreparedData]:
        """`data` with its held-out parts; waits for them (and raises what drawing raised)."""
        drawn = self._drawn.result()
        return {name: replace(prepared, holdout=drawn[name]) for name, prepared in data.items()}

    def close(self) -> None:
        """Waits for the thread: the folders it writes in are removed next."""
        self._pool.shutdown(wait=True)


def _draw_all(draws: dict[str, HoldoutDraw]) -> dict[str, Split | None]:
    return {name: draw() for name, draw in draws.items()}
