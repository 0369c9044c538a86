"""Calling the notebook's functions on the grader's hidden inputs, at collect time.

A function is looked up under each name the grader gives (the spec's name, the function a
`# GRADED FUNCTION` comment announces, aliases) and called positionally, so renamed
parameters still work; one that takes no parameters gets them in the globals the check
names (`arg_globals`). What it prints is captured; what it returns is exported by `kind`:

- `model`: turned into a model and saved, so the grader inspects it in its own process. A
  block function may return layers (a list, a Layer or a Sequential) or, in the functional
  style, take a tensor first and return one;
- `value`: described with `values.export_value` (arrays as `.npy`, iterators by attributes);
- `none`: only the printed output and the error matter (the grader inspects files).
"""

from __future__ import annotations

import contextlib
import inspect
import io
from pathlib import Path
from typing import Any

from grader.harness.flavour import is_model, save_model
from grader.harness.values import export_value

_MAX_PRINTED = 20_000


def export_calls(out: Path, calls: list[dict[str, Any]], namespace: dict[str, Any]) -> dict:
    folder = out / "calls"
    folder.mkdir(exist_ok=True)
    exported: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        name, function = _lookup(call["functions"], namespace)
        entries = exported.setdefault(call["check"], [])
        for number, args in enumerate(call["args"], start=1):
            stem = folder / f"{len(exported)}-{number}"
            outcome = _call_once(function, _decoded(args), call, stem)
            entries.append({"args": args, "function": name, **outcome})
    return exported


def _decoded(args: list[Any]) -> list[Any]:
    """Arrays travel as `{"npy": path}` (JSON cannot hold them); they arrive as arrays."""
    import numpy as np

    return [
        np.load(arg["npy"], allow_pickle=False) if isinstance(arg, dict) and "npy" in arg else arg
        for arg in args
    ]


def _lookup(names: list[str], namespace: dict[str, Any]) -> tuple[str | None, Any]:
    for name in names:
        if callable(namespace.get(name)):
            return name, namespace[name]
    return None, None


def _call_once(function: Any, args: list[Any], call: dict[str, Any], stem: Path) -> dict:
    if function is None:
        names = " or ".join(f"`{name}`" for name in call["functions"])
        return {"error": f"no function {names} in the notebook", "printed": ""}
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            returned = _called(function, args, call)
        exported = _exported(returned, call["kind"], stem)
    except Exception as error:  # student code: any failure is the student's message
        return {"error": f"{type(error).__name__}: {error}", "printed": _cut(printed)}
    return {"error": None, "printed": _cut(printed), **exported}


def _called(function: Any, args: list[Any], call: dict[str, Any]) -> Any:
    if call["kind"] != "model":
        return _positional_or_global(function, args, call.get("arg_globals") or [])
    return _as_model(function, args, tuple(call["input_shape"] or ()))


def _positional_or_global(function: Any, args: list[Any], names: list[str]) -> Any:
    """`function(*args)`; a function without parameters that reads its inputs from the
    notebook's globals instead (the course's 2024 `train_val_datasets()` reads TRAIN_DIR)
    gets the arguments in the globals `names`, for this call only."""
    if not names or _accepts(function, args):
        return function(*args)
    namespace = getattr(function, "__globals__", {})
    saved = {name: namespace[name] for name in names if name in namespace}
    namespace.update(zip(names, args, strict=False))
    try:
        return function()
    finally:
        for name in names:
            namespace.pop(name, None)
        namespace.update(saved)


def _accepts(function: Any, args: list[Any]) -> bool:
    try:
        inspect.signature(function).bind(*args)
    except TypeError:
        return False
    except ValueError:  # no signature (a builtin): call it and let it say
        return True
    return True


def _exported(returned: Any, kind: str, stem: Path) -> dict[str, Any]:
    if kind == "model":
        path = save_model(returned, stem)
        return {"file": f"calls/{path.name}"}
    if kind == "value":
        return {"value": export_value(returned, stem)}
    return {}


def _cut(printed: io.StringIO) -> str:
    text = printed.getvalue()
    return text if len(text) <= _MAX_PRINTED else text[:_MAX_PRINTED] + "\n[... cut]"


def _as_model(function: Any, args: list[Any], input_shape: tuple[int, ...]) -> Any:
    import keras

    if not input_shape:  # a model-building function such as `create_model()`
        returned = function(*args)
        if not is_model(returned):
            raise TypeError(f"it returned a {type(returned).__name__}, not a Keras model")
        return returned
    try:
        returned = function(*args)
    except TypeError:
        inputs = keras.Input(input_shape)
        return keras.Model(inputs, function(inputs, *args))
    if isinstance(returned, keras.Sequential):
        returned = returned.layers
    if isinstance(returned, keras.layers.Layer):
        returned = [returned]
    if not isinstance(returned, list | tuple):
        raise TypeError(f"it returned a {type(returned).__name__}, not layers or a model")
    return keras.Sequential([keras.Input(input_shape), *returned])
