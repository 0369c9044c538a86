"""What course notebooks need before they can run: renamed graded functions found, `/tmp`
and `/content` paths moved into the run's workspace, data placed where the course expects it,
and Keras 2 models exported in a format the grader's Keras 3 reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import numpy as np

from grader.checks.context import Submission
from grader.checks.losses import loss_of
from grader.datasets import PreparedData, prepare_served, with_holdout
from grader.datasets.placement import COURSE_FILES, place_data
from grader.notebook import graded_functions, relocated
from grader.spec import DataSizes
from grader.workspace import create_workspace


def _notebook(*sources: str) -> Any:
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def test_a_graded_function_comment_names_the_function_the_cell_defines() -> None:
    notebook = _notebook(
        "# GRADED FUNCTION: parse_data_from_input\ndef read_csv_file(fname):\n    return 1",
        "# GRADED FUNCTION: split_data\ndef split_data(a, b, c, d:\n    pass",  # does not parse
        "def helper():\n    pass",
    )
    assert graded_functions(notebook) == {
        "parse_data_from_input": "read_csv_file",
        "split_data": "split_data",
    }


def test_colab_and_tmp_paths_are_moved_into_the_workspace_and_nothing_else() -> None:
    source = (
        "!wget URL -O /tmp/cats.zip\n"
        "root = '/tmp/cats-v-dogs'\nTMP = \"/tmp\"\n"
        "csv = '/content/sign_mnist_train.csv'\n"
        "other = '/var/tmp/x'; name = '/tmpfile'"
    )
    moved = relocated(_notebook(source), {"/tmp": "/W/tmp", "/content": "/W"}).cells[0].source
    assert "-O /W/tmp/cats.zip" in moved
    assert "'/W/tmp/cats-v-dogs'" in moved and '"/W/tmp"' in moved
    assert "'/W/sign_mnist_train.csv'" in moved
    assert "'/var/tmp/x'" in moved and "'/tmpfile'" in moved


def test_workspace_paths_resolve_like_the_notebook_expects() -> None:
    workspace = create_workspace()
    try:
        assert workspace.resolve("/tmp/PetImages") == workspace.tmp_dir / "PetImages"
        assert workspace.resolve("/content/a.csv") == workspace.root / "a.csv"
        assert workspace.resolve("sign_mnist_train.csv") == workspace.root / "sign_mnist_train.csv"
        hidden = workspace.hidden_dir()
        assert hidden.is_dir() and hidden.name.startswith(".hidden-")
    finally:
        workspace.remove()


def _prepared(name: str, workspace: Any, sizes: DataSizes) -> PreparedData:
    scratch, private = workspace.data_dir, workspace.private_dir
    return with_holdout(prepare_served(name, sizes, "fixture", None, 1234, scratch, private))


def test_csv_data_is_placed_and_its_drive_ids_served() -> None:
    workspace = create_workspace()
    try:
        data = {
            "sign_mnist": _prepared(
                "sign_mnist", workspace, DataSizes(train=50, test=20, holdout=20)
            )
        }
        served = place_data(data, workspace)
        train = workspace.root / "sign_mnist_train.csv"
        assert train.read_text().startswith("label,pixel1,")
        assert len(train.read_text().splitlines()) == 51
        assert all(Path(path).is_file() for path in served.downloads.values())
        assert any(key.startswith("gdrive:") for key in served.downloads)
        assert set(COURSE_FILES) <= set(served.downloads)
        assert served.load_data == {}
    finally:
        workspace.remove()


def test_a_folder_dataset_is_placed_at_its_course_path_with_its_archive() -> None:
    workspace = create_workspace()
    try:
        prepared = _prepared("petimages", workspace, DataSizes(train=6, holdout=4))
        served = place_data({"petimages": prepared}, workspace)
        cats = workspace.tmp_dir / "PetImages" / "Cat"
        assert (cats / "666.jpg").stat().st_size == 0
        assert len(list(cats.iterdir())) == 7
        archive = [Path(p) for p in served.downloads.values() if p.endswith(".zip")]
        assert archive and archive[0].is_file()
        assert prepared.holdout is not None and prepared.holdout.x.shape[1:] == (150, 150, 3)
    finally:
        workspace.remove()


def test_keras_2_models_are_saved_as_h5_and_load_in_keras_3(keras: Any, tmp_path: Path) -> None:
    import tf_keras

    from grader.harness.flavour import is_model, save_model

    legacy = tf_keras.Sequential([tf_keras.layers.Dense(3, activation="softmax", input_shape=(4,))])
    legacy.compile(optimizer=tf_keras.optimizers.RMSprop(learning_rate=0.01), loss="mse")
    assert is_model(legacy)
    path = save_model(legacy, tmp_path / "model")
    assert path.suffix == ".h5"
    loaded = Submission(None, (), {}, "quick").load_file_model(path, "the model")
    assert type(loaded.optimizer).__name__ == "RMSprop"
    assert loss_of(loaded).name == "mean_squared_error"
    x = np.ones((2, 4), dtype="float32")
    assert np.allclose(loaded.predict(x, verbose=0), legacy.predict(x, verbose=0), atol=1e-6)
