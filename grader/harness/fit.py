"""Recording every `fit`: per-epoch logs and wall times, within the profile's training budget."""

from __future__ import annotations

import functools
import inspect
import time
from dataclasses import dataclass
from typing import Any

from grader.harness.flavour import keras_of


@dataclass(frozen=True)
class Budget:
    """What one `fit` may use: epochs, and (for large models) the first `max_samples` samples."""

    max_epochs: int | None = None
    max_samples: int | None = None


@dataclass(frozen=True)
class SizeRule:
    """Models with at least `min_params` parameters get this tighter budget."""

    min_params: int
    max_epochs: int
    max_samples: int | None = None


class FitRecorder:
    """Wraps `keras.Model.fit`; keeps a record per call and every model that was trained."""

    def __init__(
        self,
        max_epochs: int | None,
        rules: list[SizeRule] | None = None,
        min_steps: int | None = None,
    ) -> None:
        self.max_epochs = max_epochs
        self.rules = sorted(rules or [], key=lambda rule: rule.min_params)
        self.min_steps = min_steps
        self.fits: list[dict[str, Any]] = []
        self.models: dict[int, Any] = {}

    def patch(self, model_class: type) -> None:
        original = model_class.fit
        if getattr(original, "_grader_wrapped", False):
            return
        recorder = self

        @functools.wraps(original)
        def fit(model: Any, *args: Any, **kwargs: Any) -> Any:
            return recorder.run(original, model, args, kwargs)

        fit._grader_wrapped = True  # type: ignore[attr-defined]
        model_class.fit = fit

    def run(self, original: Any, model: Any, args: tuple, kwargs: dict[str, Any]) -> Any:
        bound = inspect.signature(original).bind(model, *args, **kwargs)
        arguments = bound.arguments
        budget = self._budget_for(model)
        _steps_within_the_data(arguments)
        if budget.max_samples is not None:
            _cut_samples(arguments, budget.max_samples)
        elif self.min_steps is not None and budget.max_epochs is not None:
            budget = _enough_steps(budget, arguments, self.min_steps)
        record = self._start_record(model, arguments, budget)
        arguments["epochs"] = _capped_epochs(arguments, budget.max_epochs)
        record["epochs_planned"] = arguments["epochs"] - int(arguments.get("initial_epoch", 0))
        callbacks = arguments.get("callbacks") or []
        # The course passes a bare callback instead of a list; Keras accepts both.
        callbacks = list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]
        arguments["callbacks"] = [*callbacks, _epoch_logger(record, keras_of(model))]
        return original(*bound.args, **bound.kwargs)

    def _start_record(
        self, model: Any, arguments: dict[str, Any], budget: Budget
    ) -> dict[str, Any]:
        self.models[id(model)] = model
        record = {
            "id": len(self.fits) + 1,
            "model_id": id(model),
            "model_name": getattr(model, "name", type(model).__name__),
            "epochs_requested": int(arguments.get("epochs", 1)),
            "epochs_cap": budget.max_epochs,
            "samples_cap": budget.max_samples,
            "batch_size": arguments.get("batch_size"),
            "has_validation": arguments.get("validation_data") is not None
            or bool(arguments.get("validation_split")),
            "input_max": _input_max(arguments.get("x")),
            "first_layer": _first_layer(model),
            "epochs": [],
        }
        self.fits.append(record)
        return record

    def _budget_for(self, model: Any) -> Budget:
        """The profile's budget; the last size rule the model reaches tightens it."""
        budget = Budget(self.max_epochs)
        try:
            size = int(model.count_params())
        except ValueError:  # not built yet: only the general cap applies
            return budget
        for rule in self.rules:
            if size >= rule.min_params:
                epochs = (
                    rule.max_epochs
                    if budget.max_epochs is None
                    else min(budget.max_epochs, rule.max_epochs)
                )
                budget = Budget(epochs, rule.max_samples)
        return budget


def _input_max(x: Any) -> float | None:
    """The largest value of array inputs (a sample of them): 255 means unscaled pixels."""
    if not _is_sliceable(x):
        return None
    try:
        import numpy as np

        return float(np.max(np.asarray(x[:512], dtype="float32")))
    except (TypeError, ValueError):
        return None


def _first_layer(model: Any) -> str | None:
    layers = [
        layer for layer in getattr(model, "layers", []) if type(layer).__name__ != "InputLayer"
    ]
    return type(layers[0]).__name__ if layers else None


def _capped_epochs(arguments: dict[str, Any], cap: int | None) -> int:
    epochs = int(arguments.get("epochs", 1))
    if cap is None:
        return epochs
    return min(epochs, int(arguments.get("initial_epoch", 0)) + cap)


def _steps_within_the_data(arguments: dict[str, Any]) -> None:
    """`steps_per_epoch=90` written for the course's 900 photos, on the grader's smaller
    sample: Keras would run out of data in the first epoch and stop training there. Steps
    are cut to the batches the iterator has (as many as one epoch of it)."""
    for data, steps in (("x", "steps_per_epoch"), ("validation_data", "validation_steps")):
        asked, source = arguments.get(steps), arguments.get(data)
        if not isinstance(asked, int) or not hasattr(source, "batch_size"):
            continue
        try:
            batches = len(source)
        except TypeError:
            continue
        if 0 < batches < asked:
            arguments[steps] = batches


def _enough_steps(budget: Budget, arguments: dict[str, Any], min_steps: int) -> Budget:
    """The epoch cap raised until the fit takes `min_steps` optimizer steps, when the number
    of steps an epoch takes can be told."""
    steps = _steps_per_epoch(arguments)
    if not steps or budget.max_epochs is None:
        return budget
    return Budget(max(budget.max_epochs, -(-min_steps // steps)), budget.max_samples)


def _steps_per_epoch(arguments: dict[str, Any]) -> int | None:
    """Batches in one epoch: as given, as a batch iterator or dataset counts them, or the
    array's rows over the batch size (Keras's default 32), less any validation split."""
    given = arguments.get("steps_per_epoch")
    if isinstance(given, int) and given > 0:
        return given
    x = arguments.get("x")
    if _is_sliceable(x):
        rows = len(x) * (1 - float(arguments.get("validation_split") or 0))
        return max(1, -(-int(rows) // int(arguments.get("batch_size") or 32)))
    cardinality = getattr(x, "cardinality", None)
    if callable(cardinality):
        try:
            count = int(cardinality())
        except (TypeError, ValueError):
            return None
        return count if count > 0 else None
    if not hasattr(x, "__len__"):
        return None
    try:
        return len(x) or None
    except TypeError:  # an iterator whose length is unknown
        return None


def _cut_samples(arguments: dict[str, Any], limit: int) -> None:
    """Train and validate on the first `limit` samples: arrays are sliced, batch iterators
    (`ImageDataGenerator.flow...`) run that many samples' worth of steps."""
    for key in ("x", "y", "sample_weight"):
        if _is_sliceable(arguments.get(key)):
            arguments[key] = arguments[key][:limit]
    validation = arguments.get("validation_data")
    if isinstance(validation, tuple) and all(_is_sliceable(part) for part in validation):
        arguments["validation_data"] = tuple(part[:limit] for part in validation)
    for data, steps in (("x", "steps_per_epoch"), ("validation_data", "validation_steps")):
        batches = _batches_for(arguments.get(data), limit)
        if batches is not None:
            arguments[steps] = min(batches, arguments.get(steps) or batches)


def _batches_for(data: Any, limit: int) -> int | None:
    size = getattr(data, "batch_size", None)
    if not isinstance(size, int) or size <= 0 or not hasattr(data, "__len__"):
        return None
    return max(1, min(len(data), -(-limit // size)))


def _is_sliceable(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "__getitem__") and len(value.shape) > 0


def _epoch_logger(record: dict[str, Any], keras: Any) -> Any:
    """A callback of the model's own Keras flavour that appends each epoch to `record`."""

    class EpochLogger(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = time.perf_counter() - self.started
            if "trainable_params" not in record:  # the model is built by now
                record.update(training_state(self.model))
            metrics = {k: float(v) for k, v in (logs or {}).items() if _is_number(v)}
            record["epochs"].append({"epoch": epoch + 1, "seconds": seconds, "metrics": metrics})
            _publish_progress(record, metrics)

    return EpochLogger()


PROGRESS_MIME = "application/vnd.grader.progress+json"  # as grader.progress reads it


def _publish_progress(record: dict[str, Any], metrics: dict[str, float]) -> None:
    """Tell the grader which epoch just ended; it shows it and keeps it out of the outputs."""
    from IPython.display import display

    done = record["epochs"]
    event = {
        "fit": record["id"],
        "epoch": len(done),
        "epochs": record.get("epochs_planned") or len(done),
        "metrics": metrics,
        "mean_seconds": sum(e["seconds"] for e in done) / len(done),
    }
    display({PROGRESS_MIME: event}, raw=True)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


_MAX_LAYER_NAMES = 400


def training_state(model: Any) -> dict[str, Any]:
    """What a training phase is: the trainable parameter count, the layers that train (inside
    nested base models too) and the optimizer's learning rate, taken while `fit` runs."""
    return {
        "trainable_params": int(sum(_size(w) for w in model.trainable_weights)),
        "total_params": int(model.count_params()),
        "trainable_layers": _trainable_layers(model)[:_MAX_LAYER_NAMES],
        "learning_rate": _learning_rate(model),
    }


def _size(weight: Any) -> int:
    size = 1
    for dimension in weight.shape:
        size *= int(dimension)
    return size


def _trainable_layers(model: Any) -> list[str]:
    names = []
    for layer in model.layers:
        if hasattr(layer, "layers"):  # a base model used as a layer
            names += _trainable_layers(layer)
        elif layer.trainable_weights:
            names.append(layer.name)
    return names


def _learning_rate(model: Any) -> float | None:
    optimizer = getattr(model, "optimizer", None)
    rate = getattr(optimizer, "learning_rate", None)
    try:
        if callable(rate):  # a schedule: its value now
            rate = rate(optimizer.iterations)
        return float(rate.numpy() if hasattr(rate, "numpy") else rate)
    except (TypeError, ValueError, AttributeError):
        return None
