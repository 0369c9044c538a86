"""The HTML report and the gradebook in a real browser: headless Chromium, driven over the
DevTools protocol. No console errors, every image loaded, the gradebook's table sorts, and a
screenshot is saved."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_report_html import sample_result

from grader.batch import Row
from grader.report import gradebook, html

websocket = pytest.importorskip("websocket")
CHROMIUM = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


class Page:
    """One browser tab, driven over the DevTools protocol."""

    def __init__(self, url: str) -> None:
        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                return message.get("result", {})
            self.events.append(message)

    def open(self, path: Path) -> None:
        self.call("Page.navigate", url=path.resolve().as_uri())
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(json.loads(self.socket.recv()))

    def evaluate(self, expression: str) -> Any:
        found = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return found["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads the page produced."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(str(params["exceptionDetails"].get("text")))
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                found.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(params["entry"].get("text", ""))
        return found

    def screenshot(self, path: Path) -> None:
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A headless Chromium; yields the address of its DevTools endpoint."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    assert CHROMIUM is not None
    process = subprocess.Popen(
        [
            CHROMIUM,
            *FLAGS,
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=1200,900",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if "DevTools listening on ws://" in line:
                yield line.split("ws://", 1)[1].split("/", 1)[0]
                break
        else:
            pytest.fail("Chromium did not start its DevTools endpoint")
    finally:
        process.kill()
        process.wait()
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture
def page(browser: str) -> Iterator[Page]:
    request = urllib.request.Request(f"http://{browser}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:
        target = json.load(response)
    tab = Page(target["webSocketDebuggerUrl"])
    yield tab
    tab.socket.close()


ALL_IMAGES_LOADED = (
    "Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])"
)


def test_the_report_renders_with_no_errors_and_every_image(page: Page, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    html.write(sample_result(), report)
    page.open(report)
    images = page.evaluate(ALL_IMAGES_LOADED)
    assert images and all(loaded for _, loaded in images), images
    assert page.errors() == []
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth + 1")  # no sideways scroll
    page.screenshot(tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")


def test_the_gradebook_sorts_by_a_column_when_its_header_is_clicked(
    page: Page, tmp_path: Path
) -> None:
    rows = [
        Row("bea", "b.ipynb", "graded", 9.0, 13.0, steps={"parse": 3.0}, checks={"p": "passed"}),
        Row("al", "a.ipynb", "graded", 3.0, 13.0, steps={"parse": 3.0}, checks={"p": "failed"}),
        Row("cy", "c.ipynb", "graded", 12.0, 13.0, steps={"parse": 3.0}, checks={"p": "passed"}),
    ]
    index, _ = gradebook.write(rows, tmp_path, "csv-to-array")
    page.open(index)
    students = (
        "Array.from(document.querySelectorAll('#students tbody tr td:first-child'))"
        ".map(c => c.textContent)"
    )
    assert page.evaluate(students) == ["bea", "al", "cy"]
    page.evaluate("document.querySelectorAll('#students th')[3].click()")  # total
    assert page.evaluate(students) == ["al", "bea", "cy"]
    page.evaluate("document.querySelectorAll('#students th')[3].click()")
    assert page.evaluate(students) == ["cy", "bea", "al"]
    assert all(loaded for _, loaded in page.evaluate(ALL_IMAGES_LOADED))
    assert page.errors() == []
