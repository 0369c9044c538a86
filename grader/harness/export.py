"""The collect step: models as `.keras` files, fits and variables as JSON/NumPy, one manifest."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

from grader.harness.calls import export_calls
from grader.harness.flavour import is_model, save_model

MANIFEST = "manifest.json"


def export_all(
    arguments: dict[str, Any], namespace: dict[str, Any], recorder: Any, notes: list[str]
) -> None:
    out = Path(arguments["out_dir"])
    (out / "models").mkdir(parents=True, exist_ok=True)
    (out / "variables").mkdir(exist_ok=True)
    models, names_by_id = _export_models(out, namespace, recorder.models)
    manifest = {
        "models": models,
        "fits": [_fit_entry(fit, names_by_id) for fit in recorder.fits],
        "variables": {n: _export_variable(out, n, namespace) for n in arguments["variables"]},
        "candidates": _export_candidates(out, namespace, arguments["variables"]),
        "calls": export_calls(out, arguments.get("calls", []), namespace),
        "files": _copy_files(out, arguments.get("files", [])),
        "globals": sorted(n for n in namespace if not n.startswith("_")),
        "unset": sorted(n for n, v in namespace.items() if v is None and not n.startswith("_")),
        "notes": notes,
        "environment": _environment(),
    }
    partial = out / f"{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
    os.replace(partial, out / MANIFEST)


def _export_models(
    out: Path, namespace: dict[str, Any], trained: dict[int, Any]
) -> tuple[dict[str, Any], dict[int, list[str]]]:
    """Save each distinct model once; every name it goes by becomes an alias of the file.

    Models that were trained but are no longer bound to any name (a reused `model`
    variable) are kept as `_trained_<n>`, so every step can still be matched to one.
    """
    names_by_id: dict[int, list[str]] = {}
    objects: dict[int, Any] = {}
    for name, model in [*_named_models(namespace), *_unnamed(trained)]:
        if name.startswith("_trained_") and id(model) in names_by_id:
            continue
        names_by_id.setdefault(id(model), []).append(name)
        objects[id(model)] = model
    models = {}
    for number, (model_id, names) in enumerate(names_by_id.items(), start=1):
        entry = _save_model(objects[model_id], out / "models" / f"model_{number}")
        models.update({name: {**entry, "aliases": names} for name in names})
    return models, names_by_id


def _named_models(namespace: dict[str, Any]) -> list[tuple[str, Any]]:
    """Models in the globals, and inside dicts, lists and tuples one level down."""
    found = []
    for name, value in namespace.items():
        if name.startswith("_"):
            continue
        if is_model(value):
            found.append((name, value))
        elif isinstance(value, dict):
            found += [(f"{name}[{k!r}]", v) for k, v in value.items() if is_model(v)]
        elif isinstance(value, list | tuple):
            found += [(f"{name}[{i}]", v) for i, v in enumerate(value) if is_model(v)]
    return found


def _unnamed(trained: dict[int, Any]) -> list[tuple[str, Any]]:
    return [(f"_trained_{n}", model) for n, model in enumerate(trained.values(), start=1)]


def _copy_files(out: Path, names: list[str]) -> dict[str, str | None]:
    """Files the notebook was asked to write (e.g. a saved model), copied for the grader."""
    (out / "files").mkdir(exist_ok=True)
    copied: dict[str, str | None] = {}
    for name in names:
        source = Path(name)
        if source.is_file() and not source.is_symlink():
            shutil.copyfile(source, out / "files" / source.name)
            copied[name] = f"files/{source.name}"
        else:
            copied[name] = None
    return copied


def _save_model(model: Any, stem: Path) -> dict[str, Any]:
    try:
        path = save_model(model, stem)
    except Exception as error:  # student models can be unsaveable in many ways
        return {"file": None, "error": f"{type(error).__name__}: {error}"}
    return {"file": str(path.relative_to(stem.parent.parent)), "error": None}


def _fit_entry(fit: dict[str, Any], names_by_id: dict[int, list[str]]) -> dict[str, Any]:
    names = names_by_id.get(fit["model_id"], [])
    return {**{k: v for k, v in fit.items() if k != "model_id"}, "variables": names}


def _export_variable(out: Path, name: str, namespace: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    if name not in namespace:
        return {"present": False}
    value = namespace[name]
    entry: dict[str, Any] = {"present": True, "type": type(value).__name__}
    try:
        array = np.asarray(value)
    except Exception:
        return entry
    if array.dtype.kind in "biuf":
        np.save(out / "variables" / f"{name}.npy", array, allow_pickle=False)
        entry["file"] = f"variables/{name}.npy"
    return entry


# Arrays exported as candidates for a renamed variable: at most this many elements each, and
# this many bytes in all (a full-size dataset is not copied twice).
_CANDIDATE_ELEMENTS = 20_000_000
_CANDIDATE_BYTES = 400_000_000


def _export_candidates(out: Path, namespace: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """When a variable the checks want is absent, every other numeric global (arrays, tensors,
    numbers) is exported, for the checks to find the renamed one by its content."""
    import numpy as np

    if all(name in namespace for name in wanted):
        return {}
    (out / "candidates").mkdir(exist_ok=True)
    found, spent = {}, 0
    for name, value in sorted(namespace.items()):
        if name.startswith("_") or name in wanted or not _numeric(value):
            continue
        try:
            array = np.asarray(value)
        except Exception:
            continue
        if array.dtype.kind not in "biuf" or array.size > _CANDIDATE_ELEMENTS:
            continue
        spent += array.nbytes
        if spent > _CANDIDATE_BYTES:
            break
        file = f"candidates/{name}.npy"
        np.save(out / file, array, allow_pickle=False)
        found[name] = {"present": True, "type": type(value).__name__, "file": file}
    return found


def _numeric(value: Any) -> bool:
    """An array, a tensor or a number: what a data variable can be (not a module or model)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, type)


def _environment() -> dict[str, Any]:
    """Versions as installed (a notebook without TensorFlow need not import it for this);
    the GPUs only when TensorFlow is loaded."""
    tf = sys.modules.get("tensorflow")
    names, peaks = [], []
    if tf is not None:
        gpus = tf.config.list_physical_devices("GPU")
        details = tf.config.experimental.get_device_details
        names = [details(g).get("device_name", g.name) for g in gpus]
        peaks = [_peak_bytes(tf, f"GPU:{number}") for number in range(len(gpus))]
    return {
        "python": platform.python_version(),
        **{name: _version(name) for name in ("tensorflow", "keras", "numpy")},
        "gpus": names,
        "gpu_peak_bytes": peaks,
    }


def _peak_bytes(tf: Any, device: str) -> int | None:
    """The most memory TensorFlow held on `device` during the run."""
    try:
        return int(tf.config.experimental.get_memory_info(device)["peak"])
    except (ValueError, RuntimeError):
        return None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
