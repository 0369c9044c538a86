"""Stand-ins for what only exists on Colab or a student's own machine: Colab modules and shells.

Every stand-in reports what it did through `note`, which prints it in the cell's output and
keeps it for the report. `input()` needs no shim: the grader's kernel client refuses stdin,
so it fails at once.
"""

from __future__ import annotations

import os
import shlex
import sys
import types
import zipfile
from collections.abc import Callable
from typing import Any

from grader.harness.course_modules import install_course_modules

_SKIPPED = {
    "pip": "packages are fixed by the grader's environment",
    "conda": "packages are fixed by the grader's environment",
    "apt-get": "packages are fixed by the grader's environment",
    "nvidia-smi": "the grader reports the device itself",
}
_ALLOWED = {"ls", "pwd", "mkdir", "echo", "cat", "head", "wc"}


Note = Callable[[str], None]


def install_colab_shim(note: Note) -> None:
    """Make `from google.colab import drive, files` work and do nothing harmful, and the
    course's local `unittests` module (see `course_modules`)."""
    install_course_modules(note)
    try:
        import google.colab

        return
    except ImportError:
        pass

    def mount(path: str = "/content/drive", *args: Any, **kwargs: Any) -> None:
        note(f"[grader] drive.mount({path!r}) skipped: the grader provides the files.")

    def download(name: str, *args: Any, **kwargs: Any) -> None:
        note(f"[grader] files.download({name!r}) skipped: nothing leaves the grading machine.")

    def upload(*args: Any, **kwargs: Any) -> dict[str, bytes]:
        note("[grader] files.upload() skipped: the grader provides the files; nothing uploaded.")
        return {}

    colab = types.ModuleType("google.colab")
    colab.drive = _module("google.colab.drive", mount=mount, flush_and_unmount=_noop)
    colab.files = _module("google.colab.files", download=download, upload=upload)
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


def install_shell_policy(downloads: Any, note: Note) -> None:
    """Route `!command` and `%pip` through a policy instead of running them blindly: downloads
    are served from the grader's copies, package installs skipped, harmless commands run."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    run_allowed = shell.system
    shell.system = lambda command: _system(command, run_allowed, downloads, note)
    shell.getoutput = lambda command, *a, **k: _system(command, None, downloads, note) or []
    for magic in ("pip", "conda"):
        shell.register_magic_function(
            lambda line, _m=magic: _skip(f"{_m} {line}", _SKIPPED[_m], note), "line", magic
        )


def _system(command: str, run: Any, downloads: Any, note: Note) -> None:
    """Each part of `a && b; c` on its own: `!wget URL -O f.zip && unzip f.zip` is common."""
    for words in _commands(command):
        _one_command(words, run, downloads, note)


def _commands(command: str) -> list[list[str]]:
    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
    lexer.commenters = "#"
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: not a command we would run anyway
        tokens = command.split()
    commands: list[list[str]] = [[]]
    for token in tokens:
        if token in ("&&", ";", "||", "&"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [words for words in commands if words]


def _one_command(words: list[str], run: Any, downloads: Any, note: Note) -> None:
    program = words[0]
    if program in _ALLOWED and run is not None:
        run(shlex.join(words))
        return
    if program == "unzip":
        note(_unzip(words[1:]))
        return
    served = downloads.run_shell(words, os.getcwd())
    if served is not None:
        note(served)
        return
    reason = _SKIPPED.get(program, "shell commands do not run while grading")
    _skip(shlex.join(words), reason, note)


def _unzip(arguments: list[str]) -> str:
    """`unzip [-q] [-o] [-n] ARCHIVE [-d FOLDER]` with Python's zipfile (no `unzip` needed)."""
    folder, archive = ".", None
    items = iter(arguments)
    for item in items:
        if item == "-d":
            folder = next(items, ".")
        elif not item.startswith("-") and archive is None:
            archive = item
    if archive is None or not os.path.isfile(archive):
        return f"[grader] unzip: no archive {archive!r}"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(folder)
    return f"[grader] extracted {archive} into {folder}"


def _skip(command: str, reason: str, note: Note) -> None:
    note(f"[grader] skipped `!{command.strip()}`: {reason}.")
