"""The self-contained HTML report of one grading run: a jinja2 template fed from a GradeResult."""

from __future__ import annotations

import functools
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

import grader
from grader import atomic
from grader.report import plots
from grader.report.text import format_points, format_value
from grader.results import CellError, CellResult, FitRecord, GradeResult, grouped

TRACEBACK_LINES = 30
STATUSES: dict[str, tuple[str, str]] = {
    "passed": ("✓", "passed"),
    "failed": ("✗", "failed"),
    "skipped": ("–", "skipped"),
    "submission_error": ("!", "error in a cell"),
    "grader_error": ("⚠", "grader error"),
}
CELL_STATUSES = {"ok": "ok", "error": "error", "timeout": "timed out", "not_run": "not run"}
DATA_SOURCES = {
    "real": "real data: the dataset the task names, in full",
    "subsampled": "subsampled real data: a fixed random subset of the real dataset",
    "fixture": (
        "synthetic fixture data: generated with the real shapes, dtypes and file layout, so a "
        "correct model learns it in a few epochs; its accuracy says nothing about the real "
        "dataset"
    ),
    "none": "no dataset: the notebook's own data only",
}
VERSIONS = ("python", "tensorflow", "keras", "numpy")


@dataclass(frozen=True)
class FitView:
    """One fit with what the template shows beside it."""

    fit: FitRecord
    figures: plots.FitFigures
    columns: list[str]
    capped: bool
    has_validation_metrics: bool


def render(result: GradeResult, figures: Path | None = None) -> str:
    """The report of `result` as one self-contained HTML document; `figures` is a folder
    where drawn figures are kept, by what they show, to be reused."""
    return templates().get_template("report.html.j2").render(**_context(result, figures))


def write(result: GradeResult, path: Path, figures: Path | None = None) -> None:
    """Write the report to `path` atomically."""
    atomic.write_text(path, render(result, figures))


@functools.cache
def templates() -> Environment:
    """The jinja2 environment of every HTML page the grader writes, with its filters."""
    env = Environment(
        loader=PackageLoader("grader.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        points=format_points,
        duration=format_duration,
        value=format_value,
        metric=format_metric,
        traceback=traceback_tail,
        cell_label=cell_label,
    )
    return env


def _context(result: GradeResult, figures: Path | None) -> dict[str, Any]:
    counts = Counter(c.status for c in result.checks)
    return {
        "result": result,
        "score": result.score,
        "verdict": _verdict(result),
        "counts": [(status, counts[status]) for status in STATUSES if counts[status]],
        "statuses": STATUSES,
        "cell_statuses": CELL_STATUSES,
        "data_source": DATA_SOURCES.get(result.data_source, result.data_source),
        "versions": [(name, result.environment.get(name) or "unknown") for name in VERSIONS],
        "cells": {cell.index: cell for cell in result.cells},
        "fits": _fit_views(result.fits, figures),
        "smoothing_window": plots.SMOOTHING_WINDOW,
        "best_epoch_label": plots.BEST_EPOCH_LABEL,
        "version": grader.__version__,
        "grouped": grouped,
    }


def _verdict(result: GradeResult) -> str:
    if result.score is None:
        return "withheld"
    return "pass" if result.passed else "fail"


def _fit_views(fits: tuple[FitRecord, ...], figures: Path | None) -> list[FitView]:
    return [
        FitView(
            fit=fit,
            figures=drawn,
            columns=_metric_columns(fit),
            capped=fit.epochs_cap is not None and fit.epochs_cap < fit.epochs_requested,
            has_validation_metrics=bool(fit.metric("val_loss")),
        )
        for fit, drawn in zip(fits, plots.fit_figures(fits, figures), strict=True)
    ]


def _metric_columns(fit: FitRecord) -> list[str]:
    """Metric names in first-seen order, training metrics before their `val_` twins."""
    names = list(dict.fromkeys(name for epoch in fit.epochs for name in epoch.metrics))
    return sorted(names, key=lambda name: name.startswith("val_"))


def format_duration(seconds: float | None) -> str:
    """Human wall time: "0.42 s", "12.3 s", "2 min 05 s", "1 h 02 min"."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def format_metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def traceback_tail(error: CellError, limit: int = TRACEBACK_LINES) -> str:
    """The last `limit` lines of a traceback, with a note of how many were left out."""
    lines = "\n".join(error.traceback).splitlines()
    if len(lines) <= limit:
        return "\n".join(lines)
    return "\n".join([f"… {len(lines) - limit} earlier lines left out …", *lines[-limit:]])


def cell_label(cell: CellResult) -> str:
    return cell.first_line.strip() or "(empty cell)"
