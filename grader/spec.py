"""Assignment specs: `assignment.yaml` loaded into frozen, validated objects."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from grader.checks.registry import Params, get_check
from grader.outcomes import SpecError, UsageError

ProfileName = Literal["quick", "full"]
DataChoice = Literal["auto", "real", "fixture"]

SPEC_FILE = "assignment.yaml"
# libyaml's safe loader where PyYAML was built with it (ten times faster), else Python's.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataSizes(Strict):
    """How many images the kernel gets (None: all) and how many the grader keeps back."""

    train: int | None = Field(default=None, gt=0)
    test: int | None = Field(default=None, gt=0)
    holdout: int = Field(default=1000, gt=0)


class SizeBudget(Strict):
    """Models with at least `min_params` parameters train at most `max_epochs` per fit, on
    the first `max_samples` training and validation samples when that is set."""

    min_params: int = Field(ge=0)
    max_epochs: int = Field(gt=0)
    max_samples: int | None = Field(default=None, gt=0)


class ProfileSpec(Strict):
    description: str
    max_epochs: int | None = Field(default=None, gt=0)
    # A fit whose `max_epochs` are too short for this many optimizer steps (large batches, a
    # small training set) runs more epochs, up to the epochs it asks for: a correct model
    # written with batch_size=128 learns as much as one written with 20.
    min_steps: int | None = Field(default=None, gt=0)
    budget_by_size: list[SizeBudget] = []
    data: DataChoice = "auto"
    sizes: dict[str, DataSizes] = {}
    timeout: float = Field(default=900, gt=0)
    cell_timeout: float = Field(default=600, gt=0)
    deterministic: bool = False


class CheckSpec(Strict):
    check: str
    id: str | None = None
    title: str | None = None
    points: float = Field(default=1.0, ge=0)
    required: bool = True
    args: dict[str, Any] = {}
    profile_args: dict[ProfileName, dict[str, Any]] = {}
    profiles: list[ProfileName] = ["quick", "full"]
    hint: str | None = None

    @property
    def key(self) -> str:
        return self.id or self.check

    def params(self, profile: str) -> Params:
        definition = get_check(self.check)
        assert definition is not None, "unknown checks are rejected when the spec loads"
        return definition.params.model_validate({**self.args, **self.profile_args.get(profile, {})})


class StepSpec(Strict):
    id: str
    title: str
    model: str | None = None
    checks: list[CheckSpec]
    # The reference solution's parameter count for this step's model: a model many times
    # larger gets advice (no points), as the courses warn about memory and training time.
    reference_params: int | None = Field(default=None, gt=0)


class Replacement(Strict):
    old: str
    new: str


class MutantSpec(Strict):
    id: str
    description: str
    replace: list[Replacement] = Field(min_length=1)
    catches: list[str] = Field(min_length=1)


class FunctionSpec(Strict):
    """A graded function: other names it is found by when the notebook renamed it."""

    aliases: list[str] = []


class AssignmentSpec(Strict):
    id: str
    title: str
    keras: Literal[2, 3] = 3
    datasets: list[str] = []
    functions: dict[str, FunctionSpec] = {}
    profiles: dict[ProfileName, ProfileSpec]
    steps: list[StepSpec] = Field(min_length=1)
    mutants: list[MutantSpec] = []
    root: Path = Path()

    @model_validator(mode="after")
    def _consistent(self) -> AssignmentSpec:
        missing = {"quick", "full"} - set(self.profiles)
        if missing:
            raise ValueError(f"profiles must define quick and full; missing {sorted(missing)}")
        ids = [check_id for check_id, _, _ in self.iter_checks()]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"check ids must be unique; repeated: {duplicates}")
        quick = {check_id for check_id, _, _ in self.iter_checks("quick")}
        for mutant in self.mutants:
            unknown = sorted(set(mutant.catches) - quick)
            if unknown:
                raise ValueError(
                    f"mutant {mutant.id!r} names checks the quick self-test does not run: {unknown}"
                )
        return self

    def iter_checks(self, profile: str | None = None) -> list[tuple[str, StepSpec, CheckSpec]]:
        """Checks with their stable ids `<step>.<check>`, in spec order: all of them, or
        those the given profile runs."""
        return [
            (f"{step.id}.{c.key}", step, c)
            for step in self.steps
            for c in step.checks
            if profile is None or profile in c.profiles
        ]

    def layers_of(self, model: str | None) -> list[dict[str, Any]] | None:
        """The whole layer list some step's `layers` check gives for this model variable (a
        `tail` list, the head on a base, cannot identify a model)."""
        for step in self.steps:
            for check_spec in step.checks:
                if step.model == model and is_whole_layer_list(check_spec):
                    return check_spec.args.get("layers")
        return None

    @property
    def named_variables(self) -> frozenset[str]:
        """Every variable the spec names: the steps' models and the checks' data variables."""
        models = {step.model for step in self.steps if step.model}
        data = {
            str(check.args["variable"])
            for _, _, check in self.iter_checks()
            if isinstance(check.args.get("variable"), str)
        }
        return frozenset(models | data)

    @cached_property
    def reference(self) -> Path:
        return self.root.parent.parent / "reference" / f"{self.id}.ipynb"


def is_whole_layer_list(check_spec: CheckSpec) -> bool:
    return check_spec.check == "layers" and not check_spec.args.get("tail", False)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _describe(error: Any) -> str:
    received = error.get("input")
    shown = "" if isinstance(received, dict | list) else f", got {received!r}"
    return f"{_format_loc(error['loc'])}: {error['msg']}{shown}"


def _validate_check_args(spec: AssignmentSpec, source: str) -> None:
    problems = []
    for s, step in enumerate(spec.steps):
        for c, check_spec in enumerate(step.checks):
            where = ("steps", s, "checks", c)
            if get_check(check_spec.check) is None:
                problems.append(
                    f"{_format_loc((*where, 'check'))}: unknown check "
                    f"{check_spec.check!r} (see `grade explain`)"
                )
                continue
            for profile in spec.profiles:
                try:
                    check_spec.params(profile)
                except ValidationError as error:
                    problems += [
                        _describe({**e, "loc": (*where, "args", *e["loc"])}) for e in error.errors()
                    ]
    if problems:
        raise SpecError(f"{source}: " + f"\n{source}: ".join(sorted(set(problems))))


def load_spec(path: Path) -> AssignmentSpec:
    """Load and validate an assignment spec; a bad one raises `SpecError` naming key paths."""
    source = f"{path.parent.name}/{path.name}"
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError) as error:
        raise SpecError(f"{source}: cannot be read: {error}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: expected a mapping at the top level")
    try:
        spec = AssignmentSpec.model_validate({**raw, "root": path.parent})
    except ValidationError as error:
        raise SpecError("\n".join(f"{source}: {_describe(e)}" for e in error.errors())) from None
    _validate_check_args(spec, source)
    return spec


def assignment_dirs(extra: list[Path] | None = None) -> list[Path]:
    """Folders holding assignments: the instructor's own first, then the bundled ones."""
    return [*(extra or []), PACKAGE_ROOT / "assignments"]


def list_assignments(extra: list[Path] | None = None) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in assignment_dirs(extra):
        for spec_file in sorted(folder.glob(f"*/{SPEC_FILE}")):
            found.setdefault(spec_file.parent.name, spec_file)
    return found


def find_assignment(assignment_id: str, extra: list[Path] | None = None) -> AssignmentSpec:
    """The spec of `assignment_id`, or a `UsageError` listing the ones that exist."""
    available = list_assignments(extra)
    if assignment_id not in available:
        known = ", ".join(available) or "none"
        raise UsageError(f"unknown assignment {assignment_id!r}; known assignments: {known}")
    return load_spec(available[assignment_id])
