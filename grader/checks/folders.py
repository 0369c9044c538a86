"""Checks of functions that make folders and split files, verified from the grader's process.

The grader builds the inputs (source folders of random size with zero-length files, random
split sizes) only when the collect step starts, calls the notebook's function on them in the
kernel, and then reads the resulting folders itself.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from grader.artifacts import CallArtifact
from grader.checks.context import CheckContext, raise_on_error
from grader.checks.registry import FunctionParams, HiddenCall, check
from grader.outcomes import CheckFailed

_SUBFOLDERS = ("training/cats", "training/dogs", "validation/cats", "validation/dogs")


class CreatesDirs(FunctionParams):
    """`alternatives` accepts the course's older folder names (`testing` for `validation`)."""

    kind: ClassVar[Literal["model", "value", "none"]] = "none"
    subfolders: tuple[str, ...] = _SUBFOLDERS
    alternatives: dict[str, str] = Field(default_factory=lambda: {"validation": "testing"})

    def hidden_calls(self, rng: np.random.Generator, folder: Path) -> list[HiddenCall]:
        root = folder / f"root-{rng.integers(10**6)}"
        return [HiddenCall([str(root)], root)]


@check("creates_dirs", CreatesDirs, "Creates the folders")
def check_creates_dirs(ctx: CheckContext, params: CreatesDirs) -> str:
    """Called on a root folder the grader chose, the function creates every sub-folder."""
    for hidden, call in ctx.function_calls(params):
        raise_on_error(params.function, hidden.args, call)
        root: Path = hidden.known
        missing = [s for s in params.subfolders if not _exists(root, s, params.alternatives)]
        if missing:
            raise CheckFailed(
                f"Expected {params.function}({str(root)!r}) to create {', '.join(missing)} "
                "inside it, received no such folders.",
                expected=list(params.subfolders),
                received=sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())
                if root.is_dir()
                else [],
                hint="build each path from the argument, e.g. os.makedirs(os.path.join("
                "root_path, 'training', 'cats')); never hard-code /tmp.",
            )
    return f"created {', '.join(params.subfolders)}"


def _exists(root: Path, subfolder: str, alternatives: dict[str, str]) -> bool:
    top, _, rest = subfolder.partition("/")
    names = [top, alternatives[top]] if top in alternatives else [top]
    return any((root / name / rest).is_dir() for name in names)


SplitProperty = Literal[
    "source_untouched",
    "empty_skipped",
    "disjoint",
    "complete",
    "counts",
    "message",
    "random",
    "edge_sizes",
]


class SplitFiles(FunctionParams):
    """Each call splits a fresh source folder of `files` non-empty files plus `empty`
    zero-length ones; `splits` are the SPLIT_SIZE values.

    `property` grades one property of the split, so that one difference costs one property's
    points: the source left as it was, zero-length files skipped, no file in both folders,
    every file copied byte for byte, the count in training, the message printed, a random
    split, and the edge sizes (SPLIT_SIZE 0 or 1) handled. Without it, all at once."""

    kind: ClassVar[Literal["model", "value", "none"]] = "none"
    files: tuple[int, int] = (16, 40)  # at SPLIT_SIZE 0.5, an order is then told from a shuffle
    empty: tuple[int, int] = (1, 3)
    splits: tuple[float, ...] = (0.9, 0.5, 1.0)
    property: SplitProperty | None = None

    def hidden_calls(self, rng: np.random.Generator, folder: Path) -> list[HiddenCall]:
        sources = [
            _source_folder(folder / f"source-{n}", rng, self, split)
            for n, split in enumerate(self.splits)
        ]
        calls = []
        for n, (source, split) in enumerate(zip(sources, self.splits, strict=True)):
            training, validation = folder / f"training-{n}", folder / f"validation-{n}"
            training.mkdir()
            validation.mkdir()
            known = {**source, "split": split, "training": training, "validation": validation}
            args = [f"{source['path']}/", f"{training}/", f"{validation}/", split]
            calls.append(HiddenCall(args, known))
        return calls


def _source_folder(
    path: Path, rng: np.random.Generator, params: SplitFiles, split: float
) -> dict[str, Any]:
    """Files named like the real set's, random bytes; sizes chosen so that counting the split
    before dropping empty files gives a different number (the off-by-one is then visible)."""
    while True:
        n_files = int(rng.integers(params.files[0], params.files[1] + 1))
        n_empty = int(rng.integers(params.empty[0], params.empty[1] + 1))
        if split in (0.0, 1.0) or int(n_files * split) != int((n_files + n_empty) * split):
            break
    names = [f"{n}.jpg" for n in rng.choice(12_500, n_files + n_empty, replace=False)]
    path.mkdir()
    digests = {}
    for number, name in enumerate(names):
        content = b"" if number < n_empty else rng.bytes(int(rng.integers(16, 256)))
        (path / name).write_bytes(content)
        digests[name] = hashlib.sha256(content).hexdigest()
    return {"path": path, "digests": digests, "empty": sorted(names[:n_empty])}


@dataclass(frozen=True)
class _Split:
    """What one call of the function did, read from the folders by the grader."""

    shown: str
    known: dict[str, Any]
    training: set[str]
    validation: set[str]
    printed: str


@check("split_files", SplitFiles, "Splits the files")
def check_split_files(ctx: CheckContext, params: SplitFiles) -> str:
    """Every non-empty file is copied (never moved) exactly once, byte for byte, into
    training or validation, int(n × SPLIT_SIZE) of them into training, zero-length files
    skipped with the course's message, the split is random, and SPLIT_SIZE 1.0 works; one
    property at a time when the spec names one."""
    calls = ctx.function_calls(params)
    ordinary = [(h, c) for h, c in calls if h.known["split"] not in _EDGES]
    edges = [(h, c) for h, c in calls if h.known["split"] in _EDGES]
    wanted = [params.property] if params.property else [*_PER_CALL, "random", "edge_sizes"]
    splits = _observed(params.function, ordinary)
    _check_something_copied(splits)
    for name in wanted:
        if name == "edge_sizes":
            _verify_edges(_observed(params.function, edges), splits)
        elif name == "random":
            _check_random(splits)
        else:
            for split in splits:
                _PER_CALL[name](split)
    if params.property:
        return _PASSED[params.property]
    return f"{len(calls)} calls split {', '.join(str(h.known['split']) for h, _ in calls)} right"


_EDGES = (0.0, 1.0)
Calls = list[tuple[HiddenCall, CallArtifact]]


def _observed(function: str, calls: Calls) -> list[_Split]:
    """What each call did, read from the folders; a call that raised fails the property."""
    splits = []
    for hidden, call in calls:
        raise_on_error(function, hidden.args, call)
        known = hidden.known
        shown = f"{function}({', '.join(map(repr, hidden.args))})"
        training, validation = _listing(known["training"]), _listing(known["validation"])
        splits.append(_Split(shown, known, training, validation, call.printed))
    return splits


def _verify_edges(edge_splits: list[_Split], ordinary_splits: list[_Split]) -> None:
    """SPLIT_SIZE 1.0 (or 0): each property that holds at ordinary sizes must hold there too.
    A mistake visible at ordinary sizes costs its own property, not this one as well."""
    for name, verify in _PER_CALL.items():
        if name != "message" and _holds(verify, ordinary_splits):
            for split in edge_splits:
                verify(split)


def _holds(verify: Callable[[_Split], None], splits: list[_Split]) -> bool:
    try:
        for split in splits:
            verify(split)
    except CheckFailed:
        return False
    return bool(splits)


def _check_something_copied(splits: list[_Split]) -> None:
    """A function that copies nothing (the starter's stub) leaves the source untouched and
    the two folders disjoint, vacuously: no property of a split is earned without a split."""
    if splits and not any(split.training or split.validation for split in splits):
        raise CheckFailed(
            f"Expected {splits[0].shown} to copy the files into training and validation, "
            "received both folders empty.",
            expected="files in training and validation",
            received="nothing copied",
            hint="copy each non-empty file of SOURCE_DIR into TRAINING_DIR or VALIDATION_DIR "
            "(shutil.copyfile), after shuffling the list.",
        )


# A shuffle takes the first files of a listing by luck once in comb(n, k) splits: below this
# many ways to choose, a split cannot show whether the files were shuffled.
_ORDERS_APART = 10_000


def _check_random(splits: list[_Split]) -> None:
    """Shuffled, not taken in directory order (as listed, or sorted by name). A seed set
    inside the function is a choice, not a mistake; a split with few ways to choose (10 of 11
    files) cannot show order, and is not judged (the calls at SPLIT_SIZE 0.5 always can)."""
    for split in splits:
        known = split.known
        empty = set(known["empty"])
        listed = [n for n in os.listdir(known["path"]) if n not in empty]
        first = len(split.training)
        if split.training - set(listed) or math.comb(len(listed), first) < _ORDERS_APART:
            continue  # moved files, or too few ways to choose for an order to show
        if split.training in (set(listed[:first]), set(sorted(listed)[:first])):
            raise CheckFailed(
                f"Expected {split.shown} to shuffle the files, received the first {first} "
                "in directory order in training.",
                expected="a random split",
                received=sorted(split.training)[:10],
                hint="shuffle the file list first, e.g. random.sample(files, len(files)).",
            )


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()


def _fail(message: str, expected: Any, received: Any, hint: str) -> CheckFailed:
    return CheckFailed(message, expected=expected, received=received, hint=hint)


def _check_source_untouched(split: _Split) -> None:
    known = split.known
    now = {p.name: _digest(p) for p in known["path"].iterdir() if p.is_file()}
    if now != known["digests"]:
        gone = sorted(set(known["digests"]) - set(now))
        raise _fail(
            f"Expected {split.shown} to leave the source folder as it was, received "
            f"{len(gone)} file(s) gone or changed.",
            "source unchanged",
            gone[:10],
            "copy with shutil.copyfile(source, destination); never move or delete the originals.",
        )


def _check_empty_skipped(split: _Split) -> None:
    empty = sorted((split.training | split.validation) & set(split.known["empty"]))
    if empty:
        raise _fail(
            f"Expected {split.shown} to skip zero-length files, received {', '.join(empty)} "
            "copied.",
            "zero-length files skipped",
            empty,
            "test os.path.getsize(path) > 0 before keeping a file.",
        )


def _check_disjoint(split: _Split) -> None:
    both = split.training & split.validation
    if not both:
        return
    if split.validation == split.training:
        hint = "validation got the training files: copy the other part of the shuffled list."
    elif split.known["split"] == 1.0:
        hint = (
            "with SPLIT_SIZE 1.0 nothing is left for validation; note files[-0:] is the whole list."
        )
    else:
        hint = "slice the shuffled list once: files[:n] to training, files[n:] to validation."
    raise _fail(
        f"Expected no file in both training and validation, received {len(both)}.",
        "disjoint sets",
        sorted(both)[:10],
        hint,
    )


def _check_complete(split: _Split) -> None:
    known = split.known
    wanted = set(known["digests"]) - set(known["empty"])
    copied = split.training | split.validation
    missing, extra = wanted - copied, copied - wanted - set(known["empty"])
    if missing or extra:
        raise _fail(
            f"Expected {split.shown} to copy each of the {len(wanted)} non-empty files, "
            f"received {len(missing)} missing and {len(extra)} unexpected.",
            sorted(wanted)[:10],
            {"missing": sorted(missing)[:10], "unexpected": sorted(extra)[:10]},
            "copy every non-empty file of SOURCE_DIR, keeping its name.",
        )
    changed = [
        name
        for name in wanted
        if _digest(_where(known, name, split.training)) != known["digests"][name]
    ]
    if changed:
        raise _fail(
            f"Expected byte-identical copies, received {len(changed)} changed file(s).",
            "identical bytes",
            sorted(changed)[:10],
            "use shutil.copyfile; do not open and rewrite the images.",
        )


def _where(known: dict[str, Any], name: str, training: set[str]) -> Path:
    return known["training" if name in training else "validation"] / name


def _check_counts(split: _Split) -> None:
    known = split.known
    non_empty = len(known["digests"]) - len(known["empty"])
    expected = int(non_empty * known["split"])
    received = len(split.training)
    if received == expected:
        return
    counted_empty = int(len(known["digests"]) * known["split"])
    hint = (
        "the split was counted before dropping the zero-length files: filter first, then "
        "take int(len(non_empty_files) * SPLIT_SIZE)."
        if received == counted_empty
        else "put int(number of non-empty files × SPLIT_SIZE) files in training."
    )
    raise _fail(
        f"Expected {expected} of {non_empty} files in training with SPLIT_SIZE "
        f"{known['split']}, received {received}.",
        expected,
        received,
        hint,
    )


def _check_message(split: _Split) -> None:
    """The course's message for every zero-length file, compared as the course's own
    "Expected output" shows it: the final period and the spacing around it are optional, and
    the name may come with its folder."""
    names = split.known["empty"]
    lines = [f"{name} is zero length, so ignoring." for name in names]
    missing = [
        line for name, line in zip(names, lines, strict=True) if not _said(name, split.printed)
    ]
    if not missing:
        return
    printed = split.printed
    if "filename is zero length" in printed:
        hint = 'print the file\'s name, not the word: f"{filename} is zero length, so ignoring."'
    elif "zero length" not in printed:
        hint = 'print "<name> is zero length, so ignoring." for every zero-length file skipped.'
    else:
        hint = 'print "<name> is zero length, so ignoring." with the file\'s name.'
    raise _fail(
        f"Expected {split.shown} to print {missing[0]!r}, received {printed.strip()[:200]!r}.",
        lines,
        printed.strip()[:500],
        hint,
    )


def _said(name: str, printed: str) -> bool:
    pattern = rf"(?:^|[\s/\\'\"]){re.escape(name)}['\"]?\s+is\s+zero\s+length\s*,?\s*so\s+ignoring"
    return re.search(pattern, printed, re.IGNORECASE | re.MULTILINE) is not None


_PER_CALL = {
    "source_untouched": _check_source_untouched,
    "empty_skipped": _check_empty_skipped,
    "disjoint": _check_disjoint,
    "complete": _check_complete,
    "counts": _check_counts,
    "message": _check_message,
}

_PASSED = {
    "source_untouched": "the source folder is left as it was",
    "empty_skipped": "zero-length files are skipped",
    "disjoint": "no file is in both training and validation",
    "complete": "every non-empty file is copied once, byte for byte",
    "counts": "int(n × SPLIT_SIZE) files go to training",
    "message": "each zero-length file is reported with the course's message",
    "random": "the files are shuffled, not taken in directory order",
    "edge_sizes": "SPLIT_SIZE 1.0 puts every file in training",
}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
