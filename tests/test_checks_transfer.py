"""Transfer-learning checks on small stand-in models: where the head is attached, what is
frozen, and the two training phases as the harness records them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.datasets import PreparedData
from grader.datasets.base import Split, Splits
from grader.results import EpochRecord, FitRecord
from tests.conftest import grade_one, make_submission


def based_model(keras: Any, cut: str = "mixed7", frozen: bool = True) -> Any:
    """A 'pretrained base' of named layers with a head attached at `cut`."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv2d")(inputs)
    x = keras.layers.Conv2D(4, 3, name="mixed6")(x)
    x = keras.layers.Conv2D(4, 3, name="mixed7")(x)
    base = keras.Model(inputs, x)
    for layer in base.layers:
        layer.trainable = not frozen
    head = keras.layers.Flatten()(base.get_layer(cut).output)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(head))


def test_the_head_on_the_right_layer_passes_and_the_wrong_one_fails(
    keras: Any, tmp_path: Path
) -> None:
    right = make_submission(tmp_path / "a", {"model": based_model(keras)})
    assert grade_one(right, "cut_at", {"layer": "mixed7"}).status == "passed"
    wrong = make_submission(tmp_path / "b", {"model": based_model(keras, cut="mixed6")})
    result = grade_one(wrong, "cut_at", {"layer": "mixed7"})
    assert result.status == "failed" and "`mixed6`" in result.message


def test_a_base_that_still_trains_is_named(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": based_model(keras, frozen=False)})
    result = grade_one(submission, "frozen_base", {"until": "mixed7"})
    assert result.status == "failed" and "conv2d" in result.message


def test_the_base_is_recognised_by_its_layers_size(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": based_model(keras)})
    passed = grade_one(submission, "base_model", {"prefix": "mixed", "params": 2 * (36 * 4 + 4)})
    assert passed.status == "passed"
    assert grade_one(submission, "base_model", {"prefix": "mixed", "params": 1}).status == "failed"


def fit(trainable: list[str], rate: float) -> FitRecord:
    epochs = (EpochRecord(1, 1.0, {"loss": 1.0}),)
    return FitRecord(
        "model", "m", 1, None, True, 64, epochs, ("model",),
        trainable_params=10, total_params=100, trainable_layers=tuple(trainable),
        learning_rate=rate,
    )  # fmt: skip


HEAD = ["dense", "dense_1"]
BLOCK5 = ["block5_conv1", "block5_conv2", "block5_conv3"]


@pytest.mark.parametrize(
    ("phases", "status", "words"),
    [
        ((fit(HEAD, 1e-3), fit([*BLOCK5, *HEAD], 1e-5)), "passed", "phase 2"),
        ((fit(["block1_conv1", *HEAD], 1e-3), fit([*BLOCK5, *HEAD], 1e-5)), "failed", "frozen"),
        ((fit(HEAD, 1e-3), fit(["block4_conv3", *BLOCK5, *HEAD], 1e-5)), "failed", "block4_conv3"),
        ((fit(HEAD, 1e-3), fit([*BLOCK5, *HEAD], 1e-3)), "failed", "lower learning rate"),
        ((fit(HEAD, 1e-3),), "failed", "two training phases"),
    ],
)
def test_the_two_phases_are_read_from_the_fit_records(
    keras: Any, tmp_path: Path, phases: tuple[FitRecord, ...], status: str, words: str
) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    submission = make_submission(tmp_path, {"model": model}, fits=phases)
    result = grade_one(submission, "phases", {})
    assert result.status == status, result.message
    assert words in result.message


def fashion(n: int) -> PreparedData:
    split = Split(np.zeros((n, 28, 28), np.uint8), np.zeros(n, np.uint8))
    return PreparedData("fashion_mnist", Splits(split, split), split, "fixture", ())


@pytest.mark.parametrize(
    ("images", "status"),
    [
        (np.zeros((5, 32, 32, 3), np.float32), "passed"),
        (np.zeros((5, 28, 28, 3), np.float32), "failed"),
        (np.zeros((5, 32, 32, 1), np.float32), "failed"),
        (np.full((5, 32, 32, 3), 255.0, np.float32), "failed"),
        (np.full((5, 32, 32, 3), -100.0, np.float32), "passed"),
    ],
)
def test_rgb_images_need_three_channels_32_pixels_and_scaled_values(
    tmp_path: Path, images: np.ndarray, status: str
) -> None:
    submission = make_submission(
        tmp_path, variables={"x": images}, data={"fashion_mnist": fashion(5)}
    )
    args = {"variable": "x", "dataset": "fashion_mnist", "split": "train"}
    assert grade_one(submission, "rgb_images", args, model=None).status == status


def test_grey_held_out_images_are_fitted_to_an_rgb_input(keras: Any) -> None:
    from grader.checks.training import fitted_to

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten()])
    grey = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    padded = fitted_to(model, grey, 1 / 255, "pad")
    assert padded.shape == (2, 32, 32, 3)
    assert padded[:, :2].max() == 0 and np.allclose(padded[:, 2:30, 2:30, 0], grey / 255)
    assert fitted_to(model, grey, 1.0, "resize").shape == (2, 32, 32, 3)


def test_the_history_check_reads_the_first_or_last_fit(keras: Any, tmp_path: Path) -> None:
    def trained(value: float) -> FitRecord:
        epochs = (EpochRecord(1, 1.0, {"val_accuracy": value / 2}),
                  EpochRecord(2, 1.0, {"val_accuracy": value}))  # fmt: skip
        return FitRecord("model", "m", 2, None, True, 32, epochs, ("model",))

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    submission = make_submission(tmp_path, {"model": model}, fits=(trained(0.9), trained(0.6)))
    last = grade_one(submission, "history", {"metric": "val_accuracy", "min": 0.8})
    assert last.status == "failed" and last.received == 0.6
    first = grade_one(submission, "history", {"metric": "val_accuracy", "min": 0.8, "fit": "first"})
    assert first.status == "passed"
    missing = grade_one(submission, "history", {"metric": "accuracy", "min": 0.8})
    assert missing.status == "failed" and "not recorded" in missing.message


def test_fine_tuning_may_open_the_last_two_blocks_where_the_spec_allows_it(
    keras: Any, tmp_path: Path
) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    two_blocks = (fit(HEAD, 1e-3), fit(["block4_conv3", *BLOCK5, *HEAD], 1e-5))
    submission = make_submission(tmp_path, {"model": model}, fits=two_blocks)
    allowed = {"fine_tune": ["block4", "block5"]}
    assert grade_one(submission, "phases", allowed).status == "passed"
    whole = (fit(HEAD, 1e-3), fit(["block1_conv1", "block4_conv3", *BLOCK5, *HEAD], 1e-5))
    submission = make_submission(tmp_path / "whole", {"model": model}, fits=whole)
    result = grade_one(submission, "phases", allowed)
    assert result.status == "failed" and "block1_conv1" in result.message


def nested_cut(keras: Any, cut: str = "mixed7") -> Any:
    """The base cut with Model(base.input, layer.output) and called as a layer behind an
    augmentation layer, the head on its output (a 2024-style model)."""
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv2d")(inputs)
    x = keras.layers.Conv2D(4, 3, name="mixed6")(x)
    x = keras.layers.Conv2D(4, 3, name="mixed7")(x)
    base = keras.Model(inputs, x)
    base.trainable = False
    cut_base = keras.Model(base.input, base.get_layer(cut).output)
    outer = keras.Input((8, 8, 3))
    y = keras.layers.RandomFlip("horizontal")(outer)
    y = keras.layers.Flatten()(cut_base(y))
    return keras.Model(outer, keras.layers.Dense(1, activation="sigmoid")(y))


def test_a_nested_base_is_cut_and_frozen_where_asked(keras: Any, tmp_path: Path) -> None:
    right = make_submission(tmp_path / "a", {"model": nested_cut(keras)})
    assert grade_one(right, "cut_at", {"layer": "mixed7"}).status == "passed"
    assert grade_one(right, "frozen_base", {"until": "mixed7"}).status == "passed"
    wrong = make_submission(tmp_path / "b", {"model": nested_cut(keras, cut="mixed6")})
    result = grade_one(wrong, "cut_at", {"layer": "mixed7"})
    assert result.status == "failed" and "`mixed6`" in result.message


def test_a_renamed_model_with_the_base_is_found_and_named(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"net": based_model(keras)})
    result = grade_one(submission, "base_model", {"prefix": "mixed", "params": 2 * (36 * 4 + 4)})
    assert result.status == "passed", result.message
    assert "matched model variable `net`" in result.message


def test_the_comparison_model_must_be_dense_with_ten_outputs(keras: Any, tmp_path: Path) -> None:
    dense = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10, "softmax")]
    )
    renamed = make_submission(tmp_path / "a", {"dense_net": dense})
    result = grade_one(renamed, "dense_network", {})
    assert result.status == "passed" and "`dense_net`" in result.message
    convolutional = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(10, "softmax"),
        ]
    )
    named = make_submission(tmp_path / "b", {"model": convolutional})
    result = grade_one(named, "dense_network", {})
    assert result.status == "failed" and "1 convolution layer" in result.message


def test_a_base_cut_elsewhere_is_judged_frozen_up_to_its_head(keras: Any, tmp_path: Path) -> None:
    """The cut_at check blames the wrong layer; frozen_base does not fail a second time."""
    frozen = make_submission(tmp_path / "a", {"model": based_model(keras, cut="mixed6")})
    assert grade_one(frozen, "frozen_base", {"until": "mixed7"}).status == "passed"
    training = make_submission(
        tmp_path / "b", {"model": based_model(keras, cut="mixed6", frozen=False)}
    )
    assert grade_one(training, "frozen_base", {"until": "mixed7"}).status == "failed"


def weights_file(folder: Path) -> Path:
    """A one-layer weights file in the published HDF5 layout, named as the VGG16 file."""
    import h5py

    from grader.datasets import vgg16_notop

    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / vgg16_notop.FILE, "w") as file:
        file.attrs["layer_names"] = np.array([b"block1_conv1"])
        group = file.create_group("block1_conv1")
        group.attrs["weight_names"] = np.array([b"kernel:0", b"bias:0"])
        kernel = np.linspace(-1, 1, 48, dtype="f4").reshape(2, 2, 3, 4)
        group.create_dataset("kernel:0", data=kernel)
        group.create_dataset("bias:0", data=np.full(4, 0.5, dtype="f4"))
    return folder


@pytest.mark.parametrize(
    ("change", "status"), [(0.0, "passed"), (0.01, "passed"), (None, "failed")]
)
def test_the_base_holds_the_file_weights_even_after_a_little_training(
    keras: Any, tmp_path: Path, change: float | None, status: str
) -> None:
    """A base loaded from the file passes, also when it drifted a little while training
    (unfrozen: another check fails that); a base never loaded fails."""
    folder = weights_file(tmp_path / "served")
    inputs = keras.Input((4, 4, 3))
    outputs = keras.layers.Conv2D(4, 2, name="block1_conv1")(keras.layers.Rescaling(1.0)(inputs))
    model = keras.Model(inputs, keras.layers.Flatten()(outputs))
    kernel = np.linspace(-1, 1, 48, dtype="f4").reshape(2, 2, 3, 4)
    if change is not None:
        model.get_layer("block1_conv1").set_weights([kernel + change, np.full(4, 0.5, "f4")])
    resource = PreparedData("vgg16_notop", None, None, "fixture", (), files=folder)
    submission = make_submission(tmp_path, {"model": model}, data={"vgg16_notop": resource})
    result = grade_one(submission, "weights_from_file", {"resource": "vgg16_notop"})
    assert result.status == status, result.message
