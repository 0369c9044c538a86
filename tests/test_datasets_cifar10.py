"""CIFAR-10 loader on tiny files in the published format, and the synthetic fixture."""

from __future__ import annotations

import datetime
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

from grader.datasets import cifar10
from grader.datasets.base import Splits
from grader.datasets.cifar10 import ARCHIVE, FOLDER, TEST_BATCH, TRAIN_BATCHES

IMAGES_PER_BATCH = 3


@pytest.fixture(autouse=True)
def empty_keras_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the Keras cache at an empty folder so no test sees the real ~/.keras."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    return home / ".keras" / "datasets"


def pattern(image: np.ndarray, row: np.ndarray, col: np.ndarray, channel: np.ndarray) -> np.ndarray:
    """A pixel value that changes with each of image, row, column and channel."""
    return ((image * 13 + row * 32 + col + channel * 7) % 256).astype(np.uint8)


def published_batch(first_image: int, n: int) -> dict[bytes, object]:
    """One batch as the CIFAR-10 authors pickled it: R, G, B planes of 32x32, row by row."""
    planes = np.fromfunction(
        lambda i, ch, r, c: pattern(i + first_image, r, c, ch), (n, 3, 32, 32), dtype=int
    )
    return {
        b"batch_label": b"test batch",
        b"labels": [(first_image + i) % 10 for i in range(n)],
        b"data": planes.reshape(n, 3072),
        b"filenames": [f"img_{first_image + i}.png".encode() for i in range(n)],
    }


def expected_images(first_image: int, n: int) -> np.ndarray:
    """The same images in the channels-last layout that `keras.datasets` returns."""
    return np.fromfunction(
        lambda i, r, c, ch: pattern(i + first_image, r, c, ch), (n, 32, 32, 3), dtype=int
    )


def all_batches() -> dict[str, dict[bytes, object]]:
    names = (*TRAIN_BATCHES, TEST_BATCH)
    return {
        name: published_batch(k * IMAGES_PER_BATCH, IMAGES_PER_BATCH)
        for k, name in enumerate(names)
    }


def write_folder(root: Path, batches: dict[str, dict[bytes, object]] | None = None) -> Path:
    folder = root / FOLDER
    folder.mkdir(parents=True)
    for name, batch in (batches or all_batches()).items():
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return folder


def write_archive(root: Path, batches: dict[str, dict[bytes, object]] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    archive = root / ARCHIVE
    with tarfile.open(archive, "w:gz") as tar:
        for name, batch in (batches or all_batches()).items():
            payload = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo(f"{FOLDER}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return archive


def check_tiny_dataset(splits: Splits | None) -> None:
    assert splits is not None
    n_train = len(TRAIN_BATCHES) * IMAGES_PER_BATCH
    assert splits.train.x.shape == (n_train, 32, 32, 3)
    assert splits.test.x.shape == (IMAGES_PER_BATCH, 32, 32, 3)
    assert splits.train.x.dtype == splits.test.x.dtype == np.uint8
    assert splits.train.y.shape == (n_train, 1)
    assert splits.train.y.dtype == splits.test.y.dtype == np.uint8
    np.testing.assert_array_equal(splits.train.x, expected_images(0, n_train))
    np.testing.assert_array_equal(splits.test.x, expected_images(n_train, IMAGES_PER_BATCH))
    np.testing.assert_array_equal(splits.train.y[:, 0], np.arange(n_train) % 10)
    np.testing.assert_array_equal(splits.test.y[:, 0], np.arange(n_train, n_train + 3) % 10)


def test_load_real_reads_extracted_folder(tmp_path: Path) -> None:
    write_folder(tmp_path / "data")
    check_tiny_dataset(cifar10.load_real(tmp_path / "data"))


def test_load_real_reads_archive_without_extracting(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "data")
    check_tiny_dataset(cifar10.load_real(tmp_path / "data"))
    assert list(archive.parent.iterdir()) == [archive]


def test_load_real_moves_channel_planes_last(tmp_path: Path) -> None:
    batches = all_batches()
    data = np.zeros((IMAGES_PER_BATCH, 3072), np.uint8)
    data[0, 0 * 1024 + 1 * 32 + 2] = 200  # red plane, row 1, column 2
    data[0, 2 * 1024 + 31 * 32 + 0] = 100  # blue plane, row 31, column 0
    batches[TEST_BATCH][b"data"] = data
    write_folder(tmp_path, batches)
    splits = cifar10.load_real(tmp_path)
    assert splits is not None
    image = splits.test.x[0]
    assert image[1, 2, 0] == 200
    assert image[31, 0, 2] == 100
    assert np.count_nonzero(image) == 2


def test_load_real_reads_batches_pickled_by_numpy_1(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    for path in folder.iterdir():  # the published files name numpy 1's module
        path.write_bytes(
            path.read_bytes().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        )
    check_tiny_dataset(cifar10.load_real(tmp_path))


def test_find_real_prefers_data_dir_over_keras_cache(
    tmp_path: Path, empty_keras_cache: Path
) -> None:
    cached = write_archive(empty_keras_cache)
    folder = write_folder(tmp_path / "data")
    assert cifar10.find_real(tmp_path / "data") == folder
    assert cifar10.find_real(tmp_path) == cached  # nothing usable directly in tmp_path
    assert cifar10.find_real(None) == cached


def test_find_real_accepts_keras3_cache_layout(empty_keras_cache: Path) -> None:
    folder = write_folder(empty_keras_cache / "cifar-10-batches-py-target")
    assert cifar10.find_real(None) == folder


def test_find_real_ignores_incomplete_folder(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / TEST_BATCH).unlink()
    assert cifar10.find_real(tmp_path) is None


def test_load_real_returns_none_without_data(tmp_path: Path) -> None:
    assert cifar10.load_real(tmp_path) is None
    assert cifar10.load_real(None) is None


def test_corrupt_batch_file_names_the_file(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "data_batch_3").write_bytes(b"\x80\x02 not a pickle")
    with pytest.raises(ValueError, match="data_batch_3"):
        cifar10.load_real(tmp_path)


def test_corrupt_archive_member_names_the_member(tmp_path: Path) -> None:
    batches = all_batches()
    batches[TEST_BATCH] = {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}
    write_archive(tmp_path, batches)
    with pytest.raises(ValueError, match=rf"{FOLDER}/{TEST_BATCH}.*uint8 \(2, 3072\)"):
        cifar10.load_real(tmp_path)


def test_truncated_archive_names_the_archive(tmp_path: Path) -> None:
    archive = write_archive(tmp_path)
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(ValueError, match=ARCHIVE):
        cifar10.load_real(tmp_path)


def test_batch_with_foreign_objects_is_refused(tmp_path: Path) -> None:
    batches = all_batches()
    batches["data_batch_1"][b"labels"] = [datetime.date(2020, 1, 1)]
    write_folder(tmp_path, batches)
    with pytest.raises(ValueError, match=r"data_batch_1.*datetime\.date"):
        cifar10.load_real(tmp_path)


def test_fixture_has_real_shapes_and_balanced_labels() -> None:
    splits = cifar10.make_fixture(seed=0, n_train=200, n_test=50)
    assert splits.train.x.shape == (200, 32, 32, 3)
    assert splits.test.x.shape == (50, 32, 32, 3)
    for split, per_class in ((splits.train, 20), (splits.test, 5)):
        assert split.x.dtype == split.y.dtype == np.uint8
        assert split.y.shape == (len(split), 1)
        assert np.bincount(split.y[:, 0], minlength=10).tolist() == [per_class] * 10


def test_fixture_is_determined_by_seed() -> None:
    first, again = cifar10.make_fixture(7, 100, 20), cifar10.make_fixture(7, 100, 20)
    other = cifar10.make_fixture(8, 100, 20)
    np.testing.assert_array_equal(first.train.x, again.train.x)
    np.testing.assert_array_equal(first.test.y, again.test.y)
    assert not np.array_equal(first.train.x, other.train.x)
    assert not np.array_equal(first.train.y, other.train.y)


def test_fixture_classes_have_distinct_block_colours() -> None:
    splits = cifar10.make_fixture(seed=0, n_train=500, n_test=0)
    means = [splits.train.x[splits.train.y[:, 0] == k].mean(axis=0) for k in range(10)]
    layouts = {tuple((m.reshape(4, 8, 4, 8, 3).mean(axis=(1, 3)) > 128).ravel()) for m in means}
    assert len(layouts) == 10


MINIMAL_EPOCHS = 20  # the minimal model learns slowly: about 0.2 after 5 epochs, 0.7 after 20


def minimal_model_accuracy(splits: Splits, train_labels: np.ndarray) -> float:
    """Train the course's minimal CNN on `train_labels`; return its accuracy on the test split."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(5, 3, padding="same", activation="sigmoid"),
            layers.Conv2D(5, 3, padding="same", activation="sigmoid"),
            layers.MaxPooling2D(8),
            layers.Flatten(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.001, momentum=0.9),
        loss="categorical_crossentropy",
    )
    targets = keras.utils.to_categorical(train_labels, 10)
    model.fit(splits.train.x, targets, epochs=MINIMAL_EPOCHS, batch_size=64, verbose=0)
    predicted = model.predict(splits.test.x, batch_size=500, verbose=0).argmax(axis=1)
    return float(np.mean(predicted == splits.test.y[:, 0]))


@pytest.mark.slow
def test_minimal_model_learns_fixture_but_not_shuffled_labels() -> None:
    splits = cifar10.make_fixture(seed=0, n_train=2000, n_test=500)
    shuffled = np.random.default_rng(0).permutation(splits.train.y)
    learned = minimal_model_accuracy(splits, splits.train.y)
    from_noise = minimal_model_accuracy(splits, shuffled)
    assert learned >= 0.4, f"expected test accuracy >= 0.4 after training, received {learned:.3f}"
    assert from_noise <= 0.25, (
        f"expected chance accuracy from shuffled labels, received {from_noise:.3f}"
    )


def test_class_names_are_in_label_order() -> None:
    assert len(cifar10.CLASS_NAMES) == 10
    assert cifar10.CLASS_NAMES[0] == "airplane"
    assert cifar10.CLASS_NAMES[9] == "truck"
