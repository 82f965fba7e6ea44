"""Events over HTTP: POST /v1/contest-events refuses with the rule's code and status, records with a
receipt; the contest's history and GET .../events show them, each as of a tree size."""

from __future__ import annotations

from typing import Any

from tallyproof.ledger.entries import EntryKind, sign
from tests.api.test_events import read_events
from tests.helpers import ELECTION, form_doc


def event(kind: str, **fields: Any) -> dict[str, Any]:
    body = {"election": ELECTION, "type": kind, "contest": "NA-1"}
    return body | {"time": "2024-02-10T12:00:00+05:00"} | fields


def test_events_are_posted_and_read_back(served):
    e, http = served.election, served.http
    forms = [sign(EntryKind.FORM, form_doc(f"S{i}"), e.po[f"S{i}"]).envelope() for i in (1, 2)]
    posted = http.post("/v1/forms", json={"forms": forms})
    form_id = posted.json()["outcomes"][0]["id"]
    concession = event("concession", candidate="NA-1/b", statement="I accept")
    by_agent = http.post(
        "/v1/contest-events", json=sign(EntryKind.EVENT, concession, e.agent).envelope()
    )
    assert by_agent.status_code == 403 and by_agent.json()["code"] == "signature.not_admin"
    done = http.post(
        "/v1/contest-events", json=sign(EntryKind.EVENT, concession, e.admin).envelope()
    )
    assert done.status_code == 201 and done.json()["receipt"]["leaf_index"] > 0
    missing = event("complaint", source="agent:PTI", summary="s", evidence=["e" * 64])
    refused = http.post(
        "/v1/contest-events", json=sign(EntryKind.EVENT, missing, e.agent).envelope()
    )
    assert refused.status_code == 422 and refused.json()["code"] == "event.unknown_evidence"
    filed = event("complaint", source="agent:PTI", summary="s", evidence=[form_id])
    batch = {"events": [sign(EntryKind.EVENT, filed, e.agent).envelope()]}
    assert http.post("/v1/contest-events", json=batch).status_code == 200
    history = http.get(f"/v1/elections/{ELECTION}/contests/NA-1/history").json()["history"]
    assert [h["kind"] for h in history][-2:] == ["event", "event"]
    assert history[-2]["summary"] == "NA-1/b conceded: I accept"
    listed = http.get(f"/v1/elections/{ELECTION}/events", params={"contest": "NA-1"}).json()
    assert [(x["type"], x.get("status")) for x in listed["events"]] == [
        ("concession", None),
        ("complaint", "filed"),
    ]
    earlier = http.get(
        f"/v1/elections/{ELECTION}/events", params={"as_of": history[-2]["leaf_index"]}
    ).json()
    assert earlier["events"] == []
    unknown = http.get(f"/v1/elections/{ELECTION}/events", params={"contest": "NA-9"})
    assert unknown.status_code == 404


def test_an_event_is_on_the_live_feed(served_sqlite):
    e, http = served_sqlite.election, served_sqlite.http
    concession = event("concession", candidate="NA-1/b")
    envelope = sign(EntryKind.EVENT, concession, e.admin).envelope()
    leaf = http.post("/v1/contest-events", json=envelope).json()["receipt"]["leaf_index"]
    (got,) = read_events(served_sqlite.url, 1, headers={"Last-Event-ID": str(leaf - 1)})
    assert got["event"] == "event" and got["data"]["type"] == "concession"
