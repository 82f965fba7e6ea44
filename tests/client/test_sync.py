"""Sending the outbox to the log: every form lands once, lost answers are resent and answered
with the original receipt, refusals are kept with their rules, and a receipt that does not
check out against the log's key and the signed form never settles a form."""

from __future__ import annotations

import base64
import random
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import tallyproof.client
from tallyproof.client.outbox import State
from tallyproof.client.sync import RetryPolicy, Sync, SyncOptions, check_log
from tallyproof.ledger.keys import Signer
from tallyproof.ledger.note import Checkpoint
from tallyproof.ledger.receipts import INVALID, OTHER_LOG, ROLLBACK, SPLIT_VIEW
from tests.client.conftest import (
    FakeClock,
    FieldLog,
    device_forms,
    forged,
    resign_checkpoint,
    verify_kept,
)
from tests.helpers import form_doc
from tests.test_layers import imported

NO_WAIT = RetryPolicy(base=0.0, cap=0.0)


def run(log: FieldLog, outbox, clock=None, **options):
    options.setdefault("policy", NO_WAIT)
    clock = clock or FakeClock()
    with log.client() as http:
        sync = Sync(
            outbox, http, SyncOptions(**options), clock=clock, sleep=clock.sleep,
            rng=random.Random(7),
        )  # fmt: skip
        return sync.run()


@pytest.fixture
def outbox(field_log, tmp_path):
    box = field_log.outbox(tmp_path / "device")
    box.add([field_log.signed(d) for d in device_forms(4)], 1.0)
    yield box
    box.close()


def test_every_form_is_accepted_once_with_a_receipt_that_verifies(field_log, outbox):
    report = run(field_log, outbox, batch_size=3)
    assert (report.accepted, report.requests, report.remaining, report.misses) == (8, 3, 0, 0)
    assert outbox.counts()[State.ACCEPTED] == 8
    assert verify_kept(outbox, field_log.log_key) == 8
    assert sorted(field_log.logged().values()) == [1] * 8
    assert set(field_log.logged()) == {k.entry_id for k in outbox.forms()}


def test_a_lost_answer_is_sent_again_and_answered_with_the_original_receipt(field_log, outbox):
    field_log.faults = ["lost"]
    report = run(field_log, outbox, batch_size=8)
    assert (report.misses, report.duplicates, report.accepted) == (1, 8, 0)
    assert field_log.posted[0] == field_log.posted[1]
    assert sorted(field_log.logged().values()) == [1] * 8  # committed once, counted once
    assert verify_kept(outbox, field_log.log_key) == 8
    assert all(k.duplicate and "original receipt" in k.note for k in outbox.forms())


@pytest.mark.parametrize("fault", ["down", "slow", "503", "500", "429", "portal", "redirect"])
def test_no_answer_keeps_the_forms_and_they_land_on_the_next_try(field_log, outbox, fault):
    field_log.faults = [fault]
    report = run(field_log, outbox, batch_size=8)
    assert (report.misses, report.accepted, report.remaining) == (1, 8, 0)
    assert report.last_error
    assert all(k.attempts == 2 for k in outbox.forms())


def test_once_stops_at_the_first_miss_and_keeps_the_error(field_log, outbox):
    field_log.faults = ["down"]
    report = run(field_log, outbox, batch_size=4, once=True)
    assert (report.requests, report.remaining) == (1, 8)
    first, *_ = outbox.forms()
    assert first.state is State.SENT and "unreachable" in first.last_error
    assert outbox.forms()[-1].state is State.PENDING  # never sent: its batch did not go


def test_a_refused_form_keeps_its_rules_and_is_not_sent_again(field_log, outbox):
    bad = form_doc("S1", contest="PP-1", votes=(1, 2), polled=99)
    outbox.add([field_log.signed(bad)], 2.0)  # a second form for S1 PP-1, and wrong sums
    report = run(field_log, outbox)
    assert (report.accepted, report.refused) == (8, 1)
    (refused,) = outbox.forms(State.REFUSED)
    assert refused.problems[0].code == "ballots.accounting_mismatch"
    posts = len(field_log.posted)
    assert run(field_log, outbox).requests == 0
    assert len(field_log.posted) == posts


def test_a_key_the_log_does_not_know_yet_is_held_then_sent(field_log, tmp_path):
    late = Signer.from_seed_text("po/late", "test:po/late")
    box = field_log.outbox(tmp_path / "late")
    box._conn.execute("UPDATE device SET device_key = ?", (late.public.vkey,))
    box.add([field_log.signed(form_doc("S3"), key=late)], 1.0)
    clock = FakeClock()
    report = run(field_log, box, clock, once=True, policy=RetryPolicy(10.0, 10.0))
    (held,) = box.forms()
    assert (report.held, report.refused, held.state) == (1, 0, State.SENT)
    assert held.last_error.startswith("signature.unknown_key")
    field_log.election.register("po/late", "presiding_officer", stations=["S3"])
    assert run(field_log, box, clock).accepted == 1  # waits out its own backoff, then lands
    assert clock.sleeps and clock.sleeps[0] <= 10.0
    box.close()


def _tamper_proof(receipt, _log):
    receipt["leaf_hash"] = base64.b64encode(b"\x01" * 32).decode()


def _other_log_key(receipt, _log):
    resign_checkpoint(receipt, Signer.from_seed_text("tallyproof.local/log", "impostor"))


def _another_origin(receipt, log):
    checkpoint = Checkpoint.parse(receipt["checkpoint"].split("\n\n")[0] + "\n")
    moved = Checkpoint("elsewhere.example/log", checkpoint.size, checkpoint.root)
    receipt["checkpoint"] = moved.sign(log.election.ctx.log)  # the log's own key


def _for_another_form(receipt, _log):
    receipt["entry_id"] = "0" * 64


def _no_receipt(receipt, _log):
    receipt.clear()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_tamper_proof, INVALID),
        (_other_log_key, INVALID),
        (_another_origin, OTHER_LOG),
        (_for_another_form, INVALID),
        (_no_receipt, INVALID),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else value,
)
def test_a_receipt_that_does_not_check_out_never_settles_a_form(field_log, outbox, change, code):
    field_log.faults = [forged(change)]
    report = run(field_log, outbox, batch_size=8, once=True)
    assert report.accepted == 0 and len(report.unverified) == 8
    assert outbox.counts()[State.SENT] == 8
    assert all(k.last_error.startswith(code + ":") for k in outbox.forms())
    honest = run(field_log, outbox, batch_size=8)  # the log is in fact holding them
    assert honest.duplicates == 8 and verify_kept(outbox, field_log.log_key) == 8
    assert sorted(field_log.logged().values()) == [1] * 8


def test_swapped_receipts_are_each_for_the_other_form(field_log, outbox):
    def swap(log, forms):
        answer = log.commit(forms)
        first, second = answer["outcomes"][:2]
        first["receipt"], second["receipt"] = second["receipt"], first["receipt"]
        return httpx.Response(200, json=answer)

    field_log.faults = [swap]
    report = run(field_log, outbox, batch_size=8, once=True)
    assert (report.accepted, len(report.unverified)) == (6, 2)


def test_too_large_a_batch_is_halved_and_a_form_too_large_alone_is_refused(field_log, outbox):
    field_log.faults = ["413", "413"]
    report = run(field_log, outbox, batch_size=8)
    assert [len(p) for p in field_log.posted] == [8, 4, 2, 2, 2, 2]
    assert report.accepted == 8
    field_log.faults = ["413"]
    outbox.add([field_log.signed(form_doc("S1", remarks="a long story"))], 3.0)
    report = run(field_log, outbox, batch_size=1)
    (refused,) = outbox.forms(State.REFUSED)
    assert refused.problems[0].code == "request.too_large"


def test_a_request_the_log_refuses_outright_stops_the_run(field_log, outbox):
    field_log.faults = ["400"]
    report = run(field_log, outbox, batch_size=8)
    assert "400" in report.stopped and report.remaining == 8
    assert len(field_log.posted) == 1


def test_the_log_is_checked_against_every_receipt(field_log, outbox):
    run(field_log, outbox, batch_size=3)
    with field_log.client() as http:
        check = check_log(outbox, http)
    assert check.problems == [] and check.receipts == 8 and check.sizes == 3
    assert outbox.device().checkpoint is not None


def test_a_smaller_tree_is_a_rollback_and_another_root_a_split_view(field_log, outbox):
    run(field_log, outbox, batch_size=8)
    writer = field_log.election.ctx
    size = writer.state.size
    smaller = Checkpoint(writer.origin, size - 3, writer.state.tree.root(size - 3))
    field_log.latest = smaller.sign(writer.log)
    with field_log.client() as http:
        assert [c for c, _ in check_log(outbox, http).problems] == [ROLLBACK]
    forked = Checkpoint(writer.origin, size, b"\x07" * 32)
    field_log.latest = forked.sign(writer.log)
    with field_log.client() as http:
        assert [c for c, _ in check_log(outbox, http).problems] == [SPLIT_VIEW]
    assert outbox.device().checkpoint is None  # nothing kept from a log that does not hold


def test_the_client_carries_no_server_code():
    """A field device runs the client alone: it imports only the ledger, the domain and the
    formats, and loading it loads no service, store or API module, nor their libraries."""
    package = Path(tallyproof.client.__file__).parent
    named = {name for p in package.glob("*.py") for name in imported(p)}
    assert named <= {"client", "ledger", "domain", "formats"}
    code = "import sys, tallyproof.client.sync; print(' '.join(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    server = {"service", "store", "api", "cli", "sqlalchemy", "fastapi", "starlette", "uvicorn"}
    assert [m for m in loaded if server & set(m.split(".")[:2])] == []
