"""Horses or humans and Fashion-MNIST: real formats read, fixtures laid out right.

No training here: the fixtures' learnability is measured once by hand (see the modules); a
nearest-centroid classifier stands in for it where numpy alone can tell.
"""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader.datasets import fashion_mnist, horse_or_human, petimages
from grader.datasets.base import Split
from grader.outcomes import UsageError

SUBSETS = ("training", "validation")
NAME_PATTERNS = {
    ("training", "horses"): r"horse\d{2}-\d\.png",
    ("training", "humans"): r"human\d{2}-\d{2}\.png",
    ("validation", "horses"): r"horse\d-\d{3}\.png",
    ("validation", "humans"): r"valhuman\d{2}-\d{2}\.png",
}


def files_of(root: Path, subset: str, name: str) -> dict[str, bytes]:
    """File name -> content for one class folder of a tree."""
    return {p.name: p.read_bytes() for p in (root / subset / name).iterdir()}


@pytest.fixture(scope="module")
def horse_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fixture tree with its archives, shared by the read-only tests: 5 images per class."""
    root = tmp_path_factory.mktemp("horses")
    horse_or_human.write_fixture(root, seed=0, per_class=5)
    horse_or_human.write_archives(root)
    return root


def test_horse_fixture_has_course_layout_and_names(horse_tree: Path) -> None:
    for (subset, name), pattern in NAME_PATTERNS.items():
        files = sorted((horse_tree / subset / name).iterdir())
        assert len(files) == (5 if subset == "training" else 4)
        assert all(re.fullmatch(pattern, path.name) for path in files), [f.name for f in files]


def test_horse_fixture_images_are_300_pixel_rgb_pngs(horse_tree: Path) -> None:
    for path in horse_tree.glob("*/*/*.png"):
        with Image.open(path) as image:
            assert (image.format, image.mode, image.size) == ("PNG", "RGB", (300, 300))


def test_horse_fixture_validation_is_a_quarter_of_training(tmp_path: Path) -> None:
    horse_or_human.write_fixture(tmp_path, seed=1, per_class=24)
    assert len(files_of(tmp_path, "training", "humans")) == 24
    assert len(files_of(tmp_path, "validation", "humans")) == 6


def test_horse_fixture_is_determined_by_seed(tmp_path: Path) -> None:
    trees = {}
    for label, seed in (("first", 5), ("again", 5), ("other", 6)):
        horse_or_human.write_fixture(tmp_path / label, seed, per_class=1)
        trees[label] = {
            p.relative_to(tmp_path / label): p.read_bytes()
            for p in (tmp_path / label).rglob("*.png")
        }
    assert trees["first"] == trees["again"]
    assert trees["first"] != trees["other"]


@pytest.mark.parametrize("subset", SUBSETS)
def test_horse_archives_hold_each_tree_at_their_root(horse_tree: Path, subset: str) -> None:
    archive = horse_tree / horse_or_human.ARCHIVES[subset]
    with zipfile.ZipFile(archive) as zipped:
        members = {info.filename: info for info in zipped.infolist()}
    files = {name for name, info in members.items() if not info.is_dir()}
    root = horse_tree / subset
    assert files == {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert {"horses/", "humans/"} <= set(members)
    assert {info.compress_type for info in members.values()} == {zipfile.ZIP_STORED}


def test_horse_place_and_downloads_name_written_files(horse_tree: Path) -> None:
    assert horse_or_human.PLACE == {
        "/tmp/training": "training",
        "/tmp/validation": "validation",
        "data/train": "training",  # the 2024 revision's lab layout
        "data/validation": "validation",
    }
    for member in [*horse_or_human.PLACE.values(), *horse_or_human.DOWNLOADS.values()]:
        assert (horse_tree / member).exists()
    assert set(horse_or_human.DOWNLOADS.values()) == {
        horse_or_human.TRAIN_ARCHIVE,
        horse_or_human.VALIDATION_ARCHIVE,
    }
    drive = [key for key in horse_or_human.DOWNLOADS if key.startswith("gdrive:")]
    assert len(drive) == 2
    course = "https://storage.googleapis.com/tensorflow-1-public/course2/week3/"
    assert horse_or_human.DOWNLOADS[f"{course}validation-horse-or-human.zip"] == (
        "validation-horse-or-human.zip"
    )


def test_horse_find_real_accepts_the_trees_or_their_folder(
    horse_tree: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    assert horse_or_human.find_real(horse_tree, scratch) == horse_tree
    assert horse_or_human.find_real(horse_tree / "training", scratch) is None
    assert horse_or_human.find_real(None, scratch) is None
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "horse-or-human").symlink_to(horse_tree, target_is_directory=True)
    assert horse_or_human.find_real(tmp_path / "data", scratch) == tmp_path / "data" / (
        "horse-or-human"
    )
    assert not scratch.exists()


def copy_archives(tree: Path, data: Path) -> None:
    data.mkdir(parents=True)
    for name in horse_or_human.ARCHIVES.values():
        (data / name).write_bytes((tree / name).read_bytes())


def test_horse_find_real_extracts_both_archives_once(horse_tree: Path, tmp_path: Path) -> None:
    data, scratch = tmp_path / "data", tmp_path / "scratch"
    copy_archives(horse_tree, data)
    found = horse_or_human.find_real(data, scratch)
    assert found is not None
    assert found.is_relative_to(scratch)
    for subset in SUBSETS:
        for name in horse_or_human.CLASS_FOLDERS:
            assert files_of(found, subset, name) == files_of(horse_tree, subset, name)
    (found / "training" / "horses" / "left-by-test.txt").write_text("kept")
    assert horse_or_human.find_real(data, scratch) == found
    assert (found / "training" / "horses" / "left-by-test.txt").exists()


def test_horse_find_real_needs_both_archives(horse_tree: Path, tmp_path: Path) -> None:
    copy_archives(horse_tree, tmp_path / "data")
    (tmp_path / "data" / horse_or_human.VALIDATION_ARCHIVE).unlink()
    assert horse_or_human.find_real(tmp_path / "data", tmp_path / "scratch") is None


def test_horse_find_real_extracts_only_class_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in horse_or_human.ARCHIVES.values():
        with zipfile.ZipFile(data / name, "w") as zipped:
            zipped.writestr("horses/horse01-0.png", b"horse")
            zipped.writestr("humans/human01-00.png", b"human")
            zipped.writestr("__MACOSX/horses/._horse01-0.png", b"resource fork")
            zipped.writestr("../escaped.txt", b"outside")
            zipped.writestr("horses/nested/deeper.png", b"deeper")
    found = horse_or_human.find_real(data, tmp_path / "scratch")
    assert found is not None
    extracted = sorted(p.relative_to(found).as_posix() for p in found.rglob("*") if p.is_file())
    assert [p for p in extracted if not p.startswith(".")] == [
        "training/horses/horse01-0.png",
        "training/humans/human01-00.png",
        "validation/horses/horse01-0.png",
        "validation/humans/human01-00.png",
    ]
    assert not (tmp_path / "escaped.txt").exists()


def test_horse_find_real_names_a_damaged_archive(horse_tree: Path, tmp_path: Path) -> None:
    copy_archives(horse_tree, tmp_path / "data")
    (tmp_path / "data" / horse_or_human.TRAIN_ARCHIVE).write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(UsageError, match=re.escape(horse_or_human.TRAIN_ARCHIVE)):
        horse_or_human.find_real(tmp_path / "data", tmp_path / "scratch")


def test_horse_subsample_links_training_sample_and_all_validation(
    horse_tree: Path, tmp_path: Path
) -> None:
    served = tmp_path / "served"
    horse_or_human.write_subsample(horse_tree, served, per_class=2, seed=0)
    for name in horse_or_human.CLASS_FOLDERS:
        assert len(files_of(served, "training", name)) == 2
        assert files_of(served, "validation", name) == files_of(horse_tree, "validation", name)
    for path in served.rglob("*.png"):
        assert path.samefile(horse_tree / path.relative_to(served))


def test_horse_subsample_of_none_serves_everything(horse_tree: Path, tmp_path: Path) -> None:
    horse_or_human.write_subsample(horse_tree, tmp_path, per_class=None, seed=0)
    for subset in SUBSETS:
        assert files_of(tmp_path, subset, "horses") == files_of(horse_tree, subset, "horses")


def test_horse_subsample_avoids_images_already_served(horse_tree: Path, tmp_path: Path) -> None:
    served, held = tmp_path / "served", tmp_path / "held"
    horse_or_human.write_subsample(horse_tree, served, per_class=3, seed=0)
    horse_or_human.write_subsample(horse_tree, held, per_class=3, seed=1, avoid=served)
    for name in horse_or_human.CLASS_FOLDERS:
        training = set(files_of(held, "training", name))
        assert len(training) == 2  # only two were left to choose
        assert not training & set(files_of(served, "training", name))
        assert files_of(held, "validation", name) == {}


def test_horse_holdout_arrays_decode_training_images(horse_tree: Path) -> None:
    some = horse_or_human.holdout_arrays(horse_tree, seed=0, n_per_class=3)
    assert some.x.shape == (6, 150, 150, 3)
    assert some.x.dtype == some.y.dtype == np.uint8
    assert np.bincount(some.y).tolist() == [3, 3]
    every = horse_or_human.holdout_arrays(horse_tree, seed=0, n_per_class=50, size=(20, 30))
    assert every.x.shape == (10, 20, 30, 3)
    folder = horse_or_human.holdout_arrays(horse_tree / "validation", seed=0, n_per_class=50)
    assert np.bincount(folder.y).tolist() == [4, 4]


def test_horse_holdout_arrays_skip_broken_files_and_follow_seed(
    horse_tree: Path, tmp_path: Path
) -> None:
    horse_or_human.write_subsample(horse_tree, tmp_path, per_class=None, seed=0)
    (tmp_path / "training" / "humans" / "human99-99.png").write_bytes(b"\x89PNG not whole")
    held = horse_or_human.holdout_arrays(tmp_path, seed=1, n_per_class=10)
    assert np.bincount(held.y).tolist() == [5, 5]
    again = horse_or_human.holdout_arrays(tmp_path, seed=1, n_per_class=10)
    np.testing.assert_array_equal(held.x, again.x)
    np.testing.assert_array_equal(held.y, again.y)


def test_pet_write_archives_writes_the_course_archive(tmp_path: Path) -> None:
    petimages.write_fixture(tmp_path, seed=0, per_class=1, size=(16, 16))
    petimages.write_archives(tmp_path)
    with zipfile.ZipFile(tmp_path / petimages.ARCHIVE) as zipped:
        assert "PetImages/Cat/666.jpg" in zipped.namelist()


# Fashion-MNIST


def write_idx(path: Path, values: np.ndarray) -> None:
    """A gzipped IDX file of unsigned bytes, as the published files are written."""
    header = bytes([0, 0, 0x08, values.ndim])
    sizes = b"".join(size.to_bytes(4, "big") for size in values.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as file:
        file.write(header + sizes + values.astype(np.uint8).tobytes())


def write_fashion_files(folder: Path, n_train: int = 3, n_test: int = 2) -> None:
    rng = np.random.default_rng(0)
    for (labels, images), n in zip(fashion_mnist.FILES, (n_train, n_test), strict=True):
        write_idx(folder / labels, np.arange(n) % 10)
        write_idx(folder / images, rng.integers(0, 256, (n, 28, 28)))


@pytest.fixture()
def empty_keras_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the Keras cache at an empty folder so no test sees the real ~/.keras."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    return home / ".keras" / "datasets"


def test_fashion_class_names_are_the_published_ones() -> None:
    assert fashion_mnist.CLASS_NAMES[0] == "T-shirt/top"
    assert fashion_mnist.CLASS_NAMES[9] == "Ankle boot"
    assert len(set(fashion_mnist.CLASS_NAMES)) == 10


@pytest.mark.parametrize("subfolder", ["", "fashion-mnist"])
def test_fashion_load_real_reads_idx_files(
    tmp_path: Path, empty_keras_cache: Path, subfolder: str
) -> None:
    pixels = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    folder = tmp_path / "data" / subfolder
    write_fashion_files(folder)
    write_idx(folder / fashion_mnist.FILES[0][1], pixels)
    write_idx(folder / fashion_mnist.FILES[0][0], np.array([9, 0, 4]))
    splits = fashion_mnist.load_real(tmp_path / "data")
    assert splits is not None
    assert splits.train.x.dtype == splits.train.y.dtype == np.uint8
    np.testing.assert_array_equal(splits.train.x, pixels)
    assert splits.train.y.tolist() == [9, 0, 4]
    assert splits.test.x.shape == (2, 28, 28)
    assert splits.test.y.tolist() == [0, 1]


def test_fashion_load_real_falls_back_to_the_keras_cache(
    tmp_path: Path, empty_keras_cache: Path
) -> None:
    assert fashion_mnist.load_real(tmp_path) is None
    assert fashion_mnist.load_real(None) is None
    write_fashion_files(empty_keras_cache / "fashion-mnist", n_train=4)
    splits = fashion_mnist.load_real(tmp_path)
    assert splits is not None
    assert len(splits.train) == 4


def test_fashion_load_real_needs_all_four_files(tmp_path: Path, empty_keras_cache: Path) -> None:
    write_fashion_files(tmp_path)
    (tmp_path / fashion_mnist.FILES[1][0]).unlink()
    assert fashion_mnist.load_real(tmp_path) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not gzip at all", "not a readable gzip file"),
        (gzip.compress(b"\x00\x00\x0d\x01\x00\x00\x00\x01\x00"), "expected an IDX file"),
        (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02"), r"expected 5 values"),
    ],
    ids=["not-gzip", "float-type", "truncated"],
)
def test_fashion_malformed_file_names_file_and_fault(
    tmp_path: Path, empty_keras_cache: Path, content: bytes, message: str
) -> None:
    write_fashion_files(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(content)
    with pytest.raises(UsageError, match=rf"t10k-labels-idx1-ubyte\.gz: .*{message}"):
        fashion_mnist.load_real(tmp_path)


def test_fashion_images_must_match_labels(tmp_path: Path, empty_keras_cache: Path) -> None:
    write_fashion_files(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28)))
    with pytest.raises(UsageError, match=r"expected images \(2, 28, 28\).*received shape"):
        fashion_mnist.load_real(tmp_path)


def test_fashion_fixture_has_real_layout_and_balanced_labels() -> None:
    splits = fashion_mnist.make_fixture(seed=0, n_train=200, n_test=30)
    assert splits.train.x.shape == (200, 28, 28)
    assert splits.test.x.shape == (30, 28, 28)
    for split, per_label in ((splits.train, 20), (splits.test, 3)):
        assert split.x.dtype == split.y.dtype == np.uint8
        assert np.bincount(split.y, minlength=10).tolist() == [per_label] * 10


def test_fashion_fixture_is_determined_by_seed() -> None:
    first, again = fashion_mnist.make_fixture(7, 50, 10), fashion_mnist.make_fixture(7, 50, 10)
    other = fashion_mnist.make_fixture(8, 50, 10)
    np.testing.assert_array_equal(first.train.x, again.train.x)
    np.testing.assert_array_equal(first.test.y, again.test.y)
    assert not np.array_equal(first.train.x, other.train.x)


def test_fashion_fixture_classes_differ_by_shape() -> None:
    """Class means tell test images apart; with shuffled labels they do no better than chance."""
    splits = fashion_mnist.make_fixture(seed=0, n_train=500, n_test=300)
    shuffled = np.random.default_rng(0).permutation(splits.train.y)
    assert nearest_mean_accuracy(splits.train.x, splits.train.y, splits.test) > 0.8
    assert nearest_mean_accuracy(splits.train.x, shuffled, splits.test) < 0.25


def nearest_mean_accuracy(x: np.ndarray, y: np.ndarray, test: Split) -> float:
    flat = x.reshape(len(x), -1).astype(float)
    means = np.stack([flat[y == label].mean(axis=0) for label in range(10)])
    queries = test.x.reshape(len(test), -1).astype(float)
    distances = ((queries[:, None, :] - means[None]) ** 2).sum(axis=-1)
    return float((distances.argmin(axis=1) == test.y).mean())
