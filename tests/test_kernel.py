"""The kernel runs the grader's own interpreter, whatever kernels are installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from grader.kernel import kernel_manager


def test_the_kernel_is_ipykernel_in_this_interpreter(tmp_path: Path) -> None:
    spec = kernel_manager(tmp_path, None).kernel_spec
    assert spec.argv[:3] == [sys.executable, "-m", "ipykernel_launcher"]
    assert "{connection_file}" in spec.argv


def test_installed_kernels_are_not_consulted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `python3` kernel pointing at another environment must not change what is graded."""
    other = tmp_path / "kernels" / "python3"
    other.mkdir(parents=True)
    (other / "kernel.json").write_text(
        '{"argv": ["/elsewhere/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],'
        ' "display_name": "elsewhere", "language": "python"}'
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    assert kernel_manager(tmp_path, None).kernel_spec.argv[0] == sys.executable
