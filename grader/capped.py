"""A notebook client that keeps at most so much output per cell.

A cell that prints 100 MB would otherwise be kept whole in the grader's memory and in the
report. Past the limit, stream and display outputs are dropped and one line says so; error
outputs are always kept, since the report shows them. The harness's progress messages go to
the run's progress display, never into the outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_output

from grader.progress import PROGRESS_MIME

MB = 1_000_000


class CappedClient(NotebookClient):
    """Also hands the harness's progress messages to `on_progress` instead of keeping them."""

    def __init__(
        self,
        nb: NotebookNode,
        output_limit: int = MB,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(nb, **kwargs)
        self.output_limit = output_limit
        self.on_progress = on_progress
        self._used: dict[int, int] = {}  # bytes of output seen, per cell index

    def output(
        self,
        outs: list[NotebookNode],
        msg: dict[str, Any],
        display_id: str | None,
        cell_index: int,
    ) -> NotebookNode | None:
        if msg["msg_type"] == "error":
            return super().output(outs, msg, display_id, cell_index)
        progress = msg.get("content", {}).get("data", {}).get(PROGRESS_MIME)
        if progress is not None:
            if self.on_progress is not None and isinstance(progress, dict):
                self.on_progress(progress)
            return None
        used = self._used.get(cell_index, 0)
        size = _size(msg.get("content", {}))
        self._used[cell_index] = used + size
        if used + size <= self.output_limit:
            return super().output(outs, msg, display_id, cell_index)
        if used <= self.output_limit:  # the first output over the limit: say so, once
            limit = self.output_limit / MB
            note = f"\n[grader] output cut here: a cell may print up to {limit:g} MB\n"
            outs.append(new_output("stream", name="stderr", text=note))
        return None


def _size(content: dict[str, Any]) -> int:
    if "text" in content:
        return len(content["text"])
    data = content.get("data", {})
    return sum(len(str(value)) for value in data.values())
