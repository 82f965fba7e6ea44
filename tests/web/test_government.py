"""The government page in Chromium against a real server: the seats by party, the reserved
seats and the majority line, and a what-if that moves independents to a party. A screenshot
for a person to look at goes under var/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import admin, submission
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.conftest import REPO
from tests.helpers import counter_clock
from tests.serving import Server

ELECTION = "gov-2024"
SCREENSHOTS = REPO / "var" / "screenshots"
# seat: (winner's party, or None for an independent backed by PTI); runner-up is PPP
SEATS = {
    "NA-1": None,
    "NA-2": None,
    "NA-3": "PML-N",
    "NA-50": "PML-N",
    "NA-51": "PML-N",
    "NA-52": None,
    "NA-191": "PPP",
    "NA-192": "PPP",
}


def _structure(admin_key: str) -> dict[str, Any]:
    contests = []
    for code, party in SEATS.items():
        winner = {"id": f"{code}/w", "name": f"Winner of {code}"}
        winner |= {"party": party} if party else {"backed_by": "PTI"}
        second = {"id": f"{code}/r", "name": f"Runner-up of {code}", "party": "JUI-F"}
        contests.append(
            {"code": code, "assembly": "NA", "name": code, "candidates": [winner, second]}
        )
    return {
        "election": {
            "id": ELECTION,
            "name": "Government test",
            "kind": "general",
            "date": "2024-02-08",
        },
        "parties": [{"code": c, "name": c} for c in ("PML-N", "PPP", "PTI", "JUI-F", "SIC")],
        "assemblies": [{"code": "NA", "name": "National Assembly", "level": "national"}],
        "contests": contests,
        "stations": [
            {"id": f"{c}-S1", "name": c, "contests": [c], "registered_voters": 1000} for c in SEATS
        ],
        "admin_key": admin_key,
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("government") / "home"
    writer = LedgerWriter.initialise(Settings.at(home), clock=counter_clock())
    boss = Signer.from_seed_text("gov/admin", "test:gov/admin")
    try:
        doc = _structure(boss.public.b64)
        assert admin.import_structure(
            writer, sign(EntryKind.STRUCTURE, doc, boss).envelope()
        ).accepted
        ro = Signer.from_seed_text("gov/ro", "test:gov/ro")
        body = {
            "election": ELECTION,
            "key": {"name": "gov/ro", "public_key": ro.public.b64},
            "source": "returning_officer",
            "contests": list(SEATS),
            "time": "2024-02-08T06:00:00Z",
        }
        registered = admin.register_key(
            writer, sign(EntryKind.KEY_REGISTRATION, body, boss).envelope()
        )
        assert registered.accepted
        for code in SEATS:
            declared = {
                "election": ELECTION,
                "contest": code,
                "source": "returning_officer",
                "votes": {f"{code}/w": 600, f"{code}/r": 400},
                "time": "2024-02-09T10:00:00Z",
            }
            env = sign(EntryKind.DECLARATION, declared, ro).envelope()
            assert submission.submit_declarations(writer, [env])[0].accepted
    finally:
        writer.close()
    server = Server(home).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_government_page_and_a_what_if(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{served.url}/#/{ELECTION}/government")
        page.wait_for_selector("[data-testid=government]")
        assert page.locator("[data-testid=majority] .big").inner_text() == "169"
        assert page.locator("nav a", has_text="Government").count() == 1

        def total(side: str) -> str:
            return page.locator(f'tr[data-side="{side}"] [data-testid=total]').inner_text()

        # PML-N: 3 general (KP 1, Punjab 2); Punjab's 32 women's seats all its own (32*2/2),
        # KP's 10 too (it is KP's only counted party); non-Muslims: PML-N 3, PPP 2 of 5:
        # 6 and 4 -> 3 + 32 + 10 + 6 = 51
        assert total("PML-N") == "51"
        assert total("IND (PTI-backed)") == "3"
        page.fill("input[name=what_if]", "backed:PTI=SIC")
        page.click("[data-testid=what-if] button")
        page.wait_for_function("() => location.hash.includes('what_if')")
        page.wait_for_selector('tr[data-side="SIC"]')
        # SIC: 3 general; KP: PML-N 1, SIC 2 of 3: 10/3 = 3.33, 20/3 = 6.67 -> 3 and 7;
        #   Punjab: PML-N 2, SIC 1: 21.33 and 10.67 -> 21 and 11 (32 = 21 + 10 + the one
        #   for SIC's .67); non-Muslims: PML-N 3, PPP 2, SIC 3 of 8: 3.75, 2.5, 3.75 ->
        #   3, 2, 3 and the two left to the .75s: PML-N 4, SIC 4 (PPP 2)
        #   -> SIC 3 + 7 + 11 + 4 = 25
        assert total("SIC") == "25"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / "government-desktop.png"
        page.screenshot(path=str(shot), full_page=True, animations="disabled")
        assert shot.stat().st_size > 10_000
        assert _serious_accessibility_violations(page) == []
        assert errors == []
    finally:
        context.close()


def _serious_accessibility_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
