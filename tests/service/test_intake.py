"""Group commit: documents submitted at once from many threads share transactions, each
request hears only of its own documents, nothing is answered before its commit, a failed
transaction fails every request in it and logs none of them, and a closed intake commits
what was queued and takes nothing more."""

from __future__ import annotations

import threading

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.service.intake import Intake, IntakeClosed
from tallyproof.service.preparation import prepare
from tests.helpers import ELECTION, form_doc, make_election


@pytest.fixture
def election(tmp_path):
    e = make_election(tmp_path / "home", stations=40)
    yield e
    e.ctx.close()


def prepared(e, *docs):
    envelopes = [sign(EntryKind.FORM, d, e.po[d["station"]]).envelope() for d in docs]
    keys = e.ctx.refresh().keys
    items = [(i, env, keys[env["signature"]["key"]].raw) for i, env in enumerate(envelopes)]
    return prepare("form", items)


def test_concurrent_requests_share_transactions_and_hear_of_their_own(election):
    committed: list[int] = []
    intake = Intake(election.ctx, on_commit=committed.append)
    requests = [
        prepared(
            election,
            form_doc(station=f"S{i}"),
            form_doc(station=f"S{i}", contest="PP-1", votes=(5, 6)),
        )
        for i in range(1, 41)
    ]
    start = threading.Barrier(len(requests))
    answers: dict[int, list] = {}

    def send(n: int) -> None:
        start.wait()
        answers[n] = intake.submit(EntryKind.FORM, requests[n]).result(30)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    intake.close()
    assert intake.stats.requests == 40 and intake.stats.documents == 80
    assert intake.stats.transactions < 40  # requests shared commits
    for n, outcomes in answers.items():
        assert [o.index for o in outcomes] == [0, 1]
        assert [o.entry_id for o in outcomes] == [p.entry_id for p in requests[n]]
        assert all(o.accepted and o.receipt is not None for o in outcomes)
        assert outcomes[0].receipt.tree_size in committed  # answered with a commit's size
    with election.ctx.read() as r:
        assert len(r.forms(ELECTION)) == 80


def test_a_failed_transaction_fails_every_request_in_it_and_logs_none(election, monkeypatch):
    intake = Intake(election.ctx)
    before = election.ctx.state.size

    def broken(*_args, **_kw):
        raise OSError("disk full")

    monkeypatch.setattr(election.ctx.store, "write", broken)
    first = intake.submit(EntryKind.FORM, prepared(election, form_doc(station="S1")))
    with pytest.raises(OSError):
        first.result(30)
    monkeypatch.undo()
    again = intake.submit(EntryKind.FORM, prepared(election, form_doc(station="S1")))
    (outcome,) = again.result(30)
    assert outcome.accepted and outcome.receipt.leaf_index == before  # the same place: none logged
    intake.close()


def test_a_closed_intake_commits_what_was_queued_and_takes_nothing_more(election):
    intake = Intake(election.ctx)
    queued = [
        intake.submit(EntryKind.FORM, prepared(election, form_doc(station=f"S{i}")))
        for i in range(1, 6)
    ]
    intake.close()
    assert all(f.result(0)[0].accepted for f in queued)
    with pytest.raises(IntakeClosed):
        intake.submit(EntryKind.FORM, prepared(election, form_doc(station="S9")))
