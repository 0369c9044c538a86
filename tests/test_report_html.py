"""The HTML report: built from hand-made results, no TensorFlow and no kernel."""

from __future__ import annotations

import base64
import math
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.checks.evaluation import evaluation_of
from grader.checks.layers import layer_table
from grader.report import html, plots
from grader.results import (
    CellError,
    CellResult,
    CheckResult,
    ComparisonRow,
    EpochRecord,
    Evaluation,
    FitRecord,
    GradeResult,
)

SCRIPT = "<script>alert(1)</script>"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_fit(model: str, losses: list[float], *, validation: bool = True) -> FitRecord:
    epochs = []
    for number, loss in enumerate(losses, start=1):
        metrics = {"loss": loss, "accuracy": 1 - loss / 4}
        if validation:
            metrics |= {"val_loss": loss + 0.05 * number, "val_accuracy": 0.9 - loss / 4}
        epochs.append(EpochRecord(number, 1.0 + number / 10, metrics))
    return FitRecord(
        model=model,
        model_name=f"{model}_net",
        epochs_requested=20,
        epochs_cap=len(losses),
        has_validation=validation,
        batch_size=32,
        epochs=tuple(epochs),
        variables=(model,),
    )


def check(status: str, title: str, points: float, **fields: Any) -> CheckResult:
    values: dict[str, Any] = {
        "id": f"cnn.{title.lower().replace(' ', '_')}",
        "step": "3",
        "step_title": "Build the CNN",
        "title": title,
        "status": status,
        "points": points,
        "max_points": 2.0,
        "required": True,
        "message": f"{title}: {status}",
    }
    return CheckResult(**(values | fields))


def sample_evaluation() -> Evaluation:
    """Three classes of random 8×8 images, the model right on most."""
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(3), 4)
    probabilities = np.eye(3)[truth] * 0.8 + 0.1
    probabilities[[1, 6]] = [0.1, 0.1, 0.8]  # two mistakes
    images = rng.random((12, 8, 8, 3))
    return evaluation_of(images, truth, probabilities, ("cat", "dog", "frog"))


CHECKS = (
    check("passed", "Output shape", 2.0),
    check("passed", "Held-out accuracy", 2.0, evaluation=sample_evaluation()),
    check(
        "failed",
        "Trainable parameters",
        0.0,
        message="Expected 1,180 trainable parameters, received 2,410.",
        expected=1180,
        received=2410,
        hint="the first Conv2D has 10 filters; the task asks for 5.",
    ),
    check(
        "submission_error",
        "Training history",
        0.0,
        step="4",
        step_title="Train",
        message="Cell 3 raised ValueError.",
        cell=3,
    ),
    check(
        "skipped",
        "Validation accuracy",
        0.0,
        step="4",
        step_title="Train",
        message="Skipped: the model variable `model` is missing.",
    ),
)
CELLS = (
    CellResult(1, "import keras", 0.8, "ok", source="import keras\nimport numpy as np"),
    CellResult(2, "model = build()", 0.1, "ok", source=f"model = build()  # {SCRIPT}"),
    CellResult(
        3,
        "history = model.fit(x, y)",
        2.5,
        "error",
        error=CellError(
            "ValueError",
            f"Input 0 is incompatible {SCRIPT}",
            tuple(f"  frame {n}" for n in range(60)),
        ),
        source="history = model.fit(x, y)",
    ),
)


@pytest.fixture(scope="module")
def result() -> GradeResult:
    return sample_result()


def sample_result() -> GradeResult:
    """A report with a bit of everything (also rendered in a browser by test_browser)."""
    return GradeResult(
        assignment="cifar10-cnn",
        title="CIFAR-10 CNN, step by step",
        notebook="student.ipynb",
        profile="quick",
        data_source="fixture",
        device="CPU",
        duration_s=42.5,
        checks=CHECKS,
        cells=CELLS,
        fits=(
            make_fit("model", [2.0, 1.5, 1.2, 1.0, 0.9]),
            make_fit("model2", [3.0 - n / 10 for n in range(14)]),
        ),
        environment={
            "python": "3.11.2",
            "tensorflow": "2.17.0",
            "keras": "3.5.0",
            "numpy": "1.26.4",
        },
        problems=("the kernel was not isolated: bubblewrap is not installed",),
    )


@pytest.fixture(scope="module")
def page(result: GradeResult) -> str:
    return html.render(result)


def images(page: str, css_class: str) -> list[str]:
    return re.findall(rf'<img class="{css_class}" src="(data:image/png;base64,[^"]+)"', page)


def test_report_embeds_curves_and_epoch_times_as_png(page: str) -> None:
    curves, times = images(page, "curves"), images(page, "epoch-times")
    assert len(curves) == len(times) == 2
    png = base64.b64decode(curves[0].removeprefix("data:image/png;base64,"))
    assert png.startswith(PNG_SIGNATURE)
    assert 'id="training"' in page
    assert page.count('class="epoch-table"') == 2
    assert "0.9000" in page  # a loss, with 4 decimals


def test_report_shows_expected_received_hint_and_cell_link(page: str) -> None:
    assert "1,180" in page and "2,410" in page
    assert "the first Conv2D has 10 filters; the task asks for 5." in page
    assert 'href="#cell-3"' in page and 'id="cell-3"' in page
    assert "ValueError" in page and "Input 0 is incompatible" in page
    assert "capped at 5 by the quick profile" in page
    assert "quick profile: a self-check" in page
    assert "synthetic fixture data" in page
    assert "bubblewrap is not installed" in page
    assert "4 / 10" in page and "FAIL" in page


def test_long_tracebacks_are_cut_to_their_last_lines(page: str) -> None:
    assert "frame 59" in page and "frame 29" not in page
    assert "30 earlier lines left out" in page


def test_student_text_is_escaped(page: str) -> None:
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page


def test_all_fits_share_one_scale() -> None:
    short = make_fit("a", [0.5, 0.4])
    long = make_fit("b", [float(n) for n in range(8, 0, -1)], validation=False)
    scales = plots.shared_scales([short, long])
    assert scales.epochs == (0.0, 8.0)
    assert scales.loss == (0.0, pytest.approx(8.0 * plots.HEADROOM))
    assert scales.accuracy == (0.0, 1.0)
    assert scales.seconds == (0.0, pytest.approx(1.8 * plots.HEADROOM))


def test_scales_ignore_diverged_losses_and_default_without_epochs() -> None:
    diverged = make_fit("a", [1.0, float("nan"), float("inf")], validation=False)
    assert plots.shared_scales([diverged]).loss[1] == pytest.approx(1.0 * plots.HEADROOM)
    empty = plots.shared_scales([])
    assert empty == plots.Scales((0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (0.0, 1.0))


def test_moving_average_is_a_trailing_mean() -> None:
    assert plots.moving_average([1.0, 3.0, 5.0], window=2) == [1.0, 2.0, 4.0]
    assert plots.moving_average([], window=10) == []
    assert [plots.smoothing_window(n) for n in (0, 5, 6, 14, 30, 200)] == [1, 1, 2, 4, 10, 10]


def test_fit_without_epochs_or_validation_renders(result: GradeResult) -> None:
    empty = replace(make_fit("broken", []), epochs_cap=None)
    no_validation = make_fit("plain", [1.0, 0.5, 0.4], validation=False)
    page = html.render(replace(result, fits=(empty, no_validation)))
    assert "No epoch was recorded" in page
    assert "No validation metrics" in page
    assert len(images(page, "curves")) == 1


def test_result_without_fits_or_cells_renders(result: GradeResult) -> None:
    page = html.render(replace(result, fits=(), cells=(), problems=(), profile="full"))
    assert "No model was trained" in page
    assert "No cell was run" in page
    assert "quick profile" not in page


def test_withheld_score_when_the_grader_failed(result: GradeResult) -> None:
    broken = check("grader_error", "Accuracy", 0.0, message="the grader crashed")
    page = html.render(replace(result, checks=(*CHECKS, broken)))
    assert "withheld: grader error" in page
    assert "WITHHELD" in page


def test_write_creates_folders_and_leaves_no_temp_file(result: GradeResult, tmp_path: Path) -> None:
    path = tmp_path / "reports" / "student.html"
    html.write(result, path)
    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert [p.name for p in path.parent.iterdir()] == ["student.html"]


def test_figures_survive_odd_fits() -> None:
    def fit(*metrics: dict[str, float]) -> FitRecord:
        epochs = tuple(EpochRecord(n, 0.5, m) for n, m in enumerate(metrics, start=1))
        return FitRecord("m", "n", len(metrics), None, False, None, epochs)

    odd = [fit({"loss": math.nan}), fit({"loss": 1.0}, {"loss": 0.8}), fit({})]
    figures = plots.fit_figures(odd)
    assert all(f.curves and f.epoch_times for f in figures)
    assert [f.accuracy_metric for f in figures] == [None, None, None]


def test_comparison_table_has_a_row_per_trained_step(result: GradeResult) -> None:
    rows = (
        ComparisonRow(
            "step3",
            "Minimal model",
            "minimal_model",
            1180,
            20,
            0.41,
            {"accuracy": 0.5, "val_accuracy": 0.45, "loss": 1.2, "val_loss": 1.4},
            17,
        ),
        ComparisonRow("step8", "Twenty filters", "model_20", 7390, 20, 0.93, {}, None),
    )
    rendered = html.render(replace(result, comparison=rows))
    table = rendered.split('class="comparison"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3
    assert "1,180" in table and "7,390" in table and "0.4500" in table and ">17<" in table
    assert "No step's model was trained." in html.render(replace(result, comparison=()))


def test_advice_and_the_stand_ins_notes_are_shown(result: GradeResult) -> None:
    page = html.render(
        replace(
            result,
            advice=("`model`: a softmax over one unit always outputs 1.0.",),
            notes=("[grader] skipped `!pip install -q tensorflow==2.15`: packages are fixed.",),
        )
    )
    assert "Advice (no points)" in page and "always outputs 1.0" in page
    assert "skipped `!pip install -q tensorflow==2.15`" in page


def test_a_classifier_shows_its_confusion_matrix_and_sample_predictions(page: str) -> None:
    evaluation = sample_evaluation()
    assert evaluation.confusion == ((3, 0, 1), (0, 3, 1), (0, 0, 4))
    assert [s.truth != s.predicted for s in evaluation.samples].count(True) == 2
    assert "rows: true class · columns: predicted class" in page
    assert page.count('<li class="wrong">') == 2 and page.count('<li class="right">') == 10
    assert "predicted: frog (80%)" in page


def test_the_layer_table_sets_the_model_beside_the_task_and_marks_differences() -> None:
    wanted = [
        {"type": "Rescaling"},
        {"type": "Conv2D", "filters": 5, "kernel_size": [3, 3]},
        {"type": "MaxPooling2D", "pool_size": [8, 8]},
        {"type": "Dense", "units": 10},
    ]
    found = [
        {"type": "Conv2D", "name": "conv_1", "filters": 5, "kernel_size": [3, 3], "params": 140},
        {"type": "MaxPooling2D", "name": "pool", "pool_size": [2, 2], "params": 0},
        {"type": "Dense", "name": "out", "units": 10, "params": 12810},
    ]
    rows = layer_table(wanted, found)
    assert [(r.received, r.differs) for r in rows] == [
        (None, True),
        ("Conv2D `conv_1` filters=5 kernel_size=3×3", False),
        ("MaxPooling2D `pool` pool_size=2×2", True),
        ("Dense `out` units=10", False),
    ]
    assert rows[2].expected == "MaxPooling2D pool_size=8×8"
    page = html.render(
        replace(sample_result(), checks=(check("failed", "Layers", 0.0, layers=rows),))
    )
    assert page.count('<tr class="differs">') == 2 and "12,810" in page


def test_figures_drawn_once_are_read_back_for_the_same_fits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fits = [make_fit("model", [2.0, 1.5, 1.2]), make_fit("model", [2.0, 1.9], validation=False)]
    drawn = plots.fit_figures(fits, tmp_path)
    assert drawn == plots.fit_figures(fits)

    def no_drawing(_: object) -> list[plots.FitFigures]:
        raise AssertionError("drawn again")

    monkeypatch.setattr(plots, "_drawn", no_drawing)
    assert plots.fit_figures(fits, tmp_path) == drawn
    with pytest.raises(AssertionError, match="drawn again"):  # other fits: drawn anew
        plots.fit_figures([make_fit("model", [3.0, 1.0])], tmp_path)


def test_figures_drawn_ahead_are_taken_by_the_report_of_the_same_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fits = [make_fit("model", [2.5, 1.5, 1.0])]
    plots.draw_ahead(fits)  # what the grader does while its checker checks

    def no_drawing(_: object) -> list[plots.FitFigures]:
        raise AssertionError("drawn again")

    monkeypatch.setattr(plots, "_drawn", no_drawing)
    curves = plots.fit_figures(fits)[0].curves
    assert curves is not None and curves.startswith("data:image/png")  # not drawn again
    with pytest.raises(AssertionError, match="drawn again"):
        plots.fit_figures([make_fit("model", [3.0, 1.0])])


def test_matplotlib_loaded_ahead_on_a_thread_draws_the_same_figures() -> None:
    """`grade` imports matplotlib while the kernel runs: in a fresh interpreter the import
    happens on the thread, and the figure drawn after it is the one drawn without it."""
    script = """
import sys
from grader.report import plots
from grader.results import EpochRecord, FitRecord
assert "matplotlib.figure" not in sys.modules
plots.load_ahead()
plots._loading[0].join()
assert "matplotlib.figure" in sys.modules
epochs = tuple(EpochRecord(n, 1.0, {"loss": 2.0 / n}) for n in (1, 2, 3))
fit = FitRecord("model", "net", 20, 3, False, 32, epochs)
print(plots.fit_figures([fit])[0].curves)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    epochs = tuple(EpochRecord(n, 1.0, {"loss": 2.0 / n}) for n in (1, 2, 3))
    fit = FitRecord("model", "net", 20, 3, False, 32, epochs)
    assert done.stdout.strip() == plots.fit_figures([fit])[0].curves


def test_checks_skipped_for_one_reason_are_shown_once(result: GradeResult) -> None:
    """A step not attempted reads as one line in the report and the terminal, not one per
    check; its points are still counted."""
    from rich.console import Console

    from grader.report.terminal import print_summary

    reason = "not attempted: `model_20` is None"
    absent = [
        check("skipped", title, 0.0, step="8", step_title="Twenty filters", message=reason)
        for title in ("Layers", "Parameters", "Trained")
    ]
    graded = replace(result, checks=(*result.checks, *absent))
    shown = html.render(graded, None)
    assert shown.count(reason) == 1
    assert "3 checks" in shown and "Layers, Parameters, Trained" in shown
    console = Console(record=True, width=200)
    print_summary(graded, console)
    text = console.export_text()
    assert text.count(reason) == 1
    assert "3 checks" in text and "0/6" in text
