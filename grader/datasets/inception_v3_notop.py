"""InceptionV3's ImageNet weights without the top, as the course's week 3 notebook loads them.

The notebook runs `!wget <COURSE_URL> -O /tmp/<FILE>` and then `load_weights` on that path;
`InceptionV3(weights="imagenet", include_top=False)` fetches the same file with `get_file`
from KERAS_URL (older Keras 2 releases from GitHub). A notebook that skips the download finds
the file at /tmp all the same.
"""

from __future__ import annotations

from pathlib import Path

from grader.datasets import pretrained
from grader.results import DataSource
from grader.spec import DataChoice

FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
COURSE_URL = f"https://storage.googleapis.com/mledu-datasets/{FILE}"
KERAS_URL = f"https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/{FILE}"
GITHUB_URL = f"https://github.com/fchollet/deep-learning-models/releases/download/v0.5/{FILE}"
DOWNLOADS: dict[str, str] = {COURSE_URL: FILE, KERAS_URL: FILE, GITHUB_URL: FILE}
# The older revisions download it to /tmp; the 2024 revision's lab has it in ./model.
PLACE: dict[str, str] = {f"/tmp/{FILE}": FILE, f"model/{FILE}": FILE}
WEIGHTS = pretrained.Weights(FILE, "InceptionV3")


def write_resource(folder: Path, data_dir: Path | None, choice: DataChoice) -> DataSource:
    """Put FILE in `folder`: the real weights if found (see `pretrained.find_real`), else the
    fixture unless `choice` is "real"."""
    return pretrained.write_resource(WEIGHTS, folder, data_dir, choice)
