"""Describing a loaded model's layers in the vocabulary specs use, and diffing the two."""

from __future__ import annotations

import difflib
from typing import Any

_ATTRIBUTES = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "activation",
    "pool_size",
    "units",
    "rate",
    "scale",
    "offset",
)


def describe_layers(model: Any) -> list[dict[str, Any]]:
    """One dict per layer with its type and the attributes a spec can name.

    A separate `Activation` layer right after a layer without one is folded into it, so
    `Conv2D(5, 3, activation="relu")` and `Conv2D(5, 3)` + `Activation("relu")` read the same.
    """
    described: list[dict[str, Any]] = []
    for layer in model.layers:
        config = layer.get_config()
        entry = {"type": type(layer).__name__, "name": layer.name}
        entry |= {k: _plain(config[k]) for k in _ATTRIBUTES if k in config}
        if (
            entry["type"] == "Activation"
            and described
            and described[-1].get("activation") == "linear"
        ):
            described[-1]["activation"] = _plain(config["activation"])
            continue
        entry["params"] = int(layer.count_params())
        described.append(entry)
    return described


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):  # a serialised activation or initializer object
        return value.get("config", {}).get("name") or value.get("class_name")
    return value


def same_value(expected: Any, received: Any) -> bool:
    if isinstance(expected, list | tuple) and isinstance(received, list | tuple):
        return len(expected) == len(received) and all(map(same_value, expected, received))
    if isinstance(expected, int | float) and isinstance(received, int | float):
        return abs(expected - received) <= 1e-4 * max(1.0, abs(expected))
    return expected == received


def layer_differences(wanted: list[dict[str, Any]], found: list[dict[str, Any]]) -> list[str]:
    """Human sentences for every difference, in model order; empty when they match."""
    types_wanted = [w["type"] for w in wanted]
    types_found = [f["type"] for f in found]
    if types_wanted != types_found:
        return _sequence_differences(types_wanted, types_found)
    problems = []
    for position, (w, f) in enumerate(zip(wanted, found, strict=True), start=1):
        for key, value in w.items():
            if key != "type" and not same_value(value, f.get(key)):
                problems.append(
                    f"layer {position} ({f['type']} `{f['name']}`): {key} is "
                    f"{f.get(key)!r}; the task asks for {value!r}"
                )
    return problems


def _sequence_differences(wanted: list[str], found: list[str]) -> list[str]:
    problems = []
    matcher = difflib.SequenceMatcher(a=wanted, b=found, autojunk=False)
    for tag, w1, w2, f1, f2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            after = f"after layer {f1} ({found[f1 - 1]})" if f1 else "first"
            problems.append(f"missing {', '.join(wanted[w1:w2])}: add it {after}")
        if tag in ("insert", "replace"):
            problems.append(f"unexpected {', '.join(found[f1:f2])} at position {f1 + 1}: remove it")
    return problems
