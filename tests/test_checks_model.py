"""Each structure check against a tiny model that breaks it, asserting the message it gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grader.checks.layers import describe_layers
from grader.checks.runner import run_check
from grader.results import FitRecord
from grader.spec import CheckSpec, StepSpec
from tests.conftest import grade_one, make_submission

MINIMAL_LAYERS = [
    {"type": "Rescaling", "scale": 1 / 255},
    {
        "type": "Conv2D",
        "filters": 5,
        "kernel_size": [3, 3],
        "padding": "same",
        "activation": "sigmoid",
    },
    {
        "type": "Conv2D",
        "filters": 5,
        "kernel_size": [3, 3],
        "padding": "same",
        "activation": "sigmoid",
    },
    {"type": "MaxPooling2D", "pool_size": [8, 8]},
    {"type": "Flatten"},
    {"type": "Dense", "units": 10, "activation": "softmax"},
]


def step_of_model(model: str, *more: CheckSpec) -> StepSpec:
    """A step whose model is `model`, with the minimal model's layers check and `more`."""
    layers = CheckSpec(check="layers", args={"layers": MINIMAL_LAYERS})
    return StepSpec(id="s", title="t", model=model, checks=[layers, *more])


def minimal(
    keras: Any,
    *,
    filters: int = 5,
    rescale: bool = True,
    pool: int = 8,
    activation: str = "sigmoid",
    split_activation: bool = False,
) -> Any:
    from keras import layers

    stack: list[Any] = [keras.Input((32, 32, 3))]
    if rescale:
        stack.append(layers.Rescaling(1 / 255))
    if split_activation:
        stack += [layers.Conv2D(filters, 3, padding="same"), layers.Activation(activation)]
    else:
        stack.append(layers.Conv2D(filters, 3, padding="same", activation=activation))
    stack += [
        layers.Conv2D(5, 3, padding="same", activation=activation),
        layers.MaxPooling2D(pool),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ]
    return keras.Sequential(stack)


def test_reference_shape_passes_every_structure_check(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": minimal(keras)})
    assert grade_one(submission, "params", {"total": 1180, "trainable": 1180}).status == "passed"
    assert grade_one(submission, "layers", {"layers": MINIMAL_LAYERS}).status == "passed"
    shape = grade_one(submission, "input_shape", {"shape": [None, 32, 32, 3]})
    assert shape.status == "passed"


def test_params_names_expected_and_received_counts(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": minimal(keras, filters=10)})
    result = grade_one(submission, "params", {"total": 1180})
    assert result.status == "failed"
    assert result.message == "Expected 1,180 total parameters, received 1,545."
    assert (result.expected, result.received) == (1180, 1545)
    assert "per layer your model has" in result.hint


def test_layers_names_the_attribute_that_differs(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": minimal(keras, activation="relu")})
    result = grade_one(submission, "layers", {"layers": MINIMAL_LAYERS})
    assert result.status == "failed"
    assert "layer 2 (Conv2D" in result.message
    assert "activation is 'relu'; the task asks for 'sigmoid'" in result.message


def test_layers_says_which_layer_is_missing(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": minimal(keras, rescale=False)})
    result = grade_one(submission, "layers", {"layers": MINIMAL_LAYERS})
    assert result.status == "failed"
    assert "missing Rescaling: add it first" in result.message
    assert result.received == ["Conv2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense"]


def test_layers_reads_a_separate_activation_layer_as_the_conv_activation(
    keras: Any, tmp_path: Path
) -> None:
    submission = make_submission(tmp_path, {"model": minimal(keras, split_activation=True)})
    assert grade_one(submission, "layers", {"layers": MINIMAL_LAYERS}).status == "passed"


def test_activation_layers_of_every_kind_read_as_the_activation_argument(
    keras: Any, tmp_path: Path
) -> None:
    """ReLU() and Softmax() after a linear layer are the same model as the activation
    argument, to the layer check and to the loss check's reading of the last layer."""
    from keras import layers

    from grader.checks.losses import output_of

    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            layers.Rescaling(1 / 255),
            layers.Conv2D(5, 3, padding="same"),
            layers.Activation("sigmoid"),
            layers.Conv2D(5, 3, padding="same", activation="sigmoid"),
            layers.MaxPooling2D(8),
            layers.Flatten(),
            layers.Dense(10),
            layers.Softmax(),
        ]
    )
    submission = make_submission(tmp_path, {"model": model})
    assert grade_one(submission, "layers", {"layers": MINIMAL_LAYERS}).status == "passed"
    assert output_of(model).activation == "softmax"
    relu = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.ReLU()])
    assert describe_layers(relu)[0]["activation"] == "relu"
    leaky = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.LeakyReLU()])
    assert describe_layers(leaky)[0]["activation"] == "leaky_relu"


def test_batch_normalisation_before_or_after_the_activation_both_count(
    keras: Any, tmp_path: Path
) -> None:
    """Conv → BN → ReLU (the original placement) and Conv(relu) → BN satisfy "batch
    normalisation after each convolution"; BN before the convolution does not."""
    from keras import layers

    wanted = [
        {"type": "Conv2D", "filters": 4, "activation": "relu"},
        {"type": "BatchNormalization"},
        {"type": "Flatten"},
        {"type": "Dense", "units": 2, "activation": "softmax"},
    ]

    def model(*middle: Any) -> Any:
        head = [layers.Flatten(), layers.Dense(2, activation="softmax")]
        return keras.Sequential([keras.Input((8, 8, 3)), *middle, *head])

    separate = model(layers.Conv2D(4, 3), layers.BatchNormalization(), layers.ReLU())
    argument = model(layers.Conv2D(4, 3, activation="relu"), layers.BatchNormalization())
    before = model(layers.BatchNormalization(), layers.Conv2D(4, 3, activation="relu"))
    for name, built, status in (
        ("separate", separate, "passed"),
        ("argument", argument, "passed"),
        ("before", before, "failed"),
    ):
        submission = make_submission(tmp_path / name, {"model": built})
        assert grade_one(submission, "layers", {"layers": wanted}).status == status, name


def test_any_size_does_not_fail_again_for_a_missing_softmax(keras: Any, tmp_path: Path) -> None:
    """The shape is right: the missing softmax is the layer check's to fail, once."""
    model = gap_model(keras)
    logits = keras.Model(model.inputs, model.layers[-1].output)
    logits.layers[-1].activation = keras.activations.linear
    submission = make_submission(tmp_path, {"model": logits}, data=holdout_data())
    result = grade_one(submission, "any_size", {"dataset": "cifar10"})
    assert result.status == "passed", result.message
    assert "scores, not probabilities" in result.message


def test_pool_size_difference(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": minimal(keras, pool=2)})
    result = grade_one(submission, "layers", {"layers": MINIMAL_LAYERS})
    assert "pool_size is [2, 2]; the task asks for [8, 8]" in result.message


def test_output_shape_with_wildcard(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": minimal(keras)})
    assert grade_one(submission, "output_shape", {"shape": [None, 10]}).status == "passed"
    result = grade_one(submission, "output_shape", {"shape": [None, 2]})
    assert result.message == "Expected output shape (None, 2), received (None, 10)."


def test_compile_settings(keras: Any, tmp_path: Path) -> None:
    model = minimal(keras)
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="categorical_crossentropy")
    submission = make_submission(tmp_path, {"model": model})
    args = {"optimizer": "SGD", "learning_rate": 0.001, "loss": "categorical_crossentropy"}
    result = grade_one(submission, "compile", args)
    assert result.status == "failed"
    assert result.message == "Expected optimizer 'SGD', received 'Adam'."


def test_compile_accepts_a_loss_object(keras: Any, tmp_path: Path) -> None:
    model = minimal(keras)
    optimizer = keras.optimizers.SGD(learning_rate=0.001, momentum=0.9)
    model.compile(optimizer=optimizer, loss=keras.losses.CategoricalCrossentropy())
    submission = make_submission(tmp_path, {"model": model})
    args = {
        "optimizer": "SGD",
        "learning_rate": 0.001,
        "momentum": 0.9,
        "loss": "categorical_crossentropy",
    }
    assert grade_one(submission, "compile", args).status == "passed"


def test_uncompiled_model_fails_compile_check(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": minimal(keras)})
    result = grade_one(submission, "compile", {"optimizer": "SGD"})
    assert result.status == "failed"
    assert "never compiled" in result.message


def test_missing_model_is_skipped_with_a_hint(keras: Any, tmp_path: Path) -> None:
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    submission = make_submission(tmp_path, {"other": other})
    result = grade_one(submission, "params", {"total": 1})
    assert result.status == "skipped"
    assert result.message == "the model `model` was not found in the notebook"
    assert "keep the starter's name `model`" in result.hint


def test_renamed_model_is_matched_by_structure(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"net": minimal(keras)})
    step = step_of_model("model", CheckSpec(check="params", args={"total": 1180}))
    result = run_check("s.params", step, step.checks[1], submission)
    assert result.status == "passed"
    assert "matched model variable `net`" in result.message


def test_a_model_the_spec_names_for_another_step_is_never_borrowed(
    keras: Any, tmp_path: Path
) -> None:
    """The demo's case: step 8's `model_20` absent, step 3's `minimal_model` fits its
    structure best, yet it is graded under its own name only."""
    submission = make_submission(tmp_path, {"minimal_model": minimal(keras)})
    submission.claimed = frozenset({"minimal_model", "model"})
    step = step_of_model("model", CheckSpec(check="params", args={"total": 1180}))
    result = run_check("s.params", step, step.checks[1], submission)
    assert result.status == "skipped"
    assert result.message == "the model `model` was not found in the notebook"


def test_one_model_is_matched_to_one_step_only(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"net": minimal(keras)})
    first = step_of_model("model_a", CheckSpec(check="params", args={"total": 1180}))
    assert run_check("a.params", first, first.checks[1], submission).status == "passed"
    second = step_of_model("model_b", CheckSpec(check="params", args={"total": 1180}))
    assert run_check("b.params", second, second.checks[1], submission).status == "skipped"


def test_a_step_whose_variable_is_still_none_is_not_attempted(
    keras: Any, tmp_path: Path
) -> None:
    from dataclasses import replace

    submission = make_submission(tmp_path, {"net": minimal(keras)})
    submission.artifacts = replace(submission.artifacts, unset=("model",))
    step = step_of_model("model", CheckSpec(check="params", args={"total": 1180}))
    result = run_check("s.params", step, step.checks[1], submission)
    assert result.status == "skipped"
    assert result.message == "not attempted: `model` is None"
    assert "assign it to `model`" in result.hint


def test_without_a_layer_list_the_one_trained_model_left_is_matched(
    keras: Any, tmp_path: Path
) -> None:
    fit = FitRecord("net", "net", 1, None, True, 32, (), variables=("net",))
    models = {"net": minimal(keras), "spare": minimal(keras)}
    submission = make_submission(tmp_path, models, fits=(fit,))
    result = grade_one(submission, "params", {"total": 1180})
    assert result.status == "passed"
    assert "matched model variable `net`" in result.message
    untrained = make_submission(tmp_path / "u", {"net": minimal(keras)})
    assert grade_one(untrained, "params", {"total": 1180}).status == "skipped"


@pytest.mark.parametrize("check", ["params", "layers", "compile", "input_shape"])
def test_unloadable_model_is_skipped_not_crashed(check: str, keras: Any, tmp_path: Path) -> None:
    from grader.artifacts import ModelArtifact

    submission = make_submission(tmp_path)
    submission.artifacts.models["model"] = ModelArtifact("model", None, "ValueError: Lambda", ())
    args = {"params": {}, "layers": {"layers": []}, "compile": {}, "input_shape": {"shape": [1]}}
    result = grade_one(submission, check, args[check])
    assert result.status == "skipped"
    assert "could not be saved: ValueError: Lambda" in result.message


def test_a_missing_layer_does_not_hide_a_wrong_attribute(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": minimal(keras, rescale=False, pool=2)})
    result = grade_one(submission, "layers", {"layers": MINIMAL_LAYERS})
    assert "missing Rescaling: add it first" in result.message
    assert "pool_size is [2, 2]; the task asks for [8, 8]" in result.message
    assert result.hint.startswith("the task's layers, in order: Rescaling → Conv2D")


def gap_model(keras: Any, input_shape: tuple[Any, ...] = (None, None, 3)) -> Any:
    from keras import layers

    pooling = layers.GlobalAveragePooling2D() if None in input_shape else layers.Flatten()
    return keras.Sequential(
        [
            keras.Input(input_shape),
            layers.Rescaling(1 / 255),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            pooling,
            layers.Dense(10, activation="softmax"),
        ]
    )


def holdout_data() -> dict[str, Any]:
    import numpy as np

    from grader.datasets import PreparedData
    from grader.datasets.base import Split, Splits
    from grader.datasets.cifar10 import CLASS_NAMES

    images = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    split = Split(images, np.zeros((4, 1), np.uint8))
    return {"cifar10": PreparedData("cifar10", Splits(split, split), split, "fixture", CLASS_NAMES)}


def test_any_size_runs_the_cat_photo_and_crops(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": gap_model(keras)}, data=holdout_data())
    result = grade_one(submission, "any_size", {"dataset": "cifar10"})
    assert result.status == "passed", result.message
    assert "cat photo 32×48 → top 3:" in result.message


def test_any_size_fails_a_fixed_input_model(keras: Any, tmp_path: Path) -> None:
    model = gap_model(keras, (32, 32, 3))
    submission = make_submission(tmp_path, {"model": model}, data=holdout_data())
    result = grade_one(submission, "any_size", {"dataset": "cifar10"})
    assert result.status == "failed"
    assert "accept a non-square photo of shape (32, 48, 3)" in result.message
    assert "GlobalAveragePooling2D" in result.hint


def test_saved_model_file_must_match_the_model(keras: Any, tmp_path: Path) -> None:
    from dataclasses import replace

    model = gap_model(keras)
    submission = make_submission(tmp_path, {"model": model})
    other = gap_model(keras, (32, 32, 3))
    other.save(tmp_path / "saved.keras")
    artifacts = replace(submission.artifacts, files={"saved.keras": tmp_path / "saved.keras"})
    submission.artifacts = artifacts
    result = grade_one(submission, "saved_model", {"file": "saved.keras"})
    assert result.status == "failed" and "received a model with" in result.message
    model.save(tmp_path / "saved.keras")
    submission._models.clear()
    assert grade_one(submission, "saved_model", {"file": "saved.keras"}).status == "passed"
    missing = grade_one(submission, "saved_model", {"file": "other.keras"})
    assert missing.status == "skipped" and "was not written" in missing.message


def test_structure_matching_tells_apart_models_that_differ_only_in_attributes(
    keras: Any, tmp_path: Path
) -> None:

    models = {"first": minimal(keras, activation="relu"), "second": minimal(keras)}
    submission = make_submission(tmp_path, models)
    step = step_of_model("model")
    result = run_check("s.layers", step, step.checks[0], submission)
    assert result.status == "passed"
    assert "matched model variable `second`" in result.message


def test_none_in_a_shape_requires_a_variable_size(keras: Any, tmp_path: Path) -> None:
    args = {"shape": [None, "None", "None", 3]}
    any_size = make_submission(tmp_path / "a", {"model": gap_model(keras)})
    assert grade_one(any_size, "input_shape", args).status == "passed"
    fixed = make_submission(tmp_path / "b", {"model": gap_model(keras, (32, 32, 3))})
    result = grade_one(fixed, "input_shape", args)
    assert (
        result.message == "Expected input shape (None, None, None, 3), received (None, 32, 32, 3)."
    )
    assert "keras.Input(shape=(None, None, 3))" in (result.hint or "")
