"""Reading `!wget`, `!curl` and `!gdown` command lines as each program reads them: which URL
or Google Drive id is fetched, and where the real program would write it."""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

# Shell commands: options are read as each program reads them, then each URL gets a target.


@dataclass(frozen=True)
class _Syntax:
    """The options of a program that take a value; every other option is a flag."""

    short_values: str
    long_values: str  # the names after `--`, separated by spaces


@dataclass(frozen=True)
class Fetch:
    """One URL or Drive id, and where it goes: a file, a folder ending in `/` (the local copy's
    name is added), or None for standard output."""

    source: str
    target: str | None


Token = tuple[str, str | None]  # ("-O", "file"), ("-q", None), ("", positional), (">", file)
_STOP = {"|", "||", "&&", ";", "&"}
_REDIRECT = re.compile(r"(\d*|&)>>?(.*)")


def tokens(words: list[str], syntax: _Syntax) -> list[Token]:
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


def _wget(tokens: list[Token]) -> list[Fetch]:
    """`-O FILE` for every URL (`-` is standard output), else `-P DIR`/<the URL's file name>."""
    outputs = _values(tokens, "-O", "--output-document")
    folders = _values(tokens, "-P", "--directory-prefix")
    fetches = []
    for url in _values(tokens, ""):
        if outputs:
            target = _stdout(tokens) if outputs[-1] == "-" else outputs[-1]
        else:
            target = os.path.join(folders[-1] if folders else "", _wget_name(url))
        fetches.append(Fetch(url, target))
    return fetches


def _wget_name(url: str) -> str:
    """wget keeps the query in the name: `a.zip?raw=true` is saved under that very name."""
    parts = urllib.parse.urlsplit(url)
    name = PurePosixPath(parts.path).name or "index.html"
    return f"{name}?{parts.query}" if parts.query else name


def _curl(tokens: list[Token]) -> list[Fetch]:
    """Each `-o FILE` or `-O` goes to the next URL in order; a URL without one goes to stdout
    (or, with `--remote-name-all`, to its remote name)."""
    outputs = [token for token in tokens if token[0] in ("-o", "--output", "-O", "--remote-name")]
    remote_all = any(name == "--remote-name-all" for name, _ in tokens)
    urls = _values(tokens, "", "--url")
    fetches = []
    for index, url in enumerate(urls):
        output = outputs[index] if index < len(outputs) else ("-O", None) if remote_all else None
        fetches.append(Fetch(url, _curl_target(output, url, tokens)))
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


def _gdown(tokens: list[Token]) -> list[Fetch]:
    """`-O FILE`, `-O DIR/`, or else the Drive file's own name (the local copy's) in cwd."""
    outputs = _values(tokens, "-O", "--output")
    target = outputs[-1] if outputs else "./"
    return [Fetch(source, target) for source in _values(tokens, "", "--id")]


def destination(target: str, local: str, cwd: str) -> str:
    path = os.path.join(cwd, os.path.expanduser(target))
    if target.endswith(("/", os.sep)) or os.path.isdir(path):
        path = os.path.join(path, os.path.basename(local))
    return os.path.normpath(path)


def short(source: str) -> str:
    """How a message names a download: a Drive file by its id, a URL by its last part."""
    file_id = drive_file_id(source)
    if file_id:
        return file_id
    name = PurePosixPath(urllib.parse.urlsplit(source).path).name
    return f"…/{name}" if "://" in source and name else source


PROGRAMS: dict[str, Callable[[list[Token]], list[Fetch]]] = {
    "wget": _wget,
    "curl": _curl,
    "gdown": _gdown,
}
SYNTAX = {
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


GDRIVE = "gdrive:"
_DRIVE_HOSTS = {"drive.google.com", "docs.google.com", "drive.usercontent.google.com"}
_DRIVE_ID = re.compile(r"[A-Za-z0-9_-]{10,}")


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
