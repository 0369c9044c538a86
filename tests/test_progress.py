"""Progress while grading: live epochs on a terminal, plain lines in a log."""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.capped import CappedClient
from grader.progress import PROGRESS_MIME, describe_epoch

FIT = """\
import time
import numpy as np
import keras
x = np.random.rand(256, 28, 28)
y = np.random.randint(0, 25, 256)
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                          keras.layers.Dense(25, activation='softmax')])
model.compile(loss='sparse_categorical_crossentropy', metrics=['accuracy'])
# each epoch lasts long enough for a live display's refresh to draw it
pause = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: time.sleep(0.6))
history = model.fit(x, y, epochs=3, verbose=0, callbacks=[pause])"""


def test_an_epoch_is_described_with_its_metrics_and_eta() -> None:
    event = {
        "fit": 2,
        "epoch": 3,
        "epochs": 10,
        "metrics": {"loss": 0.5123, "accuracy": 0.8},
        "mean_seconds": 2.0,
    }
    assert describe_epoch(event) == "fit 2 · epoch 3/10 · loss 0.512 · accuracy 0.800 · ETA 14 s"
    assert describe_epoch({**event, "epoch": 10}).endswith("accuracy 0.800")


def test_progress_messages_reach_the_display_and_never_the_outputs() -> None:
    seen: list[dict] = []
    client = CappedClient(new_notebook(), on_progress=seen.append)
    client.clear_before_next_output = False
    message = {
        "msg_type": "display_data",
        "header": {"msg_type": "display_data"},
        "parent_header": {},
        "content": {"data": {PROGRESS_MIME: {"epoch": 1}}, "metadata": {}},
    }
    outs: list = []
    client.output(outs, message, None, 0)
    assert seen == [{"epoch": 1}] and outs == []


def _notebook(tmp_path: Path, source: str = FIT) -> Path:
    notebook = new_notebook(
        cells=[new_code_cell(source)],
        metadata={"grader": {"assignment": "csv-to-array"}},
    )
    path = tmp_path / "fit.ipynb"
    nbformat.write(notebook, path)
    return path


def _grade(path: Path, out: Path, terminal: bool) -> str:
    command = ["grade", str(path), "--out", str(out)]
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        return done.stdout + done.stderr
    leader, follower = pty.openpty()
    with subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env):
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
def test_on_a_terminal_the_epochs_are_shown_as_they_end(tmp_path: Path) -> None:
    shown = _grade(_notebook(tmp_path), tmp_path, terminal=True)
    epochs = set(re.findall(r"fit 1 · epoch (\d)/3 · loss", shown))
    assert epochs and epochs <= {"1", "2", "3"}
    assert "\x1b[" in shown  # a live display, drawn with terminal escapes


@pytest.mark.slow
def test_in_a_log_each_cell_is_one_plain_line(tmp_path: Path) -> None:
    plain = "import numpy as np\nx = np.ones(3)"  # no TensorFlow: a quick run
    shown = _grade(_notebook(tmp_path, plain), tmp_path, terminal=False)
    assert re.search(r"^cell 1/1 ok \d+\.\d s  import numpy as np$", shown, re.MULTILINE)
    assert "· epoch " not in shown and "\x1b[" not in shown
