"""Submitting forms: acceptance, receipts, idempotence, refusals that change nothing,
superseding, re-polls, status orders and signatures. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import admin, queries, submission
from tallyproof.store import schema
from tests.helpers import ELECTION, form_doc, make_election, structure_doc


@pytest.fixture
def election(tmp_path, store_url):
    e = make_election(tmp_path / "home", store_url)
    yield e
    e.ctx.close()


def snapshot(e) -> tuple:
    """Everything a refused submission must leave untouched."""
    with e.ctx.read() as r:
        counts = tuple(
            len(r.conn.execute(t.select()).all())
            for t in (
                schema.ledger_entries,
                schema.forms,
                schema.declarations,
                schema.status_orders,
            )
        )
        return counts, tuple(r.official_counts(ELECTION))


def votes_of(e, contest="NA-1") -> dict[str, int]:
    (result,) = queries.results(e.ctx, ELECTION, contest)
    return {s.candidate: s.votes for s in result.ranking}


def test_an_accepted_form_gets_a_receipt_that_verifies(election):
    signed = sign(EntryKind.FORM, form_doc(), election.po["S1"])
    (outcome,) = submission.submit_forms(election.ctx, [signed.envelope()])
    assert outcome.accepted and not outcome.duplicate
    checkpoint = outcome.receipt.verify(election.ctx.log_key, signed)
    assert checkpoint.size == outcome.receipt.tree_size == outcome.receipt.leaf_index + 1
    assert votes_of(election) == {"NA-1/a": 300, "NA-1/b": 200, "NA-1/c": 100}


def test_the_same_signed_form_twice_gives_the_same_receipt_and_one_row(election):
    first = election.submit_one(form_doc())
    election.submit_one(form_doc(station="S2"))
    again, in_batch = election.submit(form_doc(), form_doc())
    assert again.duplicate and in_batch.duplicate
    assert again.receipt == first.receipt == in_batch.receipt
    with election.ctx.read() as r:
        assert len(r.forms(ELECTION)) == 2
    assert votes_of(election)["NA-1/a"] == 600


def test_a_refused_form_changes_nothing(election):
    election.submit_one(form_doc())
    before = snapshot(election)
    bad = form_doc(station="S2")
    bad["polled"] += 1
    (outcome,) = election.submit(bad)
    assert [p.code for p in outcome.problems] == ["ballots.accounting_mismatch"]
    assert outcome.receipt is None
    assert snapshot(election) == before


def test_one_bad_form_does_not_sink_its_batch(election):
    bad_doc = form_doc(station="S3", votes=(-5, 1, 1))
    good, bad, good2 = election.submit(form_doc(station="S1"), bad_doc, form_doc(station="S2"))
    assert good.accepted and good2.accepted
    assert [(p.code, p.field) for p in bad.problems] == [("votes.negative", "votes.NA-1/a")]
    assert good.receipt.tree_size == good2.receipt.tree_size  # one transaction


def test_a_second_different_official_form_needs_supersedes_and_a_reason(election):
    first = election.submit_one(form_doc(votes=(300, 200, 100)))
    before = snapshot(election)
    second = election.submit_one(form_doc(votes=(310, 190, 100)))
    assert [p.code for p in second.problems] == ["form.conflict"]
    assert first.entry_id in second.problems[0].message
    assert snapshot(election) == before


def test_a_correction_keeps_both_forms_and_moves_the_total_by_the_difference(election):
    first = election.submit_one(form_doc(votes=(300, 200, 100)))
    election.submit_one(form_doc(station="S2", votes=(10, 10, 10)))
    fix = election.submit_one(
        form_doc(votes=(250, 260, 100), supersedes=first.entry_id, reason="correction")
    )
    assert fix.accepted
    assert votes_of(election) == {"NA-1/b": 270, "NA-1/a": 260, "NA-1/c": 110}
    with election.ctx.read() as r:
        ids = [row.form_id for row in r.forms(ELECTION)]
    assert first.entry_id in ids and fix.entry_id in ids
    stale = election.submit_one(
        form_doc(votes=(1, 2, 3), supersedes=first.entry_id, reason="correction")
    )
    assert [p.code for p in stale.problems] == ["form.supersedes_stale"]
    (result,) = queries.results(election.ctx, ELECTION, "NA-1")
    assert result.stations_reported == 2


def test_resubmitting_a_superseded_form_changes_nothing_and_says_so(election):
    first = election.submit_one(form_doc(votes=(300, 200, 100)))
    election.submit_one(form_doc(votes=(1, 2, 3), supersedes=first.entry_id, reason="correction"))
    before = snapshot(election)
    replay = election.submit_one(form_doc(votes=(300, 200, 100)))
    assert replay.duplicate and replay.receipt == first.receipt
    assert "superseded" in replay.note
    assert snapshot(election) == before


def test_an_agent_copy_is_its_own_chain_and_a_disagreement_is_a_finding(election):
    election.submit_one(form_doc(votes=(300, 200, 100)))
    copy = election.submit_one(
        form_doc(votes=(300, 398, 100), source="agent:PTI"), key=election.agent
    )
    assert copy.accepted
    assert votes_of(election)["NA-1/b"] == 200  # agents' copies do not count
    (finding,) = queries.findings(election.ctx, ELECTION)
    assert finding.code == "station.source_conflict" and finding.station == "S1"


def test_signature_failures_are_refused_and_change_nothing(election):
    before = snapshot(election)
    stranger = Signer.generate("stranger")
    forged = sign(EntryKind.FORM, form_doc(), election.po["S1"]).envelope()
    forged["form"]["votes"]["NA-1/a"] = 301
    forged["form"]["polled"] += 1
    outcomes = submission.submit_forms(
        election.ctx,
        [
            sign(EntryKind.FORM, form_doc(), stranger).envelope(),
            forged,
            sign(EntryKind.FORM, form_doc(station="S2"), election.po["S1"]).envelope(),
            sign(EntryKind.FORM, form_doc(source="agent:PTI"), election.po["S1"]).envelope(),
            {"form": form_doc()},
        ],
    )
    assert [o.problems[0].code for o in outcomes] == [
        "signature.unknown_key",
        "signature.invalid",
        "signature.out_of_scope",
        "signature.wrong_source",
        "signature.missing",
    ]
    assert snapshot(election) == before


def test_a_revoked_key_is_refused_from_the_revocation_on(election):
    assert election.submit_one(form_doc()).accepted
    body = {
        "election": ELECTION,
        "key_id": election.po["S2"].public.key_id,
        "reason": "device reported stolen",
        "time": "2024-02-08T19:00:00Z",
    }
    assert admin.revoke_key(
        election.ctx, sign(EntryKind.KEY_REVOCATION, body, election.admin).envelope()
    ).accepted
    refused = election.submit_one(form_doc(station="S2"))
    assert [p.code for p in refused.problems] == ["signature.revoked"]


def test_a_form_replayed_into_another_election_is_refused(election):
    other = structure_doc(election.admin.public.b64)
    other["election"]["id"] = "other-2024"
    imported = admin.import_structure(
        election.ctx, sign(EntryKind.STRUCTURE, other, election.admin).envelope()
    )
    assert imported.accepted
    signed = sign(EntryKind.FORM, form_doc(), election.po["S1"]).envelope()
    signed["form"]["election"] = "other-2024"  # the election is inside what was signed
    resigned = sign(EntryKind.FORM, form_doc(election="other-2024"), election.po["S1"]).envelope()
    replayed, resigned_outcome = submission.submit_forms(election.ctx, [signed, resigned])
    assert [p.code for p in replayed.problems] == ["signature.invalid"]
    assert [p.code for p in resigned_outcome.problems] == ["signature.wrong_election"]


def test_postponed_contests_and_suspended_stations_take_no_forms(election):
    assert election.order("contest", "PP-1", "postponed", "a candidate died").accepted
    assert election.order("station", "S2", "suspended", "riots").accepted
    pp = election.submit_one(form_doc(contest="PP-1", votes=(1, 2)))
    s2 = election.submit_one(form_doc(station="S2"))
    assert [p.code for p in pp.problems] == ["contest.postponed"]
    assert [p.code for p in s2.problems] == ["station.suspended"]
    (pp_result,) = queries.results(election.ctx, ELECTION, "PP-1")
    assert pp_result.status.value == "postponed" and pp_result.status_reason == "a candidate died"
    needs_reason = election.order("contest", "NA-1", "suspended")
    assert [p.code for p in needs_reason.problems] == ["status.reason_required"]


def test_a_re_poll_replaces_the_first_count_and_both_stay(election):
    first = election.submit_one(form_doc(station="S3", votes=(500, 100, 10)))
    assert election.order("station", "S3", "re_poll_ordered", "ballot box snatched").accepted
    as_correction = election.submit_one(
        form_doc(station="S3", votes=(200, 300, 10), supersedes=first.entry_id, reason="correction")
    )
    assert [p.code for p in as_correction.problems] == ["form.reason_mismatch"]
    re_poll = election.submit_one(
        form_doc(station="S3", votes=(200, 300, 10), supersedes=first.entry_id, reason="re_poll")
    )
    assert re_poll.accepted
    assert votes_of(election) == {"NA-1/b": 300, "NA-1/a": 200, "NA-1/c": 10}
    not_ordered = election.submit_one(
        form_doc(station="S1", votes=(1, 1, 1)) | {"supersedes": "x" * 64, "reason": "re_poll"}
    )
    assert "form.re_poll_not_ordered" in [p.code for p in not_ordered.problems]


def test_a_final_contest_takes_no_more_official_forms(election):
    election.submit_one(form_doc())
    assert election.order("contest", "NA-1", "final").accepted
    late = election.submit_one(form_doc(station="S2"))
    assert [p.code for p in late.problems] == ["contest.final"]
    assert election.submit_one(
        form_doc(station="S2", source="agent:PTI"), key=election.agent
    ).accepted


def test_only_the_admin_key_registers_keys_and_an_election_is_imported_once(election):
    body = {
        "election": ELECTION,
        "key": {"name": "x", "public_key": Signer.generate("x").public.b64},
        "source": "observer:FAFEN",
        "time": "2024-02-08T06:00:00Z",
    }
    by_po = admin.register_key(
        election.ctx, sign(EntryKind.KEY_REGISTRATION, body, election.po["S1"]).envelope()
    )
    assert [p.code for p in by_po.problems] == ["signature.not_admin"]
    pre = {**body, "source": "presiding_officer"}
    no_scope = admin.register_key(
        election.ctx, sign(EntryKind.KEY_REGISTRATION, pre, election.admin).envelope()
    )
    assert [p.code for p in no_scope.problems] == ["key.scope_required"]
    again = admin.import_structure(
        election.ctx,
        sign(
            EntryKind.STRUCTURE, structure_doc(election.admin.public.b64, 5), election.admin
        ).envelope(),
    )
    assert [p.code for p in again.problems] == ["election.exists"]


def test_declarations_and_the_declared_basis(election):
    declared = {
        "election": ELECTION,
        "contest": "PP-1",
        "source": "returning_officer",
        "votes": {"PP-1/x": 900, "PP-1/y": 1200},
        "time": "2024-02-09T09:00:00Z",
    }
    assert election.declare(declared).accepted
    (result,) = queries.results(election.ctx, ELECTION, "PP-1")
    assert result.basis.value == "declared" and result.leader.candidate == "PP-1/y"
    other = election.declare(dict(declared, votes={"PP-1/x": 1, "PP-1/y": 2}))
    assert [p.code for p in other.problems] == ["form.conflict"]
    wrong_role = election.declare(
        declared | {"source": "returning_officer", "time": "2024-02-09T10:00:00Z"},
        key=election.agent,
    )
    assert [p.code for p in wrong_role.problems] == ["signature.wrong_source"]


def test_a_second_writer_sees_what_the_first_committed(election, store_url, tmp_path):
    from tallyproof.service.writer import LedgerWriter

    first = election.submit_one(form_doc())
    second_ctx = LedgerWriter.open(election.ctx.settings)
    fix = sign(
        EntryKind.FORM,
        form_doc(votes=(1, 1, 1), supersedes=first.entry_id, reason="correction"),
        election.po["S1"],
    )
    (outcome,) = submission.submit_forms(second_ctx, [fix.envelope()])
    assert outcome.accepted
    again = election.submit_one(
        form_doc(votes=(2, 2, 2), supersedes=first.entry_id, reason="correction")
    )
    assert [p.code for p in again.problems] == ["form.supersedes_stale"]
    second_ctx.close()


def test_every_commit_keeps_the_checkpoint_its_receipts_carry(tmp_path):
    """A receipt's checkpoint is one the log keeps, in the store and beside its key."""
    election = make_election(tmp_path / "h")
    ctx = election.ctx
    receipts = []
    for station in ("S1", "S2", "S3"):
        (outcome,) = submission.submit_forms(
            ctx, [sign(EntryKind.FORM, form_doc(station=station), election.po[station]).envelope()]
        )
        receipts.append(outcome.receipt)
    with ctx.read() as reader:
        stored = {row.tree_size: row.note for row in reader.checkpoints()}
    kept = [
        json.loads(line) for line in (tmp_path / "h" / "checkpoints.log").read_text().splitlines()
    ]
    for receipt in receipts:
        assert stored[receipt.tree_size] == receipt.checkpoint
        assert {"tree_size": receipt.tree_size, "note": receipt.checkpoint} in kept
    assert sorted(stored) == sorted(k["tree_size"] for k in kept)
