"""Reading what the collect cell wrote: a manifest, `.keras` models, fits, variables."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.harness.export import MANIFEST
from grader.results import EpochRecord, FitRecord


@dataclass(frozen=True)
class ModelArtifact:
    name: str
    path: Path | None
    error: str | None
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class VariableArtifact:
    name: str
    present: bool
    type: str | None
    path: Path | None


@dataclass(frozen=True)
class CallArtifact:
    """One call of a notebook function on hidden arguments: the function found, what it
    printed, and the model it made or the description of the value it returned, or the error."""

    args: tuple[object, ...]
    path: Path | None
    error: str | None
    function: str | None = None
    printed: str = ""
    value: dict[str, Any] | None = None


@dataclass(frozen=True)
class Artifacts:
    root: Path
    models: dict[str, ModelArtifact] = field(default_factory=dict)
    fits: tuple[FitRecord, ...] = ()
    variables: dict[str, VariableArtifact] = field(default_factory=dict)
    candidates: dict[str, VariableArtifact] = field(default_factory=dict)  # for renamed ones
    globals: tuple[str, ...] = ()
    unset: tuple[str, ...] = ()  # globals still `None`, as the starter leaves them
    environment: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, tuple[CallArtifact, ...]] = field(default_factory=dict)
    files: dict[str, Path | None] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def read_artifacts(root: Path) -> Artifacts | None:
    """The collected artifacts, or None when the collect step never finished."""
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        return None
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return Artifacts(
        root=root,
        models={n: _model(root, n, e) for n, e in manifest["models"].items()},
        fits=tuple(_fit(entry) for entry in manifest["fits"]),
        variables={n: _variable(root, n, e) for n, e in manifest["variables"].items()},
        candidates={n: _variable(root, n, e) for n, e in manifest.get("candidates", {}).items()},
        globals=tuple(manifest["globals"]),
        unset=tuple(str(name) for name in manifest.get("unset", [])),
        environment=manifest.get("environment", {}),
        calls={
            check: tuple(_call(root, entry) for entry in entries)
            for check, entries in manifest.get("calls", {}).items()
        },
        files={name: _inside(root, rel) for name, rel in manifest.get("files", {}).items()},
        notes=tuple(str(note) for note in manifest.get("notes", [])),
    )


def _call(root: Path, entry: dict[str, Any]) -> CallArtifact:
    return CallArtifact(
        tuple(entry["args"]),
        _inside(root, entry.get("file")),
        entry.get("error"),
        entry.get("function"),
        entry.get("printed") or "",
        entry.get("value"),
    )


def inside(root: Path, relative: str | None) -> Path | None:
    """A file the collect step wrote, if it is really inside the artifact folder."""
    return _inside(root, relative)


def _inside(root: Path, relative: str | None) -> Path | None:
    if relative is None:
        return None
    path = (root / relative).resolve()
    return path if path.is_relative_to(root.resolve()) and path.is_file() else None


def _model(root: Path, name: str, entry: dict[str, Any]) -> ModelArtifact:
    path = _inside(root, entry.get("file"))
    return ModelArtifact(name, path, entry.get("error"), tuple(entry.get("aliases", [name])))


def _variable(root: Path, name: str, entry: dict[str, Any]) -> VariableArtifact:
    return VariableArtifact(
        name, bool(entry.get("present")), entry.get("type"), _inside(root, entry.get("file"))
    )


def _fit(entry: dict[str, Any]) -> FitRecord:
    variables = entry.get("variables") or [entry["model_name"]]
    epochs = tuple(
        EpochRecord(int(e["epoch"]), float(e["seconds"]), dict(e["metrics"]))
        for e in entry["epochs"]
    )
    return FitRecord(
        model=variables[0],
        model_name=entry["model_name"],
        epochs_requested=int(entry["epochs_requested"]),
        epochs_cap=entry.get("epochs_cap"),
        has_validation=bool(entry["has_validation"]),
        batch_size=entry.get("batch_size"),
        epochs=epochs,
        variables=tuple(entry.get("variables") or ()),
        samples_cap=entry.get("samples_cap"),
        trainable_params=entry.get("trainable_params"),
        total_params=entry.get("total_params"),
        trainable_layers=tuple(entry.get("trainable_layers") or ()),
        learning_rate=entry.get("learning_rate"),
        input_max=_number(entry.get("input_max")),
        first_layer=entry.get("first_layer") if isinstance(entry.get("first_layer"), str) else None,
    )


def _number(value: object) -> float | None:
    """A number the kernel wrote, or None for anything else."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
