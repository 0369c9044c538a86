"""The run's workspace: its folders, and restoring it for a second kernel."""

from __future__ import annotations

import os
from pathlib import Path

from grader.workspace import create_workspace


def test_restore_undoes_moves_deletions_and_additions(tmp_path: Path) -> None:
    workspace = create_workspace(tmp_path / "runs")
    try:
        images = workspace.data_dir / "images"
        images.mkdir()
        (images / "cat.jpg").write_bytes(b"cat")
        (workspace.tmp_dir / "train.csv").write_text("label,pixel\n")
        workspace.snapshot()
        (images / "cat.jpg").rename(workspace.root / "moved.jpg")  # what a notebook may do
        (workspace.tmp_dir / "train.csv").unlink()
        (workspace.root / "split").mkdir()
        (workspace.root / ".kernel").mkdir(exist_ok=True)
        workspace.restore()
        assert (images / "cat.jpg").read_bytes() == b"cat"
        assert (workspace.tmp_dir / "train.csv").read_text() == "label,pixel\n"
        assert not (workspace.root / "moved.jpg").exists()
        assert not (workspace.root / "split").exists()
        assert (workspace.root / ".kernel").exists()  # the kernel's connection files stay
    finally:
        workspace.remove()
    assert os.listdir(tmp_path / "runs") == []


def test_the_private_folder_is_beside_the_workspace_not_in_it(tmp_path: Path) -> None:
    workspace = create_workspace(tmp_path / "runs")
    try:
        assert workspace.private_dir.parent == workspace.root.parent
        assert workspace.artifacts_dir.parent == workspace.root
        assert not workspace.artifacts_dir.exists()  # made only by the collect step
    finally:
        workspace.remove()
