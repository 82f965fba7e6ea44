"""The contest page's History section in Chromium over the sample: PS-129's renunciation
(the seat vacated), the petition citing its Form 45s with the tribunal's decision, and every
change with its leaf index; NA-122's concession. A screenshot for a person to look at."""

from __future__ import annotations

from tests.web.test_dashboard import (  # noqa: F401 - fixtures
    DESKTOP,
    ELECTION,
    SCREENSHOTS,
    open_tab,
    sample,
)


def test_the_contest_page_shows_its_events_and_history(open_tab):  # noqa: F811
    tab = open_tab(f"#/{ELECTION}/contest/PS-129", DESKTOP)
    page = tab.page
    assert page.locator("h1 + p .badge").first.text_content() in (
        "vacated",
        "Form 47 winner differs from the forms",
    )
    assert "renounced the seat" in page.locator("h1 + p").text_content()
    events = page.get_by_test_id("events")
    types = events.locator("li").evaluate_all("(els) => els.map((e) => e.dataset.type)")
    assert types == ["renunciation", "petition"]
    petition = events.locator('li[data-type="petition"]')
    assert petition.get_by_test_id("event-status").text_content() == "decided"
    assert "citing 3 forms" in petition.text_content()
    assert "recount ordered" in petition.text_content()
    history = page.get_by_test_id("history")
    kinds = history.locator("li").evaluate_all("(els) => els.map((e) => e.dataset.kind)")
    assert kinds[:4] == ["event", "event", "event", "event"] and "declaration" in kinds
    leaves = history.locator("li").evaluate_all("(els) => els.map((e) => +e.dataset.leaf)")
    assert leaves == sorted(leaves, reverse=True)
    assert page.get_by_test_id("disagreement").is_visible()  # the Form 47 banner stands
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    history.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "contest-PS-129-history.png"), full_page=True)
    assert tab.errors == []


def test_a_concession_shows_on_its_contest(open_tab):  # noqa: F811
    tab = open_tab(f"#/{ELECTION}/contest/NA-122", DESKTOP)
    events = tab.page.get_by_test_id("events")
    assert "Concession — Khawaja Saad Rafique" in events.text_content()
    assert tab.errors == []
