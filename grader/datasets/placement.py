"""Putting each dataset where notebooks look for it: `load_data`, files, and downloads.

A dataset reaches the kernel in up to three ways, all from the grader's own copy:
- `keras.datasets.<name>.load_data` returns arrays from an `.npz` (array datasets);
- files placed where the course's notebooks expect them (`PLACE`: `./sign_mnist_train.csv`,
  `/tmp/PetImages`), for notebooks that skip the download;
- a download map (`DOWNLOADS`: known URL or Drive id → file), used by `!wget`, `!gdown`,
  `urllib` and `keras.utils.get_file`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from grader.datasets import PreparedData, dataset_module, write_served
from grader.workspace import Workspace

_RESOURCES = Path(__file__).resolve().parent.parent / "resources"
# Files course notebooks download that are not data: served from the grader's own stand-ins.
COURSE_FILES = {
    "https://storage.googleapis.com/tensorflow-1-public/colab_metadata_checker.py": str(
        _RESOURCES / "colab_metadata_checker.py"
    ),
}


@dataclass(frozen=True)
class Served:
    load_data: dict[str, str] = field(default_factory=dict)
    downloads: dict[str, str] = field(default_factory=dict)


def place_data(data: dict[str, PreparedData], workspace: Workspace) -> Served:
    load_data: dict[str, str] = {}
    downloads: dict[str, str] = dict(COURSE_FILES)
    for name, prepared in data.items():
        module = dataset_module(name)
        folder = _files_of(module, prepared, workspace.data_dir / name)
        if folder is None:
            load_data[name] = str(write_served(prepared, workspace.data_dir))
            continue
        for target, member in getattr(module, "PLACE", {}).items():
            _copy(folder / member, workspace.resolve(target))
        for key, member in getattr(module, "DOWNLOADS", {}).items():
            downloads[key] = str(folder / member)
    return Served(load_data, downloads)


def _files_of(module: object, prepared: PreparedData, folder: Path) -> Path | None:
    """The folder holding the dataset's files as published; None for `load_data` datasets."""
    if prepared.files is not None:
        return prepared.files
    write_files = getattr(module, "write_files", None)
    if write_files is None or prepared.served is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    write_files(prepared.served, folder)
    return folder


def _copy(source: Path, target: Path) -> None:
    """Copies, never links: a notebook that writes to its data must not reach the original."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, target)
