"""A batch is prepared in chunks the writer judges as each arrives: the chunks come back
in order and whole, whatever fails in which chunk, and a batch wholly refused opens no
transaction."""

from __future__ import annotations

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.service import submission
from tallyproof.service.preparation import Workers, prepare
from tests.helpers import form_doc, make_election

STATIONS = 150


@pytest.fixture(scope="module")
def election(tmp_path_factory):
    e = make_election(tmp_path_factory.mktemp("chunks") / "home", stations=STATIONS)
    yield e
    e.ctx.close()


def envelopes(e, forged: set[int]) -> list[dict]:
    """Two forms a station (NA-1 and PP-1); those at `forged` carry another's signature."""
    out = []
    for i in range(1, STATIONS + 1):
        for contest, votes in (("NA-1", (300, 200, 100)), ("PP-1", (40, 50))):
            doc = form_doc(station=f"S{i}", contest=contest, votes=votes)
            out.append(sign(EntryKind.FORM, doc, e.po[f"S{i}"]).envelope())
    for k in forged:
        out[k]["signature"]["value"] = out[(k + 1) % len(out)]["signature"]["value"]
    return out


def test_chunks_come_back_in_order_and_equal_preparing_the_whole(election):
    batch = envelopes(election, forged={0, 5, 290})
    keys = election.ctx.refresh().keys
    items = [(i, env, keys[env["signature"]["key"]].raw) for i, env in enumerate(batch)]
    workers = Workers(2)
    try:
        chunks = list(workers.submit("form", items)())
    finally:
        workers.close()
    assert len(chunks) > 1
    streamed = [p for chunk in chunks for p in chunk]
    whole = prepare("form", items)
    assert [p.index for p in streamed] == list(range(len(batch)))
    assert [(p.entry_id, p.problems) for p in streamed] == [(p.entry_id, p.problems) for p in whole]
    assert {p.index for p in streamed if p.problems} == {0, 5, 290}


def test_refusals_in_any_chunk_leave_the_rest_logged_in_order(election):
    ctx = election.ctx
    first_chunk = set(range(128))  # the whole first chunk refused, the rest good
    batch = envelopes(election, forged=first_chunk)
    before = ctx.state.size
    outcomes = submission.submit_forms(ctx, batch)
    assert [o.index for o in outcomes] == list(range(len(batch)))
    assert {o.index for o in outcomes if not o.accepted} == first_chunk
    assert all(o.problems[0].code == "signature.invalid" for o in outcomes[:128])
    assert ctx.state.size == before + len(batch) - len(first_chunk)


def test_a_batch_wholly_refused_opens_no_transaction(election, monkeypatch):
    ctx = election.ctx
    batch = envelopes(election, forged=set(range(2 * STATIONS)))[:100]  # one inline chunk
    monkeypatch.setattr(type(ctx), "transaction", lambda self: pytest.fail("a transaction"))
    outcomes = submission.submit_forms(ctx, batch)
    assert len(outcomes) == 100 and not any(o.accepted for o in outcomes)
