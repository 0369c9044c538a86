"""Reading Keras 2 (`tf-keras`) models, saved as HDF5, into the grader's Keras 3.

Keras 3 reads their layers and weights, but not every compile setting: a loss given as the
string "mse" is stored as a Keras 2 function it cannot deserialize. Then the model is loaded
without compiling and compiled here from the file's own training settings (loss name,
`from_logits`, optimizer class and learning rate), which is all the checks look at.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_without_keras2_compile(keras: Any, path: Path) -> Any:
    model = keras.models.load_model(path, safe_mode=True, compile=False)
    settings = _training_config(path)
    if settings is not None:
        model.compile(optimizer=_optimizer(keras, settings), loss=_loss(keras, settings["loss"]))
    return model


def _training_config(path: Path) -> dict[str, Any] | None:
    import h5py

    with h5py.File(path, "r") as file:
        raw = file.attrs.get("training_config")
    return json.loads(raw) if raw else None


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
    learning_rate = config.get("config", {}).get("learning_rate")
    optimizer = getattr(keras.optimizers, name, keras.optimizers.RMSprop)
    return optimizer(learning_rate=learning_rate) if learning_rate else optimizer()
