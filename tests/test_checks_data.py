"""Data and training checks against broken variables, fits and models, asserting the messages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.datasets import PreparedData
from grader.datasets.base import Split, Splits
from grader.outcomes import CheckFailed
from grader.results import EpochRecord, FitRecord
from tests.conftest import grade_one, make_submission

LABELS = np.array([[3], [0], [9], [3]], dtype=np.uint8)


def served(images: np.ndarray | None = None) -> dict[str, PreparedData]:
    x = images if images is not None else np.zeros((4, 32, 32, 3), np.uint8)
    split = Split(x, LABELS)
    holdout = Split(np.zeros((4, 4), np.float32), LABELS)
    return {
        "toy": PreparedData("toy", Splits(split, split), holdout, "fixture", tuple("abcdefghij"))
    }


def one_hot_args() -> dict[str, Any]:
    return {"variable": "y", "dataset": "toy", "split": "train", "classes": 10}


def test_one_hot_passes_for_the_served_labels(tmp_path: Path) -> None:
    y = np.eye(10)[LABELS.reshape(-1)]
    submission = make_submission(tmp_path, variables={"y": y}, data=served())
    assert grade_one(submission, "one_hot", one_hot_args()).status == "passed"


def test_one_hot_reports_raw_labels_by_shape(tmp_path: Path) -> None:
    submission = make_submission(tmp_path, variables={"y": LABELS}, data=served())
    result = grade_one(submission, "one_hot", one_hot_args())
    assert result.message == "Expected `y` of shape (4, 10), received (4, 1)."
    assert "to_categorical" in result.hint


def test_one_hot_counts_rows_out_of_order(tmp_path: Path) -> None:
    y = np.eye(10)[LABELS.reshape(-1)[::-1]]
    submission = make_submission(tmp_path, variables={"y": y}, data=served())
    result = grade_one(submission, "one_hot", one_hot_args())
    assert (
        result.message == "Expected one-hot rows matching the labels, received 2 rows that differ."
    )


def test_loaded_images_must_be_the_served_ones(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    args = {"variable": "x", "dataset": "toy", "split": "train"}
    scaled = make_submission(tmp_path / "a", variables={"x": images / 255}, data=served(images))
    assert grade_one(scaled, "loaded", args).status == "failed"
    same = make_submission(tmp_path / "b", variables={"x": images}, data=served(images))
    assert grade_one(same, "loaded", args).status == "passed"


def test_probabilities_need_rows_summing_to_one(tmp_path: Path) -> None:
    logits = np.array([[2.0, -1.0, 0.5]])
    submission = make_submission(tmp_path, variables={"p": logits})
    result = grade_one(submission, "probabilities", {"variable": "p", "classes": 3})
    assert result.status == "failed"
    assert "received rows summing to [1.5]" in result.message
    assert "softmax" in result.hint


def test_missing_variable_is_skipped(tmp_path: Path) -> None:
    submission = make_submission(tmp_path)
    result = grade_one(submission, "probabilities", {"variable": "p", "classes": 3})
    assert (result.status, result.message) == (
        "skipped",
        "the variable `p` was not found in the notebook",
    )


def with_candidates(submission: Any, folder: Path, **arrays: np.ndarray) -> Any:
    """The globals the collect step exports when a wanted variable is absent."""
    from dataclasses import replace

    from grader.artifacts import VariableArtifact

    entries = {}
    for name, value in arrays.items():
        path = folder / f"candidate-{name}.npy"
        np.save(path, value)
        entries[name] = VariableArtifact(name, True, "ndarray", path)
    submission.artifacts = replace(submission.artifacts, candidates=entries)
    return submission


def test_a_renamed_variable_is_found_by_its_content(tmp_path: Path) -> None:
    """`Y_train_cat` for `y`: the one global whose content is the one-hot labels; said so."""
    onehot = np.eye(10)[LABELS.reshape(-1)]
    submission = make_submission(tmp_path, data=served())
    with_candidates(submission, tmp_path, Y_train_cat=onehot, labels=LABELS, n=np.array(3))
    result = grade_one(submission, "one_hot", one_hot_args())
    assert result.status == "passed", result.message
    assert "used `Y_train_cat` (no `y` found)" in result.message


def test_no_content_match_leaves_the_variable_missing(tmp_path: Path) -> None:
    submission = make_submission(tmp_path, data=served())
    with_candidates(submission, tmp_path, labels=LABELS, wrong=np.eye(10)[[0, 0, 0, 0]])
    result = grade_one(submission, "one_hot", one_hot_args())
    assert (result.status, result.message) == (
        "skipped",
        "the variable `y` was not found in the notebook",
    )


def test_two_different_candidates_are_ambiguous_and_a_named_one_is_never_taken(
    tmp_path: Path,
) -> None:
    """Predictions before and after training both look like probabilities: neither is
    guessed; a variable the spec names for another check is not borrowed either."""
    before, after = np.full((2, 3), 1 / 3), np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]])
    args = {"variable": "p", "classes": 3}
    both = with_candidates(
        make_submission(tmp_path / "a"), tmp_path, untrained=before, trained=after
    )
    assert grade_one(both, "probabilities", args).status == "skipped"
    named = with_candidates(make_submission(tmp_path / "b"), tmp_path, other=after)
    named.claimed = frozenset({"other"})
    assert grade_one(named, "probabilities", args).status == "skipped"


def fit(epochs: int, validation: bool = True, batch_size: int = 64) -> FitRecord:
    records = tuple(EpochRecord(e, 0.5, {"loss": 1.0 / e}) for e in range(1, epochs + 1))
    return FitRecord("model", "m", 150, 5, validation, batch_size, records, ("model",))


def tiny_classifier(keras: Any) -> Any:
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(10, activation="softmax")])


def test_trained_needs_validation_data(keras: Any, tmp_path: Path) -> None:
    submission = make_submission(tmp_path, {"model": tiny_classifier(keras)}, fits=(fit(3, False),))
    result = grade_one(submission, "trained", {"validation": True})
    assert result.status == "failed"
    assert "validation_data" in result.hint


def test_trained_checks_batch_size_and_epochs(keras: Any, tmp_path: Path) -> None:
    model = {"model": tiny_classifier(keras)}
    submission = make_submission(tmp_path, model, fits=(fit(3, batch_size=32),))
    result = grade_one(submission, "trained", {"batch_size": 64})
    assert result.message == "Expected batch size 64, received [32]."
    too_short = grade_one(submission, "trained", {"min_epochs": 150})
    assert too_short.message == "Expected at least 150 epoch(s) of training, received 3."


def test_accuracy_is_measured_on_the_grader_holdout(keras: Any, tmp_path: Path) -> None:
    model = tiny_classifier(keras)
    bias = np.zeros(10, np.float32)
    bias[3] = 10.0  # always predicts class 3: right on 2 of the 4 held-out labels
    model.layers[-1].set_weights([np.zeros((4, 10), np.float32), bias])
    submission = make_submission(tmp_path, {"model": model}, data=served())
    passed = grade_one(submission, "accuracy", {"dataset": "toy", "min": 0.5})
    assert passed.status == "passed"
    failed = grade_one(submission, "accuracy", {"dataset": "toy", "min": 0.6})
    assert failed.message == (
        "Expected accuracy ≥ 0.60 on the grader's held-out images, received 0.500."
    )


def test_above_chance_fails_a_model_that_always_guesses_the_commonest_class(
    keras: Any, tmp_path: Path
) -> None:
    """Class 3 is half of the held-out labels: guessing it always scores 0.5, which is chance."""
    model = tiny_classifier(keras)
    bias = np.zeros(10, np.float32)
    bias[3] = 10.0
    model.layers[-1].set_weights([np.zeros((4, 10), np.float32), bias])
    submission = make_submission(tmp_path, {"model": model}, data=served())
    result = grade_one(submission, "accuracy", {"dataset": "toy", "above_chance": 0.01})
    assert result.status == "failed"
    assert "guessing the commonest class scores 0.500" in result.message
    assert "received 0.500 (p = " in result.message


def test_above_chance_passes_a_slow_but_real_learner_and_states_n_and_p() -> None:
    """A Dense(512) head under RMSprop(1e-4) reaching 0.26 of 24 classes has learned."""
    from grader.checks.training import Accuracy, judge_accuracy

    params = Accuracy(dataset="sign_mnist", above_chance=1e-6)
    shown = judge_accuracy({"accuracy": 0.26, "images": 600, "chance": 1 / 24}, params)
    assert shown.startswith("accuracy 0.260 on 600 held-out images: above chance (0.042), p = ")
    barely = {"accuracy": 0.07, "images": 600, "chance": 1 / 24}
    with pytest.raises(CheckFailed, match=r"p < 1e-06\), received 0.070"):
        judge_accuracy(barely, params)


def test_an_untrained_model_right_by_luck_is_not_called_learned() -> None:
    """Outputs near 0.5 that happen to split two very different classes: the argmax is right
    80% of the time, but the model is as unsure as a guess (cross-entropy near ln 2)."""
    from grader.checks.training import Accuracy, judge_accuracy

    params = Accuracy(dataset="petimages", above_chance=1e-6, confidence_gain=0.1)
    lucky = {"accuracy": 0.825, "images": 200, "chance": 0.5}
    with pytest.raises(CheckFailed, match=r"received 0\.660 \(its accuracy 0\.825 is luck"):
        judge_accuracy({**lucky, "cross_entropy": 0.66, "prior_entropy": 0.693}, params)
    learned = judge_accuracy({**lucky, "cross_entropy": 0.35, "prior_entropy": 0.693}, params)
    assert learned.endswith("cross-entropy 0.350 against guessing's 0.693")


def test_an_accuracy_check_needs_some_threshold() -> None:
    from grader.checks.training import Accuracy

    with pytest.raises(ValueError, match="`above_chance`"):
        Accuracy(dataset="toy")


def test_predictions_taken_after_training_are_not_the_untrained_models(
    keras: Any, tmp_path: Path
) -> None:
    """`predictions_before` equal to the trained model's output on the first test images was
    computed after `fit`; other rows (made before training) pass."""
    model = tiny_classifier(keras)
    images = np.random.default_rng(1).integers(0, 255, (4, 4)).astype(np.float32)
    data = {"toy": served()["toy"]}
    data["toy"] = replace(data["toy"], served=Splits(Split(images, LABELS), Split(images, LABELS)))
    args = {"variable": "p", "classes": 10, "before_training_on": "toy"}
    after = np.asarray(model(images[:2] / 255))
    late = make_submission(tmp_path / "late", {"model": model}, {"p": after}, data=data)
    result = grade_one(late, "probabilities", args)
    assert result.status == "failed"
    assert "received the trained model's predictions" in result.message
    uniform = {"p": np.full((2, 10), 0.1)}
    early = make_submission(tmp_path / "early", {"model": model}, uniform, data=data)
    assert grade_one(early, "probabilities", args).status == "passed"


def test_renamed_predictions_before_after_and_of_a_photo_are_told_apart(
    keras: Any, tmp_path: Path
) -> None:
    """`probs_untrained`, `probs_trained` and `kot_probs`: the trained model's own outputs on
    the first test images are "after", the other rows "before", a single row the photo's."""
    model = tiny_classifier(keras)
    images = np.random.default_rng(1).integers(0, 255, (4, 4)).astype(np.float32)
    data = {
        "toy": replace(served()["toy"], served=Splits(Split(images, LABELS), Split(images, LABELS)))
    }
    trained = np.asarray(model(images[:3], training=False))
    submission = make_submission(tmp_path, {"model": model}, data=data)
    with_candidates(
        submission,
        tmp_path,
        probs_untrained=np.full((3, 10), 0.1),
        probs_trained=trained,
        kot_probs=np.full((1, 10), 0.1),
    )
    found = {}
    for name, extra in (
        ("before", {"min_rows": 2, "before_training_on": "toy"}),
        ("after", {"min_rows": 2, "after_training_on": "toy"}),
        ("photo", {"max_rows": 1}),
    ):
        result = grade_one(submission, "probabilities", {"variable": name, "classes": 10, **extra})
        assert result.status == "passed", result.message
        found[name] = result.message.split("used `")[1].split("`")[0]
    assert found == {"before": "probs_untrained", "after": "probs_trained", "photo": "kot_probs"}


def test_param_answer_is_compared_with_the_models_own_count(keras: Any, tmp_path: Path) -> None:
    model = {"model": tiny_classifier(keras)}
    right = make_submission(tmp_path / "a", model, variables={"n": 50})
    assert grade_one(right, "param_answer", {"variable": "n"}).status == "passed"
    wrong = make_submission(tmp_path / "b", model, variables={"n": 40})
    result = grade_one(wrong, "param_answer", {"variable": "n"})
    assert result.message == "Expected `n` = 50, received 40."
