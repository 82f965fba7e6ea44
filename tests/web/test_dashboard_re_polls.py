"""The dashboard's contest page for a re-polled contest of the sample's KP local-government
phase: the totals before the re-poll beside the totals after, candidate by candidate and
station by station, and a screenshot under var/screenshots/ for a person to look at."""

from __future__ import annotations

from tests.web.test_dashboard import (  # noqa: F401 - the server and tab fixtures
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    open_tab,
    sample,
)

LG = "kp-lg-2021-phase1"
GANDAPUR = "DIK-mayor/umar-amin-gandapur"
KAFEEL = "DIK-mayor/kafeel-ahmed"


def cells(tab, selector: str) -> list[list[str]]:
    return tab.js(
        "(s) => [...document.querySelectorAll(s)].map((tr) =>"
        " [...tr.querySelectorAll('td')].map((td) => td.textContent))",
        selector,
    )


def test_a_re_polled_contest_shows_before_and_after_side_by_side(open_tab):  # noqa: F811
    tab = open_tab(f"#/{LG}/contest/DIK-mayor")
    section = tab.page.get_by_test_id("re-polls")
    assert section.is_visible()
    assert "4 stations re-polled" in section.text_content()
    (gandapur,) = cells(tab, f'[data-testid=re-polls] tr[data-re-poll-candidate="{GANDAPUR}"]')
    (kafeel,) = cells(tab, f'[data-testid=re-polls] tr[data-re-poll-candidate="{KAFEEL}"]')
    # after the re-poll: the reported totals; the polling-day count gave Gandapur 150 more at
    # the recounted station, and the three suspended stations had no form before
    assert gandapur[2] == "63,753" and gandapur[3].startswith("+")
    before_g, after_g = (int(x.replace(",", "")) for x in gandapur[1:3])
    before_k, after_k = (int(x.replace(",", "")) for x in kafeel[1:3])
    assert after_k == 38891 and before_g < after_g and before_k < after_k
    assert int(gandapur[3].replace(",", "")) == after_g - before_g
    stations = cells(tab, "[data-testid=re-polls] tr[data-station]")
    assert len(stations) == 4
    assert sum(row[1] == "no form before the order" for row in stations) == 3
    assert all(row[2] != "re-poll form not yet in" for row in stations)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        shot = open_tab(f"#/{LG}/contest/DIK-mayor", viewport=viewport)
        shot.page.get_by_test_id("re-polls").scroll_into_view_if_needed()
        path = SCREENSHOTS / f"contest-DIK-mayor-re-poll-{device}.png"
        shot.page.get_by_test_id("re-polls").screenshot(path=str(path), animations="disabled")
        assert path.stat().st_size > 5_000, path


def test_a_contest_without_re_polls_has_no_such_section(open_tab):  # noqa: F811
    tab = open_tab(f"#/{LG}/contest/Mardan-mayor")
    assert tab.page.get_by_test_id("re-polls").count() == 0
