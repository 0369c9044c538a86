"""A fresh folder per run: the kernel's working directory, its served data, the artifact dir."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    root: Path
    data_dir: Path
    artifacts_dir: Path

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def create_workspace() -> Workspace:
    """The artifact folder's name is random, so no notebook can write there before collection."""
    root = Path(tempfile.mkdtemp(prefix="grade-"))
    data_dir = root / ".grader-data"
    data_dir.mkdir()
    return Workspace(root, data_dir, root / f".artifacts-{secrets.token_hex(8)}")
