"""What a check verifies and takes, and the JSON Schema of `assignment.yaml`: documentation
generated from the registry and the spec models, so it cannot drift from the code."""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path
from typing import Any

import yaml
from pydantic.fields import FieldInfo

from grader.checks.registry import CheckDef, all_checks
from grader.outcomes import UsageError
from grader.spec import AssignmentSpec, CheckSpec, StepSpec, find_assignment

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
INTERNAL_FIELDS = ("root",)  # set by the loader from the file's folder, never written by hand


def explain(
    name_or_id: str, assignment: str | None = None, extra_dirs: list[Path] | None = None
) -> str:
    """A check by registry name (`params`), or by id in an assignment (`step3.params`)."""
    if assignment is not None:
        return _explain_in(find_assignment(assignment, extra_dirs), name_or_id)
    definition = all_checks().get(name_or_id)
    if definition is not None:
        return describe_check(definition)
    if "." in name_or_id:
        raise UsageError(
            f"{name_or_id!r} looks like a check id; ids belong to one assignment. "
            "Hint: add --assignment ID (see `grade list`)."
        )
    raise UsageError(f"unknown check {name_or_id!r}; known checks: {', '.join(all_checks())}")


def describe_check(definition: CheckDef) -> str:
    """Title, the check function's docstring and the parameters its spec entry takes."""
    doc = inspect.getdoc(definition.function) or "(no description)"
    lines = [f"{definition.name}: {definition.title}", "", doc, "", *_parameters(definition)]
    return "\n".join(lines)


def _parameters(definition: CheckDef) -> list[str]:
    fields = definition.params.model_fields
    if not fields:
        return ["Parameters: none"]
    types = {name: _type_name(info.annotation) for name, info in fields.items()}
    name_width, type_width = max(map(len, types)), max(map(len, types.values()))
    lines = ["Parameters (`args:` in assignment.yaml):"]
    for name, info in fields.items():
        lines.append(f"  {name:<{name_width}}  {types[name]:<{type_width}}  {_default(info)}")
    own_doc = definition.params.__doc__  # a class's docstring is not inherited: this one's own
    if own_doc:
        lines += ["", textwrap.indent(inspect.cleandoc(own_doc), "  ")]
    return lines


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not getattr(annotation, "__args__", None):
        return annotation.__name__
    return repr(annotation).replace("typing.", "").replace("NoneType", "None")


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    # JSON is YAML: the default reads as it would be written in assignment.yaml
    return f"default {json.dumps(info.get_default(call_default_factory=True), default=str)}"


def _explain_in(spec: AssignmentSpec, name_or_id: str) -> str:
    """The check with this id in `spec`; a registry name lists where the assignment uses it."""
    for check_id, step, check_spec in spec.iter_checks():
        if check_id == name_or_id:
            described = describe_check(all_checks()[check_spec.check])  # loader checked it
            return "\n".join([*_usage(spec, check_id, step, check_spec), "", described])
    definition = all_checks().get(name_or_id)
    if definition is None:
        ids = ", ".join(check_id for check_id, _, _ in spec.iter_checks())
        raise UsageError(f"{spec.id} has no check {name_or_id!r}; its checks: {ids}")
    used = [i for i, _, c in spec.iter_checks() if c.check == name_or_id] or ["none"]
    return f"{describe_check(definition)}\n\nUsed in {spec.id} by: {', '.join(used)}"


def _usage(spec: AssignmentSpec, check_id: str, step: StepSpec, check_spec: CheckSpec) -> list[str]:
    lines = [
        f"{check_id} in {spec.id}, step {step.id}: {step.title}",
        f"  title: {check_spec.title or all_checks()[check_spec.check].title}",
        f"  model: {step.model or '—'}",
        f"  points: {check_spec.points:g}{'' if check_spec.required else ' (optional)'}",
        f"  profiles: {', '.join(check_spec.profiles)}",
        *_as_yaml("args", check_spec.args),
        *_as_yaml("profile_args", check_spec.profile_args),
    ]
    if check_spec.hint:
        lines.append(f"  hint: {check_spec.hint}")
    return lines


def _as_yaml(key: str, value: Any) -> list[str]:
    """`key: value` as it reads in assignment.yaml (short lists and mappings on one line)."""
    if not value:
        return []
    text = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=None, width=92)
    return [textwrap.indent(text.rstrip(), "  ")]


def assignment_schema() -> dict[str, Any]:
    """JSON Schema of `assignment.yaml` for editors; `check:` is limited to registered names."""
    schema = AssignmentSpec.model_json_schema()
    for name in INTERNAL_FIELDS:
        schema["properties"].pop(name, None)
    schema["required"] = [r for r in schema.get("required", []) if r not in INTERNAL_FIELDS]
    schema["$defs"]["CheckSpec"]["properties"]["check"]["enum"] = list(all_checks())
    return {"$schema": JSON_SCHEMA_DIALECT, **schema, "title": "assignment.yaml"}
