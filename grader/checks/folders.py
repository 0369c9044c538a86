"""Checks of functions that make folders and split files, verified from the grader's process.

The grader builds the inputs (source folders of random size with zero-length files, random
split sizes) only when the collect step starts, calls the notebook's function on them in the
kernel, and then reads the resulting folders itself.
"""

from __future__ import annotations

import hashlib
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


class SplitFiles(FunctionParams):
    """Each call splits a fresh source folder of `files` non-empty files plus `empty`
    zero-length ones; the first two calls use the same source, to see that the split is
    random; `splits` are the SPLIT_SIZE values (the first is used twice)."""

    kind: ClassVar[Literal["model", "value", "none"]] = "none"
    files: tuple[int, int] = (12, 40)
    empty: tuple[int, int] = (1, 3)
    splits: tuple[float, ...] = (0.9, 0.5, 1.0)

    def hidden_calls(self, rng: np.random.Generator, folder: Path) -> list[HiddenCall]:
        sources = [
            _source_folder(folder / f"source-{n}", rng, self, split)
            for n, split in enumerate(self.splits)
        ]
        calls = []
        plan = [(sources[0], self.splits[0]), *zip(sources, self.splits, strict=True)]
        for n, (source, split) in enumerate(plan):
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


@check("split_files", SplitFiles, "Splits the files")
def check_split_files(ctx: CheckContext, params: SplitFiles) -> str:
    """Every non-empty file is copied (never moved) exactly once, byte for byte, into
    training or validation, int(n × SPLIT_SIZE) of them into training, zero-length files
    skipped with the course's message, and the split is random."""
    calls = ctx.function_calls(params)
    splits = []
    for hidden, call in calls:
        raise_on_error(params.function, hidden.args, call)
        splits.append(_verified_split(params.function, hidden, call))
    if len(splits) > 1 and splits[0] == splits[1]:
        raise CheckFailed(
            "Expected two calls on the same folder to split it differently, received the "
            "same training files twice.",
            expected="a random split",
            received=sorted(splits[0]),
            hint="shuffle the file list first, e.g. random.sample(files, len(files)); "
            "do not seed inside the function.",
        )
    return f"{len(calls)} calls split {', '.join(str(h.known['split']) for h, _ in calls)} right"


def _verified_split(function: str, hidden: HiddenCall, call: CallArtifact) -> frozenset[str]:
    known = hidden.known
    shown = f"{function}({', '.join(map(repr, hidden.args))})"
    _check_source_untouched(shown, known)
    training = _listing(known["training"])
    validation = _listing(known["validation"])
    _check_empty_skipped(shown, known, training | validation)
    _check_disjoint(shown, known, training, validation)
    _check_complete(shown, known, training, validation)
    _check_counts(shown, known, training)
    _check_message(shown, known, call.printed)
    return frozenset(training)


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()


def _fail(message: str, expected: Any, received: Any, hint: str) -> CheckFailed:
    return CheckFailed(message, expected=expected, received=received, hint=hint)


def _check_source_untouched(shown: str, known: dict[str, Any]) -> None:
    now = {p.name: _digest(p) for p in known["path"].iterdir() if p.is_file()}
    if now != known["digests"]:
        gone = sorted(set(known["digests"]) - set(now))
        raise _fail(
            f"Expected {shown} to leave the source folder as it was, received "
            f"{len(gone)} file(s) gone or changed.",
            "source unchanged",
            gone[:10],
            "copy with shutil.copyfile(source, destination); never move or delete the originals.",
        )


def _check_empty_skipped(shown: str, known: dict[str, Any], copied: set[str]) -> None:
    empty = sorted(copied & set(known["empty"]))
    if empty:
        raise _fail(
            f"Expected {shown} to skip zero-length files, received {', '.join(empty)} copied.",
            "zero-length files skipped",
            empty,
            "test os.path.getsize(path) > 0 before keeping a file.",
        )


def _check_disjoint(
    shown: str, known: dict[str, Any], training: set[str], validation: set[str]
) -> None:
    both = training & validation
    if not both:
        return
    if validation == training:
        hint = "validation got the training files: copy the other part of the shuffled list."
    elif known["split"] == 1.0:
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


def _check_complete(
    shown: str, known: dict[str, Any], training: set[str], validation: set[str]
) -> None:
    wanted = set(known["digests"]) - set(known["empty"])
    missing, extra = wanted - training - validation, (training | validation) - wanted
    if missing or extra:
        raise _fail(
            f"Expected {shown} to copy each of the {len(wanted)} non-empty files once, received "
            f"{len(missing)} missing and {len(extra)} unexpected.",
            sorted(wanted)[:10],
            {"missing": sorted(missing)[:10], "unexpected": sorted(extra)[:10]},
            "copy every non-empty file of SOURCE_DIR, keeping its name.",
        )
    changed = [n for n in wanted if _digest(_where(known, n, training)) != known["digests"][n]]
    if changed:
        raise _fail(
            f"Expected byte-identical copies, received {len(changed)} changed file(s).",
            "identical bytes",
            sorted(changed)[:10],
            "use shutil.copyfile; do not open and rewrite the images.",
        )


def _where(known: dict[str, Any], name: str, training: set[str]) -> Path:
    return known["training" if name in training else "validation"] / name


def _check_counts(shown: str, known: dict[str, Any], training: set[str]) -> None:
    non_empty = len(known["digests"]) - len(known["empty"])
    expected = int(non_empty * known["split"])
    if len(training) == expected:
        return
    counted_empty = int(len(known["digests"]) * known["split"])
    hint = (
        "the split was counted before dropping the zero-length files: filter first, then "
        "take int(len(non_empty_files) * SPLIT_SIZE)."
        if len(training) == counted_empty
        else "put int(number of non-empty files × SPLIT_SIZE) files in training."
    )
    raise _fail(
        f"Expected {expected} of {non_empty} files in training with SPLIT_SIZE "
        f"{known['split']}, received {len(training)}.",
        expected,
        len(training),
        hint,
    )


def _check_message(shown: str, known: dict[str, Any], printed: str) -> None:
    lines = [f"{name} is zero length, so ignoring." for name in known["empty"]]
    missing = [line for line in lines if line not in printed]
    if not missing:
        return
    if "filename is zero length" in printed:
        hint = 'print the file\'s name, not the word: f"{filename} is zero length, so ignoring."'
    elif "zero length" not in printed:
        hint = 'print "<name> is zero length, so ignoring." for every zero-length file skipped.'
    else:
        hint = 'print exactly "<name> is zero length, so ignoring." with the bare file name.'
    raise _fail(
        f"Expected {shown} to print {missing[0]!r}, received {printed.strip()[:200]!r}.",
        lines,
        printed.strip()[:500],
        hint,
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
