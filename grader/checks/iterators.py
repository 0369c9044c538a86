"""Checks of functions that return Keras data iterators (`ImageDataGenerator.flow...`) or
`tf.data` datasets (`image_dataset_from_directory`, see `tf_datasets`), and of CSV parsing,
called on inputs the grader made for this run only."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from grader.checks.context import CheckContext, raise_on_error
from grader.checks.layers import same_value
from grader.checks.registry import FunctionParams, HiddenCall, check
from grader.checks.tf_datasets import check_datasets, is_datasets
from grader.outcomes import CheckFailed


class DirectoryGenerators(FunctionParams):
    """`train_val_generators(TRAINING_DIR, VALIDATION_DIR)` on folders of `per_class` images.

    The function may instead return two `tf.data` datasets (`train_val_datasets`, the
    course's 2024 revision): then `target_size`, the labels and `batch_size` are checked (a
    dataset is not rescaled or augmented: its model does that). A function without
    parameters gets the two folders in the globals `arg_globals` (the 2024 revision's
    `TRAIN_DIR`, `VALIDATION_DIR`).
    """

    target_size: tuple[int, int] = (150, 150)
    class_mode: str = "binary"
    rescale: float = 1 / 255
    classes: tuple[str, ...] = ("cats", "dogs")
    per_class: tuple[int, int] = (3, 6)
    augmented_training: bool = False
    batch_size: int | None = None
    arg_globals: tuple[str, ...] = ()

    def hidden_calls(self, rng: np.random.Generator, folder: Path) -> list[HiddenCall]:
        counts = {}
        for part in ("training", "validation"):
            counts[part] = sum(
                _write_images(folder / part / name, rng, self.per_class) for name in self.classes
            )
        return [HiddenCall([f"{folder / 'training'}/", f"{folder / 'validation'}/"], counts)]


def _write_images(folder: Path, rng: np.random.Generator, per_class: tuple[int, int]) -> int:
    from PIL import Image

    folder.mkdir(parents=True)
    count = int(rng.integers(per_class[0], per_class[1] + 1))
    for number in range(count):
        size = tuple(int(v) for v in rng.integers(40, 90, size=2))
        pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{number}.jpg")
    return count


@check("directory_generators", DirectoryGenerators, "Image generators")
def check_directory_generators(ctx: CheckContext, params: DirectoryGenerators) -> str:
    """Both iterators read the right folders at the task's image size and label mode, with
    pixels rescaled to [0, 1] (and augmentation on the training one where asked)."""
    ((hidden, call),) = ctx.function_calls(params)[:1]
    raise_on_error(params.function, hidden.args, call)
    if is_datasets(call.value):
        settings = {"target_size": params.target_size, "batch_size": params.batch_size}
        return check_datasets(params.function, call.value, hidden.known, settings)
    train, validation = _two_iterators(params.function, call.value)
    expected = {
        "target_size": list(params.target_size),
        "class_mode": params.class_mode,
        "rescale": params.rescale,
    }
    for part, described in (("training", train), ("validation", validation)):
        _check_settings(part, described, expected)
        _check_count(part, described.get("samples", described.get("n")), hidden.known[part])
    if params.augmented_training and not _augmented(train):
        raise CheckFailed(
            "Expected the training generator to augment images, received no augmentation.",
            expected="rotation, shifts, shear, zoom or flips",
            received=train.get("augmentation"),
            hint="pass augmentation settings (rotation_range=..., horizontal_flip=True, ...) "
            "to the training ImageDataGenerator only.",
        )
    size = "×".join(map(str, params.target_size))
    return f"{size} images, class_mode {params.class_mode}, rescaled by {params.rescale:.5f}"


def _two_iterators(function: str, value: dict[str, Any] | None) -> tuple[dict, dict]:
    items = (value or {}).get("items") or []
    iterators = [item.get("iterator") for item in items]
    if len(iterators) != 2 or not all(iterators):
        kinds = [item.get("type") for item in items] or (value or {}).get("type")
        raise CheckFailed(
            f"Expected {function} to return (train_generator, validation_generator), "
            f"received {kinds}.",
            expected=["iterator", "iterator"],
            received=kinds,
            hint="return both generators: `return train_generator, validation_generator`.",
        )
    return iterators[0], iterators[1]


def _check_settings(part: str, described: dict[str, Any], expected: dict[str, Any]) -> None:
    received = {
        "target_size": described.get("target_size"),
        "class_mode": described.get("class_mode"),
        "rescale": described.get("augmentation", {}).get("rescale"),
    }
    for key, wanted in expected.items():
        if not same_value(wanted, received[key]):
            raise CheckFailed(
                f"Expected the {part} generator's {key} to be {wanted!r}, received "
                f"{received[key]!r}.",
                expected=wanted,
                received=received[key],
                hint=_SETTING_HINTS[key],
            )


_SETTING_HINTS = {
    "target_size": "pass target_size=(150, 150) to flow_from_directory.",
    "class_mode": "two classes with one sigmoid unit need class_mode='binary'.",
    "rescale": "ImageDataGenerator(rescale=1./255) scales pixels to [0, 1]; the model "
    "expects that.",
}


def _check_count(part: str, received: Any, expected: int) -> None:
    if received != expected:
        raise CheckFailed(
            f"Expected the {part} generator to find {expected} images, received {received}.",
            expected=expected,
            received=received,
            hint=f"point the {part} generator at its own directory argument.",
        )


def _augmented(described: dict[str, Any]) -> bool:
    settings = described.get("augmentation", {})
    ranges = ("rotation_range", "width_shift_range", "height_shift_range", "shear_range")
    zoom = settings.get("zoom_range") or [1.0, 1.0]
    return (
        any(settings.get(key) for key in ranges)
        or bool(settings.get("horizontal_flip"))
        or list(zoom) != [1.0, 1.0]
    )


class ArrayGenerators(FunctionParams):
    """`train_val_generators(images, labels, val_images, val_labels)` on random grey images."""

    image_size: tuple[int, int] = (28, 28)
    rows: tuple[int, int] = (20, 60)

    def hidden_calls(self, rng: np.random.Generator, folder: Path) -> list[HiddenCall]:
        args, shapes = [], []
        for part in ("training", "validation"):
            n = int(rng.integers(self.rows[0], self.rows[1] + 1))
            images = rng.integers(0, 256, size=(n, *self.image_size)).astype("float64")
            labels = rng.integers(0, 24, size=n).astype("float64")
            for name, array in (("images", images), ("labels", labels)):
                path = folder / f"{part}_{name}.npy"
                np.save(path, array)
                args.append({"npy": str(path)})
            shapes.append(n)
        return [HiddenCall(args, shapes)]


@check("array_generators", ArrayGenerators, "Array generators")
def check_array_generators(ctx: CheckContext, params: ArrayGenerators) -> str:
    """Both iterators hold the images with a channel axis added and their labels, and yield
    pixels rescaled to [0, 1]."""
    ((hidden, call),) = ctx.function_calls(params)[:1]
    raise_on_error(params.function, ["training_images", "..."], call)
    iterators = _two_iterators(params.function, call.value)
    for part, described, n in zip(("training", "validation"), iterators, hidden.known, strict=True):
        wanted = [n, *params.image_size, 1]
        if described.get("x_shape") != wanted:
            raise CheckFailed(
                f"Expected the {part} generator's images to have shape {tuple(wanted)}, "
                f"received {described.get('x_shape')}.",
                expected=wanted,
                received=described.get("x_shape"),
                hint="add the channel axis: np.expand_dims(images, axis=-1).",
            )
        if described.get("y_shape") != [n]:
            raise CheckFailed(
                f"Expected the {part} generator's labels to have shape ({n},), received "
                f"{described.get('y_shape')}.",
                expected=[n],
                received=described.get("y_shape"),
                hint="pass the labels as they are to flow(x=..., y=labels).",
            )
        top = described.get("first_batch", {}).get("x_max")
        if top is None or top > 1.0:
            raise CheckFailed(
                f"Expected the {part} generator to yield pixels in [0, 1], received a maximum "
                f"of {top}.",
                expected=1.0,
                received=top,
                hint="use ImageDataGenerator(rescale=1./255).",
            )
    return f"images {tuple(iterators[0]['x_shape'])} with their labels, rescaled to [0, 1]"


class ParsedCsv(FunctionParams):
    """`parse_data_from_input(filename)` on CSV files in the Sign Language MNIST format."""

    rows: tuple[int, int] = (5, 40)
    image_size: tuple[int, int] = (28, 28)
    files: int = 2

    def hidden_calls(self, rng: np.random.Generator, folder: Path) -> list[HiddenCall]:
        calls = []
        for number in range(self.files):
            n = int(rng.integers(self.rows[0], self.rows[1] + 1))
            labels = rng.choice([c for c in range(25) if c != 9], size=n)
            pixels = rng.integers(0, 256, size=(n, int(np.prod(self.image_size))))
            path = folder / f"sign_mnist_{number}.csv"
            _write_sign_csv(path, labels, pixels)
            known = (
                pixels.reshape(n, *self.image_size).astype("float64"),
                labels.astype("float64"),
            )
            calls.append(HiddenCall([str(path)], known))
        return calls


def _write_sign_csv(path: Path, labels: np.ndarray, pixels: np.ndarray) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["label", *(f"pixel{i}" for i in range(1, pixels.shape[1] + 1))])
        writer.writerows(
            [int(label), *map(int, row)] for label, row in zip(labels, pixels, strict=True)
        )


@check("parsed_csv", ParsedCsv, "Parses the CSV")
def check_parsed_csv(ctx: CheckContext, params: ParsedCsv) -> str:
    """Returns (images, labels) as float64 arrays of shape (N, 28, 28) and (N,), equal to the
    file's values, on CSV files of random length written for this run."""
    for hidden, call in ctx.function_calls(params):
        raise_on_error(params.function, hidden.args, call)
        images, labels = _two_arrays(ctx, params.function, call.value)
        _compare_parsed(hidden.known, images, labels)
    return f"{params.files} CSV files parsed exactly (float64 images and labels)"


def _two_arrays(ctx: CheckContext, function: str, value: dict[str, Any] | None) -> tuple:
    items = (value or {}).get("items") or []
    paths = [ctx.artifact_file(item.get("file")) for item in items]
    if len(items) != 2 or None in paths:
        kinds = [item.get("type") for item in items] or (value or {}).get("type")
        raise CheckFailed(
            f"Expected {function} to return two arrays (images, labels), received {kinds}.",
            expected=["ndarray", "ndarray"],
            received=kinds,
            hint="return np.array(images, dtype=np.float64), np.array(labels, dtype=np.float64).",
        )
    return np.load(paths[0], allow_pickle=False), np.load(paths[1], allow_pickle=False)


def _compare_parsed(
    known: tuple[np.ndarray, np.ndarray], images: np.ndarray, labels: np.ndarray
) -> None:
    want_images, want_labels = known
    n = len(want_labels)
    if images.shape == (n,) and labels.shape == want_images.shape:
        raise _parse_failure(
            "(images, labels)", "(labels, images)", "return images first, then labels."
        )
    if images.shape[:1] == (n + 1,) or labels.shape[:1] == (n + 1,):
        raise _parse_failure(
            n, images.shape[0], "skip the header row (next(reader)) before reading."
        )
    if images.shape[:1] != (n,) or labels.shape != (n,):
        raise _parse_failure(
            [[n, 28, 28], [n]],
            [list(images.shape), list(labels.shape)],
            "one image and one label per row: read every row after the header.",
        )
    if images.shape != want_images.shape:
        raise _parse_failure(
            list(want_images.shape),
            list(images.shape),
            "reshape each row of 784 pixels to (28, 28).",
        )
    for name, array in (("images", images), ("labels", labels)):
        if array.dtype != np.float64:
            raise _parse_failure(
                "float64", str(array.dtype), f"convert: {name}.astype(np.float64)."
            )
    if not (np.array_equal(images, want_images) and np.array_equal(labels, want_labels)):
        raise _parse_failure(
            "the file's values",
            "other values",
            "the label is the first column; the 784 pixels follow row by row.",
        )


def _parse_failure(expected: Any, received: Any, hint: str) -> CheckFailed:
    return CheckFailed(
        f"Expected {expected} from the parsed file, received {received}.",
        expected=expected,
        received=received,
        hint=hint,
    )
