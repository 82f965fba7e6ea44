"""Reading over HTTP: every answer names its tree size; an answer at a size the log has grown
past is immutable with a strong ETag; a current one is revalidated with If-None-Match; the
answers are the read model's; proofs and entries verify against the signed checkpoints."""

from __future__ import annotations

import base64

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from tallyproof.ledger.note import Checkpoint
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tests.helpers import ELECTION, form_doc

E = f"/v1/elections/{ELECTION}"


@pytest.fixture
def night(served_sqlite):
    """Two commits of forms: sizes before and after the second one."""
    e, http = served_sqlite.election, served_sqlite.http

    def submit(*docs):
        envs = [sign(EntryKind.FORM, d, e.po[d["station"]]).envelope() for d in docs]
        return http.post("/v1/forms", json={"forms": envs}).json()

    first = submit(form_doc(station="S1"), form_doc(station="S2"))
    second = submit(form_doc(station="S3", votes=(10, 500, 10)))
    sizes = (
        first["outcomes"][0]["receipt"]["tree_size"],
        second["outcomes"][0]["receipt"]["tree_size"],
    )
    return served_sqlite, sizes


def test_an_answer_at_a_past_size_is_immutable_and_the_current_one_revalidates(night):
    served, (before, now) = night
    http = served.http
    past = http.get(f"{E}/contests/NA-1", params={"as_of": before})
    assert past.status_code == 200
    assert past.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert past.headers["tallyproof-tree-size"] == str(before) == str(past.json()["tree_size"])
    assert past.json()["contest"]["computed"]["votes"]["NA-1/a"] == 600
    current = http.get(f"{E}/contests/NA-1")
    assert current.headers["cache-control"] == "no-cache"
    assert current.json()["tree_size"] == now
    assert current.json()["contest"]["computed"]["votes"]["NA-1/a"] == 610
    etag = current.headers["etag"]
    assert etag.startswith('"') and etag != past.headers["etag"]
    again = http.get(f"{E}/contests/NA-1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert (
        http.get(f"{E}/contests/NA-1", headers={"If-None-Match": past.headers["etag"]}).status_code
        == 200
    )


def test_a_size_the_log_has_not_reached_is_not_cached_for_good(night):
    served, (_, now) = night
    answer = served.http.get(f"{E}/standings", params={"as_of": now + 50})
    assert answer.json()["tree_size"] == now
    assert answer.headers["cache-control"] == "no-cache"


def test_answers_are_the_read_models_at_the_same_size(night):
    served, (before, now) = night
    http = served.http
    model = ReadModel.open(Settings.at(served.server.home, served.server.database_url))
    try:
        for size in (before, now):
            views = {v.official.contest: v for v in model.results(ELECTION, size).value}
            listed = http.get(f"{E}/contests", params={"as_of": size}).json()["contests"]
            for line in listed:
                v = views[line["contest"]]
                assert line["stations_reported"] == v.computed.stations_reported
                assert line["leader"] == (
                    v.official.leader.candidate if v.official.leader else None
                )
            lives = model.findings(ELECTION, None, size).value
            found = http.get(f"{E}/findings", params={"as_of": size, "state": "all"}).json()
            assert sorted(f["id"] for f in found["findings"]) == sorted(x.finding.id for x in lives)
        station = http.get(f"{E}/stations/S3").json()["station"]
        assert [f["station"] for f in station["forms"]] == ["S3"] and station[
            "registered_voters"
        ] == 1000
        only_pp = http.get(f"{E}/contests", params={"assembly": "PP"}).json()["contests"]
        assert [c["contest"] for c in only_pp] == ["PP-1"]
    finally:
        model.close()


def test_as_of_a_time_and_unknown_things(night):
    served, (_, now) = night
    http = served.http
    early = http.get(f"{E}/standings", params={"as_of": "2000-01-01T00:00:00Z"})
    assert early.status_code == 404 and early.json()["code"] == "ledger.empty"
    late = http.get(f"{E}/standings", params={"as_of": "2999-01-01T00:00:00+05:00"})
    assert late.json()["tree_size"] == now
    bad = http.get(f"{E}/standings", params={"as_of": "yesterday"})
    assert (bad.status_code, bad.json()["code"], bad.json()["field"]) == (
        400,
        "query.as_of",
        "as_of",
    )
    assert http.get(f"{E}/contests/NA-9").json()["code"] == "form.unknown_contest"
    assert http.get(f"{E}/stations/S99").json()["code"] == "form.unknown_station"
    assert (
        http.get(f"{E}/standings", params={"assembly": "XX"}).json()["code"]
        == "form.unknown_assembly"
    )


def test_proofs_verify_against_the_signed_checkpoints(night):
    served, (before, now) = night
    http = served.http
    key = PublicKey.from_vkey(http.get("/v1/log-key").json()["vkey"])
    latest = Checkpoint.open(http.get("/v1/checkpoints/latest").json()["checkpoint"], key)
    old = Checkpoint.open(http.get(f"/v1/checkpoints/{before}").json()["checkpoint"], key)
    assert (old.size, latest.size) == (before, now)
    for index in (0, before - 1, now - 1):
        proof = http.get("/v1/proofs/inclusion", params={"leaf_index": index}).json()
        entry = http.get(f"/v1/ledger/entries/{index}").json()
        leaf = leaf_hash(base64.b64decode(entry["leaf"]))
        assert base64.b64decode(proof["leaf_hash"]) == leaf
        path = [base64.b64decode(h) for h in proof["inclusion_proof"]]
        verify_inclusion(index, now, leaf, path, latest.root)
    by_id = http.get(
        "/v1/proofs/inclusion", params={"kind": "form", "id": entry["entry_id"], "tree_size": now}
    )
    assert by_id.json()["leaf_index"] == now - 1
    assert by_id.headers["cache-control"].endswith("immutable")
    c = http.get("/v1/proofs/consistency", params={"first": before, "second": now}).json()
    verify_consistency(
        before, now, [base64.b64decode(h) for h in c["consistency_proof"]], old.root, latest.root
    )
    assert http.get(f"/v1/checkpoints/{before - 1}").json()["code"] == "ledger.no_checkpoint"
    assert http.get("/v1/proofs/inclusion", params={"leaf_index": now + 5}).status_code == 404
    backwards = http.get("/v1/proofs/consistency", params={"first": now, "second": before})
    assert backwards.status_code == 400 and backwards.json()["code"] == "proof.range"


def test_entries_page_through_the_log(night):
    served, (_, now) = night
    http = served.http
    page = http.get("/v1/ledger/entries", params={"start": 2, "end": now}).json()
    assert [x["leaf_index"] for x in page["entries"]] == list(range(2, now))
    assert page["next"] is None
    assert (
        http.get("/v1/ledger/entries", params={"start": 5, "end": 2}).json()["code"]
        == "ledger.range"
    )


def test_the_openapi_description_lists_every_route(served_sqlite):
    spec = served_sqlite.http.get("/openapi.json").json()
    paths = set(spec["paths"])
    for path in (
        "/v1/forms",
        "/v1/declarations",
        "/v1/claims",
        "/v1/elections",
        "/v1/keys",
        "/v1/status-orders",
        "/v1/elections/{election}/contests/{code}",
        "/v1/elections/{election}/contests/{code}/history",
        "/v1/elections/{election}/stations/{station}",
        "/v1/elections/{election}/standings",
        "/v1/elections/{election}/findings",
        "/v1/checkpoints/latest",
        "/v1/proofs/inclusion",
        "/v1/proofs/consistency",
        "/v1/ledger/entries",
        "/v1/events",
    ):
        assert path in paths, path
    body = spec["paths"]["/v1/forms"]["post"]["requestBody"]["content"]["application/json"]
    assert {"form", "signature"} <= set(body["schema"]["oneOf"][0]["properties"])
    assert served_sqlite.http.get("/docs").status_code == 200
