"""The live feed over SSE: every committed entry once, in leaf order, with the findings it
opened and resolved; a reader that reconnects with Last-Event-ID misses nothing and gets
nothing twice, from the same server or from another one on the same store."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tests.helpers import form_doc, make_election
from tests.serving import Server


def sse(lines: Iterator[str]) -> Iterator[dict]:
    """Events of an SSE stream as {"id", "event", "data"} (comments skipped)."""
    event: dict = {}
    for line in lines:
        if not line:
            if "data" in event:
                event["data"] = json.loads(event["data"])
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


def read_events(url: str, n: int, *, headers=None, params=None, timeout: float = 30) -> list[dict]:
    out = []
    with httpx.stream(
        "GET", f"{url}/v1/events", headers=headers, params=params, timeout=timeout
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for event in sse(r.iter_lines()):
            out.append(event)
            if len(out) == n:
                break
    return out


def post(url: str, e, *docs, key=None) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        for d in docs:
            env = sign(EntryKind.FORM, d, key or e.po[d["station"]]).envelope()
            answer = http.post("/v1/forms", json=env)
            assert answer.status_code == 201, answer.text


@pytest.fixture
def two_servers(tmp_path, store_url):
    """Two serving processes over one store, as two workers behind a load balancer."""
    e = make_election(tmp_path / "home", store_url, stations=8)
    e.ctx.close()
    a = Server(tmp_path / "home", store_url).start()
    b = Server(tmp_path / "home", store_url).start()
    try:
        yield e, a, b
    finally:
        a.stop()
        b.stop()


def test_the_feed_replays_the_log_then_follows_it_with_findings(two_servers):
    e, a, _ = two_servers
    start = read_events(a.url, 1, params={"after": -1})[0]
    assert (start["id"], start["event"]) == ("0", "structure")
    history = read_events(a.url, 11, params={"after": -1})  # structure + 10 keys
    assert [int(x["id"]) for x in history] == list(range(11))
    received: list[dict] = []
    reader = threading.Thread(
        target=lambda: received.extend(read_events(a.url, 3, params={"after": 10}))
    )
    reader.start()
    post(a.url, e, form_doc(station="S1"))
    post(a.url, e, form_doc(station="S1", source="agent:PTI", votes=(280, 200, 100)), key=e.agent)
    post(a.url, e, form_doc(station="S2"))
    reader.join(30)
    assert [int(x["id"]) for x in received] == [11, 12, 13]
    agent = received[1]["data"]
    assert agent["kind"] == "form" and agent["source"] == "agent:PTI"
    assert [f["code"] for f in agent["findings_opened"]] == ["station.source_conflict"]
    assert all("checkpoint" in x["data"] for x in received)  # each was its commit's last


def test_a_reader_resumes_after_its_last_event_from_another_server(two_servers):
    e, a, b = two_servers
    post(a.url, e, *(form_doc(station=f"S{i}") for i in range(1, 9)))
    first = read_events(a.url, 5, params={"after": 10})
    last = first[-1]["id"]
    post(a.url, e, *(form_doc(station=f"S{i}", contest="PP-1", votes=(5, 6)) for i in range(1, 5)))
    rest = read_events(b.url, 7, headers={"Last-Event-ID": last})
    ids = [int(x["id"]) for x in first + rest]
    assert ids == list(range(11, 23))  # none missed, none twice, across servers
    assert [x["data"]["contest"] for x in rest[-4:]] == ["PP-1"] * 4


def test_live_readers_of_another_server_see_commits_they_did_not_make(two_servers):
    e, a, b = two_servers
    received: list[dict] = []
    reader = threading.Thread(target=lambda: received.extend(read_events(b.url, 2)))
    reader.start()
    import time

    deadline = time.monotonic() + 10
    while httpx.get(f"{b.url}/v1/health").json()["readers"] < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    post(a.url, e, form_doc(station="S3"), form_doc(station="S4"))
    reader.join(30)
    assert [x["data"]["station"] for x in received] == ["S3", "S4"]


def test_a_bad_last_event_id_is_a_problem(two_servers):
    _, a, _ = two_servers
    answer = httpx.get(f"{a.url}/v1/events", headers={"Last-Event-ID": "ten"})
    assert answer.status_code == 400 and answer.json()["code"] == "query.last_event_id"
