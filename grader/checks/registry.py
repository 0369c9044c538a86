"""The registry of checks: the names specs use, mapped to small functions and their parameters."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from grader.checks.context import CheckContext

CheckFunction = Callable[["CheckContext", Any], Any]
# Compares a check's kept measurement with its parameters: a message, or `CheckFailed`.
JudgeFunction = Callable[[dict[str, Any], Any], str]

_FAMILIES = (
    "grader.checks.model",
    "grader.checks.training",
    "grader.checks.data",
    "grader.checks.functions",
    "grader.checks.inference",
    "grader.checks.losses",
    "grader.checks.folders",
    "grader.checks.iterators",
    "grader.checks.transfer",
)


class Params(BaseModel):
    """Base of every check's parameters: frozen, and unknown keys are a spec error.

    `judged` names the parameters a check's judge compares its measurement with
    (thresholds, counts): changing only those re-judges a kept measurement, with no need to
    execute the notebook again (see `grader.rescore`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    judged: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True)
class HiddenCall:
    """Arguments for one call of a notebook function, and what the grader knows about them
    (e.g. the files it put in a source folder), kept in the grader's process."""

    args: list[Any]
    known: Any = None


class FunctionParams(Params):
    """Parameters of a check that calls a notebook function on hidden inputs at collect time.

    `hidden_calls` runs in the grader just before the collect step, with a fresh random
    generator and a fresh folder the kernel has not seen; `kind` says what to export of the
    returned value (see `grader.harness.calls`).
    """

    kind: ClassVar[Literal["model", "value", "none"]] = "value"
    function: str

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        return None

    def hidden_calls(self, rng: np.random.Generator, folder: Path) -> list[HiddenCall]:
        raise NotImplementedError


@dataclass(frozen=True)
class CheckDef:
    """A check. With a `judge`, `function` only measures (returning a JSON-able dict) and
    the judge decides: the measurement is kept, so a new threshold is judged without a run.

    `reads_training`: the verdict depends on how far the notebook's training went (epochs
    run, accuracy reached, weights moved), not only on what the notebook built.
    """

    name: str
    title: str
    function: CheckFunction
    params: type[Params]
    judge: JudgeFunction | None = None
    reads_training: bool = False


_REGISTRY: dict[str, CheckDef] = {}


def check(
    name: str,
    params: type[Params],
    title: str,
    judge: JudgeFunction | None = None,
    *,
    reads_training: bool = False,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register `function` under `name`, the word specs use for it; `title` labels results."""

    def register(function: CheckFunction) -> CheckFunction:
        if name in _REGISTRY:
            raise ValueError(f"check {name!r} registered twice")
        if judge is None and params.judged:
            raise ValueError(f"check {name!r} has judged parameters but no judge")
        _REGISTRY[name] = CheckDef(name, title, function, params, judge, reads_training)
        return function

    return register


def _load_families() -> None:
    for module in _FAMILIES:
        importlib.import_module(module)


def get_check(name: str) -> CheckDef | None:
    _load_families()
    return _REGISTRY.get(name)


def all_checks() -> dict[str, CheckDef]:
    _load_families()
    return dict(sorted(_REGISTRY.items()))
