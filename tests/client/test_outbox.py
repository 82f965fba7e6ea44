"""The outbox keeps every signed form, once, on disk before it returns; nothing is deleted and
a form's state only moves forward, whoever writes to the file."""

from __future__ import annotations

import sqlite3

import pytest

from tallyproof.client.outbox import (
    FILE_NAME,
    OTHER_KEY,
    Outbox,
    OutboxError,
    State,
    Verdict,
    signed_form,
)
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.ledger.canonical import canonical
from tallyproof.ledger.intake import Unreadable
from tallyproof.ledger.keys import Signer
from tests.helpers import form_doc

DEVICE = Signer.from_seed_text("po/device", "test:device")
LOG = Signer.from_seed_text("tallyproof.local/log", "test:log")


@pytest.fixture
def outbox(tmp_path):
    box = Outbox.create(tmp_path / "dev", "http://log.test", LOG.public, DEVICE, tmp_path / "k")
    yield box
    box.close()


def signed(station="S1", **extra):
    return signed_form(form_doc(station, **extra), DEVICE)


def test_the_same_document_twice_is_one_row_and_survives_reopening(outbox, tmp_path):
    first = signed("S1")
    assert outbox.add([first, signed("S2")], 100.0) == [True, True]
    assert outbox.add([first], 101.0) == [False]
    outbox.close()
    again = Outbox.open(tmp_path / "dev")
    kept = again.forms()
    assert [k.entry_id for k in kept] == [first.body_id, signed("S2").body_id]
    assert kept[0].envelope == canonical(first.envelope())
    assert kept[0].signed() == first  # the exact bytes signed, read back
    assert again.counts()[State.PENDING] == 2
    again.close()


def test_the_file_is_synced_on_every_commit(outbox):
    conn = outbox._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_the_device_is_what_init_was_given(outbox):
    device = outbox.device()
    assert device.log_key == LOG.public
    assert device.key == DEVICE.public
    assert (device.failures, device.retry_at, device.checkpoint) == (0, 0.0, None)


def test_init_twice_and_opening_nothing_are_refused(outbox, tmp_path):
    with pytest.raises(OutboxError) as there:
        Outbox.create(tmp_path / "dev", "http://x", LOG.public, DEVICE, tmp_path / "k")
    assert there.value.code == "outbox.exists"
    with pytest.raises(OutboxError) as missing:
        Outbox.open(tmp_path / "elsewhere")
    assert missing.value.code == "outbox.missing"
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / FILE_NAME).write_bytes(b"not a database at all" * 100)
    with pytest.raises(OutboxError) as junk:
        Outbox.open(tmp_path / "junk")
    assert junk.value.code == "outbox.unreadable"


def test_nothing_is_deleted_and_a_signed_form_never_changes(outbox):
    outbox.add([signed()], 1.0)
    conn = outbox._conn
    with pytest.raises(sqlite3.IntegrityError, match="nothing is deleted"):
        conn.execute("DELETE FROM forms")
    with pytest.raises(sqlite3.IntegrityError, match="never changes"):
        conn.execute("UPDATE forms SET envelope = x'00'")
    with pytest.raises(sqlite3.IntegrityError, match="never changes"):
        conn.execute("UPDATE forms SET entry_id = 'other'")


def test_states_only_move_forward(outbox):
    form = signed()
    outbox.add([form], 1.0)
    outbox.sending([1], 2.0)
    conn = outbox._conn
    with pytest.raises(sqlite3.IntegrityError, match="only moves forward"):
        conn.execute("UPDATE forms SET state = 'pending'")
    problem = Problem("ballots.accounting_mismatch", "polled", "no")
    outbox.record([Verdict(form.body_id, State.REFUSED, problems=(problem,))], 3.0)
    with pytest.raises(sqlite3.IntegrityError, match="settled form never changes"):
        conn.execute("UPDATE forms SET last_error = 'x'")
    # a later verdict for a settled form (a second sync racing) changes nothing
    outbox.record([Verdict(form.body_id, State.SENT, error="late", retry_at=9.0)], 4.0)
    (kept,) = outbox.forms()
    assert kept.state is State.REFUSED and kept.problems == (problem,) and kept.last_error is None


def test_an_accepted_form_must_hold_its_receipt(outbox):
    outbox.add([signed()], 1.0)
    with pytest.raises(sqlite3.IntegrityError):
        outbox._conn.execute("UPDATE forms SET state = 'accepted'")


def test_attempts_and_misses_are_recorded(outbox):
    outbox.add([signed("S1"), signed("S2")], 1.0)
    outbox.sending([1, 2], 10.0)
    outbox.sending([1], 20.0)
    outbox.missed([1], "unreachable", 25.0)
    first, second = outbox.forms()
    assert (first.attempts, first.state, first.last_error) == (2, State.SENT, "unreachable")
    assert (second.attempts, second.last_error) == (1, None)
    assert (outbox.device().failures, outbox.device().retry_at) == (1, 25.0)
    outbox.record([], 30.0)  # any answer ends the wait
    assert (outbox.device().failures, outbox.device().retry_at) == (0, 0.0)


def test_a_correction_waits_for_the_form_it_supersedes(outbox):
    original = signed("S1")
    correction = signed("S1", supersedes=original.body_id, reason="correction", rejected=11)
    outbox.add([original, correction], 1.0)
    outbox.record([Verdict(original.body_id, State.SENT, error="held", retry_at=50.0)], 2.0)
    assert outbox.due(10.0, 0, 10) == []
    assert outbox.next_due() == 50.0  # not the correction's 0: it cannot go first
    assert [k.entry_id for k in outbox.due(60.0, 0, 10)] == [original.body_id]


def test_unsigned_forms_are_read_before_they_are_signed():
    bad = form_doc("S1")
    bad["votes"]["NA-1/a"] = -3
    with pytest.raises(Rejected) as refused:
        signed_form(bad, DEVICE)
    assert refused.value.codes == ["votes.negative"]
    with pytest.raises(Rejected) as unreadable:
        signed_form(Unreadable((Problem("input.json", "$", "not JSON"),)), DEVICE)
    assert unreadable.value.codes == ["input.json"]


def test_an_envelope_already_signed_must_be_this_devices_and_hold():
    other = Signer.from_seed_text("po/other", "test:other")
    mine = signed("S1").envelope()
    assert signed_form(mine, DEVICE).body_id == signed("S1").body_id
    theirs = signed_form(form_doc("S1"), other).envelope()
    with pytest.raises(Rejected) as wrong_key:
        signed_form(theirs, DEVICE)
    assert wrong_key.value.codes == [OTHER_KEY]
    mine["form"]["rejected"] = 99
    with pytest.raises(Rejected) as altered:
        signed_form(mine, DEVICE)
    assert altered.value.codes == ["signature.invalid"]
