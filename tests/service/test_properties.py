"""Hypothesis properties of the whole ingest path on a real SQLite file: the published tally
(from the tally deltas) equals the domain's consolidation of the latest forms, whatever the
order and batching of submission; resubmission is idempotent; superseding keeps history."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyproof.domain.consolidation import consolidate, official_heads
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.service import queries, submission
from tests.helpers import CANDIDATES, ELECTION, form_doc, make_election

STATIONS = 4
counts = st.tuples(*(st.integers(0, 250) for _ in CANDIDATES))
plans = st.lists(st.lists(counts, min_size=1, max_size=3), min_size=1, max_size=STATIONS)


def run(home: Path, chains, rnd: random.Random, resubmit: bool):
    """Submit each station's chain of forms (each correcting the last) interleaved at random
    across stations and split into random batches; return the election and its last forms."""
    election = make_election(home, stations=STATIONS)
    ids: dict[int, list[str]] = {i: [] for i in range(len(chains))}
    queue = [i for i, chain in enumerate(chains) for _ in chain]
    rnd.shuffle(queue)
    submitted = []
    while queue:
        batch = []
        for i in queue[: rnd.randint(1, 4)]:
            step = len(ids[i]) + sum(1 for s in batch if s[0] == i)
            batch.append((i, step))
        queue = queue[len(batch) :]
        envelopes = []
        pending_ids: dict[int, str] = {}
        for i, step in batch:
            previous = pending_ids.get(i) or (ids[i][-1] if ids[i] else None)
            extra = {"supersedes": previous, "reason": "correction"} if previous else {}
            signed = sign(
                EntryKind.FORM,
                form_doc(station=f"S{i + 1}", votes=chains[i][step], rejected=2, **extra),
                election.po[f"S{i + 1}"],
            )
            pending_ids[i] = signed.body_id
            envelopes.append(signed.envelope())
            submitted.append(signed.envelope())
        outcomes = submission.submit_forms(election.ctx, envelopes)
        assert all(o.accepted for o in outcomes), [o.problems for o in outcomes]
        for (i, _), o in zip(batch, outcomes, strict=True):
            ids[i].append(o.entry_id)
    if resubmit:
        again = submission.submit_forms(election.ctx, rnd.sample(submitted, len(submitted)))
        assert all(o.duplicate for o in again)
    return election, ids


@given(plans, st.randoms(use_true_random=False), st.booleans())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_published_tally_equals_consolidation_of_latest_forms(chains, rnd, resubmit):
    with tempfile.TemporaryDirectory() as home:
        check_published_tally(Path(home), chains, rnd, resubmit)


def check_published_tally(home: Path, chains, rnd: random.Random, resubmit: bool) -> None:
    election, ids = run(home, chains, rnd, resubmit)
    try:
        (result,) = queries.results(election.ctx, ELECTION, "NA-1")
        published = {s.candidate: s.votes for s in result.ranking}
        expected = {c: sum(chain[-1][k] for chain in chains) for k, c in enumerate(CANDIDATES)}
        assert published == expected
        with election.ctx.read() as reader:
            records = queries.form_records(reader, ELECTION)
        structure = queries.structure_of(election.ctx, ELECTION)
        computed = consolidate(
            structure, structure.contest("NA-1"), official_heads(records, "NA-1")
        )
        assert dict(computed.votes) == published
        assert result.stations_reported == len(chains)
        assert result.polled == sum(expected.values()) + 2 * len(chains)
        # every version stays: one row per distinct form submitted
        assert len(records) == sum(len(set(v)) for v in ids.values())
    finally:
        election.ctx.close()
