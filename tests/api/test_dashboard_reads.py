"""The reads the dashboard is made of: a contest's evidence (the signed forms behind its
numbers, with their proofs), the news claims about a contest, stations reported over time,
findings a page at a time, and the pages themselves with their security headers."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tallyproof.domain.problems import Rejected
from tallyproof.domain.structure import parse_structure
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.merkle import ProofError, leaf_hash, verify_inclusion
from tallyproof.ledger.note import Checkpoint
from tests.api.test_events import read_events, sse
from tests.helpers import ELECTION, cli, form_doc, structure_doc
from tests.serving import Server

E = f"/v1/elections/{ELECTION}"


def _declaration(votes: dict[str, int]) -> dict:
    return {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": votes,
        "time": "2024-02-09T17:00:00+05:00",
    }


def _submit(served, *docs, key=None):
    e = served.election
    envs = [sign(EntryKind.FORM, d, key or e.po[d["station"]]).envelope() for d in docs]
    answer = served.http.post("/v1/forms", json={"forms": envs}).json()
    assert answer["refused"] == 0, answer
    return answer["outcomes"][-1]["receipt"]["tree_size"]


def _proven(served, evidence: dict) -> list[dict]:
    """Check the evidence as a reader would: its checkpoint against the log's key, each
    leaf's inclusion under it; the leaves' signed bodies."""
    key = PublicKey.from_vkey(served.http.get("/v1/log-key").json()["vkey"])
    checkpoint = Checkpoint.open(evidence["checkpoint"], key)
    assert checkpoint.size == evidence["tree_size"]
    bodies = []
    for entry in [*evidence["forms"], *filter(None, [evidence["declaration"]])]:
        data = base64.b64decode(entry["leaf"])
        path = [base64.b64decode(h) for h in entry["inclusion_proof"]]
        verify_inclusion(
            entry["leaf_index"], checkpoint.size, leaf_hash(data), path, checkpoint.root
        )
        bodies.append(json.loads(data))
    return bodies


def test_a_contests_evidence_proves_the_forms_that_sum_to_its_numbers(served_sqlite):
    served = served_sqlite
    before = _submit(served, form_doc(station="S1"), form_doc(station="S2", votes=(5, 50, 500)))
    corrected = form_doc(station="S1", votes=(301, 200, 100))
    first_id = served.http.get(f"{E}/stations/S1").json()["station"]["forms"][0]["form_id"]
    _submit(served, corrected | {"supersedes": first_id, "reason": "correction"})
    agent = form_doc(station="S2", source="agent:PTI", votes=(9, 50, 500))
    _submit(served, agent, key=served.election.agent)
    declared = served.http.post(
        "/v1/declarations",
        json=sign(
            EntryKind.DECLARATION,
            _declaration({"NA-1/a": 306, "NA-1/b": 250, "NA-1/c": 600}),
            served.election.ro,
        ).envelope(),
    )
    assert declared.status_code == 201, declared.text

    evidence = served.http.get(f"{E}/contests/NA-1/evidence").json()
    bodies = _proven(served, evidence)
    forms = [b["body"] for b in bodies if b["kind"] == "form"]
    # only the current official forms: not the superseded one, not the agent's copy
    assert sorted((f["station"], f["votes"]["NA-1/a"]) for f in forms) == [("S1", 301), ("S2", 5)]
    totals = {c: sum(f["votes"][c] for f in forms) for c in forms[0]["votes"]}
    assert totals == evidence["totals"] == {"NA-1/a": 306, "NA-1/b": 250, "NA-1/c": 600}
    assert evidence["polled"] == sum(f["polled"] for f in forms)
    assert bodies[-1]["kind"] == "declaration" and bodies[-1]["body"]["votes"]["NA-1/c"] == 600

    earlier = served.http.get(f"{E}/contests/NA-1/evidence", params={"as_of": before}).json()
    assert earlier["tree_size"] == before and earlier["declaration"] is None
    assert [b["body"]["votes"]["NA-1/a"] for b in _proven(served, earlier)] == [300, 5]


def test_evidence_with_a_tampered_leaf_or_path_no_longer_proves(served_sqlite):
    served = served_sqlite
    _submit(served, form_doc(station="S1"), form_doc(station="S2"))
    evidence = served.http.get(f"{E}/contests/NA-1/evidence").json()
    leaf = json.loads(base64.b64decode(evidence["forms"][0]["leaf"]))
    leaf["body"]["votes"]["NA-1/a"] += 1
    forged = dict(evidence["forms"][0], leaf=base64.b64encode(json.dumps(leaf).encode()).decode())
    with pytest.raises(ProofError):
        _proven(served, evidence | {"forms": [forged]})
    path = list(evidence["forms"][1]["inclusion_proof"])
    path[0] = base64.b64encode(bytes(32)).decode()
    bent = dict(evidence["forms"][1], inclusion_proof=path)
    with pytest.raises(ProofError):
        _proven(served, evidence | {"forms": [bent]})


def test_reporting_counts_each_station_once_at_its_first_official_form(served_sqlite):
    served = served_sqlite
    before = _submit(served, form_doc(station="S1"))
    _submit(served, form_doc(station="S1", contest="PP-1", votes=(10, 20)), form_doc(station="S2"))
    now = served.http.get(f"{E}/reporting").json()
    assert now["stations"] == 4
    assert sum(m["stations"] for m in now["minutes"]) == 2
    assert all(len(m["minute"]) == 16 for m in now["minutes"])
    then = served.http.get(f"{E}/reporting", params={"as_of": before}).json()
    assert sum(m["stations"] for m in then["minutes"]) == 1
    # a night compressed into minutes (the demo, a by-election) is drawn by the second
    fine = served.http.get(f"{E}/reporting", params={"per": "second"}).json()
    assert fine["per"] == "second" and "minutes" not in fine
    assert sum(s["stations"] for s in fine["seconds"]) == 2
    assert all(len(s["second"]) == 19 for s in fine["seconds"])
    assert {s["second"][:16] for s in fine["seconds"]} == {m["minute"] for m in now["minutes"]}
    refused = served.http.get(f"{E}/reporting", params={"per": "hour"})
    assert refused.status_code == 400 and "per" in refused.text


def test_findings_come_a_page_at_a_time_with_their_total(served_sqlite):
    served = served_sqlite
    _submit(served, form_doc(station="S1"), form_doc(station="S2"))
    for station, votes in (("S1", (1, 200, 100)), ("S2", (2, 200, 100))):
        copy = form_doc(station=station, source="agent:PTI", votes=votes)
        _submit(served, copy, key=served.election.agent)
    everything = served.http.get(f"{E}/findings").json()
    page = served.http.get(f"{E}/findings", params={"limit": 1}).json()
    assert everything["total"] == len(everything["findings"]) >= 2
    assert page["total"] == everything["total"] and page["findings"] == everything["findings"][:1]
    assert served.http.get(f"{E}/findings", params={"limit": 0}).status_code == 400


def test_a_contest_page_names_its_candidates_with_their_sides(served_sqlite):
    contest = served_sqlite.http.get(f"{E}/contests/NA-1").json()["contest"]
    assert contest["candidates"][0] == {
        "id": "NA-1/a",
        "name": "Aamir",
        "name_ur": None,
        "party": None,
        "backed_by": "PTI",
        "side": "IND (PTI-backed)",
    }


def test_a_candidates_urdu_name_is_kept_and_checked_like_any_text():
    doc = structure_doc("A" * 43 + "=")
    doc["contests"][0]["candidates"][0]["name_ur"] = "عامر"
    assert parse_structure(doc).contest("NA-1").candidates[0].name_ur == "عامر"
    doc["contests"][0]["candidates"][0]["name_ur"] = "عامر\x00"
    with pytest.raises(Rejected) as refused:
        parse_structure(doc)
    assert [(p.code, p.field) for p in refused.value.problems] == [
        ("schema.text", "contests[0].candidates[0].name_ur")
    ]


@pytest.fixture(scope="module")
def sample_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("sample") / "home"
    cli(home, "demo", "--print", "--json")
    server = Server(home).start()
    try:
        with server.client() as http:
            yield http
    finally:
        server.stop()


def test_the_claims_about_a_contest_come_with_their_sentences(sample_server):
    answer = sample_server.get("/v1/elections/pk-ge-2024/claims", params={"contest": "NA-122"})
    claims = answer.json()["claims"]
    assert claims and all(c["contest_code"] == "NA-122" for c in claims)
    said = {(c["said_by"], c["value"]) for c in claims if c["kind"] == "votes"}
    assert ("Indus Courier", 77709) in said
    assert all(c["sentence"] and c["outlet"] and c["published"] for c in claims)
    every = sample_server.get("/v1/elections/pk-ge-2024/claims").json()["claims"]
    assert len(every) > len(claims)
    missing = sample_server.get("/v1/elections/pk-ge-2024/claims", params={"contest": "NA-999"})
    assert missing.status_code == 404 and missing.json()["code"] == "form.unknown_contest"


def test_the_dashboard_and_its_widget_are_served_with_a_strict_policy(sample_server):
    page = sample_server.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'self'" in policy
    assert '<script type="module" src="/static/app.js">' in page.text
    widget = sample_server.get("/embed/pk-ge-2024/NA-122")
    assert "frame-ancestors *" in widget.headers["content-security-policy"]
    script = sample_server.get("/static/app.js")
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert script.headers["cache-control"] == "no-cache"
    again = sample_server.get("/static/app.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert script.headers["content-encoding"] == "gzip"  # httpx asks for it
    assert sample_server.get("/static/../api/app.py").status_code == 404
    assert "/" not in sample_server.get("/openapi.json").json()["paths"]


def test_a_large_answer_is_gzipped_once_and_revalidates_in_either_encoding(sample_server):
    path = "/v1/elections/pk-ge-2024/contests/NA-122"
    plain = sample_server.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and len(plain.content) > 2048
    packed = sample_server.get(path, headers={"Accept-Encoding": "br;q=1, gzip;q=0.5"})
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["vary"] == "Accept-Encoding" == plain.headers["vary"]
    assert packed.json() == plain.json()  # httpx undoes the encoding
    assert int(packed.headers["content-length"]) * 4 < len(plain.content)
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '.gz"'
    for etag in (plain.headers["etag"], packed.headers["etag"]):
        again = sample_server.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304
    refused = sample_server.get(path, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_the_structure_document_keeps_the_urdu_names():
    doc = structure_doc("A" * 43 + "=")
    doc["contests"][0]["candidates"][1]["name_ur"] = "بشریٰ"
    again = parse_structure(doc).document()
    assert again["contests"][0]["candidates"][1]["name_ur"] == "بشریٰ"
    assert parse_structure(again) == parse_structure(doc)


def test_the_digest_feed_gives_one_event_a_commit_and_resumes_like_the_entries(served_sqlite):
    served = served_sqlite
    _submit(served, form_doc(station="S1"), form_doc(station="S2"))
    copy = form_doc(station="S1", source="agent:PTI", votes=(1, 200, 100))
    last = _submit(served, copy, key=served.election.agent)
    entries = read_events(served.url, last, params={"after": -1})
    mine = [e for e in entries if e["data"]["election"] == ELECTION]
    digests = _until(served.url, {"after": -1, "election": ELECTION, "digest": "true"}, last)
    assert {d["event"] for d in digests} == {"digest"}
    assert sum(d["data"]["entries"] for d in digests) == len(mine)
    assert [int(d["id"]) for d in digests] == [d["data"]["last"] for d in digests]
    # every commit ends a digest, with the checkpoint that commit signed
    ends = {
        e["data"]["leaf_index"]: e["data"]["checkpoint"]
        for e in entries
        if "checkpoint" in e["data"]
    }
    for d in digests:
        if "checkpoint" in d["data"]:
            assert ends[d["data"]["last"]] == d["data"]["checkpoint"]
    final = digests[-1]["data"]
    assert final["kinds"] == {"form": 1} and final["contests"] == ["NA-1"]
    assert final["latest"] == [
        {
            "leaf_index": last - 1,
            "kind": "form",
            "received_at": entries[-1]["data"]["received_at"],
            "station": "S1",
            "contest": "NA-1",
            "source": "agent:PTI",
            "official": False,
            "supersedes": None,
        }
    ]
    assert "station.source_conflict" in {f["code"] for f in final["findings_opened"]}
    resumed = _until(
        served.url, {"after": digests[-2]["id"], "election": ELECTION, "digest": "true"}, last
    )
    assert [d["data"] for d in resumed] == [final]


def _until(url: str, params: dict, size: int) -> list[dict]:
    """Digests until the one that reaches `size`."""
    out = []
    with httpx.stream("GET", f"{url}/v1/events", params=params, timeout=30) as r:
        for event in sse(r.iter_lines()):
            out.append(event)
            if event["data"]["tree_size"] >= size:
                return out
    return out
