"""Spec loading: the bundled spec validates; bad specs name the file, the key path and the value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from grader.outcomes import SpecError, UsageError
from grader.spec import find_assignment, list_assignments, load_spec

BUNDLED = Path(__file__).parent.parent / "assignments" / "cifar10-cnn" / "assignment.yaml"


def write_spec(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(BUNDLED.read_text())
    mutate(raw)
    folder = tmp_path / "broken-assignment"
    folder.mkdir()
    path = folder / "assignment.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_bundled_spec_loads_with_stable_check_ids() -> None:
    spec = load_spec(BUNDLED)
    ids = [check_id for check_id, _, _ in spec.iter_checks()]
    assert "step3.params" in ids and "step6.accuracy" in ids
    assert spec.reference.is_file()


def test_profile_arguments_override_the_defaults() -> None:
    spec = load_spec(BUNDLED)
    accuracy = next(c for i, _, c in spec.iter_checks() if i == "step6.accuracy")
    quick, full = accuracy.params("quick"), accuracy.params("full")
    assert (quick.min, quick.above_chance, full.min) == (None, 1e-6, 0.35)


def test_bad_argument_names_file_key_path_and_value(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:
        raw["steps"][2]["checks"][2]["args"]["total"] = "1180k"

    with pytest.raises(SpecError) as error:
        load_spec(write_spec(tmp_path, mutate))
    message = str(error.value)
    assert "broken-assignment/assignment.yaml" in message
    assert "steps[2].checks[2].args.total" in message
    assert "'1180k'" in message


def test_unknown_check_and_unknown_argument_are_reported(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:
        raw["steps"][0]["checks"][0]["check"] = "no_such_check"
        raw["steps"][1]["checks"][0]["args"]["colour"] = "red"

    with pytest.raises(SpecError) as error:
        load_spec(write_spec(tmp_path, mutate))
    assert "steps[0].checks[0].check: unknown check 'no_such_check'" in str(error.value)
    assert "steps[1].checks[0].args.colour" in str(error.value)


def test_missing_profile(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:
        del raw["profiles"]["full"]

    with pytest.raises(SpecError, match=re.escape("missing ['full']")):
        load_spec(write_spec(tmp_path, mutate))


def test_mutant_naming_an_unknown_check(tmp_path: Path) -> None:
    def mutate(raw: dict) -> None:
        raw["mutants"][0]["catches"] = ["step3.nonexistent"]

    message = "the quick self-test does not run: ['step3.nonexistent']"
    with pytest.raises(SpecError, match=re.escape(message)):
        load_spec(write_spec(tmp_path, mutate))


def test_unknown_assignment_lists_the_known_ones() -> None:
    assert "cifar10-cnn" in list_assignments()
    with pytest.raises(UsageError, match=r"known assignments: .*cifar10-cnn"):
        find_assignment("cifar-100")


def test_yaml_that_does_not_parse(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "assignment.yaml").write_text("id: [unclosed\n")
    with pytest.raises(SpecError, match=re.escape("x/assignment.yaml: cannot be read")):
        load_spec(folder / "assignment.yaml")


def test_full_only_checks_are_left_out_of_the_quick_profile() -> None:
    spec = load_spec(BUNDLED)
    quick = {check_id for check_id, _, _ in spec.iter_checks("quick")}
    full = {check_id for check_id, _, _ in spec.iter_checks("full")}
    assert "step10.accuracy" in full - quick
    assert quick < full


def test_a_head_only_layer_list_is_not_used_to_find_a_renamed_model() -> None:
    """`tail: true` lists the head on a pretrained base; matching by it would pick any model
    ending in Flatten and Dense layers (a dense baseline, for one)."""
    spec = find_assignment("transfer-learning")
    assert spec.layers_of("model") is None
    assert find_assignment("cifar10-cnn").layers_of("minimal_model") is not None
