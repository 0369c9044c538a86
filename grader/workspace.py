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

    def snapshot(self) -> None:
        """Remember the workspace as the grader prepared it (hard links: no data is copied)."""
        _link_tree(self.root, self.private_dir / "snapshot")

    def restore(self) -> None:
        """Put the workspace back as `snapshot` found it, for a second kernel.

        Files the notebook moved, deleted or added are put right; a file it rewrote in place
        shares its content with the snapshot and stays rewritten.
        """
        for entry in self.root.iterdir():
            if entry.name != ".kernel":
                _remove(entry)
        for entry in (self.private_dir / "snapshot").iterdir():
            if entry.name != ".kernel":
                _link_tree(entry, self.root / entry.name)

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


def _link_tree(source: Path, target: Path) -> None:
    if source.is_dir() and not source.is_symlink():
        shutil.copytree(source, target, symlinks=True, copy_function=os.link)
    else:
        os.link(source, target, follow_symlinks=False)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
