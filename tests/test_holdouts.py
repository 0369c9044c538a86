"""Held-out data is drawn on a thread while the notebook runs, from the grader's folders only."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from grader.datasets import PreparedData, petimages, prepare_served, with_holdout
from grader.datasets.base import Split
from grader.datasets.holdouts import Holdouts
from grader.spec import DataSizes


def _served(name: str) -> PreparedData:
    return PreparedData(name, None, None, "fixture", ("a", "b"))


def test_each_dataset_gets_its_own_held_out_part() -> None:
    parts = {"one": Split(np.zeros((2, 1)), np.zeros(2)), "two": None}
    holdouts = Holdouts({name: (lambda part=part: part) for name, part in parts.items()})
    try:
        attached = holdouts.attach({name: _served(name) for name in parts})
    finally:
        holdouts.close()
    assert attached["one"].holdout is parts["one"] and attached["two"].holdout is None
    assert attached["one"].name == "one"


def test_what_drawing_raised_is_raised_when_the_checks_need_it() -> None:
    def broken() -> Split:
        raise OSError("disk full")

    holdouts = Holdouts({"one": broken})
    try:
        with pytest.raises(OSError, match="disk full"):
            holdouts.attach({"one": _served("one")})
    finally:
        holdouts.close()


def test_a_fixture_tree_is_held_out_later_and_leaves_no_files(tmp_path: Path) -> None:
    scratch, private = tmp_path / "scratch", tmp_path / "private"
    sizes = DataSizes(train=4, holdout=3)
    served, draw = prepare_served("petimages", sizes, "fixture", None, 5, scratch, private)
    assert served.holdout is None and served.files is not None
    held = draw()
    assert held is not None and len(held) == 6 and set(held.y.tolist()) == {0, 1}
    assert not any(private.iterdir())  # the held-out files were decoded, then removed
    again = with_holdout(
        prepare_served("petimages", sizes, "fixture", None, 5, tmp_path / "s2", tmp_path / "p2")
    )
    assert again.holdout is not None
    np.testing.assert_array_equal(again.holdout.x, held.x)  # the same secret seed


def test_real_photos_are_held_out_before_the_kernel_can_touch_the_served_ones(
    tmp_path: Path,
) -> None:
    """The held-out sample avoids the served photos; it is chosen before the notebook runs,
    so a notebook that moves its photos away cannot make it overlap them."""
    real = tmp_path / "real"
    petimages.write_fixture(real, seed=0, per_class=8, size=(48, 64))
    scratch, private = tmp_path / "scratch", tmp_path / "private"
    sizes = DataSizes(train=4, holdout=4)
    served, draw = prepare_served("petimages", sizes, "real", real, 9, scratch, private)
    assert served.files is not None
    shutil.copytree(served.files, tmp_path / "as served")
    shutil.rmtree(served.files / petimages.ROOT)  # what a notebook's split may do
    held = draw()
    shown = petimages.holdout_arrays(tmp_path / "as served", 0, 8)
    assert held is not None and len(held) == len(shown) == 8
    assert not any(np.array_equal(a, b) for a in held.x for b in shown.x)
