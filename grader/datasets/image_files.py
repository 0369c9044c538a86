"""Image files shared by the folder datasets: decoding photos for the grader's held-out
arrays, serving real files without copying them twice, and extracting real archives."""

from __future__ import annotations

import os
import shutil
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from grader.outcomes import UsageError


def decoded(paths: list[Path], size: tuple[int, int], wanted: int) -> list[np.ndarray]:
    """Up to `wanted` readable images among `paths`, as RGB arrays of `size`; empty and
    broken files (the real cats-vs-dogs set has both) are skipped."""
    images: list[np.ndarray] = []
    for path in paths:
        if len(images) == wanted:
            break
        image = decode(path, size) if path.stat().st_size else None
        if image is not None:
            images.append(image)
    return images


def decode(path: Path, size: tuple[int, int]) -> np.ndarray | None:
    """The image as RGB (height, width, 3), or None for a file that is not a readable image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # real photos include some with broken EXIF
            with Image.open(path) as image:
                rgb = image.convert("RGB").resize(size[::-1], Image.Resampling.BILINEAR)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return np.asarray(rgb, dtype=np.uint8)


def link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copy2(source, target)


def archive_stamp(archive: Path) -> str:
    """What identifies an archive's contents well enough to re-extract when it changes."""
    stat = archive.stat()
    return f"{archive.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def extract_members(archive: Path, target: Path, keep: Callable[[str], bool], hint: str) -> None:
    """Extract the members `keep` accepts (never absolute paths or `..`: `keep` says which);
    an unreadable archive is a `UsageError` ending in `hint`."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if keep(m.filename)]
            zipped.extractall(target, members)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UsageError(f"{archive} is not a readable zip archive ({exc}). Hint: {hint}") from exc
