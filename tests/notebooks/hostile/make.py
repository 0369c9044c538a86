"""Write the hostile notebooks of this folder: `python tests/notebooks/hostile/make.py`.

Each notebook attacks the grader or the machine in one way. Most are graded against the
`csv-to-array` assignment, whose first check calls `parse_data_from_input` on a CSV file the
grader writes at collect time and compares the result in its own process; those that need a
Keras model use `cifar10-cnn`. A cell that manages what the sandbox must prevent raises
`Escaped`; `tests/test_hostile.py` asserts the verdict each notebook must get.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent
# What the tests plant outside the workspace, and watch.
SENTINEL = "/var/tmp/grader-hostile-sentinel/keep.txt"
HOST_PORT = 47913

PRELUDE = """\
import os, sys, glob, signal, socket, subprocess, time
import numpy as np

class Escaped(Exception):
    '''Raised when the notebook did what the sandbox must prevent.'''
"""

# A correct graded function; notebooks that fake a pass use a wrong one instead.
CORRECT = """\
# GRADED FUNCTION: parse_data_from_input
def parse_data_from_input(filename):
    with open(filename) as file:
        data = np.loadtxt(file, delimiter=",", skiprows=1)
    return data[:, 1:].reshape(-1, 28, 28), data[:, 0]
"""

WRONG = """\
# GRADED FUNCTION: parse_data_from_input
def parse_data_from_input(filename):
    return np.zeros((3, 28, 28)), np.zeros(3)  # wrong on purpose
"""

AFTER = "after = 'this cell ran'"

CSV = {
    "infinite-loop": [CORRECT, "while True:\n    pass", AFTER],
    "sleep-forever": [CORRECT, "time.sleep(10**6)", AFTER],
    "loop-in-c-code": [
        CORRECT,
        "import re\nre.match(r'(a+)+$', 'a' * 64 + 'b')  # never returns, never sees interrupts",
        AFTER,
    ],
    "fork-bomb": [CORRECT, "while True:\n    os.fork()", AFTER],
    "memory-hog": [
        CORRECT,
        "blocks = []\nfor _ in range(50):\n    blocks.append(np.ones(2**30 // 8))  # 1 GB each",
        AFTER,
    ],
    "allocate-50gb-at-once": [CORRECT, "block = bytearray(50 * 2**30)", AFTER],
    "os-exit": [CORRECT, "os._exit(1)", AFTER],
    "segfault": [CORRECT, "import ctypes\nctypes.string_at(0)", AFTER],
    "kill-parent": [
        CORRECT,
        "os.kill(os.getppid(), signal.SIGTERM)\nos.kill(os.getppid(), signal.SIGKILL)",
        AFTER,
    ],
    "kill-own-group": [CORRECT, "os.killpg(0, signal.SIGKILL)", AFTER],
    "kill-the-grader": [
        CORRECT,
        """\
found = []
for status in glob.glob('/proc/[0-9]*/cmdline'):
    try:
        command = open(status, 'rb').read().replace(b'\\0', b' ')
    except OSError:
        continue
    if b'pytest' in command or b'grader.cli' in command or b'bin/grade' in command:
        found.append(int(status.split('/')[2]))
for pid in found:
    os.kill(pid, signal.SIGKILL)
if found:
    raise Escaped(f'saw and killed the grader: {found}')""",
        AFTER,
    ],
    "delete-outside": [
        CORRECT,
        f"""\
for attempt in (lambda: os.remove({SENTINEL!r}), lambda: open({SENTINEL!r}, 'w').write('x'),
                lambda: open('/etc/hostname', 'a').write('x')):
    try:
        attempt()
    except OSError:
        continue
    raise Escaped('changed a file outside the workspace')""",
        AFTER,
    ],
    "write-host-tmp": [
        CORRECT,
        "open('/tmp/grader-hostile-marker', 'w').write('left behind')\n"
        "open('/content/grader-hostile-marker', 'w').write('in the workspace')",
        AFTER,
    ],
    "read-reference": [
        CORRECT,
        """\
import grader
root = os.path.dirname(os.path.dirname(grader.__file__))
leaks = glob.glob(root + '/reference/*.ipynb') + glob.glob(root + '/assignments/*/*.yaml')
leaks += glob.glob(os.path.expanduser('~/.keras/datasets/*'))
if leaks:
    raise Escaped(f'read the solutions: {leaks[:3]}')""",
        AFTER,
    ],
    "read-hidden-inputs": [
        CORRECT,
        """\
seen = glob.glob('**/.hidden-*', recursive=True) + glob.glob('**/.artifacts-*', recursive=True)
seen += glob.glob('/var/tmp/grader-runs-*/*/grader/*')
if seen:
    raise Escaped(f'saw the grader\\'s files: {seen}')""",
        AFTER,
    ],
    "proc-environ": [
        CORRECT,
        """\
leaked = [name for name in os.environ if name.startswith('GRADER_HOSTILE')]
for path in glob.glob('/proc/[0-9]*/environ'):
    try:
        if b'GRADER_HOSTILE_SECRET' in open(path, 'rb').read():
            leaked.append(path)
    except OSError:
        pass
if leaked:
    raise Escaped(f'read the grader\\'s environment: {leaked}')""",
        AFTER,
    ],
    "open-socket": [
        CORRECT,
        f"""\
for address in [('127.0.0.1', {HOST_PORT}), ('pypi.org', 443), ('8.8.8.8', 53)]:
    try:
        socket.create_connection(address, timeout=3).close()
    except OSError:
        continue
    raise Escaped(f'reached {{address}}')""",
        AFTER,
    ],
    "pip-install": [
        CORRECT,
        "!pip install --quiet left-pad\n%pip install --quiet left-pad",
        """\
pip = [sys.executable, '-m', 'pip', 'install', '--retries', '0', '--timeout', '2']
done = subprocess.run([*pip, '--no-deps', 'left-pad'], capture_output=True, timeout=60)
if done.returncode == 0:
    raise Escaped('installed a package')""",
        AFTER,
    ],
    "fake-results": [
        WRONG,
        """\
os.makedirs('.artifacts-0000000000000000/calls', exist_ok=True)
open('.artifacts-0000000000000000/manifest.json', 'w').write('{"score": 100}')
open('results.json', 'w').write('{"score": 100, "tests": []}')
os.makedirs('reports', exist_ok=True)
open('reports/fake.html', 'w').write('<h1>PASSED 100/100</h1>')""",
    ],
    "patch-numpy": [
        WRONG,
        """\
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None""",
    ],
    "patch-harness": [
        WRONG,
        """\
import grader.harness
grader.harness.collect = lambda arguments: print('[grader] all checks passed')""",
    ],
    "equal-to-everything": [
        """\
class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)
    __ne__ = lambda self, other: np.zeros(np.shape(other), dtype=bool)

# GRADED FUNCTION: parse_data_from_input
def parse_data_from_input(filename):
    return np.zeros((3, 28, 28)).view(Liar), np.zeros(3).view(Liar)""",
    ],
    "print-all-passed": [
        WRONG,
        "print('All checks passed! Score: 23/23')\nprint('PASSED · score 23/23')",
    ],
    "output-flood": [CORRECT, "for _ in range(100):\n    print('x' * 1_000_000)", AFTER],
    "input": [CORRECT, "name = input('your name? ')", AFTER],
    "chdir-and-environment": [
        CORRECT,
        "os.chdir('/')\nos.environ.clear()\nos.environ['HOME'] = '/nonexistent'",
        AFTER,
    ],
}

# Notebooks that need a Keras model: graded against `cifar10-cnn`.
MODEL = {
    "patch-count-params": [
        """\
import keras
minimal_model = keras.Sequential([
    keras.Input((32, 32, 3)),
    keras.layers.Flatten(),
    keras.layers.Dense(10, activation='softmax'),
])
keras.Model.count_params = lambda self: 1180  # the task's count
n_params = minimal_model.count_params()""",
    ],
}


def notebook(sources: list[str], assignment: str, title: str) -> nbformat.NotebookNode:
    cells = [new_markdown_cell(f"# Hostile: {title}"), new_code_cell(PRELUDE)]
    cells += [new_code_cell(source) for source in sources]
    meta = {
        "grader": {"assignment": assignment},
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
    }
    return new_notebook(cells=cells, metadata=meta)


def nbformat3(sources: list[str]) -> dict:
    """An nbformat 3 notebook (worksheets, `input` for source), as written before 2015."""
    cells = [
        {"cell_type": "code", "input": s, "language": "python", "outputs": [], "metadata": {}}
        for s in [PRELUDE, *sources]
    ]
    return {
        "metadata": {"name": "", "grader": {"assignment": "csv-to-array"}},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [{"cells": cells, "metadata": {}}],
    }


def write_all() -> None:
    for name, sources in CSV.items():
        nbformat.write(notebook(sources, "csv-to-array", name), HERE / f"{name}.ipynb")
    for name, sources in MODEL.items():
        nbformat.write(notebook(sources, "cifar10-cnn", name), HERE / f"{name}.ipynb")
    empty = new_notebook(metadata={"grader": {"assignment": "csv-to-array"}})
    nbformat.write(empty, HERE / "empty.ipynb")
    markdown = new_notebook(
        cells=[new_markdown_cell("# My answers\n\nI wrote them on paper.")],
        metadata={"grader": {"assignment": "csv-to-array"}},
    )
    nbformat.write(markdown, HERE / "markdown-only.ipynb")
    (HERE / "nbformat-3.ipynb").write_text(json.dumps(nbformat3([CORRECT]), indent=1))
    (HERE / "invalid-json.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "1 +')
    (HERE / "binary.ipynb").write_bytes(bytes(range(256)) * 64)


if __name__ == "__main__":
    write_all()
