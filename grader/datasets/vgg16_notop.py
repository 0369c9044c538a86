"""VGG16's ImageNet weights without the top, as `VGG16(weights="imagenet", include_top=False)`
fetches them with `get_file` (Keras 3 and tf_keras alike; older Keras 2 from GitHub).

Notebooks never download it by hand, so nothing is placed outside Keras's cache.
"""

from __future__ import annotations

from pathlib import Path

from grader.datasets import pretrained
from grader.results import DataSource
from grader.spec import DataChoice

FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_URL = f"https://storage.googleapis.com/tensorflow/keras-applications/vgg16/{FILE}"
GITHUB_URL = f"https://github.com/fchollet/deep-learning-models/releases/download/v0.1/{FILE}"
DOWNLOADS: dict[str, str] = {KERAS_URL: FILE, GITHUB_URL: FILE}
PLACE: dict[str, str] = {}
WEIGHTS = pretrained.Weights(FILE, "VGG16")


def write_resource(folder: Path, data_dir: Path | None, choice: DataChoice) -> DataSource:
    """Put FILE in `folder`: the real weights if found (see `pretrained.find_real`), else the
    fixture unless `choice` is "real"."""
    return pretrained.write_resource(WEIGHTS, folder, data_dir, choice)
