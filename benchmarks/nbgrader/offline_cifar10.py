"""IPython start-up file for the kernels of `benchmarks/nbgrader_side.py`'s baseline and
nbgrader sides (never for `grade`, whose harness serves the data itself).

Offline, `keras.datasets.cifar10.load_data()` cannot read a cache that holds anything but
the published archive: Keras 3 checks the archive's SHA-256 on every call (a mismatch means
"download again"), extracts it again on every call, and expects exactly 5 x 10,000 training
images. Once the notebook imports Keras, this replaces `load_data` with a reader of the
extracted batches in the Keras cache (`$KERAS_HOME/datasets/cifar-10-batches-py-target/
cifar-10-batches-py/`), with Keras's own `load_batch`: the same files and format, any size,
no hash, no extraction, no download.
"""


def _install_offline_cifar10() -> None:
    import os
    from types import ModuleType
    from typing import Any

    from wrapt import when_imported

    def load_data() -> tuple[tuple[Any, Any], tuple[Any, Any]]:
        """CIFAR-10 from the extracted batches in the Keras cache; nothing is downloaded."""
        import numpy as np
        from keras.src.datasets.cifar import load_batch

        home = os.environ.get("KERAS_HOME") or os.path.expanduser("~/.keras")
        folder = os.path.join(home, "datasets", "cifar-10-batches-py-target", "cifar-10-batches-py")
        train = [load_batch(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
        x_test, y_test = load_batch(os.path.join(folder, "test_batch"))
        x_train = np.concatenate([x for x, _ in train]).transpose(0, 2, 3, 1)
        y_train = np.concatenate([y for _, y in train]).astype("uint8").reshape(-1, 1)
        test = (x_test.transpose(0, 2, 3, 1), np.asarray(y_test, "uint8").reshape(-1, 1))
        return (x_train, y_train), test

    @when_imported("keras")
    def _patch(keras: ModuleType) -> None:
        import keras.src.datasets.cifar10 as source

        source.load_data = keras.datasets.cifar10.load_data = load_data


_install_offline_cifar10()
del _install_offline_cifar10
