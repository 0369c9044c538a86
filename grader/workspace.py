"""A fresh folder per run: the kernel's working directory, its served data, the artifact dir,
and beside it a private folder the kernel never sees (when sandboxed)."""

from __future__ import annotations

import os
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
    private_dir: Path

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
        shutil.rmtree(self.root.parent, ignore_errors=True)


def create_workspace(parent: Path | None = None) -> Workspace:
    """The artifact folder's name is random, so no notebook can write there before collection.

    `parent` holds every run's folder (sandboxed runs: `runs_dir()`, hidden from kernels).
    """
    if parent is not None:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    run = Path(tempfile.mkdtemp(prefix="grade-", dir=parent))
    root, private = run / "work", run / "grader"
    for folder in (root, private, root / ".grader-data", root / "tmp"):
        folder.mkdir()
    artifacts = root / f".artifacts-{secrets.token_hex(8)}"
    return Workspace(root, root / ".grader-data", artifacts, private)


def runs_dir() -> Path:
    """Where sandboxed runs live: not under `/tmp`, which each sandbox replaces with its own."""
    given = os.environ.get("GRADER_RUNS_DIR")
    return Path(given) if given else Path("/var/tmp") / f"grader-runs-{os.getuid()}"
