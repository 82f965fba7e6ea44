"""The audit re-checks events from the bundle alone: a log whose events kept their rules
checks out (the vacated contest too); a forged one, appended past the writer's rules by a
compromised server and correctly signed and checkpointed, is named by its leaf."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tallyproof.audit.run import audit_bundle
from tallyproof.export.bundle import export_bundle
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import events
from tests.helpers import ELECTION, ElectionFixture, form_doc, make_election


def event(kind: str, **fields: Any) -> dict[str, Any]:
    body = {"election": ELECTION, "type": kind, "contest": "NA-1"}
    return body | {"time": "2024-02-10T12:00:00+05:00"} | fields


@pytest.fixture
def election(tmp_path: Path) -> ElectionFixture:
    e = make_election(tmp_path / "home")
    outcomes = e.submit(*(form_doc(f"S{i}") for i in range(1, 5)))
    assert all(o.accepted for o in outcomes)
    declared = {"NA-1/a": 1200, "NA-1/b": 800, "NA-1/c": 400}
    body = {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": declared,
        "time": "2024-02-09T12:00:00+05:00",
    }
    assert e.declare(body).accepted
    return e


def logged(e: ElectionFixture, body: dict[str, Any], key: Signer | None = None) -> str:
    key = key or (e.agent if body["type"] == "complaint" else e.admin)
    outcome = events.submit_event(e.ctx, sign(EntryKind.EVENT, body, key).envelope())
    assert outcome.accepted, outcome.problems
    assert outcome.entry_id is not None
    return outcome.entry_id


def forged(e: ElectionFixture, body: dict[str, Any], key: Signer | None = None) -> int:
    """What a compromised server could do: log a signed event without applying the rules."""
    signed = sign(EntryKind.EVENT, body, key or e.admin)
    with e.ctx.transaction() as batch:
        return batch.append(signed, ELECTION, signed.body_id).seq


def audited(e: ElectionFixture, tmp_path: Path) -> Any:
    e.ctx.publish_checkpoint()
    export_bundle(e.ctx, tmp_path / "bundle")
    return audit_bundle(tmp_path / "bundle", workers=1)


def test_events_that_kept_their_rules_check_out(election: ElectionFixture, tmp_path: Path) -> None:
    form = next(iter(election.ctx.refresh().forms))
    cid = logged(election, event("complaint", source="agent:PTI", summary="s", evidence=[form]))
    logged(election, event("complaint_update", complaint=cid, status="hearing"))
    logged(election, event("concession", candidate="NA-1/b"))
    logged(election, event("joining", candidate="NA-1/c", party="PTI", date="2024-02-19"))
    logged(election, event("renunciation", candidate="NA-1/a"), election.admin)
    report = audited(election, tmp_path)
    assert report.ok, report.issues
    assert report.entries["event"] == 5


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (event("renunciation", candidate="NA-1/b"), "won by NA-1/a"),
        (event("joining", candidate="NA-1/b", party="PTI", date="2024-02-19"), "stood for"),
        (
            event("complaint", source="agent:PTI", summary="s", evidence=["e" * 64]),
            "does not hold",
        ),
        (event("complaint_update", complaint="c" * 64, status="hearing"), "unknown complaint"),
    ],
)
def test_a_forged_event_is_named(
    election: ElectionFixture, tmp_path: Path, body: dict[str, Any], said: str
) -> None:
    key = election.agent if body["type"] == "complaint" else election.admin
    seq = forged(election, body, key)
    report = audited(election, tmp_path)
    assert not report.ok
    broken = [i for i in report.issues if i.code == "audit.rule" and i.entry == seq]
    assert broken and said in broken[0].message, report.issues


def test_an_event_signed_by_a_key_that_may_not_sign_it_is_named(
    election: ElectionFixture, tmp_path: Path
) -> None:
    seq = forged(election, event("concession", candidate="NA-1/b"), election.agent)
    report = audited(election, tmp_path)
    assert any(i.code == "audit.key" and i.entry == seq for i in report.issues), report.issues


def test_a_forged_move_past_a_decision_is_named(election: ElectionFixture, tmp_path: Path) -> None:
    form = next(iter(election.ctx.refresh().forms))
    cid = logged(election, event("complaint", source="agent:PTI", summary="s", evidence=[form]))
    logged(election, event("complaint_update", complaint=cid, status="hearing"))
    logged(election, event("complaint_update", complaint=cid, status="decided", outcome="upheld"))
    seq = forged(election, event("complaint_update", complaint=cid, status="withdrawn"))
    report = audited(election, tmp_path)
    assert [i.entry for i in report.issues if i.code == "audit.rule"] == [seq]
