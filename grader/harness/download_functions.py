"""Python-level downloads served from the grader's copies: `urllib.request.urlretrieve` and
the two Keras flavours of `get_file`, whose return values and cache layouts are mirrored."""

from __future__ import annotations

import importlib
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPMessage
from pathlib import PurePosixPath
from typing import Any

from grader.harness.download_commands import short

KERAS_MODULES = (
    "keras.utils",
    "keras.src.utils",
    "keras.src.utils.file_utils",
    "keras._tf_keras.keras.utils",
)
# `tf.keras.utils` is `tf_keras.api._v2.keras.utils` under TF_USE_LEGACY_KERAS=1: its own module.
TF_KERAS_MODULES = (
    "tf_keras.utils",
    "tf_keras.src.utils",
    "tf_keras.src.utils.data_utils",
    "tf_keras.api._v2.keras.utils",
)


def served_message(what: str, path: str) -> str:
    return f"[grader] served `{what}` from the grader's copy: {path}"


def copy_file(source: str, target: str) -> None:
    """Copy, not link: the notebook may move, extract over or delete what it downloaded."""
    folder = os.path.dirname(target)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if os.path.exists(target) and os.path.samefile(source, target):
        return
    shutil.copyfile(source, target)


# Python downloads: urlretrieve and the two Keras flavours of get_file.


def is_remote(url: Any) -> bool:
    return urllib.parse.urlsplit(str(url)).scheme in {"http", "https", "ftp"}


def retrieve(
    local: str, url: str, filename: Any, reporthook: Callable[[int, int, int], Any] | None
) -> tuple[Any, HTTPMessage]:
    """What `urlretrieve` returns: the file name it was given (or a temporary file's) and the
    headers; the progress hook hears of the start and the end, as a one-block download."""
    if filename is None:
        suffix = os.path.splitext(urllib.parse.urlsplit(url).path)[1]
        handle, filename = tempfile.mkstemp(suffix=suffix)
        os.close(handle)
    copy_file(local, os.fspath(filename))
    size = os.path.getsize(filename)
    if reporthook is not None:
        reporthook(0, 8192, size)
        reporthook(1, max(size, 1), size)
    headers = HTTPMessage()
    headers["Content-Length"] = str(size)
    print(served_message(f"urlretrieve {short(url)}", os.fspath(filename)))
    return filename, headers


@dataclass(frozen=True)
class GetFile:
    """One `get_file` call, its cache folder resolved and its local copy found."""

    local: str
    origin: str
    fname: str | None
    datadir: str
    untar: bool
    extract: bool
    archive_format: Any
    force_download: bool

    @property
    def name(self) -> str:
        if self.fname:
            return self.fname
        name = PurePosixPath(urllib.parse.urlsplit(self.origin).path).name
        if not name:
            raise ValueError(
                f"Can't parse the file name from the origin provided: '{self.origin}'. "
                "Please specify the `fname` argument."
            )
        return name


def keras3_get_file(call: GetFile) -> str:
    """Keras 3: with `extract`, the archive is saved as `<name>_archive` and extracted into the
    folder `<name>`, or, for an `fname` with a dot, saved as `fname` and extracted into
    `<fname up to its first dot>_extracted`; the extraction folder is returned."""
    if call.fname and os.sep in call.fname:
        raise ValueError(
            "Paths are no longer accepted as the `fname` argument. To specify the file's "
            f"parent directory, use the `cache_dir` argument. Received: fname={call.fname}"
        )
    archive, folder = _keras3_targets(call)
    if call.force_download or not os.path.exists(archive):
        copy_file(call.local, archive)
    if folder is None:
        return archive
    if not _extract(archive, folder, "tar" if call.untar else call.archive_format):
        warnings.warn("Could not extract archive.", stacklevel=3)
    return folder


def _keras3_targets(call: GetFile) -> tuple[str, str | None]:
    name = call.name
    if not (call.extract or call.untar):
        return os.path.join(call.datadir, name), None
    if call.fname and "." in name:
        stem = name[: name.find(".")]
        return os.path.join(call.datadir, name), os.path.join(call.datadir, f"{stem}_extracted")
    return os.path.join(call.datadir, f"{name}_archive"), os.path.join(call.datadir, name)


def tf_keras_get_file(call: GetFile) -> str:
    """tf_keras (Keras 2): the archive is saved under its name and extracted beside it, into the
    cache folder; the archive path is returned, except with `untar`: the name without
    `.tar.gz`."""
    name = call.name
    untarred = os.path.join(call.datadir, _without_tar_gz(name))
    archive = f"{untarred}.tar.gz" if call.untar else os.path.join(call.datadir, name)
    if call.force_download or not os.path.exists(archive):
        copy_file(call.local, archive)
    if call.untar:
        if not os.path.exists(untarred):
            _extract(archive, call.datadir, "tar")
        return untarred
    if call.extract:
        _extract(archive, call.datadir, call.archive_format)
    return archive


def _without_tar_gz(name: str) -> str:
    return name[: -len(".tar.gz")] if name.endswith(".tar.gz") else name


def _extract(archive: str, folder: str, archive_format: Any) -> bool:
    """Extract a tar or zip archive as `archive_format` allows (`"auto"`: either); False if it
    is neither, as Keras reports it."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format
    for kind in [formats] if isinstance(formats, str) else formats:
        if kind == "tar" and tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tar:
                tar.extractall(folder, **_TAR_FILTER)
            return True
        if kind == "zip" and zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(folder)
            return True
    return False


# The "data" filter keeps members inside the folder (and silences Python 3.12+'s warning).
_TAR_FILTER: dict[str, Any] = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def importable(names: tuple[str, ...]) -> list[Any]:
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    return modules
