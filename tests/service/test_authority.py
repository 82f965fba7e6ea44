"""Every cell of the authority matrix in docs/rules.md ("Who may sign what"): document kind ×
source × key scope → refused with its code, or accepted into the chain it names."""

from __future__ import annotations

from typing import Any

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import admin, queries, submission
from tallyproof.service.writer import LedgerWriter
from tests.helpers import ELECTION, ElectionFixture, form_doc, make_election

SOURCES = {
    "presiding_officer": "presiding_officer",
    "returning_officer": "returning_officer",
    "agent": "agent:PTI",
    "observer": "observer:FAFEN",
    "media": "media:Dawn",
}
SCOPES: dict[str, dict[str, list[str]]] = {
    "station": {"stations": ["S1"]},
    "contest": {"contests": ["NA-1"]},
    "election": {},
}
# (kind, source, scope) -> the chain it lands in, or the refusal's code
MATRIX: dict[tuple[str, str, str], str] = {
    ("form", "presiding_officer", "station"): "official",
    ("form", "returning_officer", "station"): "official",
    ("form", "returning_officer", "contest"): "official",
    ("form", "agent", "station"): "agent:PTI",
    ("form", "agent", "contest"): "agent:PTI",
    ("form", "agent", "election"): "agent:PTI",
    ("form", "observer", "station"): "observer:FAFEN",
    ("form", "observer", "contest"): "observer:FAFEN",
    ("form", "observer", "election"): "observer:FAFEN",
    ("form", "media", "station"): "media:Dawn",
    ("form", "media", "contest"): "media:Dawn",
    ("form", "media", "election"): "media:Dawn",
    ("declaration", "presiding_officer", "station"): "signature.station_scope",
    ("declaration", "returning_officer", "station"): "signature.station_scope",
    ("declaration", "returning_officer", "contest"): "official",
    ("declaration", "agent", "station"): "signature.station_scope",
    ("declaration", "agent", "contest"): "agent:PTI",
    ("declaration", "agent", "election"): "agent:PTI",
    ("declaration", "observer", "station"): "signature.station_scope",
    ("declaration", "observer", "contest"): "observer:FAFEN",
    ("declaration", "observer", "election"): "observer:FAFEN",
    ("declaration", "media", "station"): "signature.station_scope",
    ("declaration", "media", "contest"): "media:Dawn",
    ("declaration", "media", "election"): "media:Dawn",
    ("claim", "media", "station"): "signature.station_scope",
    ("claim", "media", "contest"): "media:Dawn",
    ("claim", "media", "election"): "media:Dawn",
}
# cells no key can reach: the registration itself is refused
UNREGISTRABLE = {
    ("presiding_officer", "contest"),
    ("presiding_officer", "election"),
    ("returning_officer", "election"),
}
CLAIMS_ONLY_FROM_MEDIA = [s for s in SOURCES if s != "media"]


@pytest.fixture
def election(tmp_path) -> ElectionFixture:
    """A fresh election per cell, so no cell's entry meets another's."""
    return make_election(tmp_path / "home")


def _key(election: ElectionFixture, source: str, scope: str) -> Signer:
    extra = {"contests": ["NA-1"]} if (source, scope) == ("returning_officer", "station") else {}
    return election.register(f"{source}/{scope}", SOURCES[source], **SCOPES[scope], **extra)


def _declaration(source: str, **extra: Any) -> dict[str, Any]:
    return {
        "election": ELECTION,
        "contest": "NA-1",
        "source": source,
        "votes": {"NA-1/a": 300, "NA-1/b": 200, "NA-1/c": 100},
        "time": "2024-02-09T02:00:00+05:00",
        **extra,
    }


def _claims(source: str) -> dict[str, Any]:
    return {
        "election": ELECTION,
        "source": source,
        "published": "2024-02-09",
        "text_sha256": "0" * 64,
        "claims": [
            {
                "kind": "votes",
                "sentence": "Aamir got 300 votes",
                "start": 0,
                "end": 19,
                "qualifier": "exact",
                "value": 300,
                "contest_code": "NA-1",
                "candidate_id": "NA-1/a",
            }
        ],
    }


def _submit(ctx: LedgerWriter, kind: str, source: str, key: Signer) -> Any:
    label = SOURCES[source]
    if kind == "form":
        doc = form_doc(source=label)
        return submission.submit_forms(ctx, [sign(EntryKind.FORM, doc, key).envelope()])[0]
    if kind == "declaration":
        envelope = sign(EntryKind.DECLARATION, _declaration(label), key).envelope()
        return submission.submit_declarations(ctx, [envelope])[0]
    envelope = sign(EntryKind.CLAIM, _claims(label), key).envelope()
    return submission.submit_claim_reports(ctx, [envelope])[0]


def _chain(ctx: LedgerWriter, kind: str, entry_id: str) -> str:
    with ctx.read() as reader:
        if kind == "form":
            row = reader.form(entry_id)
            return "official" if row.official else row.source
        if kind == "declaration":
            rows = {r.declaration_id: r for r in reader.declarations(ELECTION)}
            return rows[entry_id].chain
        return next(c.outlet for c in reader.claims(ELECTION) if c.report_id == entry_id)


@pytest.mark.parametrize(("kind", "source", "scope"), sorted(MATRIX))
def test_every_cell_of_the_authority_matrix(election, kind, source, scope):
    expected = MATRIX[(kind, source, scope)]
    outcome = _submit(election.ctx, kind, source, _key(election, source, scope))
    if "." in expected:
        assert [p.code for p in outcome.problems] == [expected]
    else:
        assert outcome.accepted, outcome.problems
        chain = _chain(election.ctx, kind, outcome.entry_id)
        assert chain == (expected if kind != "claim" else "Dawn")


@pytest.mark.parametrize(("source", "scope"), sorted(UNREGISTRABLE))
def test_cells_no_key_can_reach_are_refused_at_registration(election, source, scope):
    with pytest.raises(AssertionError, match=r"key\.scope_required"):
        election.register(f"x/{source}/{scope}", SOURCES[source], **SCOPES[scope])


@pytest.mark.parametrize("source", CLAIMS_ONLY_FROM_MEDIA)
def test_claim_reports_come_only_from_media(election, source):
    scope = "station" if source == "presiding_officer" else "contest"
    outcome = _submit(election.ctx, "claim", source, _key(election, source, scope))
    assert "claim.source" in [p.code for p in outcome.problems]


def test_out_of_scope_and_wrong_source_are_refused(tmp_path):
    e = make_election(tmp_path / "h")
    form_s2 = form_doc(station="S2")
    assert [p.code for p in e.submit_one(form_s2, key=e.po["S1"]).problems] == [
        "signature.out_of_scope"
    ]
    as_agent = form_doc(source="agent:PML-N")
    assert [p.code for p in e.submit_one(as_agent, key=e.agent).problems] == [
        "signature.wrong_source"
    ]
    ro_pp = e.register("ro/only-PP", "returning_officer", contests=["PP-1"])
    assert [p.code for p in e.declare(_declaration("returning_officer"), key=ro_pp).problems] == [
        "signature.out_of_scope"
    ]


def test_a_presiding_officer_cannot_publish_or_block_the_official_result(tmp_path):
    """Defect 1: a station key declared a contest at 22x its voters and blocked the RO."""
    e = make_election(tmp_path / "h")
    inflated = _declaration("presiding_officer", votes={"NA-1/a": 90_000, "NA-1/b": 1, "NA-1/c": 1})
    refused = e.declare(inflated, key=e.po["S1"])
    assert [p.code for p in refused.problems] == ["signature.station_scope"]
    official = e.declare(_declaration("returning_officer"))
    assert official.accepted, official.problems
    (result,) = queries.results(e.ctx, ELECTION, "NA-1")
    assert result.basis.value == "declared"
    assert result.ranking[0].votes == 300


def test_another_sources_declaration_is_evidence_not_the_official_chain(tmp_path):
    e = make_election(tmp_path / "h")
    theirs = e.declare(_declaration("agent:PTI", votes={"NA-1/a": 999}), key=e.agent)
    assert theirs.accepted, theirs.problems
    (before,) = queries.results(e.ctx, ELECTION, "NA-1")
    assert before.basis.value == "none"  # an agent's totals are never published as official
    official = e.declare(_declaration("returning_officer"))
    assert official.accepted, official.problems  # and never block the RO with form.conflict
    (after,) = queries.results(e.ctx, ELECTION, "NA-1")
    assert (after.basis.value, after.ranking[0].votes) == ("declared", 300)


def test_the_signer_is_checked_before_a_duplicate_is_recognised(tmp_path):
    """Defect 8: an accepted form re-signed by a key that may not sign it was 'a duplicate'."""
    e = make_election(tmp_path / "h")
    doc = form_doc()
    assert e.submit_one(doc).accepted
    for key in (e.po["S2"], e.agent):
        again = e.submit_one(doc, key=key)
        assert not again.accepted and not again.duplicate
        assert again.problems[0].code in {"signature.out_of_scope", "signature.wrong_source"}
    revoked = e.po["S1"]
    body = {
        "election": ELECTION,
        "key_id": revoked.public.key_id,
        "reason": "lost",
        "time": "2024-02-08T20:00:00Z",
    }
    assert admin.revoke_key(
        e.ctx, sign(EntryKind.KEY_REVOCATION, body, e.admin).envelope()
    ).accepted
    after = e.submit_one(doc, key=revoked)
    assert [p.code for p in after.problems] == ["signature.revoked"]


def test_an_admin_document_resigned_by_another_key_is_not_a_duplicate(tmp_path):
    e = make_election(tmp_path / "h")
    body = {
        "election": ELECTION,
        "scope": "contest",
        "target": "NA-1",
        "status": "postponed",
        "reason": "a candidate died",
        "time": "2024-02-08T12:00:00Z",
    }
    assert admin.order_status(e.ctx, sign(EntryKind.STATUS, body, e.admin).envelope()).accepted
    forged = admin.order_status(e.ctx, sign(EntryKind.STATUS, body, e.agent).envelope())
    assert not forged.accepted and not forged.duplicate
    assert [p.code for p in forged.problems] == ["signature.not_admin"]
