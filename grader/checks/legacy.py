"""Reading Keras 2 (`tf-keras`) models, saved as HDF5, in the grader's process.

Keras 3 reads their layers and weights, but not their compile settings faithfully: an
optimizer stored as `Custom>RMSprop` comes back as a default RMSprop (learning rate 0.001),
and a loss given as "mse" is a Keras 2 function it cannot rebuild. So the model is loaded
without compiling and compiled here from the file's own training settings. Models Keras 3
cannot rebuild at all (a base model nested in a Sequential) are read with `tf_keras` itself,
after checking that the file names only built-in layers (a `Lambda` would run stored code).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_UNSAFE = {"Lambda"}


def load_keras2_model(keras: Any, path: Path) -> Any:
    try:
        model = keras.models.load_model(path, safe_mode=True, compile=False)
    except (ValueError, TypeError, AttributeError, KeyError):
        return _load_with_tf_keras(path)
    settings = _attribute(path, "training_config")
    if settings is not None:
        model.compile(optimizer=_optimizer(keras, settings), loss=_loss(keras, settings["loss"]))
    return model


def _attribute(path: Path, name: str) -> dict[str, Any] | None:
    import h5py

    with h5py.File(path, "r") as file:
        raw = file.attrs.get(name)
    return json.loads(raw) if raw else None


def _load_with_tf_keras(path: Path) -> Any:
    import tf_keras

    classes = _class_names(_attribute(path, "model_config") or {})
    unknown = sorted(c for c in classes if c in _UNSAFE or not _is_builtin(tf_keras, c))
    if unknown:
        raise ValueError(f"the model uses layers the grader does not load: {unknown}")
    return tf_keras.models.load_model(path, compile=True)


def _class_names(config: Any) -> set[str]:
    if isinstance(config, dict):
        found = {config["class_name"]} if isinstance(config.get("class_name"), str) else set()
        return found.union(*(_class_names(value) for value in config.values()))
    if isinstance(config, list):
        return set().union(*(_class_names(value) for value in config))
    return set()


def _is_builtin(tf_keras: Any, name: str) -> bool:
    """Layers, models, initializers, regularizers and constraints Keras itself defines."""
    modules = ("layers", "models", "initializers", "regularizers", "constraints")
    return name in ("Functional", "Sequential", "Model", "TFOpLambda") or any(
        hasattr(getattr(tf_keras, module), name) for module in modules
    )


def _loss(keras: Any, loss: Any) -> Any:
    if isinstance(loss, str):
        return loss
    if isinstance(loss, dict) and "class_name" in loss:
        config = loss.get("config", {})
        kwargs = {"from_logits": config["from_logits"]} if "from_logits" in config else {}
        return getattr(keras.losses, loss["class_name"])(**kwargs)
    return None


def _optimizer(keras: Any, settings: dict[str, Any]) -> Any:
    config = settings.get("optimizer_config") or {}
    name = str(config.get("class_name", "RMSprop")).split(">")[-1]
    values = config.get("config", {})
    kwargs = {key: values[key] for key in ("learning_rate", "momentum") if key in values}
    if not isinstance(kwargs.get("learning_rate", 0.0), int | float):
        kwargs.pop("learning_rate")  # a schedule: keep the optimizer's default
    optimizer = getattr(keras.optimizers, name, keras.optimizers.RMSprop)
    try:
        return optimizer(**kwargs)
    except TypeError:  # an optimizer without momentum
        return (
            optimizer(learning_rate=kwargs["learning_rate"])
            if "learning_rate" in kwargs
            else optimizer()
        )
