"""Serving downloads from the grader's own copies, because the grading kernel has no network.

A notebook fetches its data with `!wget`, `!curl` or `!gdown`, with `urllib.request.urlretrieve`
or with `keras.utils.get_file`. Each is answered by copying the grader's local copy to where the
real program would have written it, so the cells after it find the file they expect. A URL the
grader has no copy of is reported in one line (shell) or fails with a message that says why.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.client import HTTPMessage
from pathlib import PurePosixPath
from typing import Any

GDRIVE = "gdrive:"
_DRIVE_HOSTS = {"drive.google.com", "docs.google.com", "drive.usercontent.google.com"}
_DRIVE_ID = re.compile(r"[A-Za-z0-9_-]{10,}")
_NO_COPY = "there is no network while grading and the grader has no copy of this file"
_HINT = (
    "Hint: download only the files the assignment names, from the URLs it gives; "
    "the grader serves those from its own copies."
)
_KERAS_MODULES = (
    "keras.utils",
    "keras.src.utils",
    "keras.src.utils.file_utils",
    "keras._tf_keras.keras.utils",
)
# `tf.keras.utils` is `tf_keras.api._v2.keras.utils` under TF_USE_LEGACY_KERAS=1: its own module.
_TF_KERAS_MODULES = (
    "tf_keras.utils",
    "tf_keras.src.utils",
    "tf_keras.src.utils.data_utils",
    "tf_keras.api._v2.keras.utils",
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
        parse = _PROGRAMS.get(program)
        if parse is None:
            return None
        fetches = parse(_tokens(words[1:], _SYNTAX[program]))
        if not fetches:
            return f"[grader] skipped `{shlex.join(words)}`: there is no network while grading."
        return "\n".join(self._serve(program, fetch, cwd) for fetch in fetches)

    def install(self) -> None:
        """Patch `urlretrieve` and every `get_file` in use, until `uninstall`."""
        if self._originals:
            return
        self._patch(urllib.request, "urlretrieve", self._urlretrieve(urllib.request.urlretrieve))
        keras3 = self._get_file(_keras3_get_file)
        for module in _importable(_KERAS_MODULES):
            self._patch(module, "get_file", keras3)
        if _has_tf_keras():
            legacy = self._get_file(_tf_keras_get_file)
            for module in _importable(_TF_KERAS_MODULES):
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

    def _serve(self, program: str, fetch: _Fetch, cwd: str) -> str:
        local = self.lookup(fetch.source)
        if local is None:
            return f"[grader] skipped `{program} {fetch.source}`: {_NO_COPY}."
        if fetch.target is None:
            return (
                f"[grader] skipped `{program} {fetch.source}`: it writes to standard output, "
                "which the grader does not serve; name an output file instead."
            )
        target = _destination(fetch.target, local, cwd)
        copy_file(local, target)
        return served_message(f"{program} {_short(fetch.source)}", target)

    def _patch(self, owner: Any, name: str, replacement: Any) -> None:
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
                return _retrieve(local, url, filename, reporthook)
            if _is_remote(url):
                raise DownloadUnavailable(url)
            return original(url, filename, reporthook, data)

        return urlretrieve

    def _get_file(self, flavour: Callable[[_GetFile], str]) -> Callable[..., str]:
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
            call = _GetFile(
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
            print(served_message(f"get_file {_short(origin)}", path))
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


def drive_file_id(url_or_id: str) -> str | None:
    """The file id in a Google Drive URL (`uc?id=`, `open?id=`, `file/d/ID/view`) or a bare id."""
    text = url_or_id.strip()
    if text.startswith(GDRIVE):
        return text[len(GDRIVE) :]
    if _DRIVE_ID.fullmatch(text):
        return text
    parts = urllib.parse.urlsplit(text if "://" in text else f"https://{text}")
    if parts.hostname not in _DRIVE_HOSTS:
        return None
    # A query may hold the cookie trick `confirm=$(wget ... id=ID ...)&id=ID`: take the id's
    # leading characters.
    for value in urllib.parse.parse_qs(parts.query).get("id", []):
        match = _DRIVE_ID.match(value)
        if match:
            return match.group()
    match = re.search(r"/d/([A-Za-z0-9_-]+)", parts.path)
    return match.group(1) if match else None


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


# Shell commands: options are read as each program reads them, then each URL gets a target.


@dataclass(frozen=True)
class _Syntax:
    """The options of a program that take a value; every other option is a flag."""

    short_values: str
    long_values: str  # the names after `--`, separated by spaces


@dataclass(frozen=True)
class _Fetch:
    """One URL or Drive id, and where it goes: a file, a folder ending in `/` (the local copy's
    name is added), or None for standard output."""

    source: str
    target: str | None


Token = tuple[str, str | None]  # ("-O", "file"), ("-q", None), ("", positional), (">", file)
_STOP = {"|", "||", "&&", ";", "&"}
_REDIRECT = re.compile(r"(\d*|&)>>?(.*)")


def _tokens(words: list[str], syntax: _Syntax) -> list[Token]:
    """Options and positional words in order, up to the first shell operator (`|`, `&&`, ...)."""
    tokens: list[Token] = []
    rest = iter(words)
    for word in rest:
        if word in _STOP:
            break
        if word == "--":
            tokens.extend(("", positional) for positional in rest)
        else:
            tokens.extend(_word_tokens(word, rest, syntax))
    return tokens


def _word_tokens(word: str, rest: Iterator[str], syntax: _Syntax) -> list[Token]:
    redirect = _REDIRECT.fullmatch(word)
    if redirect:
        target = redirect.group(2) or next(rest, "")
        return [(">", target)] if redirect.group(1) in ("", "1") else []
    if word.startswith("--"):
        name, equals, value = word.partition("=")
        if equals:
            return [(name, value)]
        return (
            [(name, next(rest, ""))] if name[2:] in syntax.long_values.split() else [(name, None)]
        )
    if word.startswith("-") and len(word) > 1:
        return _short_options(word[1:], rest, syntax)
    return [("", word)]


def _short_options(cluster: str, rest: Iterator[str], syntax: _Syntax) -> list[Token]:
    """`-qO file` and `-qOfile` alike: a letter that takes a value ends the cluster."""
    tokens: list[Token] = []
    for index, letter in enumerate(cluster):
        if letter in syntax.short_values:
            value = cluster[index + 1 :] or next(rest, "")
            return [*tokens, (f"-{letter}", value)]
        tokens.append((f"-{letter}", None))
    return tokens


def _values(tokens: list[Token], *names: str) -> list[str]:
    return [value for name, value in tokens if name in names and value is not None]


def _stdout(tokens: list[Token]) -> str | None:
    """Where standard output goes: the file of a `>` redirection, or None (the notebook)."""
    redirects = _values(tokens, ">")
    return redirects[-1] if redirects else None


def _wget(tokens: list[Token]) -> list[_Fetch]:
    """`-O FILE` for every URL (`-` is standard output), else `-P DIR`/<the URL's file name>."""
    outputs = _values(tokens, "-O", "--output-document")
    folders = _values(tokens, "-P", "--directory-prefix")
    fetches = []
    for url in _values(tokens, ""):
        if outputs:
            target = _stdout(tokens) if outputs[-1] == "-" else outputs[-1]
        else:
            target = os.path.join(folders[-1] if folders else "", _wget_name(url))
        fetches.append(_Fetch(url, target))
    return fetches


def _wget_name(url: str) -> str:
    """wget keeps the query in the name: `a.zip?raw=true` is saved under that very name."""
    parts = urllib.parse.urlsplit(url)
    name = PurePosixPath(parts.path).name or "index.html"
    return f"{name}?{parts.query}" if parts.query else name


def _curl(tokens: list[Token]) -> list[_Fetch]:
    """Each `-o FILE` or `-O` goes to the next URL in order; a URL without one goes to stdout
    (or, with `--remote-name-all`, to its remote name)."""
    outputs = [token for token in tokens if token[0] in ("-o", "--output", "-O", "--remote-name")]
    remote_all = any(name == "--remote-name-all" for name, _ in tokens)
    urls = _values(tokens, "", "--url")
    fetches = []
    for index, url in enumerate(urls):
        output = outputs[index] if index < len(outputs) else ("-O", None) if remote_all else None
        fetches.append(_Fetch(url, _curl_target(output, url, tokens)))
    return fetches


def _curl_target(output: Token | None, url: str, tokens: list[Token]) -> str | None:
    name, value = output or ("-o", "-")
    if value == "-":
        return _stdout(tokens)
    if name in ("-O", "--remote-name"):
        # No name in the URL: curl refuses; the local copy's name is the nearest fit.
        value = PurePosixPath(urllib.parse.urlsplit(url).path).name or "./"
    folders = _values(tokens, "--output-dir")
    return os.path.join(folders[-1], value or "") if folders else value


def _gdown(tokens: list[Token]) -> list[_Fetch]:
    """`-O FILE`, `-O DIR/`, or else the Drive file's own name (the local copy's) in cwd."""
    outputs = _values(tokens, "-O", "--output")
    target = outputs[-1] if outputs else "./"
    return [_Fetch(source, target) for source in _values(tokens, "", "--id")]


def _destination(target: str, local: str, cwd: str) -> str:
    path = os.path.join(cwd, os.path.expanduser(target))
    if target.endswith(("/", os.sep)) or os.path.isdir(path):
        path = os.path.join(path, os.path.basename(local))
    return os.path.normpath(path)


def _short(source: str) -> str:
    """How a message names a download: a Drive file by its id, a URL by its last part."""
    file_id = drive_file_id(source)
    if file_id:
        return file_id
    name = PurePosixPath(urllib.parse.urlsplit(source).path).name
    return f"…/{name}" if "://" in source and name else source


_PROGRAMS: dict[str, Callable[[list[Token]], list[_Fetch]]] = {
    "wget": _wget,
    "curl": _curl,
    "gdown": _gdown,
}
_SYNTAX = {
    "wget": _Syntax(
        "OoaPiBeUtTwQlDARIXn",
        (
            "output-document directory-prefix output-file append-output input-file tries "
            "timeout wait waitretry user-agent header load-cookies save-cookies post-data "
            "post-file body-data body-file method user password http-user http-password "
            "referer quota level limit-rate base execute accept reject domains cut-dirs "
            "ca-certificate certificate private-key dns-timeout connect-timeout read-timeout "
            "default-page"
        ),
    ),
    "curl": _Syntax(
        "oHdXuAebcxmrTwKEFCYyzQUPtD",
        (
            "output output-dir url header data data-binary data-raw data-urlencode request "
            "user user-agent referer cookie cookie-jar proxy max-time connect-timeout retry "
            "retry-delay retry-max-time range write-out form config cert limit-rate "
            "dump-header continue-at max-filesize cacert interface resolve"
        ),
    ),
    "gdown": _Syntax("O", "output id proxy speed format user-agent"),
}


# Python downloads: urlretrieve and the two Keras flavours of get_file.


def _is_remote(url: Any) -> bool:
    return urllib.parse.urlsplit(str(url)).scheme in {"http", "https", "ftp"}


def _retrieve(
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
    print(served_message(f"urlretrieve {_short(url)}", os.fspath(filename)))
    return filename, headers


@dataclass(frozen=True)
class _GetFile:
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


def _keras3_get_file(call: _GetFile) -> str:
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


def _keras3_targets(call: _GetFile) -> tuple[str, str | None]:
    name = call.name
    if not (call.extract or call.untar):
        return os.path.join(call.datadir, name), None
    if call.fname and "." in name:
        stem = name[: name.find(".")]
        return os.path.join(call.datadir, name), os.path.join(call.datadir, f"{stem}_extracted")
    return os.path.join(call.datadir, f"{name}_archive"), os.path.join(call.datadir, name)


def _tf_keras_get_file(call: _GetFile) -> str:
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


def _importable(names: tuple[str, ...]) -> list[Any]:
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    return modules


def _has_tf_keras() -> bool:
    """tf_keras is patched when the notebook could use it: it imports (TensorFlow is loaded)."""
    try:
        import tf_keras  # noqa: F401
    except ImportError:
        return False
    return True
