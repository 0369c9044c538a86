"""Stand-ins for what only exists on Colab or a student's own machine: Colab modules and shells.

`input()` needs no shim: the grader's kernel client refuses stdin, so it fails at once.
"""

from __future__ import annotations

import shlex
import sys
import types
from typing import Any

_SKIPPED = {
    "pip": "packages are fixed by the grader's environment",
    "conda": "packages are fixed by the grader's environment",
    "apt-get": "packages are fixed by the grader's environment",
    "wget": "the grader provides the data",
    "curl": "the grader provides the data",
    "gdown": "the grader provides the data",
    "unzip": "the grader provides the data already extracted",
    "nvidia-smi": "the grader reports the device itself",
}
_ALLOWED = {"ls", "pwd", "mkdir", "echo", "cat", "head", "wc"}


def install_colab_shim() -> None:
    """Make `from google.colab import drive, files` work and do nothing harmful."""
    try:
        import google.colab

        return
    except ImportError:
        pass
    colab = types.ModuleType("google.colab")
    colab.drive = _module("google.colab.drive", mount=_mount, flush_and_unmount=_noop)
    colab.files = _module("google.colab.files", download=_noop, upload=lambda *a, **k: {})
    colab.output = _module("google.colab.output", clear=_noop, enable_custom_widget_manager=_noop)
    sys.modules["google.colab"] = colab
    google = sys.modules.get("google") or types.ModuleType("google")
    google.colab = colab  # type: ignore[attr-defined]
    sys.modules.setdefault("google", google)


def _module(name: str, **functions: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for attribute, function in functions.items():
        setattr(module, attribute, function)
    sys.modules[name] = module
    return module


def _noop(*args: Any, **kwargs: Any) -> None:
    return None


def _mount(path: str = "/content/drive", *args: Any, **kwargs: Any) -> None:
    print(f"[grader] drive.mount({path!r}) skipped: the grader provides the files.")


def install_shell_policy() -> None:
    """Route `!command` and `%pip` through a policy instead of running them blindly."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    run_allowed = shell.system
    shell.system = lambda command: _system(command, run_allowed)
    shell.getoutput = lambda command, *a, **k: _system(command, None) or []
    for magic in ("pip", "conda"):
        shell.register_magic_function(
            lambda line, _m=magic: _skip(f"{_m} {line}", _SKIPPED[_m]), "line", magic
        )


def _system(command: str, run: Any) -> None:
    words = shlex.split(command, comments=True) if command.strip() else []
    program = words[0] if words else ""
    if program in _ALLOWED and run is not None:
        return run(command)
    reason = _SKIPPED.get(program, "shell commands do not run while grading")
    return _skip(command, reason)


def _skip(command: str, reason: str) -> None:
    print(f"[grader] skipped `!{command.strip()}`: {reason}.")
