"""The course's week 1 and week 4 datasets: real formats read and written, fixtures laid out right.

No training here: the fixtures' learnability is measured once by hand (see the modules).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader.datasets import petimages, sign_mnist
from grader.datasets.base import Split, Splits
from grader.outcomes import UsageError

SIGN_HEADER = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
SIGN_LABELS = [*range(9), *range(10, 25)]  # the real labels: 0..24 without 9 (J)


def sign_row(label: int, pixels: list[int]) -> str:
    """One CSV row in the published layout: the label, then 784 pixels row by row."""
    return ",".join(str(v) for v in [label, *pixels])


def write_sign_files(folder: Path, train_rows: list[str], test_rows: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in zip(sign_mnist.FILES, (train_rows, test_rows), strict=True):
        (folder / name).write_text("\n".join([SIGN_HEADER, *rows]) + "\n")


def test_sign_class_names_are_letters_indexed_by_label() -> None:
    assert len(sign_mnist.CLASS_NAMES) == 25
    assert sign_mnist.CLASS_NAMES[0] == "A"
    assert sign_mnist.CLASS_NAMES[9] == "J"
    assert sign_mnist.CLASS_NAMES[24] == "Y"


def test_sign_downloads_give_the_two_course_files() -> None:
    assert sorted(sign_mnist.DOWNLOADS.values()) == sorted(sign_mnist.FILES)
    assert all(key.startswith("gdrive:") for key in sign_mnist.DOWNLOADS)


def test_sign_load_real_reads_a_csv_in_the_published_layout(tmp_path: Path) -> None:
    first = [0] * 784
    first[1] = 255  # row 0, column 1
    first[783] = 7  # row 27, column 27
    write_sign_files(tmp_path, [sign_row(3, first), sign_row(24, [1] * 784)], [sign_row(0, first)])
    splits = sign_mnist.load_real(tmp_path)
    assert splits is not None
    assert splits.train.x.shape == (2, 28, 28)
    assert splits.test.x.shape == (1, 28, 28)
    assert splits.train.x.dtype == splits.train.y.dtype == np.uint8
    assert splits.train.y.tolist() == [3, 24]
    assert splits.train.x[0, 0, 1] == 255
    assert splits.train.x[0, 27, 27] == 7
    assert np.count_nonzero(splits.train.x[0]) == 2
    assert (splits.train.x[1] == 1).all()


@pytest.mark.parametrize("subfolder", ["", "sign_mnist", "sign-language-mnist"])
def test_sign_load_real_finds_files_in_usual_folders(tmp_path: Path, subfolder: str) -> None:
    write_sign_files(tmp_path / subfolder, [sign_row(1, [0] * 784)], [sign_row(2, [0] * 784)])
    splits = sign_mnist.load_real(tmp_path)
    assert splits is not None
    assert splits.test.y.tolist() == [2]


def test_sign_load_real_returns_none_without_both_files(tmp_path: Path) -> None:
    write_sign_files(tmp_path, [sign_row(1, [0] * 784)], [])
    (tmp_path / sign_mnist.FILES[1]).unlink()
    assert sign_mnist.load_real(tmp_path) is None
    assert sign_mnist.load_real(None) is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("label,p1,p2\n1,2,3\n", "expected the header"),
        (f"{SIGN_HEADER}\n", "no rows"),
        (f"{SIGN_HEADER}\n{sign_row(1, [0] * 10)}\n", "expected 785 values per row"),
        (f"{SIGN_HEADER}\n1,{'x,' * 783}x\n", "not rows of integers"),
        (f"{SIGN_HEADER}\n{sign_row(1, [0] * 784)}\n{sign_row(1, [0] * 9)}\n", "not rows of"),
        (f"{SIGN_HEADER}\n{sign_row(30, [0] * 784)}\n", "expected labels 0-24, received 30"),
        (f"{SIGN_HEADER}\n{sign_row(2, [300] * 784)}\n", "expected pixels 0-255, received 300"),
    ],
    ids=["header", "no-rows", "short-row", "not-integers", "ragged", "label", "pixel"],
)
def test_sign_malformed_file_names_file_and_fault(
    tmp_path: Path, content: str, message: str
) -> None:
    write_sign_files(tmp_path, [sign_row(1, [0] * 784)], [sign_row(2, [0] * 784)])
    (tmp_path / "sign_mnist_test.csv").write_text(content)
    with pytest.raises(UsageError, match=rf"sign_mnist_test\.csv: .*{message}"):
        sign_mnist.load_real(tmp_path)


def test_sign_write_csv_writes_exact_header_and_integer_rows(tmp_path: Path) -> None:
    images = np.arange(2 * 784).reshape(2, 28, 28) % 256
    split = Split(images.astype(np.uint8), np.array([5, 24], np.uint8))
    sign_mnist.write_csv(split, tmp_path / "out.csv")
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines == [
        SIGN_HEADER,
        sign_row(5, [v % 256 for v in range(784)]),
        sign_row(24, [v % 256 for v in range(784, 2 * 784)]),
    ]


def test_sign_written_files_read_back_equal(tmp_path: Path) -> None:
    splits = sign_mnist.make_fixture(seed=3, n_train=50, n_test=20)
    paths = sign_mnist.write_files(splits, tmp_path / "served")
    assert set(paths) == set(sign_mnist.FILES)
    assert all(path.parent == tmp_path / "served" for path in paths.values())
    again = sign_mnist.load_real(tmp_path / "served")
    assert again is not None
    for written, read in ((splits.train, again.train), (splits.test, again.test)):
        np.testing.assert_array_equal(read.x, written.x)
        np.testing.assert_array_equal(read.y, written.y)


def test_sign_fixture_has_real_layout_and_balanced_labels() -> None:
    splits = sign_mnist.make_fixture(seed=0, n_train=240, n_test=48)
    assert splits.train.x.shape == (240, 28, 28)
    assert splits.test.x.shape == (48, 28, 28)
    for split, per_label in ((splits.train, 10), (splits.test, 2)):
        assert split.x.dtype == split.y.dtype == np.uint8
        assert split.y.shape == (len(split),)
        labels, counts = np.unique(split.y, return_counts=True)
        assert labels.tolist() == SIGN_LABELS
        assert counts.tolist() == [per_label] * 24


def test_sign_fixture_is_determined_by_seed() -> None:
    first, again = sign_mnist.make_fixture(7, 96, 24), sign_mnist.make_fixture(7, 96, 24)
    other = sign_mnist.make_fixture(8, 96, 24)
    np.testing.assert_array_equal(first.train.x, again.train.x)
    np.testing.assert_array_equal(first.test.y, again.test.y)
    assert not np.array_equal(first.train.x, other.train.x)
    assert not np.array_equal(first.train.y, other.train.y)


def test_sign_fixture_places_small_digits_in_their_corner() -> None:
    """Labels 10-19 draw the digit at the top left, 20-24 at the bottom right."""
    split = sign_mnist.make_fixture(seed=0, n_train=480, n_test=0).train
    x = split.x.astype(float)
    top_left, bottom_right = x[:, :14, :14].mean(axis=(1, 2)), x[:, 14:, 14:].mean(axis=(1, 2))
    upper, lower = (split.y >= 10) & (split.y < 20), split.y >= 20
    assert (top_left[upper] > bottom_right[upper]).all()
    assert (bottom_right[lower] > top_left[lower]).all()


def test_sign_fixture_of_one_image_per_class_name_has_every_label() -> None:
    """`prepare` cuts a fixture's holdout after as many train images as there are names."""
    splits = sign_mnist.make_fixture(seed=1, n_train=len(sign_mnist.CLASS_NAMES), n_test=5)
    assert isinstance(splits, Splits)
    assert len(splits.train) == 25
    assert set(splits.train.y.tolist()) == set(SIGN_LABELS)


# PetImages


def class_files(root: Path, name: str) -> dict[str, int]:
    """File name -> size for one class folder of a tree."""
    return {p.name: p.stat().st_size for p in (root / "PetImages" / name).iterdir()}


@pytest.fixture(scope="module")
def pet_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small fixture tree shared by the read-only tests: 4 photos per class."""
    root = tmp_path_factory.mktemp("pets")
    petimages.write_fixture(root, seed=0, per_class=4, size=(48, 64))
    return root


def test_pet_fixture_has_course_layout_with_empty_files(pet_tree: Path) -> None:
    for name, empty in (("Cat", "666.jpg"), ("Dog", "11702.jpg")):
        files = class_files(pet_tree, name)
        assert len(files) == 5
        assert files[empty] == 0
        photos = [f for f in files if f != empty]
        assert all(files[f] > 0 for f in photos)
        assert all(f.endswith(".jpg") and 0 <= int(f[:-4]) < 12500 for f in photos)


def test_pet_fixture_photos_are_jpegs_of_varied_size(pet_tree: Path) -> None:
    sizes = set()
    for path in (pet_tree / "PetImages").glob("*/*.jpg"):
        if path.stat().st_size:
            with Image.open(path) as image:
                assert image.format == "JPEG"
                assert image.mode == "RGB"
                width, height = image.size
                assert 36 <= height <= 60
                assert 48 <= width <= 80
                sizes.add(image.size)
    assert len(sizes) > 2


def test_pet_fixture_is_determined_by_seed(tmp_path: Path) -> None:
    trees = {}
    for label, seed in (("first", 5), ("again", 5), ("other", 6)):
        petimages.write_fixture(tmp_path / label, seed, per_class=3, size=(32, 32))
        trees[label] = {
            p.relative_to(tmp_path / label): p.read_bytes()
            for p in (tmp_path / label).rglob("*.jpg")
        }
    assert trees["first"] == trees["again"]
    assert trees["first"] != trees["other"]


def test_pet_archive_holds_the_tree_uncompressed(pet_tree: Path, tmp_path: Path) -> None:
    archive = tmp_path / petimages.ARCHIVE
    petimages.write_archive(pet_tree, archive)
    with zipfile.ZipFile(archive) as zipped:
        members = {info.filename: info for info in zipped.infolist()}
    files = {name for name, info in members.items() if not info.is_dir()}
    expected = {p.relative_to(pet_tree).as_posix() for p in pet_tree.rglob("*") if p.is_file()}
    assert files == expected
    assert {"PetImages/", "PetImages/Cat/", "PetImages/Dog/"} <= set(members)
    assert members["PetImages/Cat/666.jpg"].file_size == 0
    assert members["PetImages/Dog/11702.jpg"].file_size == 0
    assert {info.compress_type for info in members.values()} == {zipfile.ZIP_STORED}


def test_pet_find_real_accepts_the_tree_or_its_petimages_folder(
    pet_tree: Path, tmp_path: Path
) -> None:
    assert petimages.find_real(pet_tree, tmp_path) == pet_tree
    assert petimages.find_real(pet_tree / "PetImages", tmp_path) == pet_tree
    assert petimages.find_real(pet_tree / "PetImages" / "Cat", tmp_path) is None
    assert petimages.find_real(None, tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_pet_find_real_extracts_the_archive_once(pet_tree: Path, tmp_path: Path) -> None:
    data, scratch = tmp_path / "data", tmp_path / "scratch"
    petimages.write_archive(pet_tree, data / petimages.ARCHIVE)
    found = petimages.find_real(data, scratch)
    assert found is not None
    assert found.is_relative_to(scratch)
    for name in petimages.CLASS_FOLDERS:
        assert class_files(found, name) == class_files(pet_tree, name)
    (found / "PetImages" / "Cat" / "left-by-test.txt").write_text("kept")
    assert petimages.find_real(data, scratch) == found
    assert (found / "PetImages" / "Cat" / "left-by-test.txt").exists()


def test_pet_find_real_accepts_the_course_download_name(pet_tree: Path, tmp_path: Path) -> None:
    petimages.write_archive(pet_tree, tmp_path / "data" / "cats-and-dogs.zip")
    found = petimages.find_real(tmp_path / "data", tmp_path / "scratch")
    assert found is not None
    assert class_files(found, "Dog") == class_files(pet_tree, "Dog")


def test_pet_find_real_extracts_only_class_files(tmp_path: Path) -> None:
    data, scratch = tmp_path / "data", tmp_path / "scratch"
    data.mkdir()
    with zipfile.ZipFile(data / petimages.ARCHIVE, "w") as zipped:
        zipped.writestr("PetImages/Cat/1.jpg", b"cat")
        zipped.writestr("PetImages/Dog/2.jpg", b"dog")
        zipped.writestr("readme[1].txt", b"licence")
        zipped.writestr("../escaped.txt", b"outside")
        zipped.writestr("PetImages/Cat/nested/3.jpg", b"deeper")
    found = petimages.find_real(data, scratch)
    assert found is not None
    extracted = sorted(p.relative_to(found).as_posix() for p in found.rglob("*") if p.is_file())
    assert [p for p in extracted if not p.startswith(".")] == [
        "PetImages/Cat/1.jpg",
        "PetImages/Dog/2.jpg",
    ]
    assert not (tmp_path / "escaped.txt").exists()
    assert not (scratch / "escaped.txt").exists()


def test_pet_find_real_names_a_damaged_archive(tmp_path: Path) -> None:
    (tmp_path / petimages.ARCHIVE).write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UsageError, match=petimages.ARCHIVE):
        petimages.find_real(tmp_path, tmp_path / "scratch")


def test_pet_subsample_links_chosen_files_and_keeps_quirks(pet_tree: Path, tmp_path: Path) -> None:
    served = tmp_path / "served"
    petimages.write_subsample(pet_tree, served, per_class=2, seed=0)
    cats, dogs = class_files(served, "Cat"), class_files(served, "Dog")
    assert len(cats) == len(dogs) == 3
    assert cats["666.jpg"] == dogs["11702.jpg"] == 0
    for path in (served / "PetImages").rglob("*.jpg"):
        original = pet_tree / path.relative_to(served)
        assert path.samefile(original)


def test_pet_subsample_keeps_non_jpeg_files_and_can_take_all(
    pet_tree: Path, tmp_path: Path
) -> None:
    real = tmp_path / "real"
    for name in petimages.CLASS_FOLDERS:
        (real / "PetImages" / name).mkdir(parents=True)
        for path in (pet_tree / "PetImages" / name).iterdir():
            (real / "PetImages" / name / path.name).write_bytes(path.read_bytes())
    (real / "PetImages" / "Cat" / "Thumbs.db").write_bytes(b"thumbnail cache")
    petimages.write_subsample(real, tmp_path / "some", per_class=1, seed=0)
    petimages.write_subsample(real, tmp_path / "all", per_class=None, seed=0)
    assert set(class_files(tmp_path / "some", "Cat")) >= {"Thumbs.db", "666.jpg"}
    assert len(class_files(tmp_path / "some", "Cat")) == 3
    assert class_files(tmp_path / "all", "Cat") == class_files(real, "Cat")
    assert class_files(tmp_path / "all", "Dog") == class_files(real, "Dog")


def test_pet_subsample_depends_on_seed(pet_tree: Path, tmp_path: Path) -> None:
    chosen = []
    for seed in range(4):
        petimages.write_subsample(pet_tree, tmp_path / str(seed), per_class=2, seed=seed)
        chosen.append(frozenset(class_files(tmp_path / str(seed), "Cat")))
    assert len(set(chosen)) > 1


def test_pet_subsample_avoids_photos_already_served(pet_tree: Path, tmp_path: Path) -> None:
    served, held = tmp_path / "served", tmp_path / "held"
    petimages.write_subsample(pet_tree, served, per_class=3, seed=0)
    petimages.write_subsample(pet_tree, held, per_class=3, seed=1, avoid=served)
    for name, empty in (("Cat", "666.jpg"), ("Dog", "11702.jpg")):
        shared = set(class_files(served, name)) & set(class_files(held, name))
        assert shared == {empty}
        assert len(class_files(held, name)) == 2  # only one photo was left to choose


def test_pet_holdout_arrays_skip_empty_and_broken_files(pet_tree: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for name in petimages.CLASS_FOLDERS:
        (tree / "PetImages" / name).mkdir(parents=True)
        for path in (pet_tree / "PetImages" / name).iterdir():
            (tree / "PetImages" / name / path.name).write_bytes(path.read_bytes())
    (tree / "PetImages" / "Dog" / "123.jpg").write_bytes(b"\xff\xd8\xff not a whole jpeg")
    some = petimages.holdout_arrays(tree, seed=0, n_per_class=3)
    assert some.x.shape == (6, 150, 150, 3)
    assert some.x.dtype == some.y.dtype == np.uint8
    assert np.bincount(some.y).tolist() == [3, 3]
    every = petimages.holdout_arrays(tree, seed=0, n_per_class=10, size=(20, 30))
    assert every.x.shape == (8, 20, 30, 3)
    assert np.bincount(every.y).tolist() == [4, 4]


def test_pet_holdout_arrays_are_determined_by_seed(pet_tree: Path) -> None:
    first = petimages.holdout_arrays(pet_tree, seed=1, n_per_class=2)
    again = petimages.holdout_arrays(pet_tree, seed=1, n_per_class=2)
    np.testing.assert_array_equal(first.x, again.x)
    np.testing.assert_array_equal(first.y, again.y)


def test_pet_downloads_are_the_course_archive() -> None:
    assert set(petimages.DOWNLOADS.values()) == {petimages.ARCHIVE}
    assert all(url.startswith("https://download.microsoft.com/") for url in petimages.DOWNLOADS)
    assert petimages.ZERO_LENGTH == ("Cat/666.jpg", "Dog/11702.jpg")
    assert petimages.PLACE == {"/tmp/PetImages": "PetImages"}


def test_sign_files_are_placed_in_the_notebook_folder() -> None:
    assert sign_mnist.PLACE == {
        "sign_mnist_train.csv": "sign_mnist_train.csv",
        "sign_mnist_test.csv": "sign_mnist_test.csv",
    }
