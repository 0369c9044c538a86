"""Describing what a notebook function returned, as plain files the grader can read.

Arrays are saved as `.npy` (never pickled); Keras data iterators (`ImageDataGenerator.flow`
and `flow_from_directory`) are described by their settings and one batch, `tf.data` datasets
by what they yield (`tf_datasets`); models are saved
like every other model. Anything else is kept as its type and a short `repr`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.harness.flavour import is_model, save_model
from grader.harness.tf_datasets import describe_dataset, is_dataset

_ITERATOR_ATTRIBUTES = (
    "n",
    "samples",
    "batch_size",
    "target_size",
    "class_mode",
    "image_shape",
    "num_classes",
    "class_indices",
    "color_mode",
    "shuffle",
    "directory",
)
_AUGMENTATION_ATTRIBUTES = (
    "rescale",
    "rotation_range",
    "width_shift_range",
    "height_shift_range",
    "shear_range",
    "zoom_range",
    "horizontal_flip",
    "vertical_flip",
    "fill_mode",
    "brightness_range",
)
_MAX_ITEMS = 8


def export_value(value: Any, stem: Path, depth: int = 0) -> dict[str, Any]:
    kind = type(value).__name__
    if is_model(value):
        return {"type": "model", "file": f"{stem.parent.name}/{save_model(value, stem).name}"}
    if hasattr(value, "image_data_generator"):
        return {"type": kind, "iterator": describe_iterator(value)}
    if is_dataset(value):
        return {"type": kind, "dataset": describe_dataset(value)}
    if isinstance(value, list | tuple) and depth < 2 and len(value) <= _MAX_ITEMS:
        items = [
            export_value(v, stem.with_name(f"{stem.name}-{i}"), depth + 1)
            for i, v in enumerate(value)
        ]
        return {"type": kind, "items": items}
    array = _numeric_array(value)
    if array is not None:
        import numpy as np

        path = stem.with_suffix(".npy")
        np.save(path, array, allow_pickle=False)
        return {"type": kind, "file": f"{stem.parent.name}/{path.name}"}
    return {"type": kind, "repr": repr(value)[:300]}


def _numeric_array(value: Any) -> Any:
    import numpy as np

    if not hasattr(value, "__array__") and not isinstance(value, list | tuple | int | float):
        return None
    try:
        array = np.asarray(value)
    except Exception:
        return None
    return array if array.dtype.kind in "biuf" else None


def describe_iterator(iterator: Any) -> dict[str, Any]:
    """Settings of a Keras data iterator and the shapes and range of its first batch."""
    described = {
        a: _plain(getattr(iterator, a)) for a in _ITERATOR_ATTRIBUTES if hasattr(iterator, a)
    }
    generator = iterator.image_data_generator
    described["augmentation"] = {
        a: _plain(getattr(generator, a)) for a in _AUGMENTATION_ATTRIBUTES if hasattr(generator, a)
    }
    for part in ("x", "y"):
        data = getattr(iterator, part, None)
        if hasattr(data, "shape"):
            described[f"{part}_shape"] = list(data.shape)
            described[f"{part}_dtype"] = str(data.dtype)
    described["first_batch"] = _first_batch(iterator)
    return described


def _first_batch(iterator: Any) -> dict[str, Any]:
    import numpy as np

    try:
        batch = iterator[0]
    except Exception as error:  # a broken generator is the student's to fix
        return {"error": f"{type(error).__name__}: {error}"}
    x, y = (batch[0], batch[1]) if isinstance(batch, tuple) else (batch, None)
    x = np.asarray(x)
    described = {"x_shape": list(x.shape), "x_min": float(x.min()), "x_max": float(x.max())}
    if y is not None:
        described["y_shape"] = list(np.asarray(y).shape)
    return described


def _plain(value: Any) -> Any:
    """JSON-friendly form of an attribute (tuples to lists, NumPy scalars to numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
