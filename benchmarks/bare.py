"""Execute a notebook the way the grader does, minus the grading: the baseline of the overhead.

    python benchmarks/bare.py reference/csv-to-array.ipynb

The notebook is prepared exactly as `grade` prepares it (outputs stripped, the same data
served, the same epoch caps, the harness's init cell), then run with plain nbclient: no
sandbox, no watchdog, no collect step, no checks, no report. One process per run, like `grade`.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from nbclient import NotebookClient

from grader import api, datasets
from grader.harness.flavour import LEGACY_ENVIRONMENT
from grader.kernel import kernel_environment
from grader.notebook import COLLECT_ROLE, assignment_of, read_notebook, role_of
from grader.sandbox import Isolation
from grader.spec import find_assignment
from grader.workspace import create_workspace


def run(path: Path) -> None:
    notebook = read_notebook(path)
    spec = find_assignment(assignment_of(notebook) or path.stem, [])
    options = api.Options()
    profile = spec.profiles[options.profile]
    workspace = create_workspace()
    try:
        data = {  # the served part only: the held-out data is the grader's own work
            name: datasets.prepare_served(
                name,
                profile.sizes.get(name, datasets.DataSizes()),
                options.data,
                None,
                secrets.randbits(32),
                workspace.data_dir,
                workspace.private_dir,
            )[0]
            for name in spec.datasets
        }
        unsandboxed = Isolation(False, "benchmark baseline")
        prepared = api.prepared_notebook(notebook, spec, options, workspace, data, unsandboxed)
        prepared.cells = [c for c in prepared.cells if role_of(c) != COLLECT_ROLE]
        client = NotebookClient(
            prepared,
            timeout=int(profile.cell_timeout),
            allow_errors=True,
            kernel_name="python3",
            resources={"metadata": {"path": str(workspace.root)}},
        )
        environment = LEGACY_ENVIRONMENT if spec.keras == 2 else {}
        client.execute(env=kernel_environment(workspace.root, False, environment))
    finally:
        workspace.remove()


if __name__ == "__main__":
    run(Path(sys.argv[1]))
