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

    @property
    def tmp_dir(self) -> Path:
        """The run's own `/tmp`, where Colab-style notebooks keep their downloads."""
        return self.root / "tmp"

    def folder_map(self) -> dict[str, str]:
        """Absolute folders notebooks hard-code, and where they live in this run.

        `/content` is Colab's working directory, so it is the workspace itself.
        """
        return {"/tmp": str(self.tmp_dir), "/content": str(self.root)}

    def resolve(self, target: str) -> Path:
        """Where a path a notebook expects (`/tmp/PetImages`, `./data.csv`) is in this run."""
        for folder, local in self.folder_map().items():
            if target == folder or target.startswith(f"{folder}/"):
                return Path(local) / target[len(folder) :].lstrip("/")
        return self.root / target

    def hidden_dir(self) -> Path:
        """A new folder of random name for hidden inputs, made only when the collect step
        is about to use them."""
        folder = self.root / f".hidden-{secrets.token_hex(8)}"
        folder.mkdir()
        return folder

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def create_workspace() -> Workspace:
    """The artifact folder's name is random, so no notebook can write there before collection."""
    root = Path(tempfile.mkdtemp(prefix="grade-"))
    data_dir = root / ".grader-data"
    data_dir.mkdir()
    (root / "tmp").mkdir()
    return Workspace(root, data_dir, root / f".artifacts-{secrets.token_hex(8)}")
