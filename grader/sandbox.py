"""The kernel's sandbox: bubblewrap's command line for one workspace, and whether it works here.

Inside, the root file system is read-only; the workspace is the only writable place, seen at
its own path and at Colab's `/content`; `/tmp` is the workspace's own `tmp` folder; there is no
network and the kernel has its own PID namespace, so it sees neither the grader nor any other
run. The grader's private files, the reference solutions and the other runs are hidden behind
empty folders.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from grader.outcomes import UsageError

BWRAP = "bwrap"
_OWN = {"tmp", "dev", "proc", "content"}
_NAMESPACES = ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts")


@dataclass(frozen=True)
class Isolation:
    """What the report says about how the kernel ran."""

    sandboxed: bool
    detail: str


@dataclass(frozen=True)
class Sandbox:
    """`keep`: folders the kernel needs (the grader's package, Python itself) that stay
    visible, read-only, even when they live under `/tmp`, which the sandbox replaces."""

    workspace: Path
    tmp_dir: Path
    hidden: tuple[Path, ...]
    keep: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if Path("/tmp") in self.workspace.resolve().parents:
            raise ValueError(f"a sandboxed workspace cannot be under /tmp: {self.workspace}")

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv`, run inside bubblewrap; paths in it stay valid (the workspace keeps its path)."""
        return [_bwrap(), *self.arguments(), "--", *argv]

    def arguments(self) -> list[str]:
        arguments = [*_system(), "--dev", "/dev", "--proc", "/proc"]
        for device in gpu_devices():  # bubblewrap's own /dev has no GPUs
            arguments += ["--dev-bind", device, device]
        arguments += ["--bind", str(self.tmp_dir), "/tmp"]
        kept = [path for path in self.keep if _under_tmp(path)]
        for path in kept:
            arguments += ["--ro-bind", str(path), str(path)]
        for path in self.hidden:  # after the binds above, so they hide inside them too
            if not _under_tmp(path) or any(k == path or k in path.parents for k in kept):
                arguments += _hide(path)
        arguments += ["--bind", str(self.workspace), str(self.workspace)]
        arguments += ["--bind", str(self.workspace), "/content"]
        arguments += ["--remount-ro", "/", *_NAMESPACES, "--die-with-parent"]
        # jupyter_client names the grader as the kernel's parent; inside, that PID is not
        # visible and the kernel would take itself for an orphan and quit.
        arguments += ["--unsetenv", "JPY_PARENT_PID"]
        return [*arguments, "--chdir", str(self.workspace)]


def _system() -> list[str]:
    """The machine's top-level folders, read-only, on bubblewrap's own root (so `/content`
    can be made there); `/tmp`, `/dev` and `/proc` are the sandbox's own."""
    arguments: list[str] = []
    for entry in sorted(os.scandir("/"), key=lambda e: e.name):
        if entry.name in _OWN:
            continue
        if entry.is_symlink():
            arguments += ["--symlink", os.readlink(entry.path), entry.path]
        else:
            arguments += ["--ro-bind", entry.path, entry.path]
    return arguments


def gpu_devices() -> list[str]:
    """NVIDIA's device files, which a kernel needs to see its GPU (untested on hardware)."""
    return sorted(glob.glob("/dev/nvidia*"))


def _under_tmp(path: Path) -> bool:
    return Path("/tmp") in path.parents


def python_folders() -> tuple[Path, ...]:
    """Where this Python and its packages live (a virtualenv may be under /tmp)."""
    folders = {sys.prefix, sys.exec_prefix, sys.base_prefix, *site.getsitepackages()}
    return tuple(sorted(Path(folder).resolve() for folder in folders if Path(folder).exists()))


def _hide(path: Path) -> list[str]:
    """An empty folder over a folder, an empty file over a file."""
    if path.is_dir():
        return ["--tmpfs", str(path)]
    return ["--ro-bind", "/dev/null", str(path)]


def hidden_paths(candidates: Iterable[Path | None], keep: Path) -> tuple[Path, ...]:
    """The existing paths among `candidates`, minus any that would hide `keep` (the folder the
    kernel imports the harness from) and any inside another one."""
    keep = keep.resolve()
    found: list[Path] = []
    for candidate in candidates:
        if candidate is None or not candidate.exists():
            continue
        path = candidate.resolve()
        if path == keep or path in keep.parents or path in found:
            continue
        found.append(path)
    return tuple(p for p in found if not any(q in p.parents for q in found))


def choose_isolation(requested: bool | None) -> Isolation:
    """Sandbox when asked (`True`: required), or when bubblewrap works here (`None`: auto)."""
    if requested is False:
        return Isolation(False, "not isolated: --no-sandbox was given")
    problem = bubblewrap_problem()
    if problem is None:
        return Isolation(True, "bubblewrap: read-only system, private /tmp, no network, own PIDs")
    if requested:
        hint = "Hint: install bubblewrap (Debian: apt-get install bubblewrap), or --no-sandbox."
        raise UsageError(f"--sandbox was asked for, but {problem}. {hint}")
    return Isolation(False, f"not isolated: {problem}")


@functools.cache
def bubblewrap_problem() -> str | None:
    """Why bubblewrap cannot sandbox here, or None when a trial run works."""
    if shutil.which(BWRAP) is None:
        return "bubblewrap (bwrap) is not installed"
    trial = [_bwrap(), *_system(), "--dev", "/dev", "--proc", "/proc", *_NAMESPACES]
    try:
        done = subprocess.run([*trial, "--", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not be run ({error})"
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        return f"bubblewrap cannot create namespaces here ({reason[-1] if reason else 'no reason'})"
    return None


def _bwrap() -> str:
    return shutil.which(BWRAP) or BWRAP
