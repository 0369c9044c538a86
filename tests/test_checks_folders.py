"""The folder checks on real files: the notebook's functions are called here as the kernel
calls them, on inputs the grader made, and every course mistake gets its own hint."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest

from grader.checks.folders import SplitProperty
from tests.conftest import called_on_hidden_inputs, grade_one

SPLIT_ARGS = {"function": "split_data"}


def split_data(source: str, training: str, validation: str, split_size: float) -> None:
    files = []
    for name in os.listdir(source):
        if os.path.getsize(os.path.join(source, name)) > 0:
            files.append(name)
        else:
            print(f"{name} is zero length, so ignoring.")
    shuffled = random.sample(files, len(files))
    cut = int(len(files) * split_size)
    for name in shuffled[:cut]:
        shutil.copyfile(os.path.join(source, name), os.path.join(training, name))
    for name in shuffled[cut:]:
        shutil.copyfile(os.path.join(source, name), os.path.join(validation, name))


def _variant(**changes: Any) -> Callable[..., None]:
    """split_data with one course mistake."""

    def split(source: str, training: str, validation: str, split_size: float) -> None:
        names = sorted(os.listdir(source))
        files = [n for n in names if os.path.getsize(os.path.join(source, n)) > 0]
        for name in sorted(set(names) - set(files)):
            print(changes.get("message", "{} is zero length, so ignoring.").format(name))
        if changes.get("keep_empty"):
            files = names
        if changes.get("seeded"):
            random.seed(42)
        shuffled = files if changes.get("ordered") else random.sample(files, len(files))
        counted = names if changes.get("count_all") else files
        cut = int(len(counted) * split_size)
        copy = shutil.move if changes.get("move") else shutil.copyfile
        for name in shuffled[:cut]:
            copy(os.path.join(source, name), os.path.join(training, name))
        rest = shuffled[:cut] if changes.get("validation_gets_training") else shuffled[cut:]
        for name in rest:
            target = os.path.join(validation, name)
            shutil.copyfile(
                os.path.join(training if name in shuffled[:cut] else source, name), target
            )

    return split


def test_a_correct_split_passes(tmp_path: Path) -> None:
    submission = called_on_hidden_inputs(
        tmp_path, "split_files", SPLIT_ARGS, {"split_data": split_data}
    )
    result = grade_one(submission, "split_files", SPLIT_ARGS, model=None)
    assert result.status == "passed", result.message


@pytest.mark.parametrize(
    ("mistake", "hint"),
    [
        ({"validation_gets_training": True}, "validation got the training files"),
        ({"count_all": True}, "counted before dropping the zero-length files"),
        ({"message": ""}, "for every zero-length file"),
        ({"message": "filename is zero length, so ignoring."}, "not the word"),
        ({"ordered": True}, "shuffle"),
        ({"move": True}, "never move"),
        ({"keep_empty": True}, "getsize"),
    ],
)
def test_each_course_mistake_fails_with_its_own_hint(
    tmp_path: Path, mistake: dict[str, Any], hint: str
) -> None:
    namespace = {"split_data": _variant(**mistake)}
    submission = called_on_hidden_inputs(tmp_path, "split_files", SPLIT_ARGS, namespace)
    result = grade_one(submission, "split_files", SPLIT_ARGS, model=None)
    assert result.status == "failed"
    assert hint in (result.hint or ""), (result.message, result.hint)


PROPERTIES = get_args(SplitProperty)


def _failing_properties(tmp_path: Path, split: Callable[..., None]) -> set[str]:
    failing = set()
    for name in PROPERTIES:
        args = {**SPLIT_ARGS, "property": name}
        folder = tmp_path / name
        folder.mkdir()
        submission = called_on_hidden_inputs(folder, "split_files", args, {"split_data": split})
        result = grade_one(submission, "split_files", args, model=None)
        if result.status != "passed":
            failing.add(name)
    return failing


def _minus_zero(source: str, training: str, validation: str, split_size: float) -> None:
    """Correct but at SPLIT_SIZE 1.0: files[-0:] is the whole list, not an empty one."""
    files = [n for n in os.listdir(source) if os.path.getsize(os.path.join(source, n)) > 0]
    for name in sorted(set(os.listdir(source)) - set(files)):
        print(f"{name} is zero length, so ignoring.")
    shuffled = random.sample(files, len(files))
    cut = int(len(files) * split_size)
    for name in shuffled[:cut]:
        shutil.copyfile(os.path.join(source, name), os.path.join(training, name))
    for name in shuffled[-(len(files) - cut) :]:
        shutil.copyfile(os.path.join(source, name), os.path.join(validation, name))


@pytest.mark.parametrize(
    ("mistake", "failing"),
    [
        ({}, set()),
        ({"message": "{} is zero length, so ignoring"}, set()),  # the course's own example
        ({"message": "/tmp/PetImages/Cat/{}  is zero length, so ignoring. "}, set()),
        ({"validation_gets_training": True}, {"disjoint", "complete"}),
        ({"count_all": True}, {"counts"}),
        ({"message": ""}, {"message"}),
        ({"message": "filename is zero length, so ignoring."}, {"message"}),
        ({"ordered": True}, {"random"}),
        ({"seeded": True}, set()),  # a reproducible shuffle is still a shuffle
        ({"move": True}, {"source_untouched"}),
    ],
)
def test_one_mistake_costs_the_properties_it_breaks_and_no_other(
    tmp_path: Path, mistake: dict[str, Any], failing: set[str]
) -> None:
    assert _failing_properties(tmp_path, _variant(**mistake)) == failing


def test_copied_empty_files_cost_their_property_and_the_count_they_shift(tmp_path: Path) -> None:
    """Kept in the list, empty files also take places in training: the count is the list's."""
    failing = _failing_properties(tmp_path, _variant(keep_empty=True))
    assert failing == {"empty_skipped", "counts"}


def test_a_function_that_copies_nothing_earns_no_property(tmp_path: Path) -> None:
    """The starter's stub leaves the source untouched and the folders disjoint, vacuously."""

    def stub(source: str, training: str, validation: str, split_size: float) -> None:
        pass

    assert _failing_properties(tmp_path, stub) == set(PROPERTIES)


def test_an_edge_size_mistake_costs_only_the_edge_property(tmp_path: Path) -> None:
    assert _failing_properties(tmp_path, _minus_zero) == {"edge_sizes"}


def test_the_split_sizes_make_the_off_by_one_visible(tmp_path: Path) -> None:
    """The first source's size is drawn so that counting empty files changes the count."""
    submission = called_on_hidden_inputs(tmp_path, "split_files", SPLIT_ARGS, {}, seed=3)
    first = submission.hidden["step.split_files"][0].known
    n_all, n_empty = len(first["digests"]), len(first["empty"])
    assert int(n_all * first["split"]) != int((n_all - n_empty) * first["split"])


def test_a_missing_function_is_skipped_with_its_name(tmp_path: Path) -> None:
    submission = called_on_hidden_inputs(tmp_path, "split_files", SPLIT_ARGS, {})
    result = grade_one(submission, "split_files", SPLIT_ARGS, model=None)
    assert result.status == "skipped"
    assert "split_data" in result.message


def create_dirs(root_path: str) -> None:
    for part in ("training", "validation"):
        for animal in ("cats", "dogs"):
            os.makedirs(os.path.join(root_path, part, animal))


def test_folders_are_created_under_the_given_root(tmp_path: Path) -> None:
    args = {"function": "create_train_val_dirs"}
    namespace = {"create_train_val_dirs": create_dirs}
    submission = called_on_hidden_inputs(tmp_path, "creates_dirs", args, namespace)
    assert grade_one(submission, "creates_dirs", args, model=None).status == "passed"


def test_folders_under_a_hard_coded_root_fail(tmp_path: Path) -> None:
    args = {"function": "create_train_val_dirs"}
    elsewhere = tmp_path / "elsewhere"
    namespace = {"create_train_val_dirs": lambda root_path: create_dirs(str(elsewhere))}
    submission = called_on_hidden_inputs(tmp_path, "creates_dirs", args, namespace)
    result = grade_one(submission, "creates_dirs", args, model=None)
    assert result.status == "failed"
    assert "never hard-code" in (result.hint or "")
