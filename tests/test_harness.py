"""The kernel-side harness, exercised in this process: fit recording, export, shell policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.artifacts import read_artifacts
from grader.harness import export, shims
from grader.harness.downloads import DownloadMap
from grader.harness.fit import FitRecorder, SizeRule


@pytest.fixture()
def recorded_model_class(keras: Any) -> tuple[type, FitRecorder]:
    class Probe(keras.Sequential):
        pass

    recorder = FitRecorder(max_epochs=2)
    recorder.patch(Probe)
    return Probe, recorder


def train(model_class: type, keras: Any, epochs: int) -> Any:
    model = model_class([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.arange(32) % 3
    model.fit(x, y, epochs=epochs, batch_size=8, validation_split=0.25, verbose=0)
    return model


def test_fit_is_capped_and_every_epoch_is_logged(recorded_model_class: Any, keras: Any) -> None:
    model_class, recorder = recorded_model_class
    model = train(model_class, keras, epochs=10)
    (fit,) = recorder.fits
    assert (fit["epochs_requested"], fit["epochs_cap"], len(fit["epochs"])) == (10, 2, 2)
    assert fit["has_validation"] and fit["batch_size"] == 8
    assert (fit["trainable_params"], fit["total_params"]) == (15, 15)
    assert fit["trainable_layers"] and fit["learning_rate"] == pytest.approx(0.01)
    first = fit["epochs"][0]
    assert first["epoch"] == 1 and first["seconds"] > 0
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(first["metrics"])
    assert recorder.models[id(model)] is model


def test_export_round_trips_through_the_artifact_reader(
    recorded_model_class: Any, keras: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_class, recorder = recorded_model_class
    model = train(model_class, keras, epochs=1)
    namespace = {
        "net": model,
        "alias": model,
        "y": np.eye(3),
        "name": "text",
        "_hidden": 1,
        "zoo": {"a": model, "b": 3},
    }
    export.export_all(
        {"out_dir": str(tmp_path), "variables": ["y", "name", "gone"]},
        namespace,
        recorder,
        ["[grader] skipped `!pip install x`"],
    )
    artifacts = read_artifacts(tmp_path)
    assert artifacts is not None
    assert artifacts.notes == ("[grader] skipped `!pip install x`",)
    assert set(artifacts.models) == {"net", "alias", "zoo['a']"}
    assert artifacts.models["net"].path == artifacts.models["alias"].path
    assert artifacts.fits[0].variables == ("net", "alias", "zoo['a']")
    assert np.array_equal(np.load(artifacts.variables["y"].path), np.eye(3))
    assert artifacts.variables["name"].path is None and not artifacts.variables["gone"].present
    assert "_hidden" not in artifacts.globals


def test_numeric_globals_are_exported_as_candidates_only_when_a_variable_is_missing(
    recorded_model_class: Any, keras: Any, tmp_path: Path
) -> None:
    """They let the checks find a renamed variable by its content; a None is recorded."""
    _, recorder = recorded_model_class
    namespace = {
        "Y_cat": np.eye(3),
        "count": 7,
        "flag": True,
        "text": "no",
        "module": np,
        "todo": None,
    }
    missing = tmp_path / "missing"
    export.export_all({"out_dir": str(missing), "variables": ["y"]}, namespace, recorder, [])
    artifacts = read_artifacts(missing)
    assert artifacts is not None
    assert set(artifacts.candidates) == {"Y_cat", "count"}
    assert np.array_equal(np.load(artifacts.candidates["Y_cat"].path), np.eye(3))
    assert artifacts.unset == ("todo",)
    present = tmp_path / "present"
    export.export_all({"out_dir": str(present), "variables": ["Y_cat"]}, namespace, recorder, [])
    assert read_artifacts(present).candidates == {}


def test_missing_manifest_means_nothing_was_collected(tmp_path: Path) -> None:
    assert read_artifacts(tmp_path) is None


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("pip install -q tensorflow", "packages are fixed"),
        ("wget -q https://example.org/data.zip", "the grader has no copy of this file"),
        ("rm -rf /", "shell commands do not run while grading"),
    ],
)
def test_shell_commands_follow_the_policy(
    command: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[str] = []
    shims._system(command, ran.append, DownloadMap({}, "."), print)
    assert ran == []
    assert reason in capsys.readouterr().out


def test_harmless_shell_commands_still_run() -> None:
    ran: list[str] = []
    shims._system("ls -la", ran.append, DownloadMap({}, "."), print)
    assert ran == ["ls -la"]


def test_a_download_and_its_unzip_on_one_line_both_happen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    copy = tmp_path / "copy.zip"
    with zipfile.ZipFile(copy, "w") as archive:
        archive.writestr("data/a.txt", "hello")
    monkeypatch.chdir(tmp_path)
    downloads = DownloadMap({"https://example.org/d.zip": str(copy)}, str(tmp_path))
    line = "wget -q https://example.org/d.zip -O got.zip && unzip -q got.zip -d out; rm -rf /"
    notes: list[str] = []
    shims._system(line, None, downloads, notes.append)
    assert len(notes) == 3 and "rm -rf" in notes[-1]
    assert (tmp_path / "out" / "data" / "a.txt").read_text() == "hello"


def test_colab_shim_makes_drive_and_files_harmless_and_noted() -> None:
    notes: list[str] = []
    shims.install_colab_shim(notes.append)
    from google.colab import drive, files  # type: ignore[import-not-found]

    drive.mount("/content/drive")
    files.download("history.pkl")
    assert files.upload() == {}
    assert len(notes) == 3 and all("skipped" in note for note in notes)


def test_memory_growth_is_turned_on_for_every_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU here: a fake device list stands in for TensorFlow's."""
    import tensorflow as tf

    from grader.harness import core

    grown: list[tuple[str, bool]] = []
    fake_gpus = ["GPU:0", "GPU:1"]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: fake_gpus)
    monkeypatch.setattr(
        tf.config.experimental, "set_memory_growth", lambda gpu, on: grown.append((gpu, on))
    )
    core._grow_gpu_memory(tf)
    assert grown == [("GPU:0", True), ("GPU:1", True)]


def test_the_report_names_the_gpus_the_kernel_saw() -> None:
    from grader.api import _device

    assert _device({"gpus": ["NVIDIA A100-SXM4-40GB"]}) == "NVIDIA A100-SXM4-40GB"
    assert _device({"gpus": []}) == "CPU"


def test_a_trained_model_no_longer_named_is_still_exported(
    recorded_model_class: Any, keras: Any, tmp_path: Path
) -> None:
    model_class, recorder = recorded_model_class
    first = train(model_class, keras, epochs=1)
    second = train(model_class, keras, epochs=1)
    export.export_all({"out_dir": str(tmp_path), "variables": []}, {"model": second}, recorder, [])
    artifacts = read_artifacts(tmp_path)
    assert artifacts is not None and first is not second
    assert set(artifacts.models) == {"model", "_trained_1"}
    assert [f.variables for f in artifacts.fits] == [("_trained_1",), ("model",)]


def test_larger_models_get_the_smaller_epoch_cap(keras: Any) -> None:
    class Probe(keras.Sequential):
        pass

    recorder = FitRecorder(
        max_epochs=4, rules=[SizeRule(50, 2, max_samples=4), SizeRule(10_000, 1)]
    )
    recorder.patch(Probe)
    train(Probe, keras, epochs=10)  # 15 parameters: the general cap
    wide = Probe([keras.Input((4,)), keras.layers.Dense(20), keras.layers.Dense(3)])
    wide.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.zeros((8, 4), "float32")
    wide.fit(x, np.zeros(8), epochs=10, batch_size=1, verbose=0)  # 163 parameters
    assert [len(f["epochs"]) for f in recorder.fits] == [4, 2]
    assert [f["epochs_cap"] for f in recorder.fits] == [4, 2]
    assert recorder.fits[1]["samples_cap"] == 4
    assert wide.optimizer.iterations.numpy() == 2 * 4  # 2 epochs of 4 one-sample batches


def test_a_frozen_base_shows_in_the_recorded_training_state(keras: Any) -> None:
    """Phases of transfer learning are told apart by what trains and at what rate."""
    from grader.harness.fit import training_state

    base = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, name="base_dense")])
    base.trainable = False
    model = keras.Sequential([base, keras.layers.Dense(2, name="head")])
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
    state = training_state(model)
    assert state["trainable_params"] == 12 and state["total_params"] == 37
    assert state["trainable_layers"] == ["head"]
    assert state["learning_rate"] == pytest.approx(1e-4)


def test_a_large_model_trains_on_fewer_batches_of_an_iterator(keras: Any) -> None:
    """Budgets cap samples for batch iterators too, through steps per epoch."""
    from grader.harness.fit import _cut_samples

    class Batches:
        batch_size = 32

        def __len__(self) -> int:
            return 100

    arguments: dict[str, Any] = {"x": Batches(), "validation_data": Batches()}
    _cut_samples(arguments, 200)
    assert arguments["steps_per_epoch"] == 7 and arguments["validation_steps"] == 7


def test_short_epochs_get_enough_steps_but_never_more_epochs_than_asked(keras: Any) -> None:
    """A correct model written with a large batch learns as much as one with a small batch:
    the epoch cap rises until the fit takes `min_steps` optimizer steps."""

    class Probe(keras.Sequential):
        pass

    recorder = FitRecorder(max_epochs=2, min_steps=6)
    recorder.patch(Probe)
    x, y = np.zeros((16, 4), "float32"), np.zeros(16)
    for batch_size, epochs in ((16, 10), (4, 10), (16, 3)):
        model = Probe([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    # 1 step an epoch: 6 epochs; 4 steps an epoch: the cap of 2 already gives 8; asked for 3
    assert [len(f["epochs"]) for f in recorder.fits] == [6, 2, 3]
    assert [f["epochs_cap"] for f in recorder.fits] == [6, 2, 6]


def test_steps_per_epoch_are_told_from_arrays_iterators_and_datasets() -> None:
    from grader.harness.fit import _steps_per_epoch

    class Batches:
        batch_size = 20

        def __len__(self) -> int:
            return 9

    class Dataset:
        def cardinality(self) -> int:
            return 5

    rows = np.zeros((100, 3))
    assert _steps_per_epoch({"x": rows, "batch_size": 32}) == 4
    assert _steps_per_epoch({"x": rows, "validation_split": 0.2}) == 3  # Keras's default 32
    assert _steps_per_epoch({"x": Batches()}) == 9
    assert _steps_per_epoch({"x": Dataset()}) == 5
    assert _steps_per_epoch({"x": iter([])}) is None
    assert _steps_per_epoch({"x": Batches(), "steps_per_epoch": 2}) == 2


def test_course_steps_per_epoch_are_cut_to_the_batches_the_grader_serves() -> None:
    """`steps_per_epoch=90` written for 900 photos would run out of the grader's 18 batches
    in the first epoch, and Keras would stop training there."""
    from grader.harness.fit import _steps_within_the_data

    class Batches:
        batch_size = 10

        def __len__(self) -> int:
            return 18

    arguments: dict[str, Any] = {
        "x": Batches(),
        "steps_per_epoch": 90,
        "validation_data": Batches(),
        "validation_steps": 6,
    }
    _steps_within_the_data(arguments)
    assert (arguments["steps_per_epoch"], arguments["validation_steps"]) == (18, 6)
