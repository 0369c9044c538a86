"""Image files shared by the folder datasets: decoding photos for the grader's held-out
arrays, and serving real files without copying them twice."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
from PIL import Image


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
