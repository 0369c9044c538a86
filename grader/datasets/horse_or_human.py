"""Horses or humans, as the course's week 3 notebook (transfer learning) downloads it.

Two zip archives, each with `horses/` and `humans/` at its root holding 300×300 PNG renders:
the training set (1,027 images) and the validation set (256). The notebook extracts them to
`/tmp/training` and `/tmp/validation` (2021-2023), or finds them in `./data/train` and
`./data/validation` (2024), so the served folder keeps both trees side by side, plus the
archives for notebooks that download them. The fixture's horses are scikit-image's horse
silhouette on its bundled textures, its humans crops of its photo of an astronaut: a small CNN
has a real signal without any download.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
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

CLASS_FOLDERS = ("horses", "humans")
TRAIN_ARCHIVE = "horse-or-human.zip"
VALIDATION_ARCHIVE = "validation-horse-or-human.zip"
SUBSETS = ("training", "validation")
ARCHIVES: dict[str, str] = {"training": TRAIN_ARCHIVE, "validation": VALIDATION_ARCHIVE}

# The notebook runs `!gdown --id <id>` (older version) or `!wget -q -P /content/ <url>` (newer):
# either is answered with the served archive.
_COURSE_URL = "https://storage.googleapis.com/tensorflow-1-public/course2/week3/"
DOWNLOADS: dict[str, str] = {
    "gdrive:1onaG42NZft3wCE1WH0GDEbUhu75fedP5": TRAIN_ARCHIVE,
    "gdrive:1LYeusSEIiZQpwN-mthh5nKdA75VsKG1U": VALIDATION_ARCHIVE,
    f"{_COURSE_URL}{TRAIN_ARCHIVE}": TRAIN_ARCHIVE,
    f"{_COURSE_URL}{VALIDATION_ARCHIVE}": VALIDATION_ARCHIVE,
}
# Where the notebook expects each tree -> the served folder that goes there: the older
# revisions extract the archives to /tmp/training and /tmp/validation; the 2024 revision reads
# ./data/train and ./data/validation, which its lab provides.
PLACE: dict[str, str] = {
    **{f"/tmp/{subset}": subset for subset in SUBSETS},
    "data/train": "training",
    "data/validation": "validation",
}

_SUBFOLDER = "horse-or-human"  # a data folder may hold the trees under this name
_EXTRACTED = "horse-or-human-extracted"
_DONE = ".extracted-from"


def find_real(data_dir: Path | None, scratch: Path) -> Path | None:
    """The folder holding `training/` and `validation/`, extracting the archives if needed.

    Looks in `data_dir` and in `data_dir/horse-or-human`, first for the extracted trees, then
    for both archives, which are extracted once into `scratch` and reused after.
    """
    if data_dir is None:
        return None
    folders = (data_dir, data_dir / _SUBFOLDER)
    found = next((folder for folder in folders if _holds_tree(folder)), None)
    if found is not None:
        return found
    for folder in folders:
        archives = {subset: folder / name for subset, name in ARCHIVES.items()}
        if all(path.is_file() for path in archives.values()):
            return _extract(archives, scratch / _EXTRACTED)
    return None


def _holds_tree(folder: Path) -> bool:
    return all((folder / subset / name).is_dir() for subset in SUBSETS for name in CLASS_FOLDERS)


def _extract(archives: dict[str, Path], target: Path) -> Path:
    """Extract both archives once; a marker names them so that new archives are re-read."""
    stamp = "\n".join(archive_stamp(path) for path in archives.values())
    marker = target / _DONE
    if marker.is_file() and marker.read_text() == stamp:
        return target
    shutil.rmtree(target, ignore_errors=True)
    for subset, archive in archives.items():
        _extract_one(archive, target / subset)
    if not _holds_tree(target):
        raise UsageError(
            f"{' and '.join(str(path) for path in archives.values())} hold no horses/ and "
            "humans/ folders. Hint: download the course's archives again."
        )
    marker.write_text(stamp)
    return target


def _extract_one(archive: Path, target: Path) -> None:
    hint = (
        f"download {archive.name} again, or extract it and pass the folder that holds "
        "training/ and validation/."
    )
    extract_members(archive, target, _is_class_file, hint)


def _is_class_file(name: str) -> bool:
    """Only plain files directly in a class folder: nothing absolute, no `..`, no other folder."""
    parts = PurePosixPath(name).parts
    return len(parts) == 2 and parts[0] in CLASS_FOLDERS and parts[1] != ".."


# The fixture. A horse is the silhouette (`skimage.data.horse`) resized, placed and possibly
# mirrored, in a coat colour shaded by a texture, standing in a scene like the real renders: a
# sky over ground made of a bundled texture (grass, gravel, brick) in an earthy colour. A human
# is a crop of the astronaut photo. Both get colour jitter and noise. Measured with a 3-conv
# CNN at 150x150 (RMSprop, 60 images per class, 5 epochs, 3 seeds): with grounds tinted any
# colour, one run called half the horses humans at its end; with earthy grounds, validation
# accuracy reached 1.0 in all three and 0.99-1.0 on 400 unseen images.
_SIDE = 300
_HORSE_WIDTH = (0.55, 1.0)  # share of the image's width the horse spans
_COATS = ((120, 72, 40), (150, 85, 45), (45, 35, 30), (200, 195, 185), (95, 90, 85))
_GROUNDS = ((85, 115, 50), (120, 100, 70), (130, 125, 115))  # grass, earth, stone
_SKY = ((90, 140, 190), (170, 200, 250))  # range of the sky's colour at the top
_HORIZON = (0.3, 0.6)  # share of the height above the ground
_SPREAD = 10.0  # of the coat's and the ground's colour
_CROP = (0.45, 0.9)  # share of each side of a source photo or texture that a crop keeps
_GAIN = (0.85, 1.15)
_SHIFT = 15.0
_NOISE = 3.0

# How the real files are named: prefix, digits of the group, files per group, digits of the
# file in its group; e.g. training `horse01-0.png`, `human01-05.png`, validation
# `horse1-000.png`, `valhuman01-00.png`.
_NAMES: dict[tuple[str, str], tuple[str, int, int, int]] = {
    ("training", "horses"): ("horse", 2, 10, 1),
    ("training", "humans"): ("human", 2, 40, 2),
    ("validation", "horses"): ("horse", 1, 200, 3),
    ("validation", "humans"): ("valhuman", 2, 40, 2),
}


@dataclass(frozen=True)
class _Sources:
    horse: Image.Image  # mode "L": 255 on the horse
    textures: tuple[np.ndarray, ...]  # grey, float in [0, 1]
    astronaut: Image.Image


@cache
def _sources() -> _Sources:
    from skimage import data

    horse = Image.fromarray(np.where(data.horse(), 0, 255).astype(np.uint8))
    textures = tuple(
        t.astype(np.float32) / 255 for t in (data.grass(), data.gravel(), data.brick())
    )
    return _Sources(horse, textures, Image.fromarray(data.astronaut()))


def write_fixture(folder: Path, seed: int, per_class: int) -> None:
    """Write `folder/training` with `per_class` PNGs per class and `folder/validation` with a
    quarter as many (at least 4), named and shaped like the real images."""
    rng = np.random.default_rng(seed)
    counts = {"training": per_class, "validation": max(4, per_class // 4)}
    draws = {"horses": _horse, "humans": _human}
    for subset, count in counts.items():
        for name in CLASS_FOLDERS:
            target = folder / subset / name
            target.mkdir(parents=True, exist_ok=True)
            for file_name in _file_names(rng, _NAMES[subset, name], count):
                # Written for one run, read once: the fastest zlib level (still a PNG) saves
                # two seconds of a self-check.
                draws[name](rng, _sources()).save(target / file_name, compress_level=1)


def _file_names(
    rng: np.random.Generator, pattern: tuple[str, int, int, int], count: int
) -> list[str]:
    """`count` distinct names in the real set's pattern, with gaps like a sample of it."""
    prefix, group_digits, per_group, digits = pattern
    chosen = np.sort(rng.choice(max(2 * count, 100), size=count, replace=False))
    return [
        f"{prefix}{n // per_group + 1:0{group_digits}d}-{n % per_group:0{digits}d}.png"
        for n in chosen.tolist()
    ]


def _horse(rng: np.random.Generator, sources: _Sources) -> Image.Image:
    mask = np.asarray(_placed_silhouette(rng, sources.horse), np.float32)[..., None] / 255
    coat = _colour(rng, _COATS)
    shade = 0.8 + 0.4 * _texture_crop(rng, sources.textures)[..., None]
    scene = _scene(rng, _texture_crop(rng, sources.textures))
    return _jitter(rng, scene * (1 - mask) + coat * shade * mask)


def _colour(rng: np.random.Generator, palette: tuple[tuple[int, int, int], ...]) -> np.ndarray:
    return np.asarray(palette[rng.integers(len(palette))]) + rng.normal(0, _SPREAD, 3)


def _scene(rng: np.random.Generator, grey: np.ndarray) -> np.ndarray:
    """A sky fading lighter towards the horizon, over the grey texture as coloured ground."""
    top = rng.uniform(*_SKY)
    fade = np.linspace(0.0, 1.0, _SIDE, dtype=np.float32)[:, None, None]
    sky = top + fade * (235 - top) * 0.6
    ground = _colour(rng, _GROUNDS) * (0.5 + 0.8 * grey[..., None])
    below = np.arange(_SIDE)[:, None, None] >= int(_SIDE * rng.uniform(*_HORIZON))
    return np.where(below, ground, np.broadcast_to(sky, ground.shape))


def _placed_silhouette(rng: np.random.Generator, horse: Image.Image) -> Image.Image:
    """The silhouette resized and pasted at a random place; a little may fall outside."""
    width = int(_SIDE * rng.uniform(*_HORSE_WIDTH))
    height = width * horse.height // horse.width
    resized = horse.resize((width, height), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        resized = resized.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    left = int(rng.integers(-width // 10, _SIDE - width * 9 // 10 + 1))
    top = int(rng.integers(-height // 10, _SIDE - height * 9 // 10 + 1))
    canvas = Image.new("L", (_SIDE, _SIDE))
    canvas.paste(resized, (left, top))
    return canvas


def _texture_crop(rng: np.random.Generator, textures: tuple[np.ndarray, ...]) -> np.ndarray:
    texture = Image.fromarray(textures[rng.integers(len(textures))])
    return np.asarray(_crop(rng, texture), np.float32)


def _human(rng: np.random.Generator, sources: _Sources) -> Image.Image:
    return _jitter(rng, np.asarray(_crop(rng, sources.astronaut), np.float32))


def _crop(rng: np.random.Generator, source: Image.Image) -> Image.Image:
    """A random part of the image, possibly mirrored, resized to the real images' size."""
    width, height = source.size
    crop_w, crop_h = (int(side * rng.uniform(*_CROP)) for side in (width, height))
    left, top = int(rng.integers(width - crop_w + 1)), int(rng.integers(height - crop_h + 1))
    box = (left, top, left + crop_w, top + crop_h)
    image = source.resize((_SIDE, _SIDE), Image.Resampling.BILINEAR, box=box)
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else image


def _jitter(rng: np.random.Generator, pixels: np.ndarray) -> Image.Image:
    """Per-channel gain, a brightness shift and pixel noise, as RGB."""
    pixels = pixels * rng.uniform(*_GAIN, size=3) + rng.uniform(-_SHIFT, _SHIFT)
    pixels += rng.normal(0.0, _NOISE, pixels.shape)
    return Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))


def write_subsample(
    real: Path, folder: Path, per_class: int | None, seed: int, avoid: Path | None = None
) -> None:
    """Serve `per_class` training images per class of the real tree (None: all) and the whole
    validation set, as links where possible.

    Images already in the tree `avoid` are not chosen: a held-out sample cut after the served
    one then shares no image with it, and holds no validation image the students have seen.
    """
    rng = np.random.default_rng(seed)
    for subset in SUBSETS:
        count = per_class if subset == "training" else None
        for name in CLASS_FOLDERS:
            source, target = real / subset / name, folder / subset / name
            taken = _names(avoid / subset / name) if avoid is not None else set()
            target.mkdir(parents=True, exist_ok=True)
            for path in _chosen(rng, source, count, taken):
                link_or_copy(path, target / path.name)


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def _chosen(
    rng: np.random.Generator, source: Path, count: int | None, taken: set[str]
) -> list[Path]:
    files = sorted(p for p in source.iterdir() if p.is_file() and p.name not in taken)
    if count is None or count >= len(files):
        return files
    return [files[i] for i in sorted(rng.choice(len(files), size=count, replace=False))]


def write_archives(folder: Path) -> None:
    """Zip `folder/training` and `folder/validation` as the course's two archives, next to them,
    with `horses/` and `humans/` at each archive's root."""
    for subset, name in ARCHIVES.items():
        with zipfile.ZipFile(folder / name, "w", compression=zipfile.ZIP_STORED) as zipped:
            for path in _tree(folder / subset):
                zipped.write(path, path.relative_to(folder / subset).as_posix())


def _tree(root: Path) -> Iterator[Path]:
    """Each class folder before its files, in name order, so the archive lists like the real."""
    for name in CLASS_FOLDERS:
        yield root / name
        yield from sorted(p for p in (root / name).iterdir() if p.is_file())


def holdout_arrays(
    folder: Path, seed: int, n_per_class: int, size: tuple[int, int] = (150, 150)
) -> Split:
    """Decode up to `n_per_class` images per class into uint8 (N, h, w, 3); y is 0 horses,
    1 humans.

    Images come from `folder/training`, or from `folder` itself when it holds the class
    folders: never from a validation set the students have seen. Undecodable files are
    skipped, so the grader measures a model on images it chose itself.
    """
    root = folder / "training" if (folder / "training").is_dir() else folder
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, name in enumerate(CLASS_FOLDERS):
        found = decoded(_shuffled(rng, root / name), size, n_per_class)
        images.extend(found)
        labels.extend([label] * len(found))
    order = rng.permutation(len(images))
    x = np.stack(images)[order] if images else np.zeros((0, *size, 3), np.uint8)
    return Split(x, np.asarray(labels, np.uint8)[order])


def _shuffled(rng: np.random.Generator, folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    return [files[i] for i in rng.permutation(len(files))]
