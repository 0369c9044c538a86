"""Calling the notebook's functions on the grader's hidden inputs, at collect time.

What a call returns is turned into a model and saved, so the grader inspects it in its own
process. A block function may return layers (a list, a Layer or a Sequential) or, in the
functional style, take a tensor first and return one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def export_calls(out: Path, calls: list[dict[str, Any]], namespace: dict[str, Any]) -> dict:
    """`calls` items: {"check", "function", "args": [[...], ...], "input_shape"}."""
    folder = out / "calls"
    folder.mkdir(exist_ok=True)
    exported: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        function = namespace.get(call["function"])
        entries = exported.setdefault(call["check"], [])
        for number, args in enumerate(call["args"], start=1):
            path = folder / f"{len(exported)}-{number}.keras"
            entries.append({"args": args, **_call_once(function, args, call, path)})
    return exported


def _call_once(function: Any, args: list[Any], call: dict[str, Any], path: Path) -> dict:
    if not callable(function):
        return {"file": None, "error": f"no function `{call['function']}` in the notebook"}
    try:
        model = _as_model(function, args, tuple(call["input_shape"]))
        model.save(path)
    except Exception as error:  # student code: any failure is the student's message
        return {"file": None, "error": f"{type(error).__name__}: {error}"}
    return {"file": f"calls/{path.name}", "error": None}


def _as_model(function: Any, args: list[Any], input_shape: tuple[int, ...]) -> Any:
    import keras

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
