"""Microsoft's cats-vs-dogs "PetImages" tree, as the course's week 1 assignment downloads it.

Unlike the array datasets this one is a folder tree, `PetImages/Cat/<n>.jpg` and
`PetImages/Dog/<n>.jpg`, because the students' code walks, filters and copies files. Two files
are zero-length in the real data and the course asks students to skip them, so the fixture and
every served copy keep them. The fixture's photos are crops of two real photos bundled with
scikit-image, so a small CNN has a real signal without any download.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from grader.datasets.base import Split
from grader.datasets.image_files import (
    archive_stamp,
    decoded,
    extract_members,
    link_or_copy,
)
from grader.outcomes import UsageError

ROOT = "PetImages"
CLASS_FOLDERS = ("Cat", "Dog")
ZERO_LENGTH = ("Cat/666.jpg", "Dog/11702.jpg")
ARCHIVE = "kagglecatsanddogs_5340.zip"

# The course's notebook runs `wget <COURSE_URL> -O COURSE_ARCHIVE_PATH` and extracts that into
# COURSE_EXTRACT_TO. Microsoft has since replaced that file by ARCHIVE at the same place, with
# the same PetImages layout; either URL is answered with the served archive.
COURSE_URL = (
    "https://download.microsoft.com/download/3/E/1/3E1C3F21-ECDB-4869-8368-6DEBA77B919F/"
    "kagglecatsanddogs_3367a.zip"
)
CURRENT_URL = COURSE_URL.replace("kagglecatsanddogs_3367a.zip", ARCHIVE)
COURSE_ARCHIVE_PATH = "/tmp/cats-and-dogs.zip"
COURSE_EXTRACT_TO = "/tmp"
DOWNLOADS: dict[str, str] = {COURSE_URL: ARCHIVE, CURRENT_URL: ARCHIVE}
# Where the notebook finds the tree once extracted -> the served folder that goes there.
PLACE: dict[str, str] = {f"{COURSE_EXTRACT_TO}/{ROOT}": ROOT}

# Names under which the archive may sit in a data folder: today's, the course's URL, its `-O`.
_ARCHIVE_NAMES = (ARCHIVE, PurePosixPath(COURSE_URL).name, PurePosixPath(COURSE_ARCHIVE_PATH).name)
_EXTRACTED = "petimages-extracted"
_DONE = ".extracted-from"
_NUMBERS = 12_500  # the real files are numbered 0..12499 in each class
_EMPTY_FILES = {z.split("/")[0]: z.split("/")[1] for z in ZERO_LENGTH}  # folder -> empty file


def find_real(data_dir: Path | None, scratch: Path) -> Path | None:
    """The folder holding `PetImages/Cat` and `PetImages/Dog`, extracting an archive if needed.

    Looks at `data_dir`, then at `data_dir` as the `PetImages` folder itself, then for the
    archive in `data_dir`, which is extracted once into `scratch` and reused after.
    """
    if data_dir is None:
        return None
    if _holds_tree(data_dir):
        return data_dir
    if data_dir.name == ROOT and _holds_tree(data_dir.parent):
        return data_dir.parent
    archive = next((data_dir / n for n in _ARCHIVE_NAMES if (data_dir / n).is_file()), None)
    return None if archive is None else _extract(archive, scratch / _EXTRACTED)


def _holds_tree(folder: Path) -> bool:
    return all((folder / ROOT / name).is_dir() for name in CLASS_FOLDERS)


def _extract(archive: Path, target: Path) -> Path:
    """Extract the class folders once; a marker names the archive so a new one is re-read."""
    stamp = archive_stamp(archive)
    marker = target / _DONE
    if marker.is_file() and marker.read_text() == stamp:
        return target
    shutil.rmtree(target, ignore_errors=True)
    hint = f"download {ARCHIVE} again, or extract it and pass the folder that holds {ROOT}/."
    extract_members(archive, target, _is_class_file, hint)
    if not _holds_tree(target):
        raise UsageError(f"{archive} holds no {ROOT}/Cat and {ROOT}/Dog folders.")
    marker.write_text(stamp)
    return target


def _is_class_file(name: str) -> bool:
    """Only plain files directly in a class folder: nothing absolute, no `..`, no other folder."""
    parts = PurePosixPath(name).parts
    return len(parts) == 3 and parts[0] == ROOT and parts[1] in CLASS_FOLDERS and parts[2] != ".."


# The fixture. Cats are crops of scikit-image's photo of a cat (chelsea), dogs crops of its
# photo of a cup of coffee: red, white and dark where the cat is grey-brown fur. Each crop is
# flipped at random, resized around `size` like real photos of varied resolutions, and given
# colour jitter and noise, so that no two files are alike. With the astronaut photo as dogs,
# the course's CNN (RMSprop, 3 epochs on 180 photos) ended at chance in 3 runs of 14, its
# decision swinging between epochs; with the coffee photo it reached 0.95 or more in 8 of 8.
_CROP = (0.45, 0.9)  # share of each side of the source photo that a crop keeps
_SIZE_SPREAD = 0.25
_GAIN = (0.8, 1.2)
_SHIFT = 20.0
_NOISE = 8.0


def write_fixture(
    folder: Path, seed: int, per_class: int, size: tuple[int, int] = (160, 160)
) -> None:
    """Write `folder/PetImages/{Cat,Dog}` with `per_class` photos each, plus the empty files."""
    rng = np.random.default_rng(seed)
    for name, source in zip(CLASS_FOLDERS, _source_photos(), strict=True):
        target = folder / ROOT / name
        target.mkdir(parents=True, exist_ok=True)
        empty = _EMPTY_FILES[name]
        (target / empty).write_bytes(b"")
        for number in _file_numbers(rng, per_class, excluded=int(PurePosixPath(empty).stem)):
            photo = _jitter(rng, _crop(rng, source, size))
            photo.save(target / f"{number}.jpg", quality=int(rng.integers(80, 96)))


def _source_photos() -> tuple[Image.Image, Image.Image]:
    from skimage import data

    return Image.fromarray(data.chelsea()), Image.fromarray(data.coffee())


def _file_numbers(rng: np.random.Generator, count: int, excluded: int) -> list[int]:
    """Distinct numbers in the real range, without the empty file's."""
    choices = rng.choice(_NUMBERS - 1, size=count, replace=False)
    return [int(n) + int(n >= excluded) for n in choices]


def _crop(rng: np.random.Generator, source: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A random part of the photo, possibly mirrored, resized to about `size` (height, width)."""
    width, height = source.size
    crop_w, crop_h = (int(side * rng.uniform(*_CROP)) for side in (width, height))
    left, top = int(rng.integers(width - crop_w + 1)), int(rng.integers(height - crop_h + 1))
    out_h, out_w = (int(side * rng.uniform(1 - _SIZE_SPREAD, 1 + _SIZE_SPREAD)) for side in size)
    box = (left, top, left + crop_w, top + crop_h)
    photo = source.resize((out_w, out_h), Image.Resampling.BILINEAR, box=box)
    return photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else photo


def _jitter(rng: np.random.Generator, photo: Image.Image) -> Image.Image:
    """Per-channel gain, a brightness shift and pixel noise."""
    pixels = np.asarray(photo, dtype=np.float32)
    pixels = pixels * rng.uniform(*_GAIN, size=3) + rng.uniform(-_SHIFT, _SHIFT)
    pixels += rng.normal(0.0, _NOISE, pixels.shape)
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def write_subsample(
    real: Path, folder: Path, per_class: int | None, seed: int, avoid: Path | None = None
) -> None:
    """Serve `per_class` photos per class of the real tree (None: all), as links where possible.

    The known zero-length files and any file that is not a JPEG (the real folders hold a
    `Thumbs.db`) are always kept, so the served tree has the quirks the course relies on.
    Photos already in the tree `avoid` are not chosen: a held-out sample cut after the served
    one then shares no photo with it.
    """
    rng = np.random.default_rng(seed)
    for name in CLASS_FOLDERS:
        source, target = real / ROOT / name, folder / ROOT / name
        taken = _names(avoid / ROOT / name) if avoid is not None else set()
        target.mkdir(parents=True, exist_ok=True)
        for path in _chosen(rng, source, name, per_class, taken):
            link_or_copy(path, target / path.name)


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _chosen(
    rng: np.random.Generator, source: Path, name: str, count: int | None, taken: set[str]
) -> list[Path]:
    files = sorted(p for p in source.iterdir() if p.is_file())
    kept = [p for p in files if f"{name}/{p.name}" in ZERO_LENGTH or p.suffix.lower() != ".jpg"]
    photos = [p for p in files if p not in kept and p.name not in taken]
    if count is not None and count < len(photos):
        photos = [photos[i] for i in sorted(rng.choice(len(photos), size=count, replace=False))]
    return kept + photos


def write_archive(folder: Path, archive: Path) -> None:
    """Zip `folder/PetImages` as the course's archive, paths starting at `PetImages/`."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zipped:
        for path in _tree(folder / ROOT):
            zipped.write(path, path.relative_to(folder).as_posix())


def write_archives(folder: Path) -> None:
    """The archive downloads are answered with, at `folder / ARCHIVE`: every folder dataset
    writes its archives through this one name, however many it publishes."""
    write_archive(folder, folder / ARCHIVE)


def _tree(root: Path) -> Iterator[Path]:
    """Folders before their contents, in name order, so the archive lists like the real one."""
    yield root
    for path in sorted(root.iterdir()):
        if path.is_dir():
            yield from _tree(path)
        else:
            yield path


def holdout_arrays(
    folder: Path, seed: int, n_per_class: int, size: tuple[int, int] = (150, 150)
) -> Split:
    """Decode up to `n_per_class` photos per class into uint8 (N, h, w, 3); y is 0 Cat, 1 Dog.

    Empty and undecodable files are skipped, as the course's students are told to do, so the
    grader can measure a model on images it chose itself.
    """
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, name in enumerate(CLASS_FOLDERS):
        found = decoded(_shuffled(rng, folder / ROOT / name), size, n_per_class)
        images.extend(found)
        labels.extend([label] * len(found))
    order = rng.permutation(len(images))
    x = np.stack(images)[order] if images else np.zeros((0, *size, 3), np.uint8)
    return Split(x, np.asarray(labels, np.uint8)[order])


def _shuffled(rng: np.random.Generator, folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
    return [files[i] for i in rng.permutation(len(files))]
