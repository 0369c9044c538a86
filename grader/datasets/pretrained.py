"""Pretrained weights files (Keras applications without their top), served to offline notebooks.

Notebooks fetch these with `!wget` or `keras.utils.get_file` and call `load_weights` (or
`weights="imagenet"`). The real file is used when it is found in `--data-dir` or in Keras's own
cache. Otherwise the grader serves a fixture: the same architecture with seeded random weights,
saved by tf_keras in the HDF5 layout of the published files, which `load_weights` in tf_keras
and in Keras 3 both accept. A fixture holds no ImageNet knowledge: checks can compare weights
and shapes with it, but accuracy that needs pretrained features is only meaningful with the
real file.

Fixtures take seconds to build and weigh 60-90 MB, so they are built once per seed and
recipe version into a cache folder and hard-linked from there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import h5py
import numpy as np

from grader.datasets import PUBLIC_SEED
from grader.datasets.fixture_cache import cache_dir
from grader.keras_import import import_keras
from grader.outcomes import GraderError, UsageError
from grader.results import DataSource
from grader.spec import DataChoice

# Bump when `_draw` or the build changes: cached fixtures of older versions are then not reused.
FORMAT_VERSION = 1
_KERNEL_ROLES = ("kernel",)
_NEAR_ONE = ("gamma", "moving_variance")
_NEAR_ZERO = ("bias", "beta", "moving_mean")
_SPREAD = 0.1  # how far BatchNorm statistics and biases stray from their neutral values


@dataclass(frozen=True)
class Weights:
    """A published weights file and the `tf_keras.applications` function whose layers it fits."""

    file: str
    application: str


def write_resource(
    weights: Weights, folder: Path, data_dir: Path | None, choice: DataChoice
) -> DataSource:
    """Put `weights.file` in `folder`: the real file unless `choice` is "fixture", else the
    cached fixture. Raises UsageError when `choice` is "real" and no real file is found."""
    real = None if choice == "fixture" else find_real(weights.file, data_dir)
    if real is None and choice == "real":
        raise UsageError(
            f"the real {weights.file} was not found in --data-dir ({data_dir or 'not given'}) "
            f"nor in {keras_models_dir()}. Hint: pass --data-dir with the file in it, or "
            "--data fixture to grade offline with random weights of the same shapes."
        )
    _link_or_copy(real or fixture_file(weights), folder / weights.file)
    return "fixture" if real is None else "real"


def find_real(file: str, data_dir: Path | None) -> Path | None:
    """`file` in `data_dir`, then in Keras's cache (`$KERAS_HOME/models`, `~/.keras/models`)."""
    folders = [data_dir] if data_dir is not None else []
    for folder in [*folders, keras_models_dir()]:
        path = folder / file
        if path.is_file():
            if not h5py.is_hdf5(path):
                raise UsageError(
                    f"{path} is not an HDF5 weights file. Hint: download it again, or pass "
                    "--data fixture to grade offline."
                )
            return path
    return None


def keras_models_dir() -> Path:
    """Where `get_file(..., cache_subdir="models")` keeps weights, as both Kerases resolve it."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home).expanduser() / "models"


def fixture_file(weights: Weights, seed: int = PUBLIC_SEED) -> Path:
    """The fixture for `weights` from the cache, built there first if missing (InceptionV3:
    about 5 s and 88 MB). The seed is public: the kernel sees these weights anyway."""
    stem = Path(weights.file).stem
    path = cache_dir() / "pretrained" / f"{stem}.seed{seed}.v{FORMAT_VERSION}.h5"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        _build_atomically(weights.application, seed, path)
    return path


def _build_atomically(application: str, seed: int, path: Path) -> None:
    """Build into a temporary file beside `path`, then rename: a grader run that is killed, or
    one building the same fixture at the same time, never leaves a half-written file."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".h5")
    os.close(handle)
    temporary = Path(name)
    try:
        build_fixture(application, seed, temporary)
        temporary.chmod(0o644)  # mkstemp's 0600 would keep a shared cache from other users
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def build_fixture(application: str, seed: int, path: Path) -> None:
    """Save `tf_keras.applications.<application>` without its top, every weight drawn from
    `seed`, with tf_keras `save_weights` in HDF5: the layout of the published files.

    tf_keras's session is cleared before (layer names then start from zero, so the file does
    not depend on what ran earlier) and after; Keras 3's state is separate and left alone.
    """
    tf_keras = _tf_keras()
    tf_keras.backend.clear_session()
    try:
        # Without an input shape the spatial size is free: notop weights do not depend on it.
        model = getattr(tf_keras.applications, application)(include_top=False, weights=None)
        rng = np.random.default_rng(seed)
        for variable in model.weights:
            variable.assign(_draw(rng, variable.name, tuple(variable.shape)))
        model.save_weights(str(path), save_format="h5")
    finally:
        tf_keras.backend.clear_session()


def _tf_keras() -> ModuleType:
    import_keras()  # loads TensorFlow with its start-up notices silenced
    import tf_keras

    return tf_keras


def _draw(rng: np.random.Generator, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """He-uniform kernels keep the scale of ReLU activations from layer to layer, and BatchNorm
    statistics stay near (mean 0, variance 1): InceptionV3's features on preprocessed random
    images come out with mean 0.5 and deviation 0.7 rather than vanishing or overflowing."""
    role = name.rsplit("/", 1)[-1].split(":")[0]
    if role in _KERNEL_ROLES:
        limit = np.sqrt(6.0 / np.prod(shape[:-1]))
        values = rng.uniform(-limit, limit, shape)
    elif role in _NEAR_ONE:
        values = rng.uniform(1 - _SPREAD, 1 + _SPREAD, shape)
    elif role in _NEAR_ZERO:
        values = rng.uniform(-_SPREAD, _SPREAD, shape)
    else:
        raise GraderError(f"no fixture recipe for the weight {name!r}; add its role to _draw.")
    return values.astype(np.float32)


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link saves a copy of up to 90 MB per grading; a copy where linking is impossible
    (another file system). Nothing writes into the served folder: placement copies out of it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def layer_weights(path: Path, layer_names: list[str]) -> dict[str, list[np.ndarray]]:
    """The named layers' arrays, read from the weights file in `layer.get_weights()` order, so a
    check can compare a student's layers with what `load_weights` put there.

    Names are those of the model that wrote the file. InceptionV3's convolutions are unnamed
    (`conv2d_17`), so a model built in another session names them otherwise: pair layers by
    position in `weight_layer_names`, as `load_weights` itself does.
    """
    with h5py.File(path, "r") as file:
        known = _texts(file.attrs["layer_names"])
        missing = [name for name in layer_names if name not in known]
        if missing:
            raise ValueError(
                f"{path.name} has no layer named {', '.join(missing)}. "
                f"Its layers with weights: {', '.join(_with_weights(file, known)[:8])}, ..."
            )
        return {name: _arrays(file[name]) for name in layer_names}


def weight_layer_names(path: Path) -> list[str]:
    """Names of the layers that hold weights, in file order: the order `load_weights` pairs
    them with a model's layers."""
    with h5py.File(path, "r") as file:
        return _with_weights(file, _texts(file.attrs["layer_names"]))


def _with_weights(file: h5py.File, names: list[str]) -> list[str]:
    return [name for name in names if len(file[name].attrs["weight_names"]) > 0]


def _arrays(group: h5py.Group) -> list[np.ndarray]:
    return [np.asarray(group[name]) for name in _texts(group.attrs["weight_names"])]


def _texts(values: Iterable[str | bytes]) -> list[str]:
    """Older Keras wrote these attributes as byte strings, tf_keras as str."""
    return [value.decode("utf8") if isinstance(value, bytes) else str(value) for value in values]
