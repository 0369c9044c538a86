"""Recording every `fit`: per-epoch logs and wall times, with epochs capped by the profile."""

from __future__ import annotations

import functools
import inspect
import time
from typing import Any


class FitRecorder:
    """Wraps `keras.Model.fit`; keeps a record per call and every model that was trained."""

    def __init__(
        self, max_epochs: int | None, caps_by_size: list[tuple[int, int]] | None = None
    ) -> None:
        self.max_epochs = max_epochs
        self.caps_by_size = sorted(caps_by_size or [])
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
        record = self._start_record(model, arguments)
        arguments["epochs"] = self._capped(arguments, record["epochs_cap"])
        callbacks = list(arguments.get("callbacks") or [])
        arguments["callbacks"] = [*callbacks, _epoch_logger(record)]
        return original(*bound.args, **bound.kwargs)

    def _start_record(self, model: Any, arguments: dict[str, Any]) -> dict[str, Any]:
        self.models[id(model)] = model
        record = {
            "id": len(self.fits) + 1,
            "model_id": id(model),
            "model_name": getattr(model, "name", type(model).__name__),
            "epochs_requested": int(arguments.get("epochs", 1)),
            "epochs_cap": self._cap_for(model),
            "batch_size": arguments.get("batch_size"),
            "has_validation": arguments.get("validation_data") is not None
            or bool(arguments.get("validation_split")),
            "epochs": [],
        }
        self.fits.append(record)
        return record

    def _cap_for(self, model: Any) -> int | None:
        """The profile's epoch cap; larger models may get a smaller one (`caps_by_size`)."""
        cap = self.max_epochs
        try:
            size = int(model.count_params())
        except ValueError:  # not built yet: only the general cap applies
            return cap
        for min_params, size_cap in self.caps_by_size:
            if size >= min_params:
                cap = size_cap if cap is None else min(cap, size_cap)
        return cap

    @staticmethod
    def _capped(arguments: dict[str, Any], cap: int | None) -> int:
        epochs = int(arguments.get("epochs", 1))
        if cap is None:
            return epochs
        return min(epochs, int(arguments.get("initial_epoch", 0)) + cap)


def _epoch_logger(record: dict[str, Any]) -> Any:
    import keras

    class EpochLogger(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seconds = time.perf_counter() - self.started
            metrics = {k: float(v) for k, v in (logs or {}).items() if _is_number(v)}
            record["epochs"].append({"epoch": epoch + 1, "seconds": seconds, "metrics": metrics})

    return EpochLogger()


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
