"""The collect cell: what the kernel must export, and the hidden inputs of function checks.

It is written only when the student's cells have run (see `execute`'s `collect_source`): the
hidden inputs are made then, in a fresh folder of random name, from the run's secret seed, and
what the grader knows of each stays in `hidden` for the checks.
"""

from __future__ import annotations

import numpy as np

from grader.checks.registry import FunctionParams, HiddenCall
from grader.notebook import harness_source
from grader.spec import AssignmentSpec
from grader.workspace import Workspace


def _wanted(spec: AssignmentSpec, profile: str, field: str) -> list[str]:
    """What the collect cell must export for the checks: variable names, or file names."""
    names = {getattr(c.params(profile), field, None) for _, _, c in spec.iter_checks(profile)}
    return sorted(n for n in names if n)


def collect_source(
    spec: AssignmentSpec,
    profile: str,
    workspace: Workspace,
    graded: dict[str, str],
    secret_seed: int,
    hidden: dict[str, list[HiddenCall]],
) -> str:
    """The collect cell, written only once the student's cells have run: the hidden inputs of
    function checks are made now, in a fresh folder, from the run's secret seed."""
    calls = _hidden_calls(spec, profile, workspace, graded, secret_seed, hidden)
    arguments = {
        "out_dir": str(workspace.artifacts_dir),
        "variables": _wanted(spec, profile, "variable"),
        "files": _wanted(spec, profile, "file"),
        "calls": calls,
    }
    return harness_source("collect", arguments)


def _hidden_calls(
    spec: AssignmentSpec,
    profile: str,
    workspace: Workspace,
    graded: dict[str, str],
    secret_seed: int,
    hidden: dict[str, list[HiddenCall]],
) -> list[dict]:
    rng = np.random.default_rng(secret_seed)
    folder = workspace.hidden_dir()
    calls = []
    for check_id, _, check_spec in spec.iter_checks(profile):
        params = check_spec.params(profile)
        if not isinstance(params, FunctionParams):
            continue
        own = folder / check_id
        own.mkdir()
        hidden[check_id] = params.hidden_calls(rng, own)
        calls.append(
            {
                "check": check_id,
                "functions": _function_names(spec, params.function, graded),
                "args": [call.args for call in hidden[check_id]],
                "kind": params.kind,
                "input_shape": params.input_shape,
                "arg_globals": list(getattr(params, "arg_globals", ())),
            }
        )
    return calls


def _function_names(spec: AssignmentSpec, name: str, graded: dict[str, str]) -> list[str]:
    """Where a graded function may be found: its name, the function a `# GRADED FUNCTION`
    comment announces under that name, then the spec's aliases."""
    aliases = spec.functions[name].aliases if name in spec.functions else []
    return list(dict.fromkeys([name, *filter(None, [graded.get(name)]), *aliases]))
