"""The results-delay page in Chromium against a real server over the hand-built night
(tests/delaying.py): the slowest table, the reporting curves with their caption, the page as
of a past size, no serious accessibility violation, and a screenshot under var/screenshots/
for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO
from tests.delaying import build_night
from tests.helpers import ELECTION
from tests.serving import Server

SCREENSHOTS = REPO / "var" / "screenshots"
PAGE = f"#/{ELECTION}/delay"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Server, int]]:
    home = tmp_path_factory.mktemp("delay-web") / "home"
    before_s4 = build_night(home)
    server = Server(home).start()
    try:
        yield server, before_s4
    finally:
        server.stop()


@pytest.fixture
def open_page(browser, served) -> Iterator[Any]:
    """Open a route and wait for the delay page to render; no script may fail."""
    server, _ = served
    contexts, errors = [], []

    def opener(route: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.url}/{route}")
        page.wait_for_selector("[data-testid=delay] table tbody tr")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert errors == []


def cells(page: Any) -> list[list[str]]:
    return page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=delay] tbody tr')]"
        ".map((r) => [...r.cells].map((c) => c.textContent.trim()))"
    )


def test_the_slowest_contests_and_the_curves(open_page):
    page = open_page(PAGE)
    assert cells(page) == [
        ["PP-1", "PP", "1 / 4", "2h 00m", "not yet (8h 00m so far)", "not yet (8h 00m so far)"],
        ["NA-1", "NA", "4 / 4", "1h 30m", "6h 00m", "8h 00m"],
    ]
    curves = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=delay-curves] path')]"
        ".map((p) => p.dataset.curve)"
    )
    assert curves == ["NA", "PP", "national"]  # national last, dashed, on top
    caption = page.locator("[data-testid=delay] figcaption").text_content()
    assert "first official Form 45" in caption
    legend = page.locator("[data-testid=delay] figure li").all_text_contents()
    assert legend == ["All stations: 4 of 4", "NA: 4 of 4", "PP: 1 of 4"]
    assert page.locator("nav a", has_text="Delay").get_attribute("aria-current") == "page"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "delay-desktop.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    assert path.stat().st_size > 10_000


def test_the_page_as_of_a_past_size(open_page, served):
    _, before_s4 = served
    page = open_page(f"{PAGE}?as_of={before_s4}")
    na = next(row for row in cells(page) if row[0] == "NA-1")
    assert na[2:5] == ["3 / 4", "1h 30m", "not yet (4h 15m so far)"]


def test_no_serious_accessibility_violations(open_page):
    from axe_playwright_python.sync_playwright import Axe

    page = open_page(PAGE)
    violations = Axe().run(page).response["violations"]
    serious = [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == []
