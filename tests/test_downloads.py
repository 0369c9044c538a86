"""Downloads served from the grader's copies: shell commands, urlretrieve and both get_files.

The real `get_file`s are run on `file://` URLs of the same copies (no network needed), so the
served paths are checked against what Keras itself returns.
"""

from __future__ import annotations

import io
import os
import shlex
import tarfile
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.harness.downloads import DownloadMap, DownloadUnavailable, drive_file_id

ZIP_URL = "https://storage.googleapis.com/tensorflow-1-public/course2/cats_and_dogs.zip"
TAR_URL = "https://example.com/archives/flower_photos.tar.gz"
TEXT_URL = "https://example.com/data/notes.txt"
DRIVE_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz_0123-"
MISSING_URL = "https://example.com/missing.zip"


@pytest.fixture()
def copies(tmp_path: Path) -> dict[str, Path]:
    """The grader's local copies: a text file, a zip, a tar.gz, and a Drive file (a zip)."""
    folder = tmp_path / "grader"
    folder.mkdir()
    text = folder / "notes.txt"
    text.write_text("hello\n")
    archive = folder / "cats_and_dogs.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("cats_and_dogs/cat.txt", "meow")
    tarball = folder / "flower_photos.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        data = b"petal"
        member = tarfile.TarInfo("flower_photos/rose.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    drive = folder / "horses.zip"
    drive.write_bytes(archive.read_bytes())
    return {ZIP_URL: archive, TAR_URL: tarball, TEXT_URL: text, f"gdrive:{DRIVE_ID}": drive}


@pytest.fixture()
def downloads(copies: dict[str, Path], tmp_path: Path) -> DownloadMap:
    resources = {key: str(path) for key, path in copies.items()}
    return DownloadMap(resources, str(tmp_path / "keras_cache"))


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture()
def installed(downloads: DownloadMap, keras: Any) -> Iterator[DownloadMap]:
    downloads.install()
    yield downloads
    downloads.uninstall()


def run(downloads: DownloadMap, command: str, cwd: Path) -> str | None:
    words = shlex.split(command.format(zip=ZIP_URL, text=TEXT_URL, id=DRIVE_ID, cwd=cwd))
    return downloads.run_shell(words, str(cwd))


@pytest.mark.parametrize(
    ("command", "written", "served"),
    [
        ("wget -q {zip}", "cats_and_dogs.zip", ZIP_URL),
        ("wget --no-check-certificate {zip} -O {cwd}/abs/cats.zip", "abs/cats.zip", ZIP_URL),
        ("wget {zip} -O data/c.zip", "data/c.zip", ZIP_URL),
        ("wget -qO c.zip {zip}", "c.zip", ZIP_URL),
        ("wget -qOc.zip {zip}", "c.zip", ZIP_URL),
        ("wget --output-document=c.zip {zip}", "c.zip", ZIP_URL),
        ("wget -c -P data {zip}", "data/cats_and_dogs.zip", ZIP_URL),
        ("wget --directory-prefix data -nv {text}", "data/notes.txt", TEXT_URL),
        ("wget -qO- {text} > n.txt", "n.txt", TEXT_URL),
        ("wget {zip} -O c.zip && unzip c.zip", "c.zip", ZIP_URL),
        ("curl -L -o c.zip {zip}", "c.zip", ZIP_URL),
        ("curl -sLO {zip}", "cats_and_dogs.zip", ZIP_URL),
        ("curl --output c.zip {zip}", "c.zip", ZIP_URL),
        ("curl -L {zip} > c.zip", "c.zip", ZIP_URL),
        ("curl -O --output-dir data {zip}", "data/cats_and_dogs.zip", ZIP_URL),
        ("gdown --id {id}", "horses.zip", f"gdrive:{DRIVE_ID}"),
        ("gdown -q {id} -O h.zip", "h.zip", f"gdrive:{DRIVE_ID}"),
        ("gdown https://drive.google.com/uc?id={id} --output out/", "out/horses.zip", DRIVE_ID),
        (
            "gdown --fuzzy 'https://drive.google.com/file/d/{id}/view?usp=sharing' -O d.zip",
            "d.zip",
            DRIVE_ID,
        ),
        (
            "wget --no-check-certificate 'https://docs.google.com/uc?export=download&id={id}' "
            "-O h.zip",
            "h.zip",
            DRIVE_ID,
        ),
        ("gdown {zip}", "cats_and_dogs.zip", ZIP_URL),
    ],
)
def test_shell_download_lands_the_copy_where_the_program_writes(
    downloads: DownloadMap, work: Path, command: str, written: str, served: str
) -> None:
    message = run(downloads, command, work) or ""
    target = work / written
    assert message.startswith("[grader] served `")
    assert message.endswith(f"` from the grader's copy: {target}")
    assert target.read_bytes() == Path(downloads.lookup(served) or "").read_bytes()


def test_served_message_names_the_url_by_its_file(downloads: DownloadMap, work: Path) -> None:
    message = run(downloads, "wget -q {zip} -O data/c.zip", work)
    target = work / "data" / "c.zip"
    assert message == f"[grader] served `wget …/cats_and_dogs.zip` from the grader's copy: {target}"
    message = run(downloads, "gdown https://drive.google.com/uc?id={id}", work)
    assert (
        message == f"[grader] served `gdown {DRIVE_ID}` from the grader's copy: {work}/horses.zip"
    )


def test_gdown_into_an_existing_folder_keeps_the_drive_name(
    downloads: DownloadMap, work: Path
) -> None:
    (work / "data").mkdir()
    run(downloads, "gdown {id} -O data", work)
    assert (work / "data" / "horses.zip").is_file()


def test_every_url_of_one_command_is_served(downloads: DownloadMap, work: Path) -> None:
    message = run(downloads, "curl -o a.zip {zip} {text} -o b.txt", work) or ""
    assert (work / "a.zip").read_bytes()[:2] == b"PK"
    assert (work / "b.txt").read_text() == "hello\n"
    assert len(message.splitlines()) == 2
    run(downloads, "wget {zip} {text}", work)
    assert {path.name for path in work.iterdir()} >= {"cats_and_dogs.zip", "notes.txt"}


def test_wget_keeps_the_query_in_the_file_name_like_wget(tmp_path: Path, work: Path) -> None:
    url = "https://github.com/course/data/blob/main/notes.txt?raw=true"
    text = tmp_path / "notes.txt"
    text.write_text("x")
    DownloadMap({url: str(text)}, str(tmp_path)).run_shell(["wget", url], str(work))
    assert (work / "notes.txt?raw=true").read_text() == "x"


def test_unknown_url_is_skipped_and_nothing_written(downloads: DownloadMap, work: Path) -> None:
    message = downloads.run_shell(["wget", "-q", MISSING_URL, "-O", "m.zip"], str(work))
    assert message == (
        f"[grader] skipped `wget {MISSING_URL}`: there is no network while grading "
        "and the grader has no copy of this file."
    )
    assert list(work.iterdir()) == []


def test_output_to_the_notebook_is_not_served(downloads: DownloadMap, work: Path) -> None:
    message = run(downloads, "curl -sL {text} | tar xz", work) or ""
    assert "writes to standard output" in message
    assert list(work.iterdir()) == []


def test_other_programs_are_left_to_the_caller(downloads: DownloadMap, work: Path) -> None:
    assert downloads.run_shell(["unzip", "-q", "cats.zip"], str(work)) is None
    assert downloads.run_shell([], str(work)) is None


@pytest.mark.parametrize(
    "reference",
    [
        DRIVE_ID,
        f"gdrive:{DRIVE_ID}",
        f"https://drive.google.com/uc?id={DRIVE_ID}",
        f"https://drive.google.com/uc?id={DRIVE_ID}&export=download",
        f"https://drive.google.com/uc?export=download&confirm=t&id={DRIVE_ID}",
        f"https://drive.google.com/file/d/{DRIVE_ID}/view?usp=sharing",
        f"https://drive.google.com/open?id={DRIVE_ID}",
        f"https://docs.google.com/uc?export=download&id={DRIVE_ID}",
        f"drive.google.com/file/d/{DRIVE_ID}/view",
        # The cookie trick for large files, as one shell word.
        "https://docs.google.com/uc?export=download&confirm=$(wget --quiet "
        f"'https://docs.google.com/uc?export=download&id={DRIVE_ID}' -O- | sed -rn "
        f"'s/.*confirm=([0-9A-Za-z_]+).*/\\1\\n/p')&id={DRIVE_ID}",
    ],
)
def test_drive_references_resolve(downloads: DownloadMap, reference: str) -> None:
    assert drive_file_id(reference) == DRIVE_ID
    assert downloads.lookup(reference) == downloads.resources[f"gdrive:{DRIVE_ID}"]


@pytest.mark.parametrize(
    "reference",
    [
        MISSING_URL,
        "1ZzZzZzZzZzZzZzZzZzZzZzZz",
        f"https://drive.google.com/drive/folders/{DRIVE_ID}",
        "https://example.com/uc?id=1ZzZzZzZzZzZzZzZz",
    ],
)
def test_unknown_references_resolve_to_nothing(downloads: DownloadMap, reference: str) -> None:
    assert downloads.lookup(reference) is None


def test_urlretrieve_is_served(installed: DownloadMap, work: Path) -> None:
    hook_calls: list[tuple[int, int, int]] = []
    target = work / "n.txt"
    filename, headers = urllib.request.urlretrieve(
        TEXT_URL, target, lambda *call: hook_calls.append(call)
    )
    assert filename == target and target.read_text() == "hello\n"
    assert headers["Content-Length"] == "6" and hook_calls[-1][2] == 6
    temporary, _ = urllib.request.urlretrieve(ZIP_URL)
    assert temporary.endswith(".zip") and zipfile.is_zipfile(temporary)
    os.remove(temporary)


def test_urlretrieve_of_an_unknown_url_fails_but_local_files_still_work(
    installed: DownloadMap, copies: dict[str, Path], work: Path
) -> None:
    with pytest.raises(DownloadUnavailable, match="no network while grading"):
        urllib.request.urlretrieve(MISSING_URL, work / "m.zip")
    local, _ = urllib.request.urlretrieve(copies[TEXT_URL].as_uri(), work / "n.txt")
    assert Path(local).read_text() == "hello\n"


GET_FILE_CALLS = [
    {"origin": ZIP_URL},
    {"origin": ZIP_URL, "extract": True},
    {"origin": ZIP_URL, "fname": "cats.zip", "extract": True},
    {"origin": ZIP_URL, "fname": "cats", "extract": True},
    {"origin": ZIP_URL, "fname": "cats.zip", "cache_subdir": "mine"},
    {"origin": TAR_URL, "untar": True},
    {"origin": TAR_URL, "fname": "flowers", "untar": True},
    {"origin": TAR_URL, "extract": True, "archive_format": "tar"},
]


def served_and_real(
    get_file: Any, real_get_file: Any, copies: dict[str, Path], root: Path, call: dict[str, Any]
) -> tuple[str, str]:
    """The served call's path and the real function's, each relative to its own cache folder;
    the real one downloads the same copy from its `file://` URL."""
    served_cache, real_cache = root / "served", root / "real"
    served_cache.mkdir()
    real_cache.mkdir()
    served = get_file(**call, cache_dir=str(served_cache))
    real_call = {**call, "origin": copies[call["origin"]].as_uri()}
    real = real_get_file(**real_call, cache_dir=str(real_cache))
    assert tree(served_cache) == tree(real_cache)
    return os.path.relpath(served, served_cache), os.path.relpath(real, real_cache)


def tree(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.mark.parametrize("call", GET_FILE_CALLS)
@pytest.mark.parametrize("flavour", ["keras", "tf_keras"])
def test_get_file_returns_what_keras_returns(
    downloads: DownloadMap,
    copies: dict[str, Path],
    tmp_path: Path,
    keras: Any,
    flavour: str,
    call: dict[str, Any],
) -> None:
    utils = pytest.importorskip(flavour).utils
    real_get_file = utils.get_file
    downloads.install()
    try:
        served, real = served_and_real(utils.get_file, real_get_file, copies, tmp_path, call)
    finally:
        downloads.uninstall()
    assert served == real
    assert utils.get_file is real_get_file


def test_get_file_defaults_to_the_grader_cache(installed: DownloadMap, keras: Any) -> None:
    path = keras.utils.get_file(origin=TEXT_URL)
    assert path == os.path.join(installed.cache_dir, "datasets", "notes.txt")
    assert Path(path).read_text() == "hello\n"


def test_get_file_takes_an_absolute_cache_subdir(
    installed: DownloadMap, keras: Any, tmp_path: Path
) -> None:
    path = keras.utils.get_file("n.txt", TEXT_URL, cache_subdir=str(tmp_path / "abs"))
    assert path == str(tmp_path / "abs" / "n.txt")


def test_every_keras_entry_point_is_served(installed: DownloadMap, keras: Any) -> None:
    from keras.src.utils import file_utils

    assert file_utils.get_file is keras.utils.get_file
    assert keras._tf_keras.keras.utils.get_file is keras.utils.get_file


def test_get_file_of_an_unknown_origin_fails_with_a_hint(
    installed: DownloadMap, keras: Any
) -> None:
    with pytest.raises(DownloadUnavailable) as failure:
        keras.utils.get_file(origin=MISSING_URL)
    assert str(failure.value).startswith(
        f"no network while grading: the grader has no copy of {MISSING_URL}. Hint: "
    )
