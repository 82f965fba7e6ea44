"""The server publishes the static read side as checkpoints come: after forms arrive, the
directory catches up with the log, and its files are the API's answers at their size."""

from __future__ import annotations

import json
import time

from tallyproof.ledger.entries import EntryKind, sign
from tests.helpers import ELECTION, form_doc, make_election
from tests.serving import Server


def test_the_server_keeps_the_static_files_up_with_the_log(tmp_path):
    e = make_election(tmp_path / "home")
    e.ctx.close()
    site = tmp_path / "site"
    args = ("--publish", str(site), "--publish-seconds", "0.5")
    server = Server(tmp_path / "home", args=args).start()
    try:
        with server.client() as http:
            for station in ("S1", "S2"):
                env = sign(EntryKind.FORM, form_doc(station=station), e.po[station]).envelope()
                assert http.post("/v1/forms", json=env).status_code == 201
            size = http.get("/v1/checkpoints/latest").json()["tree_size"]
            deadline = time.monotonic() + 30
            head = {}
            while time.monotonic() < deadline:
                index = site / "elections" / ELECTION / "index.json"
                head = json.loads(index.read_text()) if index.exists() else {}
                if head.get("tree_size") == size:
                    break
                time.sleep(0.1)
            assert head.get("tree_size") == size, head
            assert (site / "checkpoint").read_text() == http.get("/v1/checkpoints/latest").json()[
                "checkpoint"
            ]
            contests = site / head["files"]["contests"]
            answer = http.get(f"/v1/elections/{ELECTION}/contests", params={"as_of": size})
            assert contests.read_bytes() == answer.content
    finally:
        server.stop()
