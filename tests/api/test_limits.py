"""The limits every request meets, each configurable: body size (counted as it arrives),
documents in a batch, documents a key may send a minute (429 with Retry-After); a limit
refuses before any work and changes nothing; a forged document is not charged to the key
it names."""

from __future__ import annotations

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tests.helpers import form_doc, make_election
from tests.serving import Server


@pytest.fixture
def tight(tmp_path):
    e = make_election(tmp_path / "home", stations=8)
    e.ctx.close()
    args = ("--body-bytes", "4096", "--batch-documents", "3", "--per-key-per-minute", "4")
    server = Server(tmp_path / "home", args=args).start()
    try:
        with server.client() as http:
            yield e, http
    finally:
        server.stop()


def env(e, doc, key=None):
    return sign(EntryKind.FORM, doc, key or e.po[doc["station"]]).envelope()


def size(http) -> int:
    return http.get("/v1/checkpoints/latest").json()["tree_size"]


def test_a_body_over_the_limit_is_refused_as_it_arrives(tight):
    e, http = tight
    before = size(http)
    big = env(e, form_doc(remarks="x" * 5000))
    answer = http.post("/v1/forms", json=big)
    assert (answer.status_code, answer.json()["code"]) == (413, "request.too_large")

    def chunks():  # no Content-Length: the server counts what arrives
        yield b'{"form": {"remarks": "'
        for _ in range(100):
            yield b"y" * 100
        yield b'"}}'

    streamed = http.post(
        "/v1/forms", content=chunks(), headers={"content-type": "application/json"}
    )
    assert (streamed.status_code, streamed.json()["code"]) == (413, "request.too_large")
    assert size(http) == before


def test_a_batch_over_the_limit_is_refused_whole(tight):
    e, http = tight
    before = size(http)
    batch = [env(e, form_doc(station=f"S{i}", rejected=0)) for i in range(1, 5)]
    answer = http.post("/v1/forms", json={"forms": batch})
    assert answer.status_code == 413, answer.text
    assert (answer.json()["code"], answer.json()["field"]) == ("request.batch_too_large", "forms")
    assert size(http) == before


def test_a_key_over_its_rate_waits_and_forgeries_do_not_spend_it(tight):
    e, http = tight
    station_key = e.po["S1"]
    forged = env(e, form_doc(station="S1"))
    forged["signature"]["value"] = "A" * 86 + "=="
    for _ in range(6):  # forged in its name: refused, and not charged to it
        assert http.post("/v1/forms", json=forged).json()["code"] == "signature.invalid"
    docs = [
        form_doc(station="S1", contest=c, votes=v)
        for c, v in (("NA-1", (3, 2, 1)), ("PP-1", (4, 5)))
    ]
    for d in docs:
        assert http.post("/v1/forms", json=env(e, d, station_key)).status_code == 201
    for d in docs:  # the same forms again are duplicates, but still documents sent
        assert http.post("/v1/forms", json=env(e, d, station_key)).status_code == 200
    before = size(http)
    over = http.post(
        "/v1/forms",
        json=env(e, form_doc(station="S1", source="presiding_officer", rejected=3), station_key),
    )
    assert over.status_code == 429
    assert over.json()["code"] == "request.rate_limited"
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert size(http) == before
    other = http.post("/v1/forms", json=env(e, form_doc(station="S2")))
    assert other.status_code == 201  # another key has its own allowance
