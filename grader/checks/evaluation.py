"""What an image classifier did on the grader's held-out images: the confusion matrix and a
grid of sample predictions (image, true class, predicted class and its probability).

Made by the accuracy check from the predictions it scored, so the report shows the same
predictions the score came from. Sample images are small PNG data URIs; the report only
renders them.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from grader.results import Evaluation, Prediction

SAMPLES = 16
_SAMPLE_SIZE = 64  # pixels on the longer side in the report's grid


def evaluation_of(
    images: np.ndarray, truth: np.ndarray, probabilities: np.ndarray, classes: tuple[str, ...]
) -> Evaluation:
    """The confusion matrix over every held-out image, and up to `SAMPLES` of them: the
    mistakes first (they teach most), then correct ones, in a fixed order."""
    predicted = probabilities.argmax(axis=1)
    truth = truth.reshape(-1).astype(int)
    count = max(probabilities.shape[1], int(truth.max(initial=0)) + 1)
    names = tuple(classes[:count]) if len(classes) >= count else tuple(map(str, range(count)))
    confusion = np.zeros((count, count), dtype=int)
    np.add.at(confusion, (truth, predicted), 1)
    wrong = np.flatnonzero(predicted != truth)
    right = np.flatnonzero(predicted == truth)
    chosen = [*wrong[: SAMPLES // 2], *right[: SAMPLES - min(len(wrong), SAMPLES // 2)]]
    samples = tuple(
        Prediction(
            image=_png(images[i]),
            truth=names[truth[i]],
            predicted=names[predicted[i]],
            probability=round(float(probabilities[i, predicted[i]]), 3),
        )
        for i in sorted(chosen[:SAMPLES])
    )
    return Evaluation(names, tuple(tuple(int(v) for v in row) for row in confusion), samples)


def _png(image: np.ndarray) -> str:
    """A held-out image as a small PNG data URI (grey or RGB, any value range)."""
    pixels = np.asarray(image, dtype="float32")
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    low, high = float(pixels.min()), float(pixels.max())
    scaled = (pixels - low) / (high - low) * 255 if high > low else np.zeros_like(pixels)
    picture = Image.fromarray(scaled.astype("uint8"))
    factor = _SAMPLE_SIZE / max(picture.size)
    if factor > 1:
        size = (round(picture.width * factor), round(picture.height * factor))
        picture = picture.resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
