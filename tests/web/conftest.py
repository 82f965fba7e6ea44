"""Browser fixtures for the dashboard's scripts: Debian's Chromium driven by Playwright, one
browser a test module, and the static folder served from loopback (ES modules need an http
origin, and WebCrypto a secure context, which 127.0.0.1 is)."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
STATIC = REPO / "src" / "tallyproof" / "web" / "static"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
BLANK = b"<!doctype html><meta charset=utf-8><title>tallyproof script tests</title>"


def _unavailable(reason: str) -> None:
    """Skip, or fail where a run must have the browser (TALLYPROOF_REQUIRE_BROWSER=1)."""
    if os.environ.get("TALLYPROOF_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and TALLYPROOF_REQUIRE_BROWSER=1 asks for it", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium, started once for the module's tests."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class _StaticFiles(SimpleHTTPRequestHandler):
    """The static folder as the dashboard serves it, and a blank page at / to load it from."""

    def do_GET(self) -> None:
        if self.path != "/":
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(BLANK)))
        self.end_headers()
        self.wfile.write(BLANK)

    def log_message(self, *args: object) -> None:
        """Quiet: pytest shows what matters."""


@pytest.fixture(scope="session")
def static_url() -> Iterator[str]:
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_StaticFiles, directory=str(STATIC))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Script:
    """A page with one of the static modules imported as `M`."""

    page: Any

    def __call__(self, body: str, arg: Any = None) -> Any:
        """Run `body`, the body of an async function of `arg` that sees the module as `M`,
        and return what it returns (JSON-like values only)."""
        return self.page.evaluate(f"async (arg) => {{ const M = window.module; {body} }}", arg)


def load_module(browser: Any, static_url: str, name: str) -> Iterator[Script]:
    """A fresh page at the static server with `name` imported; closed afterwards."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{static_url}/")
        page.evaluate(f"async () => {{ window.module = await import('/{name}'); }}")
        yield Script(page)
        assert errors == [], errors
    finally:
        page.close()
