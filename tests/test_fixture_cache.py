"""Fixtures drawn from the public seed are built once, kept on disk and copied to each run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from grader.datasets import (
    PUBLIC_SEED,
    fixture_cache,
    petimages,
    prepare_served,
    sign_mnist,
    with_holdout,
)
from grader.datasets.fixture_cache import cached_arrays, cached_tree
from grader.spec import DataSizes
from grader.workspace import create_workspace


@pytest.fixture(autouse=True)
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GRADER_CACHE", str(folder))
    return folder


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[str, np.ndarray]:
        self.calls += 1
        return {"x": np.arange(6).reshape(2, 3)}


def test_arrays_are_built_once_then_read_from_disk() -> None:
    build = Counting()
    first = cached_arrays("numbers", (1, 2), build)
    again = cached_arrays("numbers", (1, 2), build)
    assert build.calls == 1
    np.testing.assert_array_equal(again["x"], first["x"])


def test_other_parameters_make_another_entry() -> None:
    build = Counting()
    cached_arrays("numbers", (1, 2), build)
    cached_arrays("numbers", (1, 3), build)
    assert build.calls == 2


def test_an_unreadable_entry_is_built_again(empty_cache: Path) -> None:
    build = Counting()
    cached_arrays("numbers", (), build)
    (entry,) = (empty_cache / "fixtures").glob("*/numbers-*.npz")
    entry.write_bytes(b"half of a file")
    assert cached_arrays("numbers", (), build)["x"].shape == (2, 3)
    assert build.calls == 2


def test_changed_drawing_code_makes_another_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry's name hashes the dataset code and library versions: an entry drawn by older
    code is never served."""
    build = Counting()
    cached_arrays("numbers", (), build)
    monkeypatch.setattr(fixture_cache, "_drawing_code", lambda: "other code")
    cached_arrays("numbers", (), build)
    assert build.calls == 2


@pytest.fixture
def unwritable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file where the cache folder should be."""
    blocked = tmp_path / "not a folder"
    blocked.write_text("a file where the cache should be")
    monkeypatch.setenv("GRADER_CACHE", str(blocked))


@pytest.mark.usefixtures("unwritable_cache")
def test_a_cache_that_cannot_be_written_still_gives_the_arrays() -> None:
    assert cached_arrays("numbers", (), Counting())["x"].shape == (2, 3)


def test_a_tree_is_written_once(empty_cache: Path, tmp_path: Path) -> None:
    written: list[Path] = []

    def write(folder: Path) -> None:
        written.append(folder)
        (folder / "a.txt").write_text("a")

    cached_tree("tree", (), write, tmp_path / "first")
    cached_tree("tree", (), write, tmp_path / "second")
    assert len(written) == 1
    assert (tmp_path / "second" / "a.txt").read_text() == "a"
    (kept,) = (empty_cache / "fixtures").glob("*/*")  # no leftovers
    assert (kept / "a.txt").read_text() == "a"


def test_entries_of_other_code_unused_for_a_week_are_deleted(empty_cache: Path) -> None:
    fixtures = empty_cache / "fixtures"
    stale, recent = fixtures / "older-code", fixtures / "code-in-use-elsewhere"
    for folder, days in ((stale, fixture_cache.STALE_DAYS + 1), (recent, 1)):
        folder.mkdir(parents=True)
        (folder / "numbers-0.npz").write_bytes(b"kept")
        then = time.time() - days * 86400
        os.utime(folder, (then, then))
    cached_arrays("numbers", (), Counting())
    assert not stale.exists()
    assert (recent / "numbers-0.npz").read_bytes() == b"kept"
    assert len(list(fixtures.glob("*/numbers-*.npz"))) == 2  # this code's entry, the recent one


@pytest.mark.usefixtures("unwritable_cache")
def test_a_cache_that_cannot_be_written_still_gives_the_tree(tmp_path: Path) -> None:
    def write(folder: Path) -> None:
        (folder / "a.txt").write_text("a")

    cached_tree("tree", (), write, tmp_path / "run")
    assert (tmp_path / "run" / "a.txt").read_text() == "a"


def test_served_arrays_from_the_cache_are_the_fixture_itself() -> None:
    workspace = create_workspace()
    try:
        sizes = DataSizes(train=48, test=24, holdout=24)
        scratch, private = workspace.data_dir, workspace.private_dir
        parts = [
            prepare_served("sign_mnist", sizes, "fixture", None, seed, scratch, private)
            for seed in (1, 2)
        ]
        runs = [with_holdout(part) for part in parts]
    finally:
        workspace.remove()
    drawn = sign_mnist.make_fixture(PUBLIC_SEED, 48, 24)
    for run in runs:
        assert run.served is not None
        np.testing.assert_array_equal(run.served.train.x, drawn.train.x)
        np.testing.assert_array_equal(run.served.test.y, drawn.test.y)
    assert runs[0].holdout is not None and runs[1].holdout is not None
    assert not np.array_equal(runs[0].holdout.x, runs[1].holdout.x)  # each run's secret seed


def test_a_run_that_writes_into_its_data_leaves_the_cache_alone(tmp_path: Path) -> None:
    """Each run gets a copy of the kept tree: the next run sees the fixture as drawn."""
    trees = []
    for run in ("first", "second"):
        served, private = tmp_path / run / "served", tmp_path / run / "private"
        sizes = DataSizes(train=4, holdout=4)
        prepare_served("petimages", sizes, "fixture", None, 7, served, private)
        trees.append(served / "petimages")
    photo = next((trees[0] / petimages.ROOT / "Cat").glob("*.jpg"))
    photo.write_bytes(b"overwritten by the notebook")
    twin = trees[1] / photo.relative_to(trees[0])
    assert twin.read_bytes()[:2] == b"\xff\xd8"  # still a JPEG
