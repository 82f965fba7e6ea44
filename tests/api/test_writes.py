"""Submitting over HTTP to a real server: receipts that verify, idempotence, refusals as
problem details that change nothing, authority, batches, admin documents and claims."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tallyproof.ledger.entries import EntryKind, read_envelope, sign
from tallyproof.ledger.keys import PublicKey, Signer
from tallyproof.ledger.receipts import Receipt
from tests.helpers import ELECTION, form_doc, make_election
from tests.serving import Server

PROBLEM = "application/problem+json"


def envelope(e, doc, key=None, kind=EntryKind.FORM):
    return sign(kind, doc, key or e.po[doc["station"]]).envelope()


def log_key(http) -> PublicKey:
    return PublicKey.from_vkey(http.get("/v1/log-key").json()["vkey"])


def tree_size(http) -> int:
    return http.get("/v1/checkpoints/latest").json()["tree_size"]


def test_a_form_gets_a_receipt_that_verifies_and_the_same_form_again_the_same_one(served):
    e, http = served.election, served.http
    env = envelope(e, form_doc())
    first = http.post("/v1/forms", json=env)
    assert first.status_code == 201, first.text
    receipt = Receipt.from_dict(first.json()["receipt"])
    checkpoint = receipt.verify(log_key(http), read_envelope(env, EntryKind.FORM))
    assert checkpoint.size == receipt.tree_size == tree_size(http)
    assert first.headers["location"] == f"/v1/ledger/entries/{receipt.leaf_index}"
    again = http.post("/v1/forms", json=env)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["receipt"] == first.json()["receipt"]
    forms = http.get(f"/v1/elections/{ELECTION}/stations/S1").json()["station"]["forms"]
    assert len(forms) == 1 and forms[0]["form_id"] == receipt.entry_id


def test_a_refused_form_is_a_problem_naming_rule_and_field_and_changes_nothing(served):
    e, http = served.election, served.http
    before = tree_size(http)
    bad = form_doc(station="S2")
    bad["polled"] += 1
    answer = http.post("/v1/forms", json=envelope(e, bad))
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert (problem["code"], problem["field"]) == ("ballots.accounting_mismatch", "polled")
    assert problem["type"] == "urn:tallyproof:rule:ballots.accounting_mismatch"
    assert problem["status"] == 422 and problem["problems"][0]["code"] == problem["code"]
    assert tree_size(http) == before


def test_a_key_signs_only_what_the_authority_table_allows(served):
    e, http = served.election, served.http
    as_officer = http.post("/v1/forms", json=envelope(e, form_doc(station="S1"), key=e.po["S2"]))
    assert as_officer.status_code == 403
    assert as_officer.json()["code"] == "signature.out_of_scope"
    forged = dict(
        envelope(e, form_doc()),
        signature={"key": e.po["S1"].public.key_id, "value": "A" * 86 + "=="},
    )
    assert http.post("/v1/forms", json=forged).json()["code"] == "signature.invalid"
    order = {
        "election": ELECTION,
        "scope": "contest",
        "target": "NA-1",
        "status": "postponed",
        "reason": "a candidate died",
        "time": "2024-02-08T12:00:00Z",
    }
    not_admin = http.post(
        "/v1/status-orders", json=sign(EntryKind.STATUS, order, e.agent).envelope()
    )
    assert not_admin.status_code == 403 and not_admin.json()["code"] == "signature.not_admin"
    ordered = http.post("/v1/status-orders", json=sign(EntryKind.STATUS, order, e.admin).envelope())
    assert ordered.status_code == 201
    contest = http.get(f"/v1/elections/{ELECTION}/contests/NA-1").json()["contest"]
    assert (contest["status"], contest["status_reason"]) == ("postponed", "a candidate died")
    late = http.post("/v1/forms", json=envelope(e, form_doc(station="S3")))
    assert late.json()["code"] == "contest.postponed"


def test_a_batch_is_one_transaction_and_each_document_is_judged_alone(served):
    e, http = served.election, served.http
    bad = form_doc(station="S2", votes=(-5, 1, 1))
    batch = [
        envelope(e, form_doc(station="S1")),
        envelope(e, bad),
        envelope(e, form_doc(station="S3")),
    ]
    answer = http.post("/v1/forms", json={"forms": batch})
    assert answer.status_code == 200
    doc = answer.json()
    assert (doc["accepted"], doc["duplicates"], doc["refused"]) == (2, 0, 1)
    good, refused, good2 = doc["outcomes"]
    assert refused["problems"][0]["field"] == "votes.NA-1/a"
    assert good["receipt"]["tree_size"] == good2["receipt"]["tree_size"]
    assert [o["index"] for o in doc["outcomes"]] == [0, 1, 2]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", {}, 400, "input.json"),
        (b'{"form": {}, "form": {}}', {}, 400, "input.duplicate_key"),
        (b"[1, 2]", {}, 400, "request.invalid"),
        (b'{"forms": []}', {}, 400, "request.invalid"),
        (b'{"form": 1, "signature": {"key": "k", "value": "v"}}', {}, 422, "schema.missing"),
        (b"{}", {"content-type": "text/plain"}, 415, "request.media_type"),
        (b'{"n": 1e400}', {}, 400, "input.number"),
    ],
)
def test_unreadable_bodies_are_refused_with_their_rule(served_sqlite, body, headers, status, code):
    http = served_sqlite.http
    before = tree_size(http)
    answer = http.post(
        "/v1/forms", content=body, headers={"content-type": "application/json", **headers}
    )
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert tree_size(http) == before


def test_declarations_and_admin_documents_go_through_the_same_door(served_sqlite):
    e, http = served_sqlite.election, served_sqlite.http
    for station in ("S1", "S2"):
        assert (
            http.post("/v1/forms", json=envelope(e, form_doc(station=station))).status_code == 201
        )
    declaration = {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": {"NA-1/a": 100, "NA-1/b": 400, "NA-1/c": 200},
        "rejected": 20,
        "polled": 720,
        "time": "2024-02-09T17:00:00+05:00",
    }
    answer = http.post(
        "/v1/declarations", json=sign(EntryKind.DECLARATION, declaration, e.ro).envelope()
    )
    assert answer.status_code == 201, answer.text
    view = http.get(f"/v1/elections/{ELECTION}/contests/NA-1").json()["contest"]
    assert view["basis"] == "declared" and view["winner_differs"] is True
    assert view["computed"]["votes"]["NA-1/a"] == 600
    codes = {f["code"] for f in http.get(f"/v1/elections/{ELECTION}/findings").json()["findings"]}
    assert "consolidation.winner_differs" in codes


def register(http, e, name: str, source: str, **scope) -> Signer:
    key = Signer.from_seed_text(name, "api:" + name)
    body = {
        "election": ELECTION,
        "key": {"name": name, "public_key": key.public.b64},
        "source": source,
        "time": "2024-02-08T06:00:00Z",
        **scope,
    }
    answer = http.post("/v1/keys", json=sign(EntryKind.KEY_REGISTRATION, body, e.admin).envelope())
    assert answer.status_code == 201, answer.text
    return key


def test_a_report_is_read_then_filed_signed_by_its_outlet(served_sqlite):
    e, http = served_sqlite.election, served_sqlite.http
    for station in ("S1", "S2", "S3", "S4"):  # a claim is held to a complete count
        http.post("/v1/forms", json=envelope(e, form_doc(station=station)))
    text = "Dawn, 9 February 2024. In NA-1, Aamir of the PTI got 30,000 votes, results showed."
    read = http.post("/v1/claims", json={"text": text, "outlet": "Dawn", "published": "2024-02-09"})
    assert read.status_code == 200, read.text
    doc = read.json()
    assert doc["outlet"] == "Dawn"
    votes = [c for c in doc["claims"] if c["kind"] == "votes"]
    assert votes and votes[0]["value"] == 30000 and votes[0]["contest_code"] == "NA-1"
    (report,) = doc["documents"]
    dawn = register(http, e, "media/dawn", "media:Dawn")
    filed = http.post("/v1/claims", json=sign(EntryKind.CLAIM, report, dawn).envelope())
    assert filed.status_code == 201, filed.text
    found = http.get(f"/v1/elections/{ELECTION}/findings", params={"state": "all"}).json()
    codes = [f["code"] for f in found["findings"]]
    assert "claim.contradicts_official" in codes  # 30,000 said; 1,200 in the forms
    unsigned = http.post("/v1/claims", json={"claim": report})
    assert unsigned.json()["code"] == "signature.missing"


def test_concurrent_single_forms_are_committed_together_and_each_acknowledged(tmp_path):
    e = make_election(tmp_path / "home", stations=60)
    e.ctx.close()
    server = Server(tmp_path / "home").start()
    try:
        docs = [form_doc(station=f"S{i}") for i in range(1, 61)]
        docs += [form_doc(station=f"S{i}", contest="PP-1", votes=(10, 20)) for i in range(1, 61)]
        with server.client() as http, ThreadPoolExecutor(24) as pool:
            answers = list(pool.map(lambda d: http.post("/v1/forms", json=envelope(e, d)), docs))
            assert [a.status_code for a in answers] == [201] * len(docs)
            key = log_key(http)
            for doc, a in zip(docs, answers, strict=True):
                Receipt.from_dict(a.json()["receipt"]).verify(
                    key, sign(EntryKind.FORM, doc, e.po[doc["station"]])
                )
            intake = http.get("/v1/health").json()["intake"]
            assert intake["requests"] == len(docs)
            assert intake["transactions"] < len(docs)  # requests shared commits
            leaves = {a.json()["receipt"]["leaf_index"] for a in answers}
            assert len(leaves) == len(docs)
            entries = http.get("/v1/ledger/entries", params={"start": 0}).json()["entries"]
            assert sum(1 for x in entries if x["kind"] == "form") == len(docs)
    finally:
        server.stop()


def test_the_receipt_is_in_the_ledger_entry_it_names(served_sqlite):
    e, http = served_sqlite.election, served_sqlite.http
    answer = http.post("/v1/forms", json=envelope(e, form_doc()))
    location = answer.headers["location"]
    entry = http.get(location).json()
    leaf = json.loads(base64.b64decode(entry["leaf"]))
    assert leaf["body"] == form_doc() and leaf["kind"] == "form"
    assert leaf["received_at"] == answer.json()["receipt"]["received_at"]
