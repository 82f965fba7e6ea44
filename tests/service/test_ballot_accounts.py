"""Evidence as it really arrives: unofficial copies kept with findings, reconciliation on the
candidates a copy has, and Form 46 (the ballot paper account) from submission to findings,
on SQLite and PostgreSQL; and the audit re-checking it from the public bundle."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tallyproof.audit.run import audit_bundle
from tallyproof.export.bundle import export_bundle
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import submission
from tallyproof.service.ballots import account_dict
from tallyproof.service.feed import Feed
from tallyproof.service.reading import ReadModel
from tallyproof.store import schema
from tallyproof.store.database import Store
from tests.helpers import ELECTION, form_doc, make_election

SHA = hashlib.sha256(b"scan of Form 45 at S1").hexdigest()


@pytest.fixture
def election(tmp_path, store_url):
    e = make_election(tmp_path / "home", store_url)
    yield e
    e.ctx.close()


def account_doc(**extra: Any) -> dict[str, Any]:
    doc = {
        "election": ELECTION,
        "station": "S1",
        "contest": "NA-1",
        "source": "presiding_officer",
        "received": 1000,
        "issued": 610,
        "spoilt": 5,
        "unused": 385,
        "time": "2024-02-08T18:30:00+05:00",
    }
    return doc | extra


def submit_account(e, doc: dict[str, Any], key: Signer | None = None):
    envelope = sign(EntryKind.BALLOT_ACCOUNT, doc, key or e.po[doc["station"]]).envelope()
    (outcome,) = submission.submit_ballot_accounts(e.ctx, [envelope])
    return outcome


def open_codes(e, contest: str = "NA-1") -> list[str]:
    model = ReadModel.open(e.ctx.settings)
    try:
        lives = model.findings(ELECTION, contest).value
        return sorted(x.finding.code for x in lives if x.open)
    finally:
        model.close()


def rows(e, table) -> int:
    with e.ctx.read() as r:
        return len(r.conn.execute(table.select()).all())


# --- unofficial copies --------------------------------------------------------------------


def test_a_partial_agent_copy_is_kept_with_a_finding_not_refused(election):
    election.submit_one(form_doc())
    partial = form_doc(votes=(300, 200), source="agent:PTI", polled=610)
    outcome = election.submit_one(partial, key=election.agent)
    assert outcome.accepted, outcome.problems
    assert open_codes(election) == ["form.partial_copy"]


def test_an_agent_copy_that_does_not_add_up_is_kept_with_a_finding(election):
    off = form_doc(source="agent:PTI", valid=601)
    off["polled"] += 3
    assert election.submit_one(off, key=election.agent).accepted
    assert open_codes(election) == ["form.copy_does_not_add_up"]
    official = form_doc()
    official["polled"] += 3
    (refused,) = election.submit(official)
    assert [p.code for p in refused.problems] == ["ballots.accounting_mismatch"]


def test_a_partial_copy_is_compared_only_on_the_candidates_it_gives(election):
    """The agent's copy names only the top two; the third candidate's 100 votes on the
    presiding officer's form are not read as 0 against it."""
    election.submit_one(form_doc())
    top_two = form_doc(votes=(300, 200), source="agent:PTI", polled=610)
    assert election.submit_one(top_two, key=election.agent).accepted
    assert open_codes(election) == ["form.partial_copy"]
    moved = form_doc(votes=(300, 250), source="agent:PTI", polled=610, supersedes="x")
    moved.pop("supersedes")
    agent_head = _head_form(election, "agent:PTI")
    moved |= {"supersedes": agent_head, "reason": "correction"}
    assert election.submit_one(moved, key=election.agent).accepted
    model = ReadModel.open(election.ctx.settings)
    (conflict,) = [
        x.finding
        for x in model.findings(ELECTION, "NA-1").value
        if x.open and x.finding.code == "station.source_conflict"
    ]
    model.close()
    assert [d["field"] for d in conflict.evidence["differences"]] == ["NA-1/b"]


def _head_form(e, source: str) -> str:
    with e.ctx.read() as r:
        return next(f.form_id for f in r.form_rows(ELECTION, 10**9) if f.source == source)


def test_evidence_is_kept_and_shown_when_the_form_is_read(election):
    evidence = {"sha256": SHA, "url": "https://example.org/s1.jpg", "transcribed_by": "Sana"}
    assert election.submit_one(form_doc(evidence=evidence)).accepted
    model = ReadModel.open(election.ctx.settings)
    (entry,) = model.forms(ELECTION, station="S1").value
    model.close()
    assert entry.record.evidence == evidence
    bad = form_doc(station="S2", evidence={"sha256": "nothex"})
    (refused,) = election.submit(bad)
    assert [(p.code, p.field) for p in refused.problems] == [("evidence.sha256", "evidence.sha256")]


# --- Form 46 ---------------------------------------------------------------------------------


def test_the_presiding_officer_submits_an_account_that_is_shown_on_the_station(election):
    evidence = {"sha256": SHA}
    outcome = submit_account(election, account_doc(evidence=evidence, tendered=1))
    assert outcome.accepted, outcome.problems
    again = submit_account(election, account_doc(evidence=evidence, tendered=1))
    assert again.duplicate and again.receipt == outcome.receipt
    model = ReadModel.open(election.ctx.settings)
    (entry,) = model.ballot_accounts(ELECTION, "S1").value
    model.close()
    shown = account_dict(entry)
    assert shown["issued"] == 610 and shown["tendered"] == 1 and shown["current"]
    assert shown["evidence"] == evidence and shown["account_id"] == outcome.entry_id


@pytest.mark.parametrize(
    ("doc", "signer", "code"),
    [
        (account_doc(unused=1), "po", "ballots.account_mismatch"),
        (account_doc(station="S2"), "po", "signature.out_of_scope"),
        (account_doc(source="agent:PTI"), "agent", "ballot_account.source"),
        (account_doc(received=1700, issued=1310), "po", "ballots.issued_exceeds_registered"),
        (account_doc(contest="NA-9"), "po", "form.unknown_contest"),
    ],
)
def test_a_broken_account_is_refused_and_changes_nothing(election, doc, signer, code):
    before = (rows(election, schema.ledger_entries), rows(election, schema.ballot_accounts))
    key = election.agent if signer == "agent" else election.po["S1"]
    outcome = submit_account(election, doc, key)
    assert not outcome.accepted
    assert outcome.problems[0].code == code
    after = (rows(election, schema.ledger_entries), rows(election, schema.ballot_accounts))
    assert after == before


def test_a_second_account_must_correct_the_first(election):
    first = submit_account(election, account_doc())
    second = submit_account(election, account_doc(issued=600, unused=395))
    assert [p.code for p in second.problems] == ["form.conflict"]
    fixed = account_doc(issued=600, unused=395, supersedes=first.entry_id, reason="correction")
    assert submit_account(election, fixed).accepted
    model = ReadModel.open(election.ctx.settings)
    current = [e.current for e in model.ballot_accounts(ELECTION, "S1").value]
    model.close()
    assert current == [False, True]


@pytest.mark.parametrize("account_first", [True, False])
def test_issued_against_polled_is_a_finding_whichever_arrives_first(election, account_first):
    """Form 45 polled 610; the Form 46 says 580 papers were issued to voters."""
    doc = account_doc(issued=580, unused=415)
    if account_first:
        assert submit_account(election, doc).accepted
        assert open_codes(election) == []  # nothing to compare with yet
        assert election.submit_one(form_doc()).accepted
    else:
        assert election.submit_one(form_doc()).accepted
        assert submit_account(election, doc).accepted
    assert open_codes(election) == ["ballots.issued_differs_from_polled"]
    model = ReadModel.open(election.ctx.settings)
    (finding,) = [x.finding for x in model.findings(ELECTION, "NA-1").value]
    model.close()
    assert finding.station == "S1" and finding.evidence["difference"] == 30
    # the PP-1 contest at the same station is untouched by an NA-1 account
    assert open_codes(election, "PP-1") == []


def test_a_corrected_account_resolves_the_finding(election):
    assert election.submit_one(form_doc()).accepted
    wrong = submit_account(election, account_doc(issued=580, unused=415))
    assert open_codes(election) == ["ballots.issued_differs_from_polled"]
    fixed = account_doc(supersedes=wrong.entry_id, reason="correction")
    assert submit_account(election, fixed).accepted
    assert open_codes(election) == []


# --- the audit ------------------------------------------------------------------------------


def _bundle(e, directory: Path) -> Path:
    export_bundle(e.ctx, directory)
    return directory


def test_the_audit_passes_and_re_derives_the_findings(tmp_path):
    e = make_election(tmp_path / "home")
    evidence = {"sha256": SHA, "transcribed_by": "Sana"}
    assert e.submit_one(form_doc(evidence=evidence)).accepted
    assert submit_account(e, account_doc(issued=580, unused=415)).accepted
    partial = form_doc(votes=(300,), source="agent:PTI", polled=200)
    assert e.submit_one(partial, key=e.agent).accepted
    report = audit_bundle(_bundle(e, tmp_path / "bundle"), workers=1)
    e.ctx.close()
    assert report.ok, [i.as_dict() for i in report.issues]
    assert report.entries["ballot_account"] == 1
    assert sorted(f["code"] for f in report.findings) == [
        "ballots.issued_differs_from_polled",
        "form.copy_does_not_add_up",
        "form.partial_copy",
    ]


def test_the_audit_detects_a_forged_ballot_account(tmp_path):
    e = make_election(tmp_path / "home")
    assert e.submit_one(form_doc()).accepted
    assert submit_account(e, account_doc()).accepted
    directory = _bundle(e, tmp_path / "bundle")
    e.ctx.close()
    ledger = directory / "ledger.jsonl"
    forged = ledger.read_bytes().replace(b'"issued":610', b'"issued":640')
    assert forged != ledger.read_bytes()
    ledger.write_bytes(forged)
    manifest = json.loads((directory / "manifest.json").read_text())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((directory / name).read_bytes()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest))
    report = audit_bundle(directory, workers=1)
    assert not report.ok
    about = {(i.code, i.kind, i.field) for i in report.issues}
    assert ("audit.rule", "ballot_account", "received") in about


def test_the_live_feed_opens_the_finding_the_read_model_does(election):
    assert election.submit_one(form_doc()).accepted
    assert submit_account(election, account_doc(issued=580, unused=415)).accepted
    store = Store(election.ctx.settings.database_url)
    try:
        events = Feed(store).advance(256)
    finally:
        store.close()
    (event,) = [e for e in events if e.kind == "ballot_account"]
    assert [f.code for f in event.opened] == ["ballots.issued_differs_from_polled"]
    assert event.detail == {"station": "S1", "contest": "NA-1", "issued": 580}
