"""The command line: exit codes and messages for unusable input, without running kernels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

from tests.conftest import NOTEBOOKS, ROOT, run_cli

REFERENCE = ROOT / "reference" / "cifar10-cnn.ipynb"


def test_cli_unreadable_notebook_exits_2_without_traceback() -> None:
    completed = run_cli(str(NOTEBOOKS / "not-a-notebook.ipynb"))
    assert completed.returncode == 2
    assert "is not a Jupyter notebook" in completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout


def test_cli_unknown_assignment_and_bad_flag_exit_2() -> None:
    unknown = run_cli(str(REFERENCE), "--assignment", "nope")
    assert unknown.returncode == 2 and "unknown assignment 'nope'" in unknown.stderr
    assert run_cli(str(REFERENCE), "--profile", "fastest").returncode == 2


def test_list_and_version() -> None:
    listed = run_cli("list")
    assert listed.returncode == 0 and "cifar10-cnn" in listed.stdout
    assert run_cli("--version").stdout.startswith("grade ")


def test_explain_a_check_by_name_shows_docstring_and_parameters() -> None:
    explained = run_cli("explain", "params")
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout.startswith("params: Parameter counts")
    assert "exactly the total, trainable and non-trainable parameter counts" in explained.stdout
    assert re.search(r"^  trainable\s+int \| None\s+default null$", explained.stdout, re.M)


def test_explain_a_check_id_shows_its_arguments_in_the_assignment() -> None:
    explained = run_cli("explain", "step3.params", "--assignment", "cifar10-cnn")
    assert explained.returncode == 0, explained.stderr
    assert "step3.params in cifar10-cnn, step step3: The minimal architecture" in explained.stdout
    assert "args: {total: 1180, trainable: 1180, non_trainable: 0}" in explained.stdout
    assert "params: Parameter counts" in explained.stdout


def test_explain_unknown_check_exits_2_listing_known_checks() -> None:
    unknown = run_cli("explain", "paramz")
    assert unknown.returncode == 2
    assert "unknown check 'paramz'; known checks:" in unknown.stderr
    assert "params" in unknown.stderr and "output_shape" in unknown.stderr
    without_assignment = run_cli("explain", "step3.params")
    assert without_assignment.returncode == 2 and "--assignment" in without_assignment.stderr
    missing_id = run_cli("explain", "step99.params", "--assignment", "cifar10-cnn")
    assert missing_id.returncode == 2 and "step3.params" in missing_id.stderr


def test_schema_describes_assignment_yaml_without_internal_fields(tmp_path: Path) -> None:
    printed = run_cli("schema")
    assert printed.returncode == 0, printed.stderr
    schema = json.loads(printed.stdout)
    assert schema["title"] == "assignment.yaml"
    assert "root" not in schema["properties"] and "steps" in schema["properties"]
    assert "params" in schema["$defs"]["CheckSpec"]["properties"]["check"]["enum"]
    validator = jsonschema.Draft202012Validator(schema)  # jsonschema comes with nbformat
    for spec_file in sorted(ROOT.glob("assignments/*/assignment.yaml")):
        spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
        assert not [e.message for e in validator.iter_errors(spec)], spec_file
    out = tmp_path / "schema" / "assignment.schema.json"
    assert run_cli("schema", "--out", str(out)).returncode == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema
