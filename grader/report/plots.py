"""Figures of the HTML report: training curves and epoch times, as PNG data URIs.

Every figure of one report is drawn on the same scales (`shared_scales`), so fits can be
compared by eye. Each curve is drawn twice: a thin line through every epoch, and a thick
trailing mean over `smoothing_window(n)` epochs (10, or a third of a shorter run; none below
6 epochs). At epoch i the mean covers the window ending at i; the first points of a curve
average the epochs there are. The epoch with the lowest validation loss gets a dashed line.

Only the object API (`Figure`) is used: no pyplot, no global state, safe in worker threads;
matplotlib is imported when a figure is drawn, not with this module.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import json
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import __version__, atomic
from grader.hashing import digest
from grader.results import FitRecord

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SMOOTHING_WINDOW = 10
BEST_EPOCH_LABEL = "lowest val loss: start of overfitting"
# Keras logs the metric under the name given to compile(); the first one present is plotted.
ACCURACY_NAMES = (
    "accuracy",
    "acc",
    "sparse_categorical_accuracy",
    "categorical_accuracy",
    "binary_accuracy",
)
TRAIN_COLOR = "#2563eb"
VALIDATION_COLOR = "#ea580c"
BEST_COLOR = "#475569"
HEADROOM = 1.05


@dataclass(frozen=True)
class Scales:
    """Axis limits shared by every figure of one report."""

    epochs: tuple[float, float]
    loss: tuple[float, float]
    accuracy: tuple[float, float]
    seconds: tuple[float, float]


@dataclass(frozen=True)
class FitFigures:
    """The figures of one fit; None when the fit has no epoch to draw."""

    curves: str | None
    epoch_times: str | None
    accuracy_metric: str | None


def shared_scales(fits: Sequence[FitRecord]) -> Scales:
    """Limits covering all fits: epochs 0..last epoch, loss 0..highest loss, accuracy 0..1.

    Loss and seconds get 5 % headroom so the highest point is not drawn on the frame; a scale
    with nothing finite to show falls back to 0..1.
    """
    epochs = [float(e.epoch) for fit in fits for e in fit.epochs]
    losses = [v for fit in fits for name in ("loss", "val_loss") for v in fit.metric(name)]
    seconds = [e.seconds for fit in fits for e in fit.epochs]
    return Scales(
        epochs=(0.0, _top(epochs, headroom=1.0)),
        loss=(0.0, _top(losses)),
        accuracy=(0.0, 1.0),
        seconds=(0.0, _top(seconds)),
    )


def _top(values: Iterable[float], headroom: float = HEADROOM) -> float:
    finite = [v for v in values if math.isfinite(v) and v > 0]
    return max(finite) * headroom if finite else 1.0


def moving_average(values: Sequence[float], window: int = SMOOTHING_WINDOW) -> list[float]:
    """Trailing mean: point i averages values[max(0, i - window + 1) : i + 1]."""
    return [
        sum(values[max(0, i - window + 1) : i + 1]) / (i + 1 - max(0, i - window + 1))
        for i in range(len(values))
    ]


def smoothing_window(epochs: int) -> int:
    """Epochs averaged by the thick line: a third of the run, at most `SMOOTHING_WINDOW`.

    A trailing mean lags behind the data by half its window; capping the window at a third of
    the run keeps short runs readable. 1 means no smoothing (runs shorter than 6 epochs).
    """
    return max(1, min(SMOOTHING_WINDOW, epochs // 3))


def accuracy_metric(fit: FitRecord) -> str | None:
    """The name under which this fit logged accuracy, or None."""
    return next((name for name in ACCURACY_NAMES if fit.metric(name)), None)


def fit_figures(fits: Sequence[FitRecord], kept: Path | None = None) -> list[FitFigures]:
    """Figures for every fit of a report, all on the same scales; with `kept`, a folder,
    figures drawn before for the same fits are read from it instead of drawn again (drawing
    is most of a report's time: a re-scored class is re-rendered in a blink)."""
    shown = _shown(fits)
    if kept is None:
        return _drawn_once(fits, shown)
    path = kept / f"{digest(shown, __version__)}.json"
    with contextlib.suppress(OSError, ValueError, TypeError):
        return [FitFigures(**figures) for figures in json.loads(path.read_text())]
    drawn = _drawn_once(fits, shown)
    atomic.write_text(path, json.dumps([asdict(figures) for figures in drawn]))
    return drawn


# The figures of the last fits drawn ahead of their report, by the fits they show.
_ahead: dict[str, list[FitFigures]] = {}


def draw_ahead(fits: Sequence[FitRecord]) -> None:
    """Draw the figures of `fits` now, while the grader waits for something else (its
    checker process); the report showing these fits takes them instead of drawing again."""
    shown = _shown(fits)
    figures = _drawn(fits)
    _ahead.clear()
    _ahead[shown] = figures


def _drawn_once(fits: Sequence[FitRecord], shown: str) -> list[FitFigures]:
    return _ahead[shown] if shown in _ahead else _drawn(fits)


def _shown(fits: Sequence[FitRecord]) -> str:
    return json.dumps([asdict(fit) for fit in fits], sort_keys=True)


def _drawn(fits: Sequence[FitRecord]) -> list[FitFigures]:
    scales = shared_scales(fits)
    return [
        FitFigures(curves_png(fit, scales), epoch_times_png(fit, scales), accuracy_metric(fit))
        for fit in fits
    ]


# matplotlib being imported ahead of the report, on a thread (see `load_ahead`).
_loading: list[threading.Thread] = []


def load_ahead() -> None:
    """Import matplotlib on a thread now (0.6 s here), while the grader waits for the
    kernel: a report drawn later does not wait for the import."""
    if not _loading:
        importing = threading.Thread(
            target=importlib.import_module, args=("matplotlib.figure",), daemon=True
        )
        importing.start()
        _loading.append(importing)


def _figure(figsize: tuple[float, float]) -> Figure:
    """A blank figure; matplotlib loads here (unless `load_ahead` loaded it), so a report
    whose figures were kept never loads it."""
    for importing in _loading:
        importing.join()
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=110, layout="constrained")


def curves_png(fit: FitRecord, scales: Scales) -> str | None:
    """Loss and accuracy panels of one fit as a PNG data URI; None without epochs."""
    if not fit.epochs:
        return None
    figure = _figure(figsize=(9.0, 3.3))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    _panel(loss_axes, fit, "loss", "Loss", scales.loss, scales)
    accuracy = accuracy_metric(fit)
    if accuracy is None:
        _empty_panel(accuracy_axes, "Accuracy", "no accuracy metric logged", scales)
    else:
        _panel(accuracy_axes, fit, accuracy, "Accuracy", scales.accuracy, scales)
    _legend(figure, [loss_axes, accuracy_axes])
    return to_data_uri(figure)


def _legend(figure: Figure, axes: Sequence[Axes]) -> None:
    """One legend above both panels, so it never hides a curve."""
    entries: dict[str, Any] = {}
    for panel in axes:
        handles, labels = panel.get_legend_handles_labels()
        entries.update(zip(labels, handles, strict=True))
    if entries:
        figure.legend(
            list(entries.values()),
            list(entries),
            loc="outside upper center",
            ncols=len(entries),
            frameon=False,
            fontsize=8,
        )


def _panel(
    axes: Axes, fit: FitRecord, metric: str, title: str, ylim: tuple[float, float], scales: Scales
) -> None:
    _frame(axes, title, ylim, scales)
    _series(axes, fit, metric, "train", TRAIN_COLOR)
    _series(axes, fit, f"val_{metric}", "validation", VALIDATION_COLOR)
    best = fit.best_validation_epoch
    if best is not None:
        axes.axvline(best, color=BEST_COLOR, linestyle="--", linewidth=1.1, label=BEST_EPOCH_LABEL)


def _series(axes: Axes, fit: FitRecord, metric: str, label: str, color: str) -> None:
    points = [(e.epoch, e.metrics[metric]) for e in fit.epochs if metric in e.metrics]
    if not points:
        return
    epochs = [p[0] for p in points]
    values = [p[1] if math.isfinite(p[1]) else math.nan for p in points]
    window = smoothing_window(len(values))
    smoothed = window > 1
    axes.plot(
        epochs,
        values,
        color=color,
        linewidth=0.9,
        alpha=0.4 if smoothed else 1.0,
        marker="o" if len(values) == 1 else None,
        markersize=3,
        label="_nolegend_" if smoothed else label,
    )
    if smoothed:
        axes.plot(epochs, moving_average(values, window), color=color, linewidth=2.0, label=label)


def _empty_panel(axes: Axes, title: str, text: str, scales: Scales) -> None:
    _frame(axes, title, scales.accuracy, scales)
    axes.text(
        0.5,
        0.5,
        text,
        transform=axes.transAxes,
        ha="center",
        va="center",
        color=BEST_COLOR,
        fontsize=9,
    )


def _frame(axes: Axes, title: str, ylim: tuple[float, float], scales: Scales) -> None:
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_xlim(*scales.epochs)
    axes.set_ylim(*ylim)
    axes.set_xlabel("epoch", fontsize=8.5)
    axes.tick_params(labelsize=8)
    axes.grid(True, color="#e2e8f0", linewidth=0.7)
    axes.spines[["top", "right"]].set_visible(False)
    axes.xaxis.get_major_locator().set_params(integer=True)


def epoch_times_png(fit: FitRecord, scales: Scales) -> str | None:
    """Bar chart of seconds per epoch as a PNG data URI; None without epochs."""
    if not fit.epochs:
        return None
    figure = _figure(figsize=(4.5, 2.2))
    axes = figure.subplots()
    _frame(axes, "Seconds per epoch", scales.seconds, scales)
    axes.set_xlim(scales.epochs[0], scales.epochs[1] + 0.6)
    axes.bar(
        [e.epoch for e in fit.epochs],
        [e.seconds for e in fit.epochs],
        width=0.8,
        color=TRAIN_COLOR,
        alpha=0.8,
    )
    mean = fit.mean_epoch_seconds
    if mean is not None:
        axes.axhline(mean, color=BEST_COLOR, linestyle=":", linewidth=1.0)
    return to_data_uri(figure)


def to_data_uri(figure: Figure) -> str:
    """Render a figure as a `data:image/png;base64,...` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor="white", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
