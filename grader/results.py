"""Result records of one grading run, and the scoring that sums them. Renderers only read these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "skipped", "submission_error", "grader_error"]
CellStatus = Literal["ok", "error", "timeout", "not_run"]
DataSource = Literal["real", "subsampled", "fixture", "none"]


@dataclass(frozen=True)
class Prediction:
    """One held-out image as the model saw it: `image` is a PNG data URI."""

    image: str
    truth: str
    predicted: str
    probability: float


@dataclass(frozen=True)
class Evaluation:
    """A classifier on the grader's held-out images: `confusion[true][predicted]` counts."""

    classes: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    samples: tuple[Prediction, ...]


@dataclass(frozen=True)
class LayerRow:
    """One row of the layer table: the task's layer beside the model's (None: missing)."""

    expected: str | None
    received: str | None
    params: int | None
    differs: bool


@dataclass(frozen=True)
class CheckResult:
    id: str
    step: str
    step_title: str
    title: str
    status: Status
    points: float
    max_points: float
    required: bool
    message: str
    expected: Any = None
    received: Any = None
    hint: str | None = None
    cell: int | None = None
    evaluation: Evaluation | None = None
    layers: tuple[LayerRow, ...] = ()
    # What a judged check measured, and its notes: enough to judge it again (`rescore`).
    measurement: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    # The check gave no hint of its own, so `hint` is the spec's: a re-score shows the new one.
    hint_from_spec: bool = False


@dataclass(frozen=True)
class CellError:
    ename: str
    evalue: str
    traceback: tuple[str, ...] = ()


@dataclass(frozen=True)
class CellResult:
    """One student code cell: `index` counts the notebook's cells from 1, as Jupyter shows them."""

    index: int
    first_line: str
    seconds: float
    status: CellStatus
    error: CellError | None = None
    source: str = ""


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    seconds: float
    metrics: dict[str, float]


@dataclass(frozen=True)
class FitRecord:
    """One call of `fit`: `model` is the variable that held the model when the notebook ended."""

    model: str
    model_name: str
    epochs_requested: int
    epochs_cap: int | None
    has_validation: bool
    batch_size: int | None
    epochs: tuple[EpochRecord, ...]
    variables: tuple[str, ...] = ()
    samples_cap: int | None = None
    trainable_params: int | None = None
    total_params: int | None = None
    trainable_layers: tuple[str, ...] = ()
    learning_rate: float | None = None
    input_max: float | None = None  # the largest value in the training inputs (arrays only)
    first_layer: str | None = None  # the type of the model's first layer

    @property
    def mean_epoch_seconds(self) -> float | None:
        times = [e.seconds for e in self.epochs]
        return sum(times) / len(times) if times else None

    @property
    def best_validation_epoch(self) -> int | None:
        """The epoch with the lowest validation loss: past it, the model starts to overfit."""
        scored = [(e.metrics["val_loss"], e.epoch) for e in self.epochs if "val_loss" in e.metrics]
        return min(scored)[1] if scored else None

    def metric(self, name: str) -> list[float]:
        return [e.metrics[name] for e in self.epochs if name in e.metrics]


@dataclass(frozen=True)
class ComparisonRow:
    """One trained step's model, for the side-by-side table: size, speed, final scores."""

    step: str
    title: str
    model: str
    params: int
    epochs: int
    mean_epoch_seconds: float | None
    final: dict[str, float]
    best_validation_epoch: int | None


@dataclass(frozen=True)
class GradeResult:
    assignment: str
    title: str
    notebook: str
    profile: str
    data_source: DataSource
    device: str
    duration_s: float
    checks: tuple[CheckResult, ...]
    cells: tuple[CellResult, ...] = ()
    fits: tuple[FitRecord, ...] = ()
    environment: dict[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    comparison: tuple[ComparisonRow, ...] = ()
    advice: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    isolation: str = ""
    report_path: str | None = None
    # Where the run's time went, in order: "data", "notebook" (the kernel), "checks".
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def max_score(self) -> float:
        return sum(c.max_points for c in self.checks)

    @property
    def grader_failed(self) -> bool:
        return any(c.status == "grader_error" for c in self.checks)

    @property
    def score(self) -> float | None:
        """Points earned; withheld (None) when the grader itself failed on a check."""
        return None if self.grader_failed else sum(c.points for c in self.checks)

    @property
    def passed(self) -> bool:
        return all(c.status == "passed" for c in self.checks if c.required)

    @property
    def exit_code(self) -> int:
        """0: every required check passed; 1: some did not; 3: the grader failed."""
        if self.grader_failed:
            return 3
        return 0 if self.passed else 1

    def steps(self) -> list[tuple[str, str, list[CheckResult]]]:
        """Checks grouped by step, in spec order: (step id, step title, checks)."""
        grouped: dict[str, tuple[str, list[CheckResult]]] = {}
        for check in self.checks:
            grouped.setdefault(check.step, (check.step_title, []))[1].append(check)
        return [(step, title, checks) for step, (title, checks) in grouped.items()]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(score=self.score, max_score=self.max_score, passed=self.passed)
        for fit, record in zip(data["fits"], self.fits, strict=True):
            fit["mean_epoch_seconds"] = record.mean_epoch_seconds
            fit["best_validation_epoch"] = record.best_validation_epoch
            for epoch in fit["epochs"]:
                epoch.update(epoch.pop("metrics"))
        return data


def grouped(checks: list[CheckResult]) -> list[list[CheckResult]]:
    """A step's checks for display: the checks skipped for one same reason (a step not
    attempted, its model missing) form one group, shown once; every other check its own."""
    groups: dict[str, list[CheckResult]] = {}
    for check in checks:
        key = f"skipped:{check.message}" if check.status == "skipped" else f"id:{check.id}"
        groups.setdefault(key, []).append(check)
    return list(groups.values())
