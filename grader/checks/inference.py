"""Checks that run the step's model on inputs the grader makes: photos and crops of any size."""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.checks.context import CheckContext
from grader.checks.registry import Params, check
from grader.outcomes import CheckFailed


class AnySize(Params):
    dataset: str
    photo_height: int = 32
    crop_sizes: tuple[tuple[int, int], ...] = ((24, 32), (32, 20), (28, 36))


def cat_photo(height: int) -> np.ndarray:
    """scikit-image's real 300×451 cat photo, resized to `height` keeping its aspect ratio."""
    from skimage import data, transform

    photo = data.chelsea()
    width = round(photo.shape[1] * height / photo.shape[0])
    resized = transform.resize(photo, (height, width), preserve_range=True, anti_aliasing=True)
    return resized.astype(np.float32)


def _crops(images: np.ndarray, sizes: tuple[tuple[int, int], ...]) -> list[np.ndarray]:
    """Non-square crops, padded by reflection where a size exceeds the image."""
    crops = []
    for image, (height, width) in zip(images, sizes, strict=False):
        padded = np.pad(
            image, ((0, max(0, height - 32)), (0, max(0, width - 32)), (0, 0)), mode="reflect"
        )
        crops.append(padded[:height, :width].astype(np.float32))
    return crops


def _probabilities(model: Any, image: np.ndarray, what: str) -> np.ndarray:
    try:
        output = np.asarray(model(image[None], training=False))  # no tf.function per shape
    except Exception as error:  # a fixed input size fails here; say which input did it
        raise CheckFailed(
            f"Expected the model to accept {what} of shape {image.shape}, received an error: "
            f"{type(error).__name__}: {str(error).splitlines()[0][:200]}",
            expected=list(image.shape),
            received=type(error).__name__,
            hint="use keras.Input(shape=(None, None, 3)) and end the convolutions with "
            "GlobalAveragePooling2D instead of Flatten.",
        ) from None
    if output.ndim != 2 or output.shape[0] != 1:
        raise CheckFailed(
            f"Expected one vector of class scores for {what}, received shape {output.shape}.",
            expected="(1, classes)",
            received=list(output.shape),
            hint="end the convolutions with GlobalAveragePooling2D, then Dense(classes).",
        )
    return output[0]


@check("any_size", AnySize, "Inputs of any size")
def check_any_size(ctx: CheckContext, params: AnySize) -> str:
    """The model classifies images of sizes it never saw: a real non-square photo and crops.

    The grader resizes scikit-image's cat photo keeping its aspect ratio, crops held-out
    images to non-square sizes, and checks each gives one vector of class scores. Whether
    they are probabilities (a softmax at the end) is for the step's layer checks to say.
    """
    model = ctx.model()
    data = ctx.dataset(params.dataset)
    photo = cat_photo(params.photo_height)
    scores = _probabilities(model, photo, "a non-square photo")
    for crop in _crops(data.holdout.x, params.crop_sizes):
        _probabilities(model, crop, "a non-square crop")
    top = np.argsort(scores)[::-1][:3]
    ranked = ", ".join(f"{data.class_names[i]} {scores[i]:.2f}" for i in top)
    height, width = photo.shape[:2]
    if not np.isclose(scores.sum(), 1, atol=1e-3):  # the softmax is the layer checks' concern
        ctx.notes.append("the outputs are scores, not probabilities (they do not sum to 1)")
    return (
        f"cat photo {height}×{width} → top 3: {ranked}; "
        f"{len(params.crop_sizes)} non-square crops accepted"
    )
