"""The dashboard in Chromium against a real server (`tallyproof serve` on loopback) over the
sample elections: live updates from the feed without a reload, the time control, the
declared-versus-computed disagreement of PS-129, verification in the browser (honest and
tampered with), Urdu names, the embeddable widget, accessibility (axe-core), the keyboard,
a phone's width, and screenshots under var/screenshots/ for a person to look at."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tallyproof.importers.plan import run_plan
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.sample.generator import build_sample
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.conftest import REPO
from tests.serving import Server

ELECTION = "pk-ge-2024"
KHOSA = "NA-122/latif-khosa"
SAIF = "PS-129/saif-bari"
HAFIZ = "PS-129/hafiz-naeem"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = REPO / "var" / "screenshots"
# an election of our own whose candidates have their names in Urdu
URDU_ELECTION = "ur-by-2024"
URDU = {"UR-1/saif-bari": "سیف باری", "UR-1/hafiz-naeem": "حافظ نعیم الرحمن"}


# ---------------------------------------------------------------- the server


@dataclass
class Sample:
    server: Server
    http: httpx.Client
    keys: dict[str, Signer]

    @property
    def url(self) -> str:
        return self.server.url

    def size(self) -> int:
        return self.http.get("/v1/checkpoints/latest").json()["tree_size"]

    def official(self, station: str) -> dict[str, Any]:
        forms = self.http.get(f"/v1/elections/{ELECTION}/stations/{station}").json()
        return next(f for f in forms["station"]["forms"] if f["official"] and f["current"])

    def correct(self, station: str, delta: int) -> dict[str, Any]:
        """The presiding officer's correction of the station's NA-122 form: `delta` more
        votes for Latif Khosa. Answers the receipt."""
        current = self.official(station)
        body = {
            "election": ELECTION,
            "station": station,
            "contest": current["contest"],
            "source": "presiding_officer",
            "votes": current["votes"] | {KHOSA: current["votes"][KHOSA] + delta},
            "rejected": current["rejected"],
            "polled": current["polled"] + delta,
            "time": "2024-02-08T21:00:00+05:00",
            "supersedes": current["form_id"],
            "reason": "correction",
        }
        key = self.keys[f"{ELECTION}/po/{station}"]
        answer = self.http.post("/v1/forms", json=sign(EntryKind.FORM, body, key).envelope())
        assert answer.status_code == 201, answer.text
        return answer.json()["receipt"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Iterator[Sample]:
    """`tallyproof serve` over a home with the sample elections loaded (what `tallyproof
    demo` loads, with the same keys), and an election of our own with Urdu names."""
    home = tmp_path_factory.mktemp("dashboard") / "home"
    plan = build_sample()
    writer = LedgerWriter.initialise(Settings.at(home))
    try:
        run_plan(writer, plan)
    finally:
        writer.close()
    server = Server(home).start()
    try:
        with server.client() as http:
            loaded = Sample(server, http, plan.keys)
            load_urdu_election(http)
            yield loaded
    finally:
        server.stop()


def load_urdu_election(http: httpx.Client) -> None:
    """A by-election whose structure gives each candidate's name in Urdu (`name_ur`), signed
    by a fresh admin key, through POST /v1/elections."""
    admin = Signer.from_seed_text("ur/admin", "dashboard-test:ur/admin")
    candidates = [
        {"id": "UR-1/saif-bari", "name": "Saif Bari", "name_ur": URDU["UR-1/saif-bari"]},
        {
            "id": "UR-1/hafiz-naeem",
            "name": "Hafiz Naeem ur Rehman",
            "party": "JI",
            "name_ur": URDU["UR-1/hafiz-naeem"],
        },
    ]
    structure = {
        "election": {
            "id": URDU_ELECTION,
            "name": "By-election with Urdu names (test)",
            "kind": "by_election",
            "date": "2024-04-21",
        },
        "parties": [{"code": "JI", "name": "Jamaat-e-Islami"}],
        "assemblies": [
            {"code": "PS", "name": "Provincial Assembly of Sindh", "level": "provincial"}
        ],
        "contests": [
            {"code": "UR-1", "assembly": "PS", "name": "Karachi", "candidates": candidates}
        ],
        "stations": [
            {"id": "UR-1-S001", "name": "School 1", "contests": ["UR-1"], "registered_voters": 900}
        ],
        "admin_key": admin.public.b64,
    }
    envelope = sign(EntryKind.STRUCTURE, structure, admin).envelope()
    answer = http.post("/v1/elections", json=envelope)
    assert answer.status_code == 201, answer.text


# ---------------------------------------------------------------- pages


@dataclass(eq=False)
class Tab:
    """One browser page of the dashboard (or the widget)."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def rendered(self) -> int:
        return self.page.evaluate("() => Number(document.body.dataset.rendered || 0)")

    def wait_rendered(self, after: int) -> None:
        """Until the dashboard has finished a render after the `after`th."""
        self.page.wait_for_function(
            "(n) => Number(document.body.dataset.rendered || 0) > n", arg=after
        )

    def go(self, route: str) -> None:
        """Follow a route in the page, as a link does, and wait for its render."""
        before = self.rendered()
        self.page.evaluate("(hash) => { location.hash = hash; }", route)
        self.wait_rendered(before)

    def wait(self, predicate: str, arg: Any = None) -> Any:
        return self.page.wait_for_function(predicate, arg=arg)

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def mark(self) -> None:
        """A marker a reload or a navigation would wipe out."""
        self.js("() => { window.__marker = 1; }")

    def marked(self) -> bool:
        return self.js("() => window.__marker === 1")


@pytest.fixture
def open_tab(browser, sample) -> Iterator[Callable[..., Tab]]:
    """Opens a route of the dashboard (`#/...`) or a path (`/embed/...`) in a new browser
    context, waiting for the first render; fails the test on an error in a page's scripts."""
    contexts: list[Any] = []
    tabs: list[Tab] = []

    def opener(route: str, viewport: dict[str, int] = DESKTOP) -> Tab:
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(15_000)
        contexts.append(context)
        tab = Tab(context.new_page())
        tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))
        tabs.append(tab)
        if route.startswith("#"):
            tab.page.goto(f"{sample.url}/{route}")
            tab.wait_rendered(0)
        else:
            tab.page.goto(f"{sample.url}{route}")
            tab.page.wait_for_selector("[data-testid=widget] h1")
        return tab

    yield opener
    for context in contexts:
        context.close()
    assert [e for t in tabs for e in t.errors] == []


def values(tab: Tab, selector: str) -> list[int]:
    """The data-value of every number matching `selector`, in page order."""
    return tab.js(
        "(s) => [...document.querySelectorAll(s)].map((b) => Number(b.dataset.value))", selector
    )


def station_khosa(tab: Tab) -> list[int]:
    """Latif Khosa's votes in each form the station page shows, superseded ones too."""
    return values(tab, f'button.num[data-kind="form"][data-field="{KHOSA}"]')


def computed(tab: Tab, candidate: str) -> int:
    selector = f'tr[data-candidate="{candidate}"] button.num[data-kind="contest"]'
    return values(tab, selector)[0]


# ---------------------------------------------------------------- 10. screenshots
# First, so that they show the sample as loaded, before the tests below correct forms.


SHOTS = {
    "national": f"#/{ELECTION}",
    "contest-PS-129": f"#/{ELECTION}/contest/PS-129",
    "station-NA-122-S003": f"#/{ELECTION}/station/NA-122-S003",
    "findings": f"#/{ELECTION}/findings",
    "widget-NA-122": f"/embed/{ELECTION}/NA-122",
}


def test_screenshots_for_a_person_to_look_at(sample, open_tab):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        tab = open_tab(f"#/{ELECTION}", viewport=viewport)
        for name, route in SHOTS.items():
            if route.startswith("#"):
                if route != tab.js("() => location.hash"):
                    tab.go(route)
            else:
                tab.page.goto(f"{sample.url}{route}")
                tab.page.wait_for_selector("[data-testid=widget] h1")
            path = SCREENSHOTS / f"{name}-{device}.png"
            tab.page.screenshot(path=str(path), full_page=True, animations="disabled")
            assert path.stat().st_size > 10_000, path


def test_a_night_that_came_in_within_minutes_is_drawn_by_the_second(open_tab):
    """The sample came in within seconds: by the minute its curve would be one vertical
    step, so the national page asks for seconds and says so under the figure."""
    tab = open_tab(f"#/{ELECTION}")
    caption = tab.page.locator("figure figcaption", has_text="Polling stations").text_content()
    assert "by the second the log received it: 100 of 100" in caption, caption
    labels = tab.js(
        "() => [...document.querySelectorAll('figure svg text')].map((t) => t.textContent)"
    )
    assert any(len(x) == len("11:12:05 UTC") and x.endswith(" UTC") for x in labels), labels


# ---------------------------------------------------------------- 1. live updates


def test_a_form_submitted_through_the_api_appears_on_open_pages_without_a_reload(sample, open_tab):
    station = "NA-122-S010"
    before = sample.official(station)
    old = before["votes"][KHOSA]
    station_tab = open_tab(f"#/{ELECTION}/station/{station}")
    contest_tab = open_tab(f"#/{ELECTION}/contest/NA-122")
    national_tab = open_tab(f"#/{ELECTION}")
    assert station_khosa(station_tab) == [old]
    total = computed(contest_tab, KHOSA)
    rendered = {t: t.rendered() for t in (station_tab, contest_tab, national_tab)}
    for tab in rendered:
        tab.mark()

    receipt = sample.correct(station, 123)

    # the station page: the correction beside the form it supersedes
    station_tab.wait(
        "(n) => [...document.querySelectorAll('button.num[data-kind=form]')]"
        ".some((b) => Number(b.dataset.value) === n)",
        old + 123,
    )
    assert sorted(station_khosa(station_tab)) == [old, old + 123]
    heads = station_tab.js(
        "() => [...document.querySelectorAll('thead th')].map((t) => t.textContent)"
    )
    assert any("(superseded)" in h for h in heads), heads
    assert any(f"#{receipt['leaf_index']}" in h for h in heads), heads
    # the contest page: the computed total moved by the correction
    contest_tab.wait(
        "([sel, n]) => Number(document.querySelector(sel)?.dataset.value) === n",
        [f'tr[data-candidate="{KHOSA}"] button.num[data-kind="contest"]', total + 123],
    )
    # the national page: a line in the latest changes, naming the station and the entry
    line = national_tab.page.locator("[data-testid=changes] li", has_text=station)
    line.first.wait_for()
    assert f"#{receipt['leaf_index']:,}" in line.first.text_content()
    assert "Presiding officer" in line.first.text_content()
    for tab, count in rendered.items():
        assert tab.marked(), "the page was reloaded or navigated"
        assert tab.rendered() >= count  # re-rendered in place, or the line added in place
    assert station_tab.rendered() > rendered[station_tab]
    status = station_tab.page.get_by_test_id("status").text_content()
    assert status.startswith("Live") and f"{receipt['tree_size']:,}" in status, status


# ---------------------------------------------------------------- 2. the time control


def test_the_time_control_shows_the_earlier_numbers_and_live_brings_back_the_current(
    sample, open_tab
):
    station = "NA-122-S011"
    first = sample.official(station)
    old = first["votes"][KHOSA]
    tab = open_tab(f"#/{ELECTION}/station/{station}")
    assert station_khosa(tab) == [old]
    size_before = sample.size()
    receipt = sample.correct(station, 50)
    assert receipt["tree_size"] == size_before + 1
    tab.wait("() => document.querySelectorAll('button.num[data-kind=form]').length > 4")
    assert sorted(station_khosa(tab)) == [old, old + 50]
    tab.mark()
    live = tab.page.get_by_test_id("live")
    assert live.get_attribute("aria-pressed") == "true"

    # one step back on the slider, from the keyboard: the log before the correction
    rendered = tab.rendered()
    tab.page.get_by_test_id("time-slider").focus()
    tab.page.keyboard.press("ArrowLeft")
    tab.wait_rendered(rendered)
    assert tab.js("() => location.hash").endswith(f"?as_of={size_before}")
    assert station_khosa(tab) == [old]
    assert live.get_attribute("aria-pressed") == "false"
    assert "not live" in tab.page.get_by_test_id("status").text_content()
    assert tab.page.locator("#time-label").text_content() == f"{size_before:,}"

    # dragged back to before the station's first form: no form at all
    rendered = tab.rendered()
    tab.js(
        "(n) => { const s = document.getElementById('time-size'); s.value = String(n);"
        " s.dispatchEvent(new Event('input', { bubbles: true })); }",
        first["leaf_index"],
    )
    tab.wait_rendered(rendered)
    assert f"as_of={first['leaf_index']}" in tab.js("() => location.hash")
    assert station_khosa(tab) == []
    assert "No form from this station yet." in tab.page.locator("main").text_content()

    # Live: the current numbers again, and the page kept the same document all along
    rendered = tab.rendered()
    live.click()
    tab.wait_rendered(rendered)
    assert "as_of" not in tab.js("() => location.hash")
    assert sorted(station_khosa(tab)) == [old, old + 50]
    assert live.get_attribute("aria-pressed") == "true"
    assert tab.marked()


# ---------------------------------------------------------------- 3. the disagreement


STATION_TABLE = """() => {
  const rows = [...document.querySelectorAll('tr[data-station]')];
  const table = rows[0].closest('table');
  return {
    heads: [...table.querySelectorAll('thead th')].map((th) => th.textContent),
    rows: rows.map((r) => ({
      id: r.dataset.station,
      flag: r.classList.contains('flag'),
      cells: [...r.cells].map((td) => ({ text: td.textContent, differs: td.classList.contains('differs') })),
    })),
  };
}"""


def numbers(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", text)]


def test_the_declaration_that_names_another_winner_is_highlighted_on_the_contest_page(open_tab):
    tab = open_tab(f"#/{ELECTION}/contest/PS-129")
    banner = tab.page.get_by_test_id("disagreement")
    assert banner.is_visible()
    assert banner.get_attribute("role") == "alert"
    text = banner.text_content()
    assert re.search(r"Form 47\) names Hafiz Naeem ur Rehman.*give Saif Bari", text), text

    saif = tab.page.locator(f'tr[data-candidate="{SAIF}"]')
    hafiz = tab.page.locator(f'tr[data-candidate="{HAFIZ}"]')
    assert "flag" in saif.get_attribute("class")
    assert saif.locator("td.differs").text_content() == "-20,000"
    assert values(tab, f'tr[data-candidate="{SAIF}"] button.num[data-kind="declared"]') == [11000]
    assert computed(tab, SAIF) == 31000
    assert hafiz.get_attribute("class") is None
    assert hafiz.locator("td.differs").count() == 0

    # Form 47's own breakdown: the 20 stations the 20,000 votes came off, and only them
    table = tab.js(STATION_TABLE)
    column = table["heads"].index("Form 47 breakdown")
    official = table["heads"].index("Official (Form 45)")
    legend = tab.page.locator("p.label", has_text="In each cell").text_content()
    assert legend.startswith("In each cell: Saif Bari · Hafiz Naeem ur Rehman"), legend
    moved = []
    official_saif = declared_saif = 0
    for row in table["rows"]:
        cells = row["cells"]
        assert [i for i, c in enumerate(cells) if c["differs"]] in ([], [column]), row
        form, declared = numbers(cells[official]["text"]), numbers(cells[column]["text"])
        official_saif += form[0]
        declared_saif += declared[0]
        if cells[column]["differs"]:
            moved.append(row["id"])
            assert row["flag"]
            assert declared[0] < form[0] and declared[1] == form[1], row
        else:
            assert declared[:2] == form[:2] and not row["flag"], row
    assert len(moved) == 20 and len(table["rows"]) == 24
    assert (official_saif, declared_saif) == (31000, 11000)
    # and it shows: a flagged cell is painted, an agreeing one is not
    backgrounds = tab.js(
        "() => ['tr[data-station] td.differs', 'tr[data-station]:not(.flag) td.n']"
        ".map((s) => getComputedStyle(document.querySelector(s)).backgroundColor)"
    )
    assert backgrounds[0] != backgrounds[1], backgrounds


# ---------------------------------------------------------------- 4. verification


def press(tab: Tab, selector: str) -> tuple[bool, str]:
    """Press a number, wait for the verifier's verdict, close the dialog; the verdict and
    the dialog's text."""
    tab.page.locator(selector).first.click()
    result = tab.page.locator("#verify[open] [data-testid=verify-result]")
    result.wait_for()
    ok = result.get_attribute("data-ok")
    text = tab.page.locator("#verify-body").inner_text()
    tab.page.get_by_test_id("verify-close").click()
    tab.wait("() => !document.getElementById('verify').open")
    assert ok in ("true", "false")
    return ok == "true", text


COMPUTED_SAIF = f'tr[data-candidate="{SAIF}"] button.num[data-kind="contest"]'
DECLARED_SAIF = f'tr[data-candidate="{SAIF}"] button.num[data-kind="declared"]'
STATION_FORM = 'tr[data-station="PS-129-S003"] button.num[data-kind="form"]'


def test_numbers_verify_in_the_browser(open_tab):
    tab = open_tab(f"#/{ELECTION}/contest/PS-129")
    for selector in (
        COMPUTED_SAIF,
        DECLARED_SAIF,  # a declaration may leave out rejected and polled: PS-129's does
        "[data-testid=margin] button.num",
        "[data-testid=contest-reported] button.num",
        STATION_FORM,
    ):
        ok, text = press(tab, selector)
        assert ok, f"{selector}:\n{text}"
        assert "Verified in your browser." in text
        assert "signed by the log's key" in text


def flip(encoded: str) -> str:
    """The base64 text with one bit of its last byte flipped."""
    data = bytearray(base64.b64decode(encoded))
    data[-1] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


def rewrite(tab: Tab, pattern: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Answer requests matching `pattern` with the server's answer changed by `change`."""

    def handle(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        change(body)
        route.fulfill(response=response, body=json.dumps(body))

    tab.page.route(pattern, handle)


def test_verification_fails_on_a_tampered_proof_and_says_why(open_tab):
    tab = open_tab(f"#/{ELECTION}/contest/PS-129")
    evidence = "**/contests/PS-129/evidence*"

    def hash_of_a_proof(body: dict[str, Any]) -> None:
        form = next(f for f in body["forms"] if f["station"] == "PS-129-S005")
        form["inclusion_proof"][2] = flip(form["inclusion_proof"][2])

    rewrite(tab, evidence, hash_of_a_proof)
    ok, text = press(tab, COMPUTED_SAIF)
    assert not ok and "Verification FAILED." in text
    assert re.search(
        r"inclusion PS-129-S005: leaf \d+: the inclusion proof leads to another root", text
    ), text
    tab.page.unroute(evidence)

    def votes_of_a_leaf(body: dict[str, Any]) -> None:
        form = next(f for f in body["forms"] if f["station"] == "PS-129-S007")
        leaf = json.loads(base64.b64decode(form["leaf"]))
        leaf["body"]["votes"][SAIF] += 1000
        form["leaf"] = base64.b64encode(json.dumps(leaf).encode()).decode()

    rewrite(tab, evidence, votes_of_a_leaf)
    ok, text = press(tab, DECLARED_SAIF)
    assert not ok
    assert re.search(
        r"inclusion PS-129-S007: leaf \d+: the inclusion proof leads to another root", text
    ), text
    tab.page.unroute(evidence)

    inclusion = "**/v1/proofs/inclusion*"

    def hash_of_the_proof(body: dict[str, Any]) -> None:
        body["inclusion_proof"][0] = flip(body["inclusion_proof"][0])

    rewrite(tab, inclusion, hash_of_the_proof)
    ok, text = press(tab, STATION_FORM)
    assert not ok
    assert re.search(
        r"Entry \d+ is not proven in the signed tree: the inclusion proof leads to another root",
        text,
    ), text
    tab.page.unroute(inclusion)

    # the same numbers, honestly answered, verify again
    assert press(tab, COMPUTED_SAIF)[0]
    assert press(tab, STATION_FORM)[0]


# ---------------------------------------------------------------- 5. Urdu


def test_urdu_names_are_written_right_to_left(open_tab):
    tab = open_tab(f"#/{URDU_ELECTION}/contest/UR-1")
    names = tab.js(
        "() => [...document.querySelectorAll('[data-testid=urdu-name]')].map((el) => ({"
        " text: el.textContent, lang: el.lang, direction: getComputedStyle(el).direction,"
        " latin: getComputedStyle(el.previousElementSibling).direction,"
        " candidate: el.closest('tr')?.dataset.candidate ?? null }))"
    )
    in_table = {n["candidate"]: n for n in names if n["candidate"]}
    assert {c: n["text"] for c, n in in_table.items()} == URDU
    for name in names:
        assert name["direction"] == "rtl" and name["lang"] == "ur", name
        assert name["latin"] == "ltr", name
    options = tab.js("() => [...document.getElementById('election').options].map((o) => o.value)")
    assert URDU_ELECTION in options


# ---------------------------------------------------------------- 6. the widget


def widget_votes(tab: Tab) -> dict[str, int]:
    rows = tab.js(
        "() => [...document.querySelectorAll('[data-testid=widget] .bars li')].map((li) =>"
        " [li.querySelector('.person span').textContent, li.querySelector('strong').textContent])"
    )
    return {name: int(n.replace(",", "")) for name, n in rows}


def test_the_widget_shows_its_contest_and_follows_it_live(sample, open_tab):
    tab = open_tab(f"/embed/{ELECTION}/NA-122")
    heading = tab.page.locator("[data-testid=widget] h1").text_content()
    assert heading == "NA-122 Lahore-VI"
    before = widget_votes(tab)
    contest = sample.http.get(f"/v1/elections/{ELECTION}/contests/NA-122").json()["contest"]
    assert before["Sardar Latif Khosa"] == contest["ranking"][0]["votes"]
    assert before["Khawaja Saad Rafique"] == contest["ranking"][1]["votes"]
    tab.mark()

    receipt = sample.correct("NA-122-S012", 77)

    tab.wait(
        "(n) => [...document.querySelectorAll('.bars strong')].some((s) => s.textContent === n)",
        f"{before['Sardar Latif Khosa'] + 77:,}",
    )
    after = widget_votes(tab)
    assert after == before | {"Sardar Latif Khosa": before["Sardar Latif Khosa"] + 77}
    link = tab.page.locator("[data-testid=widget] a").get_attribute("href")
    assert link.endswith(f"/contest/NA-122?as_of={receipt['tree_size']}"), link
    assert tab.marked()


def test_the_widget_writes_no_stray_text(open_tab):
    tab = open_tab(f"/embed/{ELECTION}/NA-122")
    texts = tab.js(
        "() => [...document.querySelector('[data-testid=widget]').childNodes]"
        ".filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent.trim())"
    )
    assert [t for t in texts if t] == []


# ---------------------------------------------------------------- 7. accessibility


AXE_PAGES = {
    "national": (f"#/{ELECTION}", DESKTOP),
    "assembly": (f"#/{ELECTION}/assembly/PS", DESKTOP),
    "contest": (f"#/{ELECTION}/contest/PS-129", DESKTOP),
    "contest-phone": (f"#/{ELECTION}/contest/PS-129", PHONE),  # lists overflow sooner
    "station": (f"#/{ELECTION}/station/NA-122-S003", DESKTOP),
    "findings": (f"#/{ELECTION}/findings", DESKTOP),
    "widget": (f"/embed/{ELECTION}/NA-122", DESKTOP),
}


@pytest.mark.parametrize("name", list(AXE_PAGES))
def test_no_serious_accessibility_violations(open_tab, name):
    from axe_playwright_python.sync_playwright import Axe

    tab = open_tab(*AXE_PAGES[name])
    violations = Axe().run(tab.page).response["violations"]
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    for line in serious:
        print(line)
    assert serious == []


# ---------------------------------------------------------------- 8. the keyboard


def focused(tab: Tab) -> dict[str, Any]:
    return tab.js(
        "() => { const a = document.activeElement; return { tag: a.tagName, id: a.id,"
        " cls: a.className, nav: !!a.closest('nav'), main: !!a.closest('main') }; }"
    )


def test_the_keyboard_reaches_the_skip_link_the_nav_and_the_proofs(open_tab):
    route = f"#/{ELECTION}/contest/PS-129"
    tab = open_tab(route)
    keyboard = tab.page.keyboard
    keyboard.press("Tab")
    assert focused(tab)["cls"] == "skip"
    box = tab.page.locator("a.skip").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # shown once focused
    for _ in range(5):
        keyboard.press("Tab")
        now = focused(tab)
        assert not now["main"], now
        if now["nav"]:
            break
    assert now["nav"] and now["tag"] == "A", now

    # the skip link goes to the results and stays on the page it skips on
    rendered = tab.rendered()
    tab.page.locator("a.skip").focus()
    keyboard.press("Enter")
    tab.wait("() => document.activeElement === document.getElementById('main')")
    assert tab.js("() => location.hash") == route
    assert tab.page.get_by_test_id("disagreement").is_visible()
    assert tab.rendered() == rendered

    number = tab.page.locator(DECLARED_SAIF)
    number.focus()
    keyboard.press("Enter")
    result = tab.page.locator("#verify[open] [data-testid=verify-result]")
    result.wait_for()
    assert result.get_attribute("data-ok") == "true"
    keyboard.press("Escape")
    tab.wait("() => !document.getElementById('verify').open")
    assert tab.js("(el) => document.activeElement === el", number.element_handle())


# ---------------------------------------------------------------- 9. a phone


def test_a_phone_scrolls_tables_inside_their_region_not_the_page(open_tab):
    for route in (f"#/{ELECTION}", f"#/{ELECTION}/contest/PS-129"):
        tab = open_tab(route, viewport=PHONE)
        sizes = tab.js(
            "() => ({ width: document.scrollingElement.scrollWidth, inner: innerWidth,"
            " regions: [...document.querySelectorAll('.scroll')].map((r) =>"
            " [r.scrollWidth, r.clientWidth]) })"
        )
        assert sizes["inner"] == PHONE["width"]
        assert sizes["width"] <= sizes["inner"] + 1, (route, sizes)
        assert all(client <= sizes["inner"] for _, client in sizes["regions"]), sizes
    # the contest's station table is wider than a phone: it scrolls in its own region
    assert any(scroll > client + 1 for scroll, client in sizes["regions"]), sizes
