"""Nothing acknowledged is lost: clients post forms concurrently, the server (workers and
committer) is killed with SIGKILL in the middle, and after a restart every form that was
answered 201 is in the log, its receipt verifying against the restarted log's checkpoints."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tallyproof.ledger.entries import EntryKind, read_envelope, sign
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.receipts import Receipt
from tests.helpers import form_doc, make_election
from tests.serving import Server

STATIONS = 60


def test_every_acknowledged_form_survives_a_kill(tmp_path):
    e = make_election(tmp_path / "home", stations=STATIONS)
    e.ctx.close()
    envelopes = [
        sign(
            EntryKind.FORM, form_doc(station=f"S{i}", contest=c, votes=v), e.po[f"S{i}"]
        ).envelope()
        for i in range(1, STATIONS + 1)
        for c, v in (("NA-1", (300, 200, 100)), ("PP-1", (40, 50)))
    ]
    server = Server(tmp_path / "home", args=("--workers", "2")).start()
    acknowledged: list[tuple[dict, dict]] = []
    enough = threading.Event()

    def post(envelope: dict) -> None:
        if enough.is_set():
            return
        try:
            answer = httpx.post(f"{server.url}/v1/forms", json=envelope, timeout=30)
        except httpx.HTTPError:
            return  # the server died under it: not acknowledged, so no promise was made
        if answer.status_code == 201:
            acknowledged.append((envelope, answer.json()["receipt"]))
            if len(acknowledged) >= 40:
                enough.set()

    killer = threading.Thread(target=lambda: (enough.wait(60), server.stop(kill=True)))
    killer.start()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(post, envelopes))
    killer.join()
    assert len(acknowledged) >= 40

    restarted = Server(tmp_path / "home").start()
    try:
        with restarted.client() as http:
            key = PublicKey.from_vkey(http.get("/v1/log-key").json()["vkey"])
            for envelope, receipt in acknowledged:
                held = Receipt.from_dict(receipt)
                held.verify(key, read_envelope(envelope, EntryKind.FORM))
                now = http.get(
                    "/v1/proofs/inclusion",
                    params={"kind": "form", "id": held.entry_id, "tree_size": held.tree_size},
                ).json()
                assert now["leaf_index"] == held.leaf_index
                assert now["checkpoint"] == held.checkpoint  # the same signed tree, kept
            again = http.post("/v1/forms", json=acknowledged[0][0])
            assert again.status_code == 200 and again.json()["receipt"] == acknowledged[0][1]
    finally:
        restarted.stop()
