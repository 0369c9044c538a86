"""CIFAR-10: the published batches read from disk, and a small fixture with the same layout."""

from __future__ import annotations

import os
import pickle
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np

from grader.datasets.base import Split, Splits

CLASS_NAMES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
SIDE = 32

# Keras 3 keeps the extracted folder under `<fname>/` and the download as `<fname>_archive`;
# Keras 2 used `cifar-10-batches-py/` and `cifar-10-batches-py.tar.gz`.
_KERAS3_NAME = "cifar-10-batches-py-target"
_ARCHIVE_NAMES = (ARCHIVE, f"{FOLDER}.tar.gz", f"{_KERAS3_NAME}_archive")
_REDOWNLOAD = f"Hint: delete it and download {ARCHIVE} again."

# A batch is a pickled dict of a numpy array and lists; anything else in it is refused, so a
# tampered file cannot run code while it is read.
_PICKLE_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("_codecs", "encode"),
    }
)


class _BatchUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and nothing else."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")
        return super().find_class(module, name)


def _keras_cache() -> Path:
    """The folder where `keras.datasets` keeps its downloads."""
    home = os.environ.get("KERAS_HOME")
    return (Path(home) if home else Path.home() / ".keras") / "datasets"


def find_real(data_dir: Path | None) -> Path | None:
    """Return the extracted batches folder or the archive, from `data_dir` then the Keras cache."""
    roots = [data_dir] if data_dir is not None else []
    for root in [*roots, _keras_cache()]:
        found = _locate(root)
        if found is not None:
            return found
    return None


def load_real(data_dir: Path | None) -> Splits | None:
    """Read the real data as `keras.datasets.cifar10.load_data()` returns it, or None if absent."""
    source = find_real(data_dir)
    if source is None:
        return None
    batches = _read_archive(source) if source.is_file() else _read_folder(source)
    train = _join([batches[name] for name in TRAIN_BATCHES])
    return Splits(train=train, test=batches[TEST_BATCH])


def _locate(root: Path) -> Path | None:
    for folder in (root, root / FOLDER, root / _KERAS3_NAME / FOLDER):
        if _holds_batches(folder):
            return folder
    archives = (root / name for name in _ARCHIVE_NAMES)
    return next((archive for archive in archives if archive.is_file()), None)


def _holds_batches(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (*TRAIN_BATCHES, TEST_BATCH))


def _read_folder(folder: Path) -> dict[str, Split]:
    batches = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        with open(folder / name, "rb") as file:
            batches[name] = _read_batch(file, str(folder / name))
    return batches


def _read_archive(archive: Path) -> dict[str, Split]:
    """Read the batches in one pass over the archive, without extracting it."""
    try:
        batches = dict(_archive_batches(archive))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"{archive} is not a readable tar.gz archive ({exc}). "
            f"Hint: download {ARCHIVE} again, or extract it and pass the folder."
        ) from exc
    missing = [name for name in (*TRAIN_BATCHES, TEST_BATCH) if name not in batches]
    if missing:
        raise ValueError(
            f"{archive} lacks {', '.join(missing)} under {FOLDER}/. "
            f"Hint: use the official {ARCHIVE}."
        )
    return batches


def _archive_batches(archive: Path) -> Iterator[tuple[str, Split]]:
    wanted = {*TRAIN_BATCHES, TEST_BATCH}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            path = PurePosixPath(member.name)
            if member.isfile() and path.name in wanted and path.parent.name == FOLDER:
                file = tar.extractfile(member)
                if file is not None:
                    yield path.name, _read_batch(file, f"{archive}:{member.name}")


def _read_batch(file: IO[bytes], name: str) -> Split:
    """Turn one pickled batch into channels-last uint8 images and (N, 1) labels."""
    try:
        batch = _BatchUnpickler(file, encoding="bytes").load()
    except Exception as exc:  # a damaged pickle can fail in many ways; all mean the same here
        raise ValueError(f"{name} is not a CIFAR-10 batch: {exc}. {_REDOWNLOAD}") from exc
    data, labels = _fields(batch, name)
    images = data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1)
    return Split(np.ascontiguousarray(images), labels.astype(np.uint8).reshape(-1, 1))


def _fields(batch: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(batch, dict) or not {b"data", b"labels"} <= batch.keys():
        raise ValueError(f"{name}: expected a dict with b'data' and b'labels'. {_REDOWNLOAD}")
    data, labels = batch[b"data"], np.asarray(batch[b"labels"])
    expected = (len(labels), 3 * SIDE * SIDE)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.shape != expected:
        received = f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}"
        raise ValueError(
            f"{name}: expected b'data' as uint8 {expected}, received {received}. {_REDOWNLOAD}"
        )
    if labels.ndim != 1 or not np.isin(labels, np.arange(len(CLASS_NAMES))).all():
        raise ValueError(f"{name}: expected labels 0-9, received {labels[:10]}. {_REDOWNLOAD}")
    return data, labels


def _join(splits: list[Split]) -> Split:
    return Split(np.concatenate([s.x for s in splits]), np.concatenate([s.y for s in splits]))


# The fixture. Each class is a fixed 4x4 layout of saturated colours (corners of the RGB cube),
# one colour per 8x8 block, so that after `MaxPooling2D(8)` each pooled cell sees one colour.
# Every pixel gets its own uniform noise. The signal is full-contrast because the course's
# minimal model (sigmoid convolutions, SGD at lr 0.001) picks up small differences very slowly;
# the layout seed was chosen among a few for the fastest learning by that model.
_BLOCK = 8
_GRID = SIDE // _BLOCK
_LAYOUT_SEED = 1
_NOISE = 30


def make_fixture(seed: int, n_train: int, n_test: int) -> Splits:
    """Synthetic, balanced data shaped like the real set; the same seed gives the same arrays."""
    rng = np.random.default_rng(seed)
    return Splits(train=_sample(rng, n_train), test=_sample(rng, n_test))


def _class_layouts() -> np.ndarray:
    """Bits (class, row, col, channel): which channels are bright in each block of each class."""
    rng = np.random.default_rng(_LAYOUT_SEED)
    return rng.integers(0, 2, size=(len(CLASS_NAMES), _GRID, _GRID, 3), dtype=np.int16)


def _sample(rng: np.random.Generator, n: int) -> Split:
    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES)).astype(np.uint8)
    cells = _class_layouts()[labels] * 255 - _NOISE  # (n, grid, grid, 3)
    shape = (n, _GRID, _BLOCK, _GRID, _BLOCK, 3)  # each cell spread over an 8x8 block
    noise = rng.integers(0, 2 * _NOISE + 1, size=shape, dtype=np.uint8)
    pixels = np.clip(cells[:, :, None, :, None, :] + noise, 0, 255).astype(np.uint8)
    return Split(pixels.reshape(n, SIDE, SIDE, 3), labels.reshape(n, 1))
