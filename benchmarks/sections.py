"""Writing a benchmark's figures into docs/performance.md without touching the rest.

Each benchmark script writes the `## ` sections it measures; the file's other sections (those
of other scripts, and the notes written by hand beside them) are kept where they are.
"""

from __future__ import annotations

import re
from pathlib import Path

_HEADING = re.compile(r"^## .*$", re.MULTILINE)


def replace_sections(path: Path, text: str) -> None:
    """Each `## ` section of `text` takes the place of the file's section with the same
    heading, or goes at the end; the text before its first section (a title, the machine)
    replaces the file's when it has any."""
    old_preamble, kept = _split(path.read_text() if path.exists() else "")
    new_preamble, measured = _split(text)
    preamble = new_preamble if new_preamble.strip() else old_preamble
    kept.update(measured)  # a heading already there keeps its place
    parts = [preamble.strip("\n"), *(section.strip("\n") for section in kept.values())]
    path.write_text("\n\n".join(part for part in parts if part) + "\n")


def _split(text: str) -> tuple[str, dict[str, str]]:
    """The text before the first `## ` heading, and each section by its heading line."""
    starts = [match.start() for match in _HEADING.finditer(text)]
    if not starts:
        return text, {}
    sections = {}
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        section = text[begin:end]
        sections[section.splitlines()[0]] = section
    return text[: starts[0]], sections
