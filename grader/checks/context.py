"""What a check may look at: artifacts the grader loads itself, and the grader's own data."""

from __future__ import annotations

import contextlib
import difflib
import re
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.artifacts import Artifacts, CallArtifact, inside
from grader.checks.layers import describe_layers, layer_differences
from grader.checks.legacy import load_keras2_model
from grader.checks.registry import FunctionParams, HiddenCall
from grader.datasets import PreparedData
from grader.keras_import import import_keras
from grader.outcomes import CheckFailed, CheckSkipped, NotAttempted, SubmissionError
from grader.results import CellResult, Evaluation, FitRecord, LayerRow


@dataclass
class Submission:
    """Everything checks share for one graded notebook; loaded models are cached here."""

    artifacts: Artifacts | None
    cells: tuple[CellResult, ...]
    data: dict[str, PreparedData]
    profile: str
    problems: tuple[str, ...] = ()
    hidden: dict[str, list[HiddenCall]] = field(default_factory=dict)
    _models: dict[str, Any] = field(default_factory=dict)
    _layers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    matches: dict[str, str | None] = field(default_factory=dict)
    claimed: frozenset[str] = frozenset()  # the variables the spec names, models and data
    renamed: dict[str, str] = field(default_factory=dict)  # a data variable → the global used

    def load_file_model(self, path: Any, what: str) -> Any:
        """Load a `.keras` file the grader collected, safely; failures skip the check."""
        keras = import_keras()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if Path(path).suffix == ".h5":  # Keras 2 models: see `legacy`
                    return load_keras2_model(keras, Path(path))
                return keras.models.load_model(path, safe_mode=True, compile=True)
        except Exception as error:
            raise CheckSkipped(
                f"{what} could not be loaded safely: {type(error).__name__}: {error}",
                hint="Lambda layers and custom code cannot be graded; use standard Keras layers.",
            ) from None

    def describe(self, name: str) -> list[dict[str, Any]]:
        """The layers of an exported model, as specs name them (cached)."""
        if name not in self._layers:
            self._layers[name] = describe_layers(self.load_model(name))
        return self._layers[name]

    def load_model(self, name: str) -> Any:
        if name not in self._models:
            self._models[name] = self._load(name)
        return self._models[name]

    def _load(self, name: str) -> Any:
        artifact = self.artifacts.models[name] if self.artifacts else None
        if artifact is None or artifact.path is None:
            detail = artifact.error if artifact else "not exported"
            raise CheckSkipped(
                f"the model `{name}` could not be saved: {detail}",
                hint="build the model from standard Keras layers (no Lambda).",
            )
        return self.load_file_model(artifact.path, f"the model `{name}`")

    def missing(self, what: str, name: str) -> Exception:
        """The outcome for an absent variable: blame a failing cell that mentions it, if any."""
        if self.artifacts is None:
            reason = "; ".join(self.problems) or "the notebook did not finish"
            return CheckSkipped(f"nothing was collected from the notebook: {reason}")
        for cell in self.cells:
            if cell.error and cell.status != "not_run" and re.search(rf"\b{name}\b", cell.source):
                return SubmissionError(
                    f"{what} `{name}` is missing because cell {cell.index} raised "
                    f"{cell.error.ename}: {cell.error.evalue}",
                    cell=cell.index,
                    hint=f"fix cell {cell.index}; the checks that need `{name}` run once it works.",
                )
        return CheckSkipped(
            f"{what} `{name}` was not found in the notebook",
            hint=f"keep the starter's name `{name}` for it.",
        )


@dataclass
class CheckContext:
    """The view of one check: its step's model variable and the shared submission."""

    submission: Submission
    step_model: str | None
    layer_spec: list[dict[str, Any]] | None = None
    check_id: str = ""
    notes: list[str] = field(default_factory=list)
    evaluation: Evaluation | None = None  # set by checks that score a classifier
    layers: tuple[LayerRow, ...] = ()  # set by the layers check: the model beside the task

    @property
    def profile(self) -> str:
        return self.submission.profile

    def model_name(self) -> str:
        """The variable holding this step's model, matched by structure when renamed.

        A step whose variable is still `None` (the starter's placeholder) was not attempted:
        nothing is borrowed for it. A renamed model is looked for only among the models no
        step of the spec names and no other step has matched, so one model is never graded
        twice under two steps."""
        if self.step_model is None:
            raise ValueError("this check needs `model:` on its step in the spec")
        submission = self.submission
        artifacts = submission.artifacts
        if artifacts and self.step_model in artifacts.models:
            return self.step_model
        if artifacts and self.step_model in artifacts.unset:
            raise NotAttempted(
                f"not attempted: `{self.step_model}` is None",
                hint=f"build this step's model and assign it to `{self.step_model}`.",
            )
        if self.step_model not in submission.matches:
            submission.matches[self.step_model] = self._match()
        match = submission.matches[self.step_model]
        if match is None:
            raise submission.missing("the model", self.step_model)
        self.notes.append(f"matched model variable `{match}` (no `{self.step_model}` found)")
        return match

    def model(self) -> Any:
        return self.submission.load_model(self.model_name())

    def _candidates(self) -> list[str]:
        """Exported models that may stand for this step's: not named by any step of the spec
        (those are graded under their own names), not matched to another step already."""
        artifacts = self.submission.artifacts
        if artifacts is None:
            return []
        taken = set(self.submission.claimed) | {
            alias
            for name in self.submission.matches.values()
            if name is not None
            for alias in artifacts.models[name].aliases
        }
        return [
            name
            for name, artifact in artifacts.models.items()
            if not taken.intersection(artifact.aliases)
        ]

    def match_model(self, fits: Callable[[Any], bool]) -> None:
        """When the notebook has no variable of the step's name, match the candidate that
        `fits` (the most trained first), for checks that know a model by what it is (a
        pretrained base, a dense network) rather than by a layer list; the step's checks then
        grade it, and the report names it."""
        artifacts, wanted = self.submission.artifacts, self.step_model
        if artifacts is None or wanted is None or wanted in {*artifacts.models, *artifacts.unset}:
            return
        if self.submission.matches.get(wanted) is not None:
            return
        trained = Counter(name for fit in artifacts.fits for name in fit.variables)
        for name in sorted(self._candidates(), key=lambda n: (-trained[n], n.startswith("_"), n)):
            try:
                model = self.submission.load_model(name)
            except CheckSkipped:
                continue
            if fits(model):
                self.submission.matches[wanted] = name
                return

    def _match(self) -> str | None:
        if self.layer_spec:
            return self._match_by_structure()
        return self._only_trained_candidate()

    def _only_trained_candidate(self) -> str | None:
        """Without a layer list to compare, a renamed model is the one trained model left."""
        artifacts = self.submission.artifacts
        if artifacts is None:
            return None
        trained = {name for fit in artifacts.fits for name in fit.variables}
        files = {artifacts.models[n].path for n in self._candidates() if n in trained}
        if len(files) != 1:
            return None
        return next(n for n in self._candidates() if n in trained)

    def _match_by_structure(self) -> str | None:
        """The candidate closest to the step's layer list: fewest differing layers and
        attributes first, then the most similar type sequence, then one that was trained;
        None when nothing is close."""
        artifacts = self.submission.artifacts
        if not (artifacts and self.layer_spec):
            return None
        wanted = [layer["type"] for layer in self.layer_spec]
        trained = {name for fit in artifacts.fits for name in fit.variables}
        ranked = []
        for name in self._candidates():
            try:
                found = self.submission.describe(name)
            except CheckSkipped:
                continue
            similarity = difflib.SequenceMatcher(a=wanted, b=[f["type"] for f in found]).ratio()
            if similarity >= 0.75:
                differences = len(layer_differences(self.layer_spec, found))
                ranked.append((differences, -similarity, name not in trained, name))
        return min(ranked)[-1] if ranked else None

    def fits(self) -> list[FitRecord]:
        name = self.model_name()
        artifacts = self.submission.artifacts
        return [f for f in artifacts.fits if name in f.variables] if artifacts else []

    def variable(
        self, name: str, accepts: Callable[[np.ndarray], bool] | None = None
    ) -> np.ndarray:
        """The notebook's variable `name`; when it is absent and `accepts` is given, the one
        other global whose content `accepts` (the student renamed it), said in a note."""
        artifacts = self.submission.artifacts
        entry = artifacts.variables.get(name) if artifacts else None
        if (entry is None or not entry.present) and accepts is not None:
            found = self._renamed_variable(name, accepts)
            if found is not None:
                self.notes.append(f"used `{found[0]}` (no `{name}` found)")
                return found[1]
        if entry is None or not entry.present:
            raise self.submission.missing("the variable", name)
        if entry.type == "NoneType":
            raise NotAttempted(
                f"not attempted: `{name}` is None",
                hint=f"compute `{name}` as the step asks.",
            )
        if entry.path is None:
            raise CheckSkipped(
                f"`{name}` is a {entry.type}, not an array of numbers",
                hint=f"make `{name}` a NumPy array.",
            )
        return np.load(entry.path, allow_pickle=False)

    def _renamed_variable(
        self, name: str, accepts: Callable[[np.ndarray], bool]
    ) -> tuple[str, np.ndarray] | None:
        """The exported global that `accepts` takes for `name`: none of the names the spec
        gives, none used for another variable already; several different ones are ambiguous
        (e.g. predictions before and after training), and none is taken then."""
        artifacts = self.submission.artifacts
        if artifacts is None:
            return None
        chosen = self.submission.renamed.get(name)
        if chosen is not None:  # another check of the same variable chose it already
            entry = artifacts.candidates[chosen]
            return (chosen, np.load(entry.path, allow_pickle=False)) if entry.path else None
        taken = set(self.submission.claimed) | set(self.submission.renamed.values())
        passing = []
        for candidate, entry in artifacts.candidates.items():
            if candidate in taken or entry.path is None:
                continue
            value = np.load(entry.path, allow_pickle=False)
            with contextlib.suppress(Exception):  # a check's test on an odd array: not it
                if accepts(value):
                    passing.append((candidate, value))
        distinct = {value.tobytes() + str(value.shape).encode() for _, value in passing}
        if len(distinct) != 1:
            return None
        chosen = max(passing, key=lambda p: difflib.SequenceMatcher(a=name, b=p[0]).ratio())
        self.submission.renamed[name] = chosen[0]
        return chosen

    def calls(self) -> tuple[CallArtifact, ...]:
        """This check's calls of a notebook function on hidden arguments."""
        artifacts = self.submission.artifacts
        if artifacts is None:
            raise self.submission.missing("the function", "?")
        return artifacts.calls.get(self.check_id, ())

    def function_calls(self, params: FunctionParams) -> list[tuple[HiddenCall, CallArtifact]]:
        """This check's calls, each with what the grader knows of its hidden inputs; raises
        when the function was never called or is not in the notebook."""
        calls = self.calls()
        if not calls:
            raise CheckSkipped(f"`{params.function}` was not called: the notebook did not finish")
        found = calls[0].function
        if found is None:
            raise self.submission.missing("the function", params.function)
        if found != params.function:
            self.notes.append(f"graded `{found}` as `{params.function}`")
        return list(zip(self.submission.hidden.get(self.check_id, []), calls, strict=False))

    def artifact_file(self, relative: str | None) -> Any:
        artifacts = self.submission.artifacts
        return inside(artifacts.root, relative) if artifacts else None

    def file(self, name: str) -> Any:
        """A file the notebook was asked to write, as collected; skipped when absent."""
        artifacts = self.submission.artifacts
        path = artifacts.files.get(name) if artifacts else None
        if path is None:
            raise CheckSkipped(
                f"the file `{name}` was not written by the notebook",
                hint=f"save it under exactly this name: `{name}`.",
            )
        return path

    def dataset(self, name: str) -> PreparedData:
        return self.submission.data[name]


def raise_on_error(function: str, args: list[Any], call: CallArtifact) -> None:
    """A call of a notebook function that raised fails its check, with the error."""
    if call.error is not None:
        shown = ", ".join(map(repr, args))
        raise CheckFailed(
            f"Expected {function}({shown}) to run, received an error: {call.error}.",
            expected="no error",
            received=call.error,
            hint=f"run {function} on other inputs than the task's; it must not depend on "
            "global variables or hard-coded paths.",
        )
