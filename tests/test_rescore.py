"""Re-scoring a kept run: which spec changes need an execution, and verdicts judged again."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from grader import rescore
from grader.results import CheckResult, GradeResult
from grader.spec import AssignmentSpec, find_assignment


def _edited(tmp_path: Path, *replacements: tuple[str, str]) -> AssignmentSpec:
    """csv-to-array with its spec's text edited, as an instructor's copy."""
    original = find_assignment("csv-to-array", [])
    folder = tmp_path / f"course-{len(list(tmp_path.iterdir()))}"
    shutil.copytree(original.root, folder / "csv-to-array")
    spec_file = folder / "csv-to-array" / "assignment.yaml"
    text = spec_file.read_text()
    for old, new in replacements:
        assert old in text, f"{old!r} is not in the spec"
        text = text.replace(old, new)
    spec_file.write_text(text)
    return find_assignment("csv-to-array", [folder])


def _key(spec: AssignmentSpec, notebook: bytes = b"notebook", profile: str = "quick") -> str:
    return rescore.execution_key(notebook, spec, profile)


def test_points_titles_and_thresholds_do_not_change_the_execution_key(tmp_path: Path) -> None:
    key = _key(find_assignment("csv-to-array", []))
    scoring_only = _edited(
        tmp_path,
        ("above_chance: 1.0e-6}", "min: 0.9}"),
        ("{min_epochs: 1, validation: true}", "{min_epochs: 4, validation: false}"),
        ("check: parsed_csv, points: 3", "check: parsed_csv, points: 10, title: Parsing"),
        ("title: Parse the CSV files", "title: Reading the CSV files"),
        ("description: >-", "description: >-\n      Changed."),
    )
    assert _key(scoring_only) == key


def test_what_the_kernel_runs_or_measures_changes_the_execution_key(tmp_path: Path) -> None:
    key = _key(find_assignment("csv-to-array", []))
    assert _key(find_assignment("csv-to-array", []), b"other notebook") != key
    assert _key(find_assignment("csv-to-array", []), profile="full") != key
    measured_otherwise = _edited(tmp_path, ("input_scale: 0.00392156862745098", "input_scale: 1"))
    assert _key(measured_otherwise) != key
    other_function = _edited(tmp_path, ("function: parse_data_from_input", "function: parse"))
    assert _key(other_function) != key


def _check(check_id: str, status: str, points: float, **kept: object) -> CheckResult:
    return CheckResult(
        id=check_id,
        step=check_id.split(".")[0],
        step_title="old title",
        title="old",
        status=status,  # type: ignore[arg-type]
        points=points,
        max_points=points,
        required=True,
        message="as measured",
        **kept,  # type: ignore[arg-type]
    )


def _kept_run() -> GradeResult:
    """A run of csv-to-array as kept: two judged checks with their measurements."""
    checks = (
        _check("parse.parsed_csv", "passed", 3.0),
        _check("generators.array_generators", "failed", 0.0, hint="use flow"),
        _check("model.layer_rules", "passed", 2.0),
        _check("model.input_shape", "passed", 1.0),
        _check("model.loss_matches", "skipped", 0.0),
        _check(
            "training.trained",
            "passed",
            1.0,
            measurement={
                "model": "model",
                "epochs": 2,
                "fits": 1,
                "validation": True,
                "batch_sizes": [32],
            },
        ),
        _check(
            "training.accuracy",
            "passed",
            2.0,
            measurement={"accuracy": 0.71, "images": 600},
            notes=("inputs preprocessed as 'scale', images resized to fit",),
        ),
    )
    return GradeResult(
        assignment="csv-to-array",
        title="old",
        notebook="alice.ipynb",
        profile="quick",
        data_source="fixture",
        device="CPU",
        duration_s=12.0,
        checks=checks,
    )


def test_a_raised_threshold_is_judged_again_on_the_kept_measurement(tmp_path: Path) -> None:
    spec = _edited(
        tmp_path,
        ("above_chance: 1.0e-6}", "min: 0.8}"),
        ("{min_epochs: 1, validation: true}", "{min_epochs: 3, validation: true}"),
    )
    result = rescore.rescore(_kept_run(), spec)
    assert result is not None
    checks = {c.id: c for c in result.checks}
    accuracy = checks["training.accuracy"]
    assert (accuracy.status, accuracy.points, accuracy.max_points) == ("failed", 0.0, 2.0)
    assert (accuracy.expected, accuracy.received) == (0.8, 0.71)
    assert "received 0.710" in accuracy.message and "preprocessed as 'scale'" in accuracy.message
    assert accuracy.hint and "scaled to [0, 1]" in accuracy.hint
    trained = checks["training.trained"]
    assert (trained.status, trained.expected, trained.received) == ("failed", 3, 2)
    assert result.score == 3.0 + 2.0 + 1.0  # parse, layer rules, input shape
    assert rescore.RESCORED in result.notes


def test_changed_points_rescale_every_verdict_and_a_lower_threshold_passes(
    tmp_path: Path,
) -> None:
    spec = _edited(
        tmp_path,
        ("above_chance: 1.0e-6}", "min: 0.7}"),
        ("check: parsed_csv, points: 3", "check: parsed_csv, points: 5"),
        ("check: array_generators, points: 2", "check: array_generators, points: 4"),
    )
    kept = _kept_run()
    failing = rescore.rescore(kept, _edited(tmp_path, ("above_chance: 1.0e-6}", "min: 0.9}")))
    assert failing is not None
    again = rescore.rescore(failing, spec)  # from a re-scored run: nothing is lost
    assert again is not None
    checks = {c.id: c for c in again.checks}
    assert (checks["parse.parsed_csv"].points, checks["parse.parsed_csv"].max_points) == (5.0, 5.0)
    generators = checks["generators.array_generators"]
    assert (generators.status, generators.points, generators.max_points) == ("failed", 0.0, 4.0)
    assert generators.hint == "use flow"
    assert checks["training.accuracy"].status == "passed"
    assert checks["training.accuracy"].message.startswith("accuracy 0.710 on 600 held-out")
    assert again.max_score == 5 + 4 + 2 + 1 + 2 + 1 + 2
    assert again.notes.count(rescore.RESCORED) == 1


def test_a_spec_asking_for_a_check_the_run_never_measured_needs_an_execution(
    tmp_path: Path,
) -> None:
    kept = _kept_run()
    fewer = replace(kept, checks=kept.checks[:-1])
    assert rescore.rescore(fewer, find_assignment("csv-to-array", [])) is None


def test_a_kept_run_reads_back_as_it_was_and_a_damaged_one_is_ignored(tmp_path: Path) -> None:
    kept = _kept_run()
    path = tmp_path / "cache" / "run.json"
    rescore.keep(path, kept)
    assert rescore.load(path) == kept
    path.write_text('{"grader_version": "0", "result": {}}')
    assert rescore.load(path) is None
    path.write_text("{not json")
    assert rescore.load(path) is None
    assert rescore.load(tmp_path / "missing.json") is None


def test_a_measurement_the_judge_cannot_read_withholds_the_score(tmp_path: Path) -> None:
    kept = _kept_run()
    damaged = tuple(
        replace(c, measurement={"images": 600}) if c.id == "training.accuracy" else c
        for c in kept.checks
    )
    result = rescore.rescore(replace(kept, checks=damaged), find_assignment("csv-to-array", []))
    assert result is not None
    accuracy = next(c for c in result.checks if c.id == "training.accuracy")
    assert accuracy.status == "grader_error" and "KeyError" in accuracy.message
    assert result.score is None


def test_a_changed_spec_hint_reaches_failed_checks_that_showed_the_spec_s_hint(
    tmp_path: Path,
) -> None:
    new_hint = "check: array_generators, points: 2, hint: 'add a channel axis, then use flow'"
    spec = _edited(tmp_path, ("check: array_generators, points: 2", new_hint))
    kept = _kept_run()
    from_spec = replace(kept.checks[1], hint_from_spec=True)
    own = replace(kept.checks[1], hint="the check's own words")
    for stored, shown in (
        (from_spec, "add a channel axis, then use flow"),
        (own, "the check's own words"),
    ):
        result = rescore.rescore(
            replace(kept, checks=(kept.checks[0], stored, *kept.checks[2:])), spec
        )
        assert result is not None
        assert result.checks[1].hint == shown
