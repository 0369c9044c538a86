"""The course's 2024 revision of the transfer-learning notebook beside the older one: its
`train_val_datasets()` (tf.data datasets, folders read from globals), the data and weights
where its lab keeps them, the stand-in for its `unittests` module, and its reference graded."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.artifacts import read_artifacts
from grader.checks.context import Submission
from grader.harness import course_modules
from tests.conftest import ROOT, grade_one

ARGS = {
    "function": "train_val_generators",
    "classes": ["horses", "humans"],
    "batch_size": 32,
    "per_class": [17, 20],
    "arg_globals": ["TRAIN_DIR", "VALIDATION_DIR"],
}


def called(tmp_path: Path, namespace: dict[str, Any], args: dict[str, Any] = ARGS) -> Submission:
    """The collect step of `directory_generators` run here, as the kernel runs it, with the
    call's `arg_globals` (the collect cell passes them; tests.conftest's helper does not)."""
    from grader.checks.registry import get_check
    from grader.harness.calls import export_calls
    from grader.harness.export import MANIFEST

    definition = get_check("directory_generators")
    assert definition is not None
    params = definition.params(**args)
    (tmp_path / "hidden").mkdir()
    hidden = params.hidden_calls(np.random.default_rng(3), tmp_path / "hidden")
    call = {
        "check": "step.directory_generators",
        "functions": ["train_val_generators", "train_val_datasets"],
        "args": [c.args for c in hidden],
        "kind": params.kind,
        "input_shape": None,
        "arg_globals": list(params.arg_globals),
    }
    out = tmp_path / "artifacts"
    out.mkdir()
    manifest = {"models": {}, "fits": [], "variables": {}, "globals": []}
    manifest["calls"] = export_calls(out, [call], namespace)
    (out / MANIFEST).write_text(json.dumps(manifest))
    hidden_calls = {"step.directory_generators": hidden}
    return Submission(read_artifacts(out), (), {}, "quick", hidden=hidden_calls)


def datasets(**changes: Any) -> Callable[[str, str], Any]:
    """What the 2024 revision's `train_val_datasets` builds, with one mistake or none."""
    from keras.utils import image_dataset_from_directory

    def build(train_dir: str, validation_dir: str) -> Any:
        settings = {
            "image_size": changes.get("image_size", (150, 150)),
            "batch_size": changes.get("batch_size", 32),
            "label_mode": changes.get("label_mode", "int"),
            "verbose": False,
        }
        train = image_dataset_from_directory(train_dir, **settings)
        other = train_dir if changes.get("same_folder") else validation_dir
        validation = image_dataset_from_directory(other, **settings)
        if changes.get("prefetch"):
            train, validation = train.prefetch(2), validation.cache().prefetch(2)
        return (train,) if changes.get("one") else (train, validation)

    return build


def with_globals(**changes: Any) -> dict[str, Any]:
    """A notebook's globals holding `train_val_datasets()`, which takes no parameters and
    reads TRAIN_DIR and VALIDATION_DIR from them, as the 2024 revision's does."""
    namespace: dict[str, Any] = {
        "TRAIN_DIR": "./data/train/",
        "VALIDATION_DIR": "./data/validation/",
        "_datasets": datasets(**changes),
    }
    cell = "def train_val_datasets():\n    return _datasets(TRAIN_DIR, VALIDATION_DIR)\n"
    exec(compile(cell, "<notebook cell>", "exec"), namespace)
    return namespace


def test_the_2024_datasets_function_reads_the_hidden_folders_from_its_globals(
    keras: Any, tmp_path: Path
) -> None:
    namespace = with_globals()
    result = grade_one(called(tmp_path, namespace), "directory_generators", ARGS, model=None)
    assert result.status == "passed", result.message
    assert "tf.data datasets of 150×150 RGB images" in result.message
    assert "graded `train_val_datasets`" in result.message
    assert namespace["TRAIN_DIR"] == "./data/train/"  # the notebook's own value is back


def test_binary_labels_and_a_prefetched_pipeline_pass_too(keras: Any, tmp_path: Path) -> None:
    namespace = with_globals(label_mode="binary", prefetch=True)
    result = grade_one(called(tmp_path, namespace), "directory_generators", ARGS, model=None)
    assert result.status == "passed", result.message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"image_size": (100, 100)}, "image_size=(150, 150)"),
        ({"batch_size": 16}, "batch_size=32"),
        ({"label_mode": "categorical"}, "label_mode='binary'"),
        ({"same_folder": True}, "its own directory"),
    ],
)
def test_dataset_mistakes_fail_with_a_hint(
    keras: Any, tmp_path: Path, change: dict[str, Any], words: str
) -> None:
    namespace = with_globals(**change)
    result = grade_one(called(tmp_path, namespace), "directory_generators", ARGS, model=None)
    assert result.status == "failed", result.message
    assert words in (result.hint or ""), result.hint


def test_one_dataset_only_is_named(keras: Any, tmp_path: Path) -> None:
    namespace = with_globals(one=True)
    result = grade_one(called(tmp_path, namespace), "directory_generators", ARGS, model=None)
    assert result.status == "failed" and "return both datasets" in (result.hint or "")


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The course-module finder installed for one test, with its notes collected."""
    notes: list[str] = []
    # a finder another test's harness left installed would answer first, with its own notes
    others = [f for f in sys.meta_path if f.__module__ != course_modules.__name__]
    monkeypatch.setattr(sys, "meta_path", others)
    monkeypatch.delitem(sys.modules, "unittests", raising=False)
    course_modules.install_course_modules(notes.append)
    yield notes
    sys.modules.pop("unittests", None)


def test_the_course_unittests_module_is_a_harmless_stand_in(stand_ins: list[str]) -> None:
    unittests = importlib.import_module("unittests")
    assert unittests.test_train_val_datasets(lambda: None) is None
    assert unittests.test_create_final_model(object(), object(), object()) is None
    assert len(stand_ins) == 2
    assert "unittests.test_train_val_datasets(...) skipped" in stand_ins[0]
    assert "not run by the grader" in stand_ins[0]
    with pytest.raises(AttributeError):
        unittests.print_feedback  # noqa: B018 - only test_* functions are stood in for


def test_a_real_unittests_module_beside_the_notebook_wins(
    stand_ins: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "unittests.py").write_text("def test_it(f):\n    return 'real'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert importlib.import_module("unittests").test_it(None) == "real"
    assert stand_ins == []


def test_the_2024_layout_is_placed_beside_the_older_one(tmp_path: Path) -> None:
    from grader.datasets import PreparedData, horse_or_human, inception_v3_notop
    from grader.datasets.placement import place_data
    from grader.workspace import create_workspace

    served = tmp_path / "served"
    horse_or_human.write_fixture(served, seed=0, per_class=4)
    horse_or_human.write_archives(served)
    (served / inception_v3_notop.FILE).write_bytes(b"weights")
    prepared = PreparedData("horse_or_human", None, None, "fixture", (), files=served)
    weights = PreparedData("inception_v3_notop", None, None, "fixture", (), files=served)
    workspace = create_workspace(tmp_path / "runs")
    place_data({"horse_or_human": prepared, "inception_v3_notop": weights}, workspace)
    for older, newer in (("tmp/training", "data/train"), ("tmp/validation", "data/validation")):
        for name in ("horses", "humans"):
            files = sorted(p.name for p in (workspace.root / newer / name).iterdir())
            before = sorted(p.name for p in (workspace.root / older / name).iterdir())
            assert files and files == before
    for folder in ("tmp", "model"):
        assert (workspace.root / folder / inception_v3_notop.FILE).read_bytes() == b"weights"


@pytest.mark.slow
def test_the_2024_reference_passes_every_quick_check(tmp_path: Path) -> None:
    from grader import api

    options = api.Options(data="fixture", out_dir=tmp_path)
    result = api.grade_notebook(ROOT / "reference" / "transfer-learning-2024.ipynb", None, options)
    assert [c.id for c in result.checks if c.status != "passed"] == [], [
        c.message for c in result.checks if c.status != "passed"
    ]
    assert any("unittests.test_create_final_model" in note for note in result.notes)
