"""The proof panel's witnesses, in Chromium against real processes: `tallyproof serve` asking
three `tallyproof witness serve` processes (quorum 2) every 0.3 s. A number whose checkpoint
the quorum cosigned, or which a later witnessed checkpoint is proven to extend, reads as
witnessed; one read after the witnesses stopped reads as not yet witnessed; a cosignature or
a consistency proof altered on its way to the browser reads as a failure, never as
witnessed. Also verify.js's parseWitnessKey and verifyCosignatures against the Python
cosignatures (ledger/cosignature.py). Screenshots go to var/screenshots/."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tallyproof.ledger.cosignature import WitnessKey, cosign, split_note
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.ledger.note import Checkpoint
from tests.conftest import REPO
from tests.helpers import ELECTION, ElectionFixture, form_doc, make_election
from tests.serving import Server
from tests.web.conftest import Script, load_module
from tests.witnessing import WitnessServer, configure

NAMES = ("observers.example/fafen", "observers.example/pildat", "agents.example/pti")
QUORUM = 2
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = REPO / "var" / "screenshots"
CONTEST = f"#/{ELECTION}/contest/NA-1"
NUMBER = 'tr[data-candidate="NA-1/a"] button.num[data-kind="contest"]'
DASH = "\u2014 "


# ---------------------------------------------------------------- the log and its witnesses


@dataclass
class Night:
    server: Server
    http: httpx.Client
    election: ElectionFixture
    witnesses: list[WitnessServer]

    def submit(self, station: str, contest: str = "NA-1") -> int:
        """The presiding officer's form of `station` in `contest`; the tree size of its
        commit (each POST is a commit, and every commit signs a checkpoint)."""
        votes = (300 + int(station[1:]), 200, 100) if contest == "NA-1" else (400, 300)
        doc = form_doc(station, votes=votes, contest=contest)
        envelope = sign(EntryKind.FORM, doc, self.election.po[station]).envelope()
        answer = self.http.post("/v1/forms", json=envelope)
        assert answer.status_code == 201, answer.text
        return answer.json()["receipt"]["tree_size"]

    def latest(self) -> int:
        return self.http.get("/v1/checkpoints/latest").json()["tree_size"]

    def witnessed(self) -> int | None:
        return self.http.get("/v1/witnesses").json()["witnessed"]

    def wait_witnessed(self, size: int, timeout: float = 30.0) -> None:
        """Until the quorum has cosigned the checkpoint of `size` (or a later one)."""
        deadline = time.monotonic() + timeout
        while (self.witnessed() or -1) < size:
            assert time.monotonic() < deadline, f"size {size} not witnessed: {self.witnessed()}"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def night(tmp_path_factory) -> Iterator[Night]:
    """The test election's log served with three witnesses (quorum 2), two forms in, the
    newest checkpoint witnessed. Witnesses are configured before the server starts: it reads
    witnesses.json once, when it starts."""
    base = tmp_path_factory.mktemp("witnessed")
    home = base / "log"
    election = make_election(home)
    log_vkey = election.ctx.log_key.vkey
    election.ctx.close()
    witnesses: list[WitnessServer] = []
    server = None
    try:
        for i, name in enumerate(NAMES):
            witnesses.append(WitnessServer(base / f"witness-{i}", name, log_vkey).start())
        configure(home, witnesses, QUORUM)
        server = Server(home, args=("--witness-seconds", "0.3")).start()
        with server.client() as http:
            night = Night(server, http, election, witnesses)
            night.submit("S1")
            night.wait_witnessed(night.submit("S2"))
            yield night
    finally:
        if server is not None:
            server.stop()
        for witness in witnesses:
            witness.stop()


# ---------------------------------------------------------------- the browser


@pytest.fixture
def open_page(browser, night) -> Iterator[Callable[..., Any]]:
    """A dashboard route in a fresh browser context (a first visit: no key kept yet), once
    rendered; fails the test on an error in the page's scripts."""
    contexts: list[Any] = []
    errors: list[str] = []

    def opener(route: str, viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{night.server.url}/{route}")
        page.wait_for_function("() => Number(document.body.dataset.rendered || 0) > 0")
        return page

    yield opener
    for context in contexts:
        context.close()
    assert errors == []


@dataclass
class Panel:
    ok: bool  # the dialog's verdict
    state: str  # the witness section's: none, pending, witnessed or failed
    summary: str
    text: str  # the whole dialog's


def press(page: Any, shot: str | None = None) -> Panel:
    """Press the number, wait for the verdict, read the panel (a screenshot of its witness
    section to var/screenshots/<shot>.png if named), close it."""
    page.locator(NUMBER).first.click()
    page.locator("#verify[open] [data-testid=verify-result]").wait_for()
    section = page.get_by_test_id("verify-witnesses")
    panel = Panel(
        ok=page.get_by_test_id("verify-result").get_attribute("data-ok") == "true",
        state=section.get_attribute("data-state"),
        summary=page.get_by_test_id("witness-summary").inner_text(),
        text=page.locator("#verify-body").inner_text(),
    )
    if shot:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        section.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{shot}.png"), animations="disabled")
    page.get_by_test_id("verify-close").click()
    page.wait_for_function("() => !document.getElementById('verify').open")
    return panel


def rewrite(page: Any, pattern: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Answer requests matching `pattern` with the server's answer changed by `change`."""

    def handle(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        change(body)
        route.fulfill(response=response, body=json.dumps(body))

    page.route(pattern, handle)


def flip(encoded: str, at: int = -1) -> str:
    data = bytearray(base64.b64decode(encoded))
    data[at] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


def tamper(note: str, witnesses: list[str], at: int = -1) -> str:
    """The note with a bit of byte `at` of each named witness's cosignature flipped."""
    text, lines = split_note(note)
    changed = []
    for line in lines:
        name, _, encoded = line[len(DASH) : -1].partition(" ")
        changed.append(f"{DASH}{name} {flip(encoded, at)}\n" if name in witnesses else line)
    return text + "\n" + "".join(changed)


def cosigners(note: str) -> list[str]:
    """The names on the note's cosignature lines (the log's own line is the first)."""
    return [line[len(DASH) :].split(" ")[0] for line in split_note(note)[1][1:]]


def no_serious_violations(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


# ---------------------------------------------------------------- witnessed


def test_a_number_whose_checkpoint_the_quorum_cosigned_reads_as_witnessed(night, open_page):
    size = night.latest()
    assert night.witnessed() == size
    page = open_page(CONTEST)
    panel = press(page, "verify-witnessed-desktop")
    assert panel.ok and panel.state == "witnessed", panel.text
    assert panel.summary.startswith("✓ Witnessed: cosigned by "), panel.summary
    assert "needed (quorum holds)" in panel.summary
    assert f"at size {size:,}, this checkpoint itself" in panel.summary
    cosigned = [n for n in NAMES if f"{n} cosigned it at " in panel.text]
    assert len(cosigned) >= QUORUM, panel.text
    assert all(n in panel.summary for n in cosigned)
    assert f"{len(cosigned)} of 3 witnesses, 2 needed" in panel.summary
    # each witness's time, as the cosignature gives it
    assert re.search(r"cosigned it at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", panel.text)


def test_a_number_at_an_earlier_size_is_witnessed_through_a_consistency_proof(night, open_page):
    earlier = night.latest()
    night.wait_witnessed(night.submit("S3"))
    witnessed = night.witnessed()
    assert witnessed is not None and witnessed > earlier
    for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(f"{CONTEST}?as_of={earlier}", viewport)
        panel = press(page, f"verify-witnessed-later-{device}")
        assert panel.ok and panel.state == "witnessed", panel.text
        assert "quorum holds" in panel.summary
        assert f"at size {witnessed:,}, which extends this checkpoint" in panel.summary
        assert "consistency proof of" in panel.summary and "checked" in panel.summary
        # readable at a phone's width: the open panel passes axe and does not scroll sideways
        page.locator(NUMBER).first.click()
        page.locator("#verify[open] [data-testid=verify-witnesses]").wait_for()
        no_serious_violations(page)
        widths = page.evaluate(
            "() => { const d = document.getElementById('verify');"
            " return [d.scrollWidth, d.clientWidth, document.scrollingElement.scrollWidth]; }"
        )
        assert widths[0] <= widths[1] + 1 and widths[2] <= viewport["width"] + 1, widths


# ---------------------------------------------------------------- tampered with


def test_a_tampered_cosignature_is_a_failure_and_never_counts(night, open_page):
    page = open_page(CONTEST)
    note = night.http.get("/v1/checkpoints/witnessed").json()["cosigned"]
    signed = cosigners(note)
    assert len(signed) >= QUORUM, signed
    one = signed[0]

    def one_signature(body: dict[str, Any]) -> None:
        body["cosigned"] = tamper(body["cosigned"], [one])

    rewrite(page, "**/v1/checkpoints/witnessed", one_signature)
    panel = press(page, "verify-witness-tampered-desktop")
    assert not panel.ok and panel.state == "failed", panel.text
    assert panel.summary.startswith("✗ Witnessing FAILED"), panel.summary
    assert f"does not verify ({one})" in panel.summary
    assert f"✗ {one}: the cosignature by {one} does not verify." in panel.text
    assert "Witnessed:" not in panel.text and "quorum holds" not in panel.text
    page.unroute("**/v1/checkpoints/witnessed")

    # all but one altered, here in the time they sign: below the quorum, and said so
    def all_but_one(body: dict[str, Any]) -> None:
        # (every other witness: one may have added its line since `signed` was read)
        body["cosigned"] = tamper(body["cosigned"], [n for n in NAMES if n != one], at=11)

    rewrite(page, "**/v1/checkpoints/witnessed", all_but_one)
    panel = press(page)
    assert not panel.ok and panel.state == "failed", panel.text
    assert "quorum not met" in panel.summary and "quorum holds" not in panel.text
    assert f"verified: {one} — 1 of 3 witnesses, 2 needed" in panel.summary
    page.unroute("**/v1/checkpoints/witnessed")

    # honestly answered again, the same number is witnessed
    assert press(page).state == "witnessed"


def test_a_cosignature_by_a_key_not_named_is_ignored(night, open_page):
    """A line by a witness the log does not name, or by a named witness's name with another
    key, proves nothing and fails nothing."""
    page = open_page(CONTEST)
    stranger = Signer.from_seed_text("stranger.example/w", "witness-test:stranger")
    impostor = Signer.from_seed_text(NAMES[0], "witness-test:impostor")

    def strangers(body: dict[str, Any]) -> None:
        text = split_note(body["cosigned"])[0]
        lines = [cosign(s, text, int(time.time())).line for s in (stranger, impostor)]
        body["cosigned"] += "".join(lines)

    rewrite(page, "**/v1/checkpoints/witnessed", strangers)
    panel = press(page)
    assert panel.ok and panel.state == "witnessed", panel.text
    assert "stranger" not in panel.text


def test_a_failing_consistency_proof_is_a_failure(night, open_page):
    earlier = night.latest()
    night.wait_witnessed(night.submit("S4"))
    page = open_page(f"{CONTEST}?as_of={earlier}")

    def one_hash(body: dict[str, Any]) -> None:
        body["consistency_proof"][0] = flip(body["consistency_proof"][0])

    rewrite(page, "**/v1/proofs/consistency*", one_hash)
    panel = press(page, "verify-witness-inconsistent-desktop")
    assert not panel.ok and panel.state == "failed", panel.text
    assert f"is not proven to extend this one, at size {earlier:,}" in panel.summary, panel.summary
    assert "Witnessed:" not in panel.text


def test_a_log_that_names_no_witnesses_says_so(open_page):
    page = open_page(CONTEST)
    page.route(
        "**/v1/witnesses",
        lambda route: route.fulfill(
            json={"quorum": 0, "witnesses": [], "cosigned": {}, "witnessed": None}
        ),
    )
    panel = press(page)
    assert panel.ok and panel.state == "none", panel.text
    assert "this log names no witnesses: its checkpoints are its own word" in panel.summary.lower()


# ---------------------------------------------------------------- not yet witnessed
# Last: it stops the witnesses.


def test_a_number_read_after_the_witnesses_stopped_is_not_yet_witnessed(night, open_page):
    witnessed = night.witnessed()
    assert witnessed == night.latest()
    for witness in night.witnesses:
        witness.stop()
    # NA-1's forms are all in: the Punjab seat's come, and the NA-1 page is read at their size
    night.submit("S1", "PP-1")
    size = night.submit("S2", "PP-1")
    time.sleep(1.0)  # rounds go on, with no witness to answer
    assert night.witnessed() == witnessed and size > witnessed
    for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(CONTEST, viewport)
        panel = press(page, f"verify-not-yet-witnessed-{device}")
        assert panel.ok and panel.state == "pending", panel.text
        older = size - witnessed
        entries = "entry" if older == 1 else "entries"
        expected = (
            f"Not yet witnessed: the newest checkpoint the witnesses cosigned is at size "
            f"{witnessed:,} ({older:,} {entries} older)."
        )
        assert expected in panel.summary, panel.summary
        assert "Witnessed:" not in panel.text


# ---------------------------------------------------------------- verify.js itself


@pytest.fixture(scope="module")
def js(browser, static_url) -> Iterator[Script]:
    yield from load_module(browser, static_url, "verify.js")


PARSE = """
try {
  const k = await M.parseWitnessKey(arg);
  const hex = Array.from(k.keyHash, (b) => b.toString(16).padStart(2, "0")).join("");
  return { name: k.name, keyHash: hex, publicKey: M.toBase64(k.publicKey) };
} catch (e) {
  return { error: e.message };
}
"""

COSIGNATURES = "return await M.verifyCosignatures(arg.note, arg.vkeys);"


def test_witness_keys_read_as_python_reads_them(js):
    signer = Signer.from_seed_text(NAMES[0], "witness-test:key")
    key = WitnessKey.of(signer)
    assert js(PARSE, key.vkey) == {
        "name": key.name,
        "keyHash": key.key_hash.hex(),
        "publicKey": base64.b64encode(key.raw).decode(),
    }
    name, key_hash, material = key.vkey.split("+", 2)
    short = base64.b64encode(bytes([4]) + key.raw[:31]).decode()
    refused = {
        "the note key (0x01) of the same key": signer.public.vkey,
        "another hash": f"{name}+{int(key_hash, 16) ^ 1:08x}+{material}",
        "another name": f"{NAMES[1]}+{key_hash}+{material}",
        "short": f"{name}+{key_hash}+{short}",
    }
    for why, text in refused.items():
        assert "error" in js(PARSE, text), why


def test_cosignatures_verify_as_python_verifies_them(js):
    log = Signer.from_seed_text("example.org/log", "witness-test:log")
    text = Checkpoint("example.org/log", 7, bytes(range(32))).sign(log)
    body = split_note(text)[0]
    signers = [Signer.from_seed_text(n, f"witness-test:{n}") for n in NAMES]
    vkeys = [WitnessKey.of(s).vkey for s in signers]
    made = [cosign(s, body, 1_700_000_000 + i) for i, s in enumerate(signers)]
    stranger = cosign(Signer.from_seed_text("x.example/w", "witness-test:x"), body, 5)
    note = text + "".join(c.line for c in made) + stranger.line

    got = js(COSIGNATURES, {"note": note, "vkeys": vkeys})
    assert got == {
        "ok": True,
        "reason": None,
        "cosigned": [{"witness": c.witness, "timestamp": c.timestamp} for c in made],
        "failed": [],
    }
    # a named witness's line altered: in its signature's last byte, its time, its signature
    for at in (-1, 6, 40):
        bad = js(COSIGNATURES, {"note": tamper(note, [NAMES[1]], at), "vkeys": vkeys})
        assert not bad["ok"], at
        assert [c["witness"] for c in bad["cosigned"]] == [NAMES[0], NAMES[2]], at
        assert bad["failed"] == [
            {"witness": NAMES[1], "reason": f"the cosignature by {NAMES[1]} does not verify"}
        ], at
    # the same line on another checkpoint's text
    other = Checkpoint("example.org/log", 8, bytes(range(32))).sign(log)
    moved = js(COSIGNATURES, {"note": other + made[0].line, "vkeys": vkeys})
    assert not moved["ok"] and moved["failed"][0]["witness"] == NAMES[0]
    # a second line by one witness, even a good one (C2SP signed-note: the note is malformed)
    again = cosign(signers[2], body, 1_700_000_100).line
    twice = js(COSIGNATURES, {"note": note + again, "vkeys": vkeys})
    assert not twice["ok"] and [c["witness"] for c in twice["cosigned"]] == list(NAMES[:2])
    assert twice["failed"] == [
        {"witness": NAMES[2], "reason": f"the note has 2 cosignature lines by {NAMES[2]}"}
    ]
    # only the keys asked about count
    only = js(COSIGNATURES, {"note": note, "vkeys": vkeys[:1]})
    assert only["ok"] and [c["witness"] for c in only["cosigned"]] == [NAMES[0]]
    malformed = js(COSIGNATURES, {"note": note.replace("\n\n", "\n"), "vkeys": vkeys})
    assert not malformed["ok"] and malformed["cosigned"] == []


def test_a_checkpoint_with_two_lines_by_the_logs_key_fails(js):
    """As ledger/note.py and Go's note.Open: a second line by the key makes the note malformed,
    even when both verify."""
    log = Signer.from_seed_text("example.org/log", "witness-test:log")
    note = Checkpoint("example.org/log", 7, bytes(range(32))).sign(log)
    doubled = note + split_note(note)[1][0]
    check = "const r = await M.verifyCheckpoint(arg.note, arg.vkey); return [r.ok, r.reason];"
    assert js(check, {"note": note, "vkey": log.public.vkey}) == [True, None]
    assert js(check, {"note": doubled, "vkey": log.public.vkey}) == [
        False,
        "the note has 2 signature lines by example.org/log",
    ]
