"""The command line: exit codes and messages for unusable input, without running kernels."""

from __future__ import annotations

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
