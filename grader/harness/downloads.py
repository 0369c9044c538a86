"""Serving downloads from the grader's own copies, because the grading kernel has no network.

A notebook fetches its data with `!wget`, `!curl` or `!gdown`, with `urllib.request.urlretrieve`
or with `keras.utils.get_file`. Each is answered by copying the grader's local copy to where the
real program would have written it, so the cells after it find the file they expect. A URL the
grader has no copy of is reported in one line (shell) or fails with a message that says why.
"""

from __future__ import annotations

import os
import shlex
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.client import HTTPMessage
from typing import Any

from grader.harness.download_commands import (
    GDRIVE,
    PROGRAMS,
    SYNTAX,
    Fetch,
    destination,
    drive_file_id,
    short,
    tokens,
)
from grader.harness.download_functions import (
    KERAS_MODULES,
    TF_KERAS_MODULES,
    GetFile,
    copy_file,
    importable,
    is_remote,
    keras3_get_file,
    retrieve,
    served_message,
    tf_keras_get_file,
)

_NO_COPY = "there is no network while grading and the grader has no copy of this file"
_HINT = (
    "Hint: download only the files the assignment names, from the URLs it gives; "
    "the grader serves those from its own copies."
)


class DownloadUnavailable(Exception):
    """A download the grader cannot serve; the notebook's cell fails with this message."""

    def __init__(self, url: str) -> None:
        super().__init__(f"no network while grading: the grader has no copy of {url}. {_HINT}")
        self.url = url


class DownloadMap:
    """The grader's local copies by URL or Drive id, and the patches that serve them."""

    def __init__(self, resources: dict[str, str], cache_dir: str) -> None:
        self.resources = dict(resources)
        self.cache_dir = cache_dir
        self._originals: list[tuple[Any, str, Any]] = []

    def lookup(self, url_or_id: str) -> str | None:
        """The local copy for a URL, a Google Drive URL or a bare Drive id; None if unknown."""
        key = str(url_or_id).strip()
        if key in self.resources:
            return self.resources[key]
        file_id = drive_file_id(key)
        return self.resources.get(GDRIVE + file_id) if file_id else None

    def run_shell(self, words: list[str], cwd: str) -> str | None:
        """Serve a `wget`, `curl` or `gdown` command; None for any other program."""
        program = os.path.basename(words[0]) if words else ""
        parse = PROGRAMS.get(program)
        if parse is None:
            return None
        fetches = parse(tokens(words[1:], SYNTAX[program]))
        if not fetches:
            return f"[grader] skipped `{shlex.join(words)}`: there is no network while grading."
        return "\n".join(self._serve(program, fetch, cwd) for fetch in fetches)

    def install(self) -> None:
        """Patch `urlretrieve`, and `get_file` of each Keras imported so far, until `uninstall`.

        Call it again once another Keras is imported (the harness does, from an import hook).
        """
        self._patch(urllib.request, "urlretrieve", self._urlretrieve(urllib.request.urlretrieve))
        if "keras" in sys.modules:
            keras3 = self._get_file(keras3_get_file)
            for module in importable(KERAS_MODULES):
                self._patch(module, "get_file", keras3)
        if "tf_keras" in sys.modules:
            legacy = self._get_file(tf_keras_get_file)
            for module in importable(TF_KERAS_MODULES):
                self._patch(module, "get_file", legacy)

    def uninstall(self) -> None:
        """Put back every function `install` replaced."""
        while self._originals:
            owner, name, original = self._originals.pop()
            setattr(owner, name, original)

    def require(self, url: str) -> str:
        """The local copy of `url`, or the error a notebook's Python download fails with."""
        local = self.lookup(url)
        if local is None:
            raise DownloadUnavailable(url)
        return local

    def _serve(self, program: str, fetch: Fetch, cwd: str) -> str:
        local = self.lookup(fetch.source)
        if local is None:
            return f"[grader] skipped `{program} {fetch.source}`: {_NO_COPY}."
        if fetch.target is None:
            return (
                f"[grader] skipped `{program} {fetch.source}`: it writes to standard output, "
                "which the grader does not serve; name an output file instead."
            )
        target = destination(fetch.target, local, cwd)
        copy_file(local, target)
        return served_message(f"{program} {short(fetch.source)}", target)

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
        """Replace `owner.name`, once: a second `install` leaves it as it is."""
        if any(o is owner and n == name for o, n, _ in self._originals):
            return
        self._originals.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def _urlretrieve(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def urlretrieve(
            url: str,
            filename: Any = None,
            reporthook: Callable[[int, int, int], Any] | None = None,
            data: Any = None,
        ) -> tuple[Any, HTTPMessage]:
            """Served by the grader from its own copy; other URLs fail, local ones still work."""
            local = self.lookup(url)
            if local is not None:
                return retrieve(local, url, filename, reporthook)
            if is_remote(url):
                raise DownloadUnavailable(url)
            return original(url, filename, reporthook, data)

        return urlretrieve

    def _get_file(self, flavour: Callable[[GetFile], str]) -> Callable[..., str]:
        def get_file(
            fname: Any = None,
            origin: str | None = None,
            untar: bool = False,
            md5_hash: str | None = None,
            file_hash: str | None = None,
            cache_subdir: str = "datasets",
            hash_algorithm: str = "auto",
            extract: bool = False,
            archive_format: Any = "auto",
            cache_dir: Any = None,
            force_download: bool = False,
            **kwargs: Any,
        ) -> str:
            """Served by the grader from its own copy: nothing is fetched, no hash checked."""
            if origin is None:
                raise ValueError(
                    'Please specify the "origin" argument (URL of the file to download).'
                )
            call = GetFile(
                local=self.require(origin),
                origin=origin,
                fname=os.fspath(fname) if fname else None,
                datadir=self._datadir(cache_dir, cache_subdir),
                untar=bool(untar),
                extract=bool(extract),
                archive_format=archive_format,
                force_download=bool(force_download),
            )
            path = flavour(call)
            print(served_message(f"get_file {short(origin)}", path))
            return path

        return get_file

    def _datadir(self, cache_dir: Any, cache_subdir: str) -> str:
        """`cache_subdir` under the cache. A cache folder that is missing or read-only falls
        back, as in Keras: there to /tmp/.keras, here to the grader's cache folder."""
        base = os.path.expanduser(os.fspath(cache_dir)) if cache_dir else self.cache_dir
        if not os.access(base, os.W_OK):
            base = self.cache_dir
        datadir = os.path.join(base, cache_subdir)
        os.makedirs(datadir, exist_ok=True)
        return datadir
