"""The one harness object of a kernel: what `install` sets up and what `collect` exports."""

from __future__ import annotations

import contextlib
import os
import random
from typing import Any

from wrapt import when_imported

from grader.harness import export, fit, keras2, serve, shims
from grader.harness.downloads import DownloadMap

_MAX_NOTES = 200


class Harness:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        rules = [fit.SizeRule(**rule) for rule in config.get("budget_by_size", [])]
        self.recorder = fit.FitRecorder(config.get("max_epochs"), rules, config.get("min_steps"))
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        """Print what a stand-in did in the cell's output, and keep it for the report."""
        print(message)
        if len(self.notes) < _MAX_NOTES:
            self.notes.append(message)

    def install(self) -> None:
        """Seed, and patch what the notebook imports when it imports it: a notebook that
        never imports TensorFlow does not pay for it."""
        import numpy as np

        seed = int(self.config.get("seed", 0))
        random.seed(seed)
        np.random.seed(seed)
        self.downloads = DownloadMap(self.config.get("downloads", {}), _cache_dir(self.config))
        self.downloads.install()
        shims.install_colab_shim(self.note)
        shims.install_shell_policy(self.downloads, self.note)
        if self.config.get("keras") == 2:
            keras2.alias_keras_to_tf_keras()
        when_imported("tensorflow")(self._tensorflow_imported)
        when_imported("keras")(self._keras_imported)
        when_imported("tf_keras")(self._keras_imported)

    def _tensorflow_imported(self, tf: Any) -> None:
        tf.random.set_seed(int(self.config.get("seed", 0)))
        if self.config.get("deterministic"):
            tf.config.experimental.enable_op_determinism()
        _grow_gpu_memory(tf)

    def _keras_imported(self, keras: Any) -> None:
        """Keras 3 or tf_keras: record its fits, serve its datasets and downloads."""
        _seed_keras(keras, int(self.config.get("seed", 0)))
        self.recorder.patch(keras.Model)
        serve.serve_datasets(self.config.get("datasets", {}))
        self.downloads.install()

    def collect(self, arguments: dict[str, Any]) -> None:
        from IPython import get_ipython

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
        export.export_all(arguments, namespace, self.recorder, self.notes)


def _cache_dir(config: dict[str, Any]) -> str:
    """Where `keras.utils.get_file` puts files: the run's own folder, never the user's home."""
    return config.get("cache_dir") or os.path.join(os.getcwd(), ".keras")


def _seed_keras(keras: Any, seed: int) -> None:
    """Seed Keras's own generators; the notebook's `random` and NumPy streams go on as they
    were (Keras's `set_random_seed` would restart them mid-notebook)."""
    import numpy as np

    python_state, numpy_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(seed)
    random.setstate(python_state)
    np.random.set_state(numpy_state)


def _grow_gpu_memory(tf: Any) -> None:
    """Let TensorFlow take GPU memory as it needs it, so several kernels can share a GPU."""
    for gpu in tf.config.list_physical_devices("GPU"):
        # RuntimeError: the notebook initialised the GPU already; nothing to change then.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
