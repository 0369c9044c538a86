"""The one harness object of a kernel: what `install` sets up and what `collect` exports."""

from __future__ import annotations

import contextlib
import os
import random
from typing import Any

from grader.harness import export, fit, flavour, serve, shims
from grader.harness.downloads import DownloadMap

_MAX_NOTES = 200


class Harness:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        rules = [fit.SizeRule(**rule) for rule in config.get("budget_by_size", [])]
        self.recorder = fit.FitRecorder(config.get("max_epochs"), rules)
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        """Print what a stand-in did in the cell's output, and keep it for the report."""
        print(message)
        if len(self.notes) < _MAX_NOTES:
            self.notes.append(message)

    def install(self) -> None:
        import keras
        import numpy as np

        seed = int(self.config.get("seed", 0))
        random.seed(seed)
        np.random.seed(seed)
        keras.utils.set_random_seed(seed)
        if self.config.get("deterministic"):
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
        _grow_gpu_memory()
        if self.config.get("keras") == 2:
            import tf_keras  # noqa: F401  (the kernel runs with TF_USE_LEGACY_KERAS=1)
        for model_class in flavour.model_classes():
            self.recorder.patch(model_class)
        serve.serve_datasets(self.config.get("datasets", {}))
        downloads = DownloadMap(self.config.get("downloads", {}), _cache_dir(self.config))
        downloads.install()
        shims.install_colab_shim(self.note)
        shims.install_shell_policy(downloads, self.note)

    def collect(self, arguments: dict[str, Any]) -> None:
        from IPython import get_ipython

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
        export.export_all(arguments, namespace, self.recorder, self.notes)


def _cache_dir(config: dict[str, Any]) -> str:
    """Where `keras.utils.get_file` puts files: the run's own folder, never the user's home."""
    return config.get("cache_dir") or os.path.join(os.getcwd(), ".keras")


def _grow_gpu_memory() -> None:
    """Let TensorFlow take GPU memory as it needs it, so several kernels can share a GPU."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        # RuntimeError: the notebook initialised the GPU already; nothing to change then.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
