"""Datasets the grader serves to notebooks: real data where it is found, fixtures otherwise.

The kernel gets `served`; the grader keeps `holdout`, which the kernel never sees, to measure
accuracy itself. The report always says which source was used. A module is one of three kinds:

- arrays (`load_real`, `make_fixture`): CIFAR-10, MNIST, Sign Language MNIST (which also
  `write_files` in the course's CSV format);
- a folder tree (`find_real`, `write_fixture`, `write_subsample`, `write_archives`,
  `holdout_arrays`): cats vs dogs, horses or humans;
- a resource (`write_resource`): files such as pretrained weights, nothing held out.

Modules also say where notebooks expect their files (`PLACE`) and which downloads they
answer (`DOWNLOADS`); see `placement`.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from grader.datasets.base import Split, Splits
from grader.datasets.fixture_cache import cached_arrays, cached_tree
from grader.outcomes import UsageError
from grader.results import DataSource
from grader.spec import DataChoice, DataSizes

PUBLIC_SEED = 20_26
REAL_HOLDOUT_POOL = 5000
_FIXTURE_DEFAULTS = (5000, 1000)


class DatasetModule(Protocol):
    CLASS_NAMES: tuple[str, ...]

    def load_real(self, data_dir: Path | None) -> Splits | None: ...

    def make_fixture(self, seed: int, n_train: int, n_test: int) -> Splits: ...


@dataclass(frozen=True)
class PreparedData:
    """`served` arrays (array datasets) or `files` (a folder tree as published) go to the
    kernel; `holdout` stays with the grader."""

    name: str
    served: Splits | None
    holdout: Split | None
    source: DataSource
    class_names: tuple[str, ...]
    files: Path | None = None


def dataset_module(name: str) -> DatasetModule:
    try:
        return importlib.import_module(f"grader.datasets.{name}")  # type: ignore[return-value]
    except ModuleNotFoundError:
        raise UsageError(f"unknown dataset {name!r}") from None


# The held-out part of a dataset, drawn when called: the grader calls it on a thread while
# the notebook runs (see `holdouts`). It never reads what the kernel can change.
HoldoutDraw = Callable[[], Split | None]


def with_holdout(prepared: tuple[PreparedData, HoldoutDraw]) -> PreparedData:
    """The served and the held-out parts together, the held-out drawn now:
    `with_holdout(prepare_served(...))`."""
    served, draw = prepared
    return replace(served, holdout=draw())


def prepare_served(
    name: str,
    sizes: DataSizes,
    choice: DataChoice,
    data_dir: Path | None,
    secret_seed: int,
    scratch: Path,
    private: Path,
) -> tuple[PreparedData, HoldoutDraw]:
    """Choose the source by `choice` and cut the served part now, the held-out part when the
    returned function is called; folder datasets are written under `scratch` (served) and
    `private` (never shown to the kernel)."""
    module = dataset_module(name)
    if hasattr(module, "write_resource"):  # e.g. pretrained weights: files, nothing held out
        folder = scratch / name
        folder.mkdir(parents=True, exist_ok=True)
        source = module.write_resource(folder, data_dir, choice)
        return PreparedData(name, None, None, source, (), files=folder), lambda: None
    if hasattr(module, "write_fixture"):
        return prepare_tree(name, module, sizes, choice, data_dir, secret_seed, scratch, private)
    real = None if choice == "fixture" else module.load_real(data_dir)
    if real is None and choice == "real":
        raise UsageError(
            f"the real {name} data was not found in --data-dir ({data_dir or 'not given'}) "
            f"nor in ~/.keras/datasets. Hint: pass --data-dir, or --data fixture to grade offline."
        )
    if real is None:
        return _fixture(name, module, sizes, secret_seed)
    prepared = _from_real(name, module, real, sizes, secret_seed)  # cheap: all of it now
    return replace(prepared, holdout=None), lambda: prepared.holdout


def _fixture(
    name: str, module: DatasetModule, sizes: DataSizes, secret_seed: int
) -> tuple[PreparedData, HoldoutDraw]:
    n_train = sizes.train or _FIXTURE_DEFAULTS[0]
    n_test = sizes.test or _FIXTURE_DEFAULTS[1]
    served = _public_fixture(name, module, n_train, n_test)

    def draw() -> Split:
        return module.make_fixture(secret_seed, len(module.CLASS_NAMES), sizes.holdout).test

    return PreparedData(name, served, None, "fixture", module.CLASS_NAMES), draw


def _public_fixture(name: str, module: DatasetModule, n_train: int, n_test: int) -> Splits:
    """What every run serves alike (the public seed): drawn once, then read from the cache."""
    kept = cached_arrays(
        f"{name}-served",
        (PUBLIC_SEED, n_train, n_test),
        lambda: module.make_fixture(PUBLIC_SEED, n_train, n_test).as_arrays(),
    )
    return Splits.from_arrays(kept)


def _from_real(
    name: str, module: DatasetModule, real: Splits, sizes: DataSizes, secret_seed: int
) -> PreparedData:
    pool = min(REAL_HOLDOUT_POOL, len(real.train) // 10)
    kept = real.train.take(np.arange(len(real.train) - pool))
    reserve = real.train.take(np.arange(len(real.train) - pool, len(real.train)))
    public = np.random.default_rng(PUBLIC_SEED)
    train = _subsample(kept, sizes.train, public)
    test = _subsample(real.test, sizes.test, public)
    holdout = _subsample(reserve, sizes.holdout, np.random.default_rng(secret_seed))
    whole = len(train) == len(kept) and len(test) == len(real.test)
    source: DataSource = "real" if whole else "subsampled"
    return PreparedData(name, Splits(train, test), holdout, source, module.CLASS_NAMES)


def _copy_public_tree(name: str, module: Any, per_class: int, served: Path) -> None:
    """The served fixture tree and its archives (the public seed): drawn once, then copied
    from the cache."""

    def write(folder: Path) -> None:
        module.write_fixture(folder, PUBLIC_SEED, per_class)
        module.write_archives(folder)

    cached_tree(f"{name}-served", (PUBLIC_SEED, per_class), write, served)


def _subsample(split: Split, size: int | None, rng: np.random.Generator) -> Split:
    if size is None or size >= len(split):
        return split
    return split.take(np.sort(rng.choice(len(split), size=size, replace=False)))


def write_served(data: PreparedData, folder: Path) -> Path:
    """Write what the kernel's `load_data` returns, as one `.npz` in the workspace."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{data.name}.npz"
    served = data.served
    assert served is not None, "folder datasets are placed as files, not served as arrays"
    np.savez(path, **served.as_arrays())
    return path


def prepare_tree(
    name: str,
    module: Any,
    sizes: DataSizes,
    choice: DataChoice,
    data_dir: Path | None,
    secret_seed: int,
    scratch: Path,
    private: Path,
) -> tuple[PreparedData, HoldoutDraw]:
    """A dataset published as a folder of image files (cats vs dogs, horses or humans).

    The served tree has `sizes.train` images per class (None: all). The grader's held-out
    images are a fixture drawn from the secret seed, or real images sampled with it from
    those not served (none are left when the whole set is served: then only the course's
    own validation thresholds apply).
    """
    served = scratch / name
    held = private / f"{name}-holdout"
    real = None if choice == "fixture" else module.find_real(data_dir, private / f"{name}-real")
    if real is None and choice == "real":
        raise UsageError(
            f"the real {name} images were not found in --data-dir ({data_dir or 'not given'}). "
            "Hint: pass --data-dir, or --data fixture to grade offline."
        )
    if real is None:
        _copy_public_tree(name, module, sizes.train or 100, served)
        source: DataSource = "fixture"
    else:  # the held-out sample avoids the served files: chosen now, before the kernel runs
        module.write_subsample(real, served, sizes.train, PUBLIC_SEED)
        module.write_subsample(real, held, sizes.holdout, secret_seed, avoid=served)
        module.write_archives(served)
        source = "real" if sizes.train is None else "subsampled"

    def draw() -> Split:
        if real is None:
            module.write_fixture(held, secret_seed, sizes.holdout)
        try:
            return module.holdout_arrays(held, secret_seed, sizes.holdout)
        finally:
            shutil.rmtree(held, ignore_errors=True)

    return PreparedData(name, None, None, source, module.CLASS_FOLDERS, files=served), draw
