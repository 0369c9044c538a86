"""Pretrained weights served offline: fixture files, their cache, and both Kerases loading them.

Each fixture is built once for the module (InceptionV3 about 5 s, VGG16 about 1 s) into a
temporary cache; `KERAS_HOME` points at an empty folder so no real file of this machine is
picked up.
"""

from __future__ import annotations

import filecmp
import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import h5py
import numpy as np
import pytest

from grader.datasets import inception_v3_notop, pretrained, vgg16_notop
from grader.harness.downloads import DownloadMap
from grader.keras_import import import_keras
from grader.outcomes import UsageError

Serve = Callable[[ModuleType], Path]
APPLICATIONS = [
    pytest.param(inception_v3_notop, "InceptionV3", (150, 150, 3), id="inception_v3"),
    pytest.param(vgg16_notop, "VGG16", (32, 32, 3), id="vgg16"),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh grader cache, and an empty Keras cache, for the whole module."""
    import_keras()  # before KERAS_HOME changes: Keras reads its config once, at import
    folder = tmp_path_factory.mktemp("grader-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADER_CACHE", str(folder))
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras-home")))
        yield folder


@pytest.fixture(scope="module")
def served(cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Serve:
    """The served weights file of a thin module, written (and built) on first use."""
    folder = tmp_path_factory.mktemp("served")

    def serve(module: ModuleType) -> Path:
        path = folder / module.FILE
        if not path.exists():
            assert module.write_resource(folder, None, "auto") == "fixture"
        return path

    return serve


def tiny_weights(path: Path) -> Path:
    """A small weights file as older Keras wrote them: byte-string names, an input layer
    without weights, then one Dense layer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as file:
        file.attrs["layer_names"] = np.array([b"input_1", b"dense_1"])
        file.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
        dense = file.create_group("dense_1")
        dense.attrs["weight_names"] = np.array([b"dense_1/kernel:0", b"dense_1/bias:0"])
        dense.create_dataset("dense_1/kernel:0", data=np.arange(6, dtype="f4").reshape(2, 3))
        dense.create_dataset("dense_1/bias:0", data=np.ones(3, dtype="f4"))
    return path


def application(flavour: str, name: str, shape: tuple[int, ...], **kwargs: Any) -> Any:
    package = importlib.import_module(flavour)
    if flavour == "tf_keras":
        package.backend.clear_session()
    return getattr(package.applications, name)(input_shape=shape, include_top=False, **kwargs)


def assert_holds_file_weights(model: Any, path: Path) -> None:
    """The model's layers with weights, paired by position with the file's as `load_weights`
    pairs them, hold the file's arrays (first, second, middle and last layer)."""
    names = pretrained.weight_layer_names(path)
    layers = [layer for layer in model.layers if layer.weights]
    assert len(layers) == len(names)
    picks = [0, 1, len(names) // 2, len(names) - 1]
    stored = pretrained.layer_weights(path, [names[i] for i in picks])
    for i in picks:
        loaded = layers[i].get_weights()
        assert len(loaded) == len(stored[names[i]])
        for ours, theirs in zip(stored[names[i]], loaded, strict=True):
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(("module", "name", "shape"), APPLICATIONS)
@pytest.mark.parametrize("flavour", ["tf_keras", "keras"])
def test_fixture_loads_into_both_kerases_at_the_notebooks_input_size(
    served: Serve, flavour: str, module: ModuleType, name: str, shape: tuple[int, ...]
) -> None:
    model = application(flavour, name, shape, weights=None)
    model.load_weights(str(served(module)))
    assert_holds_file_weights(model, served(module))
    images = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype("float32")
    features = np.asarray(model(images))
    assert np.isfinite(features).all()
    assert 0.01 < features.std() < 100, "activations should neither vanish nor blow up"


@pytest.mark.parametrize("flavour", ["tf_keras", "keras"])
def test_vgg16_imagenet_weights_come_through_the_served_get_file(
    served: Serve, flavour: str, tmp_path: Path
) -> None:
    path = served(vgg16_notop)
    downloads = DownloadMap({u: str(path) for u in vgg16_notop.DOWNLOADS}, str(tmp_path))
    downloads.install()
    try:
        model = application(flavour, "VGG16", (32, 32, 3), weights="imagenet")
    finally:
        downloads.uninstall()
    assert (tmp_path / "models" / vgg16_notop.FILE).is_file()
    stored = pretrained.layer_weights(path, ["block1_conv1", "block5_conv3"])
    for name, arrays in stored.items():
        for ours, theirs in zip(arrays, model.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(ours, theirs)


def test_fixture_is_built_once_into_the_cache_and_served_from_there(
    served: Serve, cache: Path
) -> None:
    path = served(inception_v3_notop)
    cached = sorted((cache / "pretrained").iterdir())
    assert [p.name for p in cached if "inception" in p.name] == [
        f"inception_v3_weights_tf_dim_ordering_tf_kernels_notop.seed2026.v{pretrained.FORMAT_VERSION}.h5"
    ], "one file per seed and version, and no temporary file left over"
    assert 80e6 < path.stat().st_size < 95e6
    assert filecmp.cmp(path, pretrained.fixture_file(inception_v3_notop.WEIGHTS), shallow=False)


def test_second_call_reuses_the_cached_fixture_without_building(
    served: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served(inception_v3_notop)
    cached = pretrained.fixture_file(inception_v3_notop.WEIGHTS)
    before = cached.stat().st_mtime_ns

    def refuse(*args: object) -> None:
        raise AssertionError("the fixture was rebuilt although it is cached")

    monkeypatch.setattr(pretrained, "build_fixture", refuse)
    assert inception_v3_notop.write_resource(tmp_path, None, "fixture") == "fixture"
    assert cached.stat().st_mtime_ns == before
    assert filecmp.cmp(tmp_path / inception_v3_notop.FILE, cached, shallow=False)


def test_build_is_deterministic_and_leaves_keras3_and_numpy_alone(
    cache: Path, tmp_path: Path
) -> None:
    keras = import_keras()
    first_name = keras.layers.Dense(1).name
    numpy_state = np.random.get_state()[1].copy()
    for copy in ("a.h5", "b.h5"):
        pretrained.build_fixture("VGG16", 7, tmp_path / copy)
    assert filecmp.cmp(tmp_path / "a.h5", tmp_path / "b.h5", shallow=False)
    assert keras.layers.Dense(1).name != first_name, "Keras 3's name counter was reset"
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)


def test_real_file_in_data_dir_is_served_unless_fixture_is_asked(
    served: Serve, tmp_path: Path
) -> None:
    served(vgg16_notop)
    real = tiny_weights(tmp_path / "data" / vgg16_notop.FILE)
    assert vgg16_notop.write_resource(tmp_path / "a", real.parent, "auto") == "real"
    assert filecmp.cmp(tmp_path / "a" / vgg16_notop.FILE, real, shallow=False)
    assert vgg16_notop.write_resource(tmp_path / "b", real.parent, "fixture") == "fixture"
    assert (tmp_path / "b" / vgg16_notop.FILE).stat().st_size > 50e6


def test_real_file_in_keras_cache_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    real = tiny_weights(tmp_path / "keras" / "models" / inception_v3_notop.FILE)
    assert inception_v3_notop.write_resource(tmp_path / "out", None, "real") == "real"
    assert filecmp.cmp(tmp_path / "out" / inception_v3_notop.FILE, real, shallow=False)


def test_real_choice_without_a_real_file_says_how_to_proceed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    with pytest.raises(UsageError, match=r"not found in --data-dir.*--data fixture"):
        inception_v3_notop.write_resource(tmp_path / "out", tmp_path, "real")


def test_a_real_file_that_is_not_hdf5_is_refused(tmp_path: Path) -> None:
    (tmp_path / vgg16_notop.FILE).write_text("<html>quota exceeded</html>")
    with pytest.raises(UsageError, match="is not an HDF5 weights file"):
        vgg16_notop.write_resource(tmp_path / "out", tmp_path, "auto")


def test_layer_weights_read_byte_string_names_of_older_files(tmp_path: Path) -> None:
    path = tiny_weights(tmp_path / "old.h5")
    assert pretrained.weight_layer_names(path) == ["dense_1"]
    kernel, bias = pretrained.layer_weights(path, ["dense_1"])["dense_1"]
    np.testing.assert_array_equal(kernel, np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(bias, np.ones(3))
    with pytest.raises(ValueError, match=r"has no layer named conv2d\. Its layers .*dense_1"):
        pretrained.layer_weights(path, ["conv2d"])


@pytest.mark.parametrize(
    ("module", "flavour"),
    [
        (m, f)
        for m in ("inception_v3", "vgg16")
        for f in ("keras.src.applications", "tf_keras.src.applications")
    ],
)
def test_downloads_hold_the_url_the_installed_keras_fetches(module: str, flavour: str) -> None:
    source = importlib.import_module(f"{flavour}.{module}")
    thin = inception_v3_notop if module == "inception_v3" else vgg16_notop
    assert thin.DOWNLOADS[source.WEIGHTS_PATH_NO_TOP] == thin.FILE
    assert source.WEIGHTS_PATH_NO_TOP.endswith(f"/{thin.FILE}")


def test_course_download_and_place_give_the_same_file() -> None:
    course = f"https://storage.googleapis.com/mledu-datasets/{inception_v3_notop.FILE}"
    assert inception_v3_notop.DOWNLOADS[course] == inception_v3_notop.FILE
    place = inception_v3_notop.PLACE
    assert place == {
        f"/tmp/{inception_v3_notop.FILE}": inception_v3_notop.FILE,
        f"model/{inception_v3_notop.FILE}": inception_v3_notop.FILE,  # the 2024 lab layout
    }
    assert set(vgg16_notop.DOWNLOADS.values()) == {vgg16_notop.FILE}
    assert vgg16_notop.PLACE == {}
    assert os.path.basename(vgg16_notop.KERAS_URL) == vgg16_notop.FILE
