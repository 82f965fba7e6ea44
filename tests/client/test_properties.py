"""Whatever happens between the device and the log — forms added while syncs run, answers
lost, the log down or asking for a pause, the device dying mid-request — no form is lost and
none is counted twice: the log's forms and the outbox's accepted forms are the same set,
each form is in the log once, and each receipt verifies."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyproof.client.outbox import Outbox, State
from tallyproof.client.sync import RetryPolicy, Sync, SyncOptions
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tests.client.conftest import Crash, FakeClock, FieldLog, device_forms, open_copy, verify_kept
from tests.helpers import form_doc

DEVICE = Signer.from_seed_text("po/device", "test:po/device")
VALID = device_forms(4)
ORIGINAL = sign(EntryKind.FORM, VALID[0], DEVICE).body_id
POOL = [
    *VALID,
    form_doc("S2", votes=(1, 2, 3), polled=99),  # refused: the ballots do not add up
    form_doc("S4", contest="PP-1", votes=(5, 5), rejected=1, polled=1),  # refused likewise
    form_doc("S1", votes=(301, 200, 99), supersedes=ORIGINAL, reason="correction"),
]
# TALLYPROOF_FIELD_SCALE=15: 300 examples of up to 25 steps (about a minute)
SCALE = int(os.environ.get("TALLYPROOF_FIELD_SCALE", "1"))
FAULTS = [None, None, "down", "lost", "503", "429", "slow", "crash", "crash_after"]

adds = st.tuples(st.just("add"), st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=4))
syncs = st.tuples(
    st.just("sync"),
    st.lists(st.sampled_from(FAULTS), max_size=5),
    st.integers(1, 4),  # batch size
    st.booleans(),  # once
)


def sync(log: FieldLog, outbox: Outbox, clock: FakeClock, batch: int, once: bool) -> Outbox:
    """One run; a crash leaves the file as the power cut did, and the device reopens it."""
    options = SyncOptions(batch_size=batch, once=once, policy=RetryPolicy(0.5, 4.0))
    with log.client() as http:
        try:
            Sync(outbox, http, options, clock=clock, sleep=clock.sleep, rng=random.Random(0)).run()
        except Crash:
            outbox.close()
            return Outbox.open(outbox.path.parent)
    return outbox


def check_agrees(log: FieldLog, outbox: Outbox) -> None:
    """At every moment: what the device holds as accepted is in the log, and whatever of its
    forms the log holds was sent (or is accepted), never pending or refused; once each."""
    logged = log.logged()
    assert set(logged.values()) <= {1}
    states = {k.entry_id: k.state for k in outbox.forms()}
    assert {i for i, s in states.items() if s is State.ACCEPTED} <= set(logged)
    assert {states[i] for i in logged} <= {State.SENT, State.ACCEPTED}


@settings(max_examples=20 * SCALE, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(adds, syncs), min_size=1, max_size=10 + SCALE))
def test_no_form_is_lost_or_counted_twice(election_home, steps):
    holds(election_home, steps)


def holds(election_home: Path, steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = open_copy(election_home, Path(tmp) / "home")
        outbox = log.outbox(Path(tmp) / "device")
        clock = FakeClock()
        added: set[str] = set()
        try:
            for step in steps:
                if step[0] == "add":
                    docs = [log.signed(POOL[i]) for i in step[1]]
                    outbox.add(docs, clock())
                    added |= {d.body_id for d in docs}
                else:
                    log.faults = list(step[1])
                    outbox = sync(log, outbox, clock, step[2], step[3])
                check_agrees(log, outbox)
            log.faults = []
            outbox = sync(log, outbox, clock, 4, once=False)
            check_agrees(log, outbox)
            kept = outbox.forms()
            assert {k.entry_id for k in kept} == added and len(kept) == len(added)
            assert all(k.state in (State.ACCEPTED, State.REFUSED) for k in kept)
            accepted = {k.entry_id for k in kept if k.state is State.ACCEPTED}
            assert accepted == set(log.logged())
            assert verify_kept(outbox, log.log_key) == len(accepted)
        finally:
            outbox.close()
            log.election.ctx.close()
