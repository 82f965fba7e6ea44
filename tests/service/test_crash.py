"""Crash safety: SIGKILL the ingesting process again and again. After every kill, every
form it acknowledged is stored, the log verifies, the published checkpoints still hold, and
a new checkpoint is consistent with the last one published."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tallyproof.domain.consolidation import consolidate, official_heads
from tallyproof.importers.plan import run_plan
from tallyproof.ledger.merkle import MerkleTree, leaf_hash, verify_consistency
from tallyproof.ledger.note import Checkpoint
from tallyproof.sample.synthetic import SyntheticSpec, synthetic_plan
from tallyproof.service import queries
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter

SPEC = SyntheticSpec(stations=4000, na_contests=3, pa_contests=6, candidates=5, seed=11)
CHILD = """
import json, sys
from tallyproof.service import submission
from tallyproof.service.writer import LedgerWriter
from tallyproof.service.settings import Settings
home = sys.argv[1]
envelopes = [json.loads(line) for line in open(home + "/forms.jsonl")]
ctx = LedgerWriter.open(Settings.at(home, verify_workers=1))
print("ready", flush=True)
for start in range(0, len(envelopes), 40):
    for outcome in submission.submit_forms(ctx, envelopes[start:start + 40]):
        assert outcome.accepted, outcome.problems
        print(outcome.entry_id, flush=True)
print("done", flush=True)
"""


def run_until_killed(home: Path, delay: float) -> tuple[set[str], bool]:
    """Start the ingesting child, SIGKILL it `delay` seconds after it is ready; return the
    form ids it acknowledged (printed only after their commit) and whether it finished."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home)], stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    acknowledged: set[str] = set()
    state = {"done": False}
    ready = threading.Event()

    def read() -> None:
        for line in child.stdout:  # type: ignore[union-attr]
            word = line.strip()
            if word == "ready":
                ready.set()
            elif word == "done":
                state["done"] = True
            elif word:
                acknowledged.add(word)

    reader = threading.Thread(target=read)
    reader.start()
    assert ready.wait(60), "the child never started"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait()
    reader.join()
    return acknowledged, state["done"]


def check_after_crash(
    settings: Settings, acknowledged: set[str], last: Checkpoint | None
) -> Checkpoint:
    ctx = LedgerWriter.open(settings)
    try:
        with ctx.read() as reader:
            stored = {row.form_id for row in reader.forms(SPEC.election_id)}
            rows = reader.entries()
            published = reader.checkpoints()
            records = queries.form_records(reader, SPEC.election_id)
        missing = acknowledged - stored
        assert not missing, f"{len(missing)} acknowledged forms lost"
        assert [row.seq for row in rows] == list(range(len(rows)))
        assert all(leaf_hash(row.leaf_data) == row.leaf_hash for row in rows)
        tree = MerkleTree(row.leaf_hash for row in rows)
        for row in published:
            checkpoint = Checkpoint.open(row.note, ctx.log_key)
            assert tree.root(checkpoint.size) == checkpoint.root
        new = Checkpoint.open(ctx.publish_checkpoint(), ctx.log_key)
        if last is not None:
            proof = tree.consistency_proof(last.size, new.size) if last.size else []
            verify_consistency(last.size, new.size, proof, last.root, new.root)
        structure = queries.structure_of(ctx, SPEC.election_id)
        for result in queries.results(ctx, SPEC.election_id):
            computed = consolidate(
                structure,
                structure.contest(result.contest),
                official_heads(records, result.contest),
            )
            assert {s.candidate: s.votes for s in result.ranking} == dict(computed.votes)
        return new
    finally:
        ctx.close()


def test_sigkill_mid_ingest_loses_nothing_acknowledged(tmp_path):
    home = tmp_path / "home"
    settings = Settings.at(home)
    plan, envelopes = synthetic_plan(SPEC)
    ctx = LedgerWriter.initialise(settings)
    run_plan(ctx, plan)
    ctx.close()
    (home / "forms.jsonl").write_text("".join(json.dumps(e) + "\n" for e in envelopes))
    rng = random.Random(5)
    acknowledged: set[str] = set()
    last: Checkpoint | None = None
    kills = 0
    for _ in range(12):
        got, finished = run_until_killed(home, rng.uniform(0.05, 0.6))
        acknowledged |= got
        kills += not finished
        last = check_after_crash(settings, acknowledged, last)
    assert kills >= 8, "the child should mostly be killed mid-ingest"
    assert len(acknowledged) > 500
