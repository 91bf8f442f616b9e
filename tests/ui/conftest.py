"""Fixtures of the page's tests: ``flowyml ui`` as a process, pipelines run by the CLI, and
a headless Chromium driven by Playwright.

Chromium comes from Debian (``/usr/bin/chromium``; ``.ci/services`` installs it), never
from a download. Without it the browser tests skip locally and fail when CI=true.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cli_process import FlowymlCli
from polling import wait_for
from service_checks import unavailable_in

PIPELINES = Path(__file__).resolve().parent / "ui_pipelines.py"
CHROMIUM = os.environ.get("FLOWYML_CHROMIUM", "/usr/bin/chromium")
SERVING = re.compile(r"serving at (http://\S+)")

unavailable = unavailable_in("browser")

try:  # the `browser` fixture says why when playwright is missing
    from playwright.sync_api import expect
except ImportError:
    expect = None


@dataclass
class UiServer:
    """A running ``flowyml ui``: its address, token (off loopback) and output so far."""

    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    def api(self, path: str) -> str:
        return self.url.split("?")[0].rstrip("/") + path


class Cli(FlowymlCli):
    """The CLI in the test project: pipelines of ui_pipelines.py, and the ui command."""

    pipelines = PIPELINES

    def start_pipeline(self, name: str, backend: str, *params: str) -> subprocess.Popen[str]:
        args = ["run", f"{PIPELINES}:{name}", "--backend", backend, "--quiet"]
        for item in params:
            args += ["-p", item]
        return self.start(*args)

    def start_ui(self, *args: str) -> UiServer:
        """``flowyml ui ARGS`` on a free loopback port (unless ARGS say otherwise), once
        it answers."""
        import httpx

        port = () if "--port" in args else ("--port", "0")
        process = self.start("ui", *port, *args)
        lines: queue.Queue[str] = queue.Queue()
        server = UiServer(process, "")

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                server.output.append(line)
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()

        def address() -> str | None:
            try:
                match = SERVING.search(lines.get(timeout=0.1))
            except queue.Empty:
                if process.poll() is not None:
                    pytest.fail(f"flowyml ui exited {process.returncode}: {process.stderr.read()}")
                return None
            return match.group(1) if match else None

        server.url = wait_for(address, 30, "flowyml ui to print its address")

        def answers() -> bool:
            try:
                return httpx.get(server.url, timeout=2).status_code < 500
            except httpx.TransportError:
                return False

        wait_for(answers, 30, "flowyml ui to answer")
        return server


@pytest.fixture
def cli(project: Path) -> Iterator[Cli]:
    """The CLI in the test project; what a test leaves running is killed."""
    runner = Cli(project)
    yield runner
    runner.stop_all()


@pytest.fixture
def ui(cli: Cli) -> UiServer:
    """``flowyml ui`` on a free loopback port, serving the test project."""
    return cli.start_ui()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium, shared by the session's tests."""
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        unavailable(f"no Chromium at {CHROMIUM}; apt-get install chromium (.ci/services does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install playwright; no browser download)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page; scripts' errors fail the test that met them."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: errors.append(f"a dialog opened: {dialog.message}"))
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests save screenshots: FLOWYML_UI_SCREENSHOTS, else a temporary folder."""
    folder = os.environ.get("FLOWYML_UI_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
