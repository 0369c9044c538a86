"""Describing a loaded model's layers in the vocabulary specs use, and diffing the two."""

from __future__ import annotations

import difflib
import itertools
from typing import Any

from grader.results import LayerRow

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

    A layer that only applies an activation (`Activation`, `ReLU()`, `Softmax()`, ...) right
    after a layer without one is folded into it, also across a batch normalisation between
    them (Conv → BN → ReLU, the original placement): `Conv2D(5, 3, activation="relu")`,
    `Conv2D(5, 3)` + `ReLU()` and `Conv2D(5, 3)` + `BatchNormalization()` + `ReLU()` read as a
    ReLU convolution (followed by the normalisation in the last case).
    """
    described: list[dict[str, Any]] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":  # functional models list their inputs
            continue
        config = layer.get_config()
        applied = activation_applied(kind, config)
        target = _linear_before(described) if applied else None
        if target is not None:
            target["activation"] = applied
            target["name"] = f"{target['name']}+{layer.name}"
            continue
        entry = {"type": kind, "name": layer.name}
        entry |= {k: _plain(config[k]) for k in _ATTRIBUTES if k in config}
        entry["params"] = int(layer.count_params())
        described.append(entry)
    return described


def activation_applied(kind: str, config: dict[str, Any]) -> str | None:
    """The activation a layer that does nothing else applies, by the name `activation=`
    would give it; None for every other layer."""
    if kind == "Activation":
        return str(_plain(config["activation"]))
    if kind == "ReLU":
        leaky = config.get("negative_slope") or config.get("threshold")
        if leaky:
            return "leaky_relu"
        return "relu6" if config.get("max_value") == 6 else "relu"
    return _ACTIVATION_LAYERS.get(kind)


_ACTIVATION_LAYERS = {
    "Softmax": "softmax",
    "LeakyReLU": "leaky_relu",
    "ELU": "elu",
    "PReLU": "prelu",
}


def _linear_before(described: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The layer an activation layer completes: the last one if it has no activation of its
    own, or the one before a batch normalisation that follows it."""
    for entry in reversed(described[-2:]):
        if entry.get("activation") == "linear":
            return entry
        if entry["type"] != "BatchNormalization":
            return None
    return None


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
    """Human sentences for every difference, in model order; empty when they match.

    The two type sequences are aligned first; layers that line up are then compared
    attribute by attribute, so a missing layer does not hide a wrong pool size elsewhere.
    """
    types_wanted = [w["type"] for w in wanted]
    types_found = [f["type"] for f in found]
    matcher = difflib.SequenceMatcher(a=types_wanted, b=types_found, autojunk=False)
    problems = []
    for tag, w1, w2, f1, f2 in matcher.get_opcodes():
        if tag == "equal":
            pairs = zip(wanted[w1:w2], found[f1:f2], range(f1 + 1, f2 + 1), strict=True)
            problems += [
                p for w, f, position in pairs for p in _attribute_differences(w, f, position)
            ]
            continue
        if tag in ("delete", "replace"):
            after = f"after layer {f1} ({types_found[f1 - 1]})" if f1 else "first"
            problems.append(f"missing {', '.join(types_wanted[w1:w2])}: add it {after}")
        if tag in ("insert", "replace"):
            extra = ", ".join(types_found[f1:f2])
            problems.append(f"unexpected {extra} at position {f1 + 1}: remove it")
    return problems


def _attribute_differences(
    wanted: dict[str, Any], found: dict[str, Any], position: int
) -> list[str]:
    return [
        f"layer {position} ({found['type']} `{found['name']}`): {key} is {found.get(key)!r}; "
        f"the task asks for {value!r}"
        for key, value in wanted.items()
        if key != "type" and not same_value(value, found.get(key))
    ]


def layer_table(wanted: list[dict[str, Any]], found: list[dict[str, Any]]) -> tuple[LayerRow, ...]:
    """The model's layers beside the task's, aligned as `layer_differences` aligns them,
    in the style of `model.summary()`: one row per layer, the differing ones marked."""
    types_wanted = [w["type"] for w in wanted]
    types_found = [f["type"] for f in found]
    matcher = difflib.SequenceMatcher(a=types_wanted, b=types_found, autojunk=False)
    rows: list[LayerRow] = []
    for tag, w1, w2, f1, f2 in matcher.get_opcodes():
        pairs = itertools.zip_longest(wanted[w1:w2], found[f1:f2])
        for w, f in pairs:
            differs = tag != "equal" or bool(_attribute_differences(w, f, 0))
            rows.append(
                LayerRow(
                    expected=_layer_text(w) if w else None,
                    received=_layer_text(f, named=True) if f else None,
                    params=f.get("params") if f else None,
                    differs=differs,
                )
            )
    return tuple(rows)


def _layer_text(layer: dict[str, Any], named: bool = False) -> str:
    name = f" `{layer['name']}`" if named and "name" in layer else ""
    attributes = [f"{k}={_short(v)}" for k, v in layer.items() if k in _ATTRIBUTES]
    return " ".join([f"{layer['type']}{name}", *attributes])


def _short(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "×".join(_short(v) for v in value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)
