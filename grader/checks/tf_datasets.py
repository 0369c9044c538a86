"""The dataset side of the `directory_generators` check: `train_val_datasets` returning two
`tf.data` datasets built with `image_dataset_from_directory` (the course's 2024 revision),
where older revisions return two `ImageDataGenerator` iterators.

What the kernel saw is in `grader.harness.tf_datasets`: how many images each dataset
yields, the size of its batches, and its first batch's shapes and label values. Rescaling
and augmentation are not asked of a dataset: the 2024 revision does them in the model.
"""

from __future__ import annotations

from typing import Any

from grader.outcomes import CheckFailed

PARTS = ("training", "validation")


def is_datasets(value: dict[str, Any] | None) -> bool:
    """The function returned datasets (at least one), not iterators."""
    items = (value or {}).get("items") or []
    return any("dataset" in item for item in items)


def check_datasets(
    function: str,
    value: dict[str, Any] | None,
    known: dict[str, int],
    settings: dict[str, Any],
) -> str:
    """Both datasets read the right folders, at `settings["target_size"]` in RGB, with one
    0/1 label per image, in batches of `settings["batch_size"]` (None: any)."""
    for part, described in zip(PARTS, _two_datasets(function, value), strict=True):
        if "error" in described:
            raise _failure(
                f"Expected the {part} dataset to yield batches, received an error: "
                f"{described['error']}.",
                "batches of (images, labels)",
                described["error"],
                "build it with tf.keras.utils.image_dataset_from_directory(directory=...).",
            )
        _check_images(part, described, known[part], settings)
        _check_labels(part, described.get("first_batch", {}), described.get("class_names"))
    size = "×".join(map(str, settings["target_size"]))
    return f"two tf.data datasets of {size} RGB images with 0/1 labels"


def _two_datasets(function: str, value: dict[str, Any] | None) -> list[dict[str, Any]]:
    items = (value or {}).get("items") or []
    datasets = [item.get("dataset") for item in items]
    if len(datasets) != 2 or not all(datasets):
        kinds = [item.get("type") for item in items] or (value or {}).get("type")
        raise _failure(
            f"Expected {function} to return (train_dataset, validation_dataset), received {kinds}.",
            ["Dataset", "Dataset"],
            kinds,
            "return both datasets: `return train_dataset, validation_dataset`.",
        )
    return [dataset for dataset in datasets if dataset]


def _check_images(part: str, described: dict[str, Any], count: int, settings: dict) -> None:
    if described.get("images") != count:
        raise _failure(
            f"Expected the {part} dataset to yield {count} images, received "
            f"{described.get('images')}.",
            count,
            described.get("images"),
            f"point the {part} dataset at its own directory, with no validation_split.",
        )
    shape = described.get("first_batch", {}).get("x_shape") or []
    wanted = [*settings["target_size"], 3]
    if shape[1:] != wanted:
        raise _failure(
            f"Expected the {part} dataset's images of shape {tuple(wanted)}, received "
            f"{tuple(shape[1:])}.",
            wanted,
            shape[1:],
            f"pass image_size={tuple(settings['target_size'])} (and the default "
            "color_mode='rgb') to image_dataset_from_directory.",
        )
    batch = settings.get("batch_size")
    sizes = described.get("batch_sizes") or []
    if batch is not None and sizes and sizes[0] != min(batch, count):
        raise _failure(
            f"Expected batches of {batch} images in the {part} dataset, received {sizes[0]}.",
            batch,
            sizes[0],
            f"pass batch_size={batch} to image_dataset_from_directory.",
        )


def _check_labels(part: str, first: dict[str, Any], names: list[str] | None) -> None:
    """One label per image, 0 or 1: label_mode 'binary' ((n, 1) floats) or the default 'int'
    ((n,) integers) both train a single sigmoid unit; 'categorical' gives two columns."""
    shape, values = first.get("y_shape"), first.get("y_values")
    n = (first.get("x_shape") or [None])[0]
    if shape not in ([n], [n, 1]) or not set(values or []) <= {0.0, 1.0}:
        raise _failure(
            f"Expected one 0/1 label per image in the {part} dataset, received labels of "
            f"shape {shape} with values {values}.",
            f"({n},) or ({n}, 1), values 0 and 1",
            {"shape": shape, "values": values},
            "two classes and one sigmoid unit: label_mode='binary' (or the default 'int').",
        )
    if names is not None and len(names) != 2:
        raise _failure(
            f"Expected two classes in the {part} dataset, received {names}.",
            2,
            names,
            "the directory must hold one folder per class: horses/ and humans/.",
        )


def _failure(message: str, expected: Any, received: Any, hint: str) -> CheckFailed:
    return CheckFailed(message, expected=expected, received=received, hint=hint)
