"""Starting the kernel: its environment, its connection, and (when sandboxed) bubblewrap.

A sandboxed kernel has no network, so the grader talks to it over IPC sockets in the
workspace. bubblewrap wraps the kernel's command through the manager's own
`format_kernel_cmd`; jupyter_client launches, signals and stops it as usual.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager, KernelManager

import grader
from grader.cores import THREAD_VARIABLES
from grader.sandbox import Sandbox

# Variables a sandboxed kernel keeps from the grader's environment; the rest (tokens, the
# instructor's settings) stay outside. The thread counts are a worker's share of the cores.
_PASSED = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", *THREAD_VARIABLES)


class GraderKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command runs inside `sandbox` when one is set."""

    sandbox: Sandbox | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = super().format_kernel_cmd(extra_arguments)
        return self.sandbox.wrap(argv) if self.sandbox is not None else argv


class ThisPython(KernelSpecManager):
    """The kernel is ipykernel in the grader's own interpreter, whatever kernels are installed:
    the harness in the kernel and the checks in the grader need the same packages (the
    installed `python3` kernel runs whichever `python` is first on the PATH). Not looking the
    installed kernels up also spares every run an import of IPython (0.35 s)."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name="Python 3 (grader)",
            language="python",
            interrupt_mode="signal",
        )


def kernel_manager(workspace: Path, sandbox: Sandbox | None) -> GraderKernelManager:
    """A manager for one run's kernel; its connection files live in the workspace."""
    folder = workspace / ".kernel"
    folder.mkdir(exist_ok=True)
    manager = GraderKernelManager(
        kernel_name="python3",
        kernel_spec_manager=ThisPython(),
        transport="ipc" if sandbox is not None else "tcp",
        connection_file=str(folder / "connection.json"),
    )
    manager.sandbox = sandbox
    if sandbox is not None:
        # A signal to the process group stops at the PID namespace; ipykernel's own
        # interrupt request reaches the kernel's code from inside.
        manager.kernel_spec.interrupt_mode = "message"
    return manager


def kernel_pid(manager: KernelManager) -> int | None:
    """The kernel's root process (bubblewrap's, when sandboxed)."""
    return getattr(manager.provisioner, "pid", None)


def kernel_environment(
    workspace: Path, sandboxed: bool, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The kernel imports the harness from the same `grader` package as this process.

    A sandboxed kernel gets a short environment, with a home folder in the workspace.
    """
    if sandboxed:
        env = {name: os.environ[name] for name in _PASSED if name in os.environ}
        home = workspace / ".home"
        home.mkdir(exist_ok=True)
        env.update(HOME=str(home), PYTHONUSERBASE=site.getuserbase())
    else:
        env = dict(os.environ)
        env.pop("JPY_PARENT_PID", None)  # names a process the kernel does not belong to
    env.update(MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0")
    root = package_root()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def package_root() -> Path:
    """The folder the `grader` package is imported from (a checkout or site-packages)."""
    return Path(grader.__file__).resolve().parent.parent
