"""A notebook client that keeps at most so much output per cell.

A cell that prints 100 MB would otherwise be kept whole in the grader's memory and in the
report. Past the limit, stream and display outputs are dropped and one line says so; error
outputs are always kept, since the report shows them.
"""

from __future__ import annotations

from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_output

MB = 1_000_000


class CappedClient(NotebookClient):
    def __init__(self, nb: NotebookNode, output_limit: int = MB, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.output_limit = output_limit
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
