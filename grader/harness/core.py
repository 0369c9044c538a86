"""The one harness object of a kernel: what `install` sets up and what `collect` exports."""

from __future__ import annotations

import contextlib
import random
from typing import Any

from grader.harness import export, fit, serve, shims


class Harness:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        rules = [fit.SizeRule(**rule) for rule in config.get("budget_by_size", [])]
        self.recorder = fit.FitRecorder(config.get("max_epochs"), rules)

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
        self.recorder.patch(keras.Model)
        serve.serve_datasets(self.config.get("datasets", {}))
        shims.install_colab_shim()
        shims.install_shell_policy()

    def collect(self, arguments: dict[str, Any]) -> None:
        from IPython import get_ipython

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
        export.export_all(arguments, namespace, self.recorder)


def _grow_gpu_memory() -> None:
    """Let TensorFlow take GPU memory as it needs it, so several kernels can share a GPU."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        # RuntimeError: the notebook initialised the GPU already; nothing to change then.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
