"""Fixture material built once and kept on disk, so each run copies it instead of drawing it.

What is kept is only what every run draws alike: the served fixtures (made from the public
seed) and the source material they are drawn from (scikit-learn's digit scans, resized:
importing scikit-learn alone took 2 s of every Sign Language MNIST self-check). Held-out
images come from each run's secret seed and are drawn fresh every time.

Entries live in a folder named by a hash of the dataset code and of the libraries that draw
them, so a change to either makes new entries instead of serving stale ones. Each run marks
its folder as used; folders of other code unused for `STALE_DAYS` are deleted (two grader
versions in use side by side keep theirs). Entries are written to a temporary name and
renamed: a run killed mid-write, or two runs building the same entry, never leave half of
one. An entry that cannot be read is built again. Deleting the cache is always safe.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

from grader.hashing import digest

_DATASETS_CODE = Path(__file__).resolve().parent
_LIBRARIES = ("numpy", "pillow", "scikit-image", "scikit-learn")

Arrays = dict[str, np.ndarray]
STALE_DAYS = 7


def cache_dir() -> Path:
    """The grader's cache: `$GRADER_CACHE`, else `~/.cache/grader`."""
    configured = os.environ.get("GRADER_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "grader"


def cached_arrays(name: str, parts: tuple[object, ...], build: Callable[[], Arrays]) -> Arrays:
    """The arrays `build` returns for `name` and `parts`, from the cache when kept there."""
    path = _entry(name, parts, ".npz")
    try:
        with np.load(path, allow_pickle=False) as kept:
            return {key: kept[key] for key in kept.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        pass  # not built yet, or unreadable: build it (again)
    arrays = build()
    with contextlib.suppress(OSError):  # a cache that cannot be written: the run has its data
        _keep(arrays, path)
    return arrays


def _keep(arrays: Arrays, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would keep a shared cache from others
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def cached_tree(
    name: str, parts: tuple[object, ...], write: Callable[[Path], None], destination: Path
) -> None:
    """Fill `destination` with the folder `write` makes for `name` and `parts`: a copy of the
    cache's entry, made first when missing (a run never writes into the cache's own files).
    Where the cache cannot be written, `write` fills `destination` itself."""
    try:
        kept = _kept_tree(name, parts, write)
    except OSError:
        destination.mkdir(parents=True, exist_ok=True)
        write(destination)
        return
    shutil.copytree(kept, destination, dirs_exist_ok=True)


def _kept_tree(name: str, parts: tuple[object, ...], write: Callable[[Path], None]) -> Path:
    path = _entry(name, parts, "")
    if path.is_dir():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        write(temporary)
        temporary.chmod(0o755)
        os.rename(temporary, path)
    except OSError:
        if not path.is_dir():  # another run renamed its copy first: that one is as good
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return path


def _entry(name: str, parts: tuple[object, ...], suffix: str) -> Path:
    folder = _code_folder(cache_dir(), _drawing_code()[:20])
    return folder / f"{name}-{digest(repr(parts))[:20]}{suffix}"


@cache
def _code_folder(cache: Path, code: str) -> Path:
    """The folder of this code's entries, marked as used now; other code's folders unused
    for `STALE_DAYS` are deleted (once per process and cache)."""
    fixtures = cache / "fixtures"
    folder = fixtures / code
    with contextlib.suppress(OSError):  # a cache that cannot be written: entries fail alone
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)
        _delete_stale(fixtures, keep=folder)
    return folder


def _delete_stale(fixtures: Path, keep: Path) -> None:
    stale_before = time.time() - STALE_DAYS * 86400
    for other in fixtures.iterdir():
        if other != keep and other.stat().st_mtime < stale_before:
            if other.is_dir():
                shutil.rmtree(other, ignore_errors=True)
            else:
                other.unlink(missing_ok=True)


@cache
def _drawing_code() -> str:
    """What a fixture depends on besides its parameters: the dataset modules' code and the
    versions of the libraries that draw, resize and encode the images."""
    sources = [path.read_bytes() for path in sorted(_DATASETS_CODE.glob("*.py"))]
    return digest(*sources, *(f"{lib}=={_version(lib)}" for lib in _LIBRARIES))


def _version(library: str) -> str:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return "absent"
