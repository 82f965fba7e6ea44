"""Four uvicorn workers on one PostgreSQL, many clients at once: the log they write together
is one log — every acknowledged document in it once, every receipt verifying against it,
the audit passing — and its tallies are what one process makes of the same entries."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tallyproof.audit.run import audit_bundle
from tallyproof.export.bundle import export_bundle
from tallyproof.ledger.entries import EntryKind, read_envelope, sign
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.receipts import Receipt
from tallyproof.service import submission
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.helpers import ELECTION, form_doc, make_election
from tests.serving import Server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
STATIONS = 40


def documents(e) -> list[dict]:
    """Every station's two forms, agents' copies (some differing), and duplicates."""
    rng = random.Random(7)
    docs = []
    for i in range(1, STATIONS + 1):
        s = f"S{i}"
        na = (rng.randint(100, 300), rng.randint(100, 300), rng.randint(0, 50))
        docs.append(sign(EntryKind.FORM, form_doc(station=s, votes=na), e.po[s]).envelope())
        pp = form_doc(station=s, contest="PP-1", votes=(rng.randint(50, 300), rng.randint(50, 300)))
        docs.append(sign(EntryKind.FORM, pp, e.po[s]).envelope())
        if i % 3 == 0:
            copy = (na[0] - rng.randint(0, 20), na[1], na[2])
            agent = form_doc(station=s, votes=copy, source="agent:PTI")
            docs.append(sign(EntryKind.FORM, agent, e.agent).envelope())
    docs += rng.sample(docs, 20)  # sent twice, by clients that did not hear back
    rng.shuffle(docs)
    return docs


def test_four_workers_write_one_log_that_one_process_would_tally_the_same(tmp_path, pg_url):
    e = make_election(tmp_path / "home", pg_url, stations=STATIONS)
    e.ctx.close()
    server = Server(tmp_path / "home", pg_url, args=("--workers", "4")).start()
    docs = documents(e)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http, ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda env: http.post("/v1/forms", json=env), docs))
            key = PublicKey.from_vkey(http.get("/v1/log-key").json()["vkey"])
            served = {
                v["contest"]: v["computed"]["votes"]
                for v in (
                    http.get(f"/v1/elections/{ELECTION}/contests/{c}").json()["contest"]
                    for c in ("NA-1", "PP-1")
                )
            }
            pids = {httpx.get(f"{server.url}/v1/health").json()["worker"] for _ in range(40)}
    finally:
        server.stop()
    assert {a.status_code for a in answers} <= {200, 201}, [
        a.text for a in answers if a.status_code > 201
    ]
    assert len(pids) > 1  # the requests were spread over several workers
    for env, a in zip(docs, answers, strict=True):
        Receipt.from_dict(a.json()["receipt"]).verify(key, read_envelope(env, EntryKind.FORM))
    distinct = {json.dumps(d, sort_keys=True) for d in docs}
    settings = Settings.at(tmp_path / "home", pg_url)
    model = ReadModel.open(settings)
    try:
        with model.store.read() as reader:
            forms = [r for r in reader.entries(0) if r.kind == "form"]
        assert len(forms) == len(distinct)  # each document once, however often it was sent
        assert len({r.entry_id for r in forms}) == len(forms)
        logged = [json.loads(r.leaf_data) for r in forms]
    finally:
        model.close()
    assert _one_process(tmp_path, logged) == served
    bundle = tmp_path / "bundle"
    writer = LedgerWriter.open(settings)
    try:
        export_bundle(writer, bundle)
    finally:
        writer.close()
    report = audit_bundle(bundle)
    assert report.issues == [], report.issues


def _one_process(tmp_path, leaves: list[dict]) -> dict[str, dict[str, int]]:
    """The same forms, in the order the workers logged them, through one process."""
    e = make_election(tmp_path / "alone", stations=STATIONS)
    envelopes = [{"form": leaf["body"], "signature": leaf["signature"]} for leaf in leaves]
    outcomes = submission.submit_forms(e.ctx, envelopes)
    assert all(o.accepted and not o.duplicate for o in outcomes)
    model = ReadModel(e.ctx.store)
    views = {v.computed.contest: v for v in model.results(ELECTION).value}
    e.ctx.close()
    return {c: {s.candidate: s.votes for s in v.computed.ranking} for c, v in views.items()}
