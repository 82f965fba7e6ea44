"""Crash safety at scale: SIGKILL the writer at random moments, many times, on SQLite and on
PostgreSQL. A run is one home killed several times over, alternately as an ingesting
process (submission.submit_forms in a batch loop) and as the HTTP server (its workers and its
committer, the whole process group) while clients post forms; between kills it restarts and
carries on with the forms not yet logged, so the log grows across kills. After every kill,
tests/heavy/checks.py: every acknowledged form is logged at the leaf its receipt names, no
entry is half-written, every receipt and every checkpoint published before the kill still
verifies against the tree now, and an exported bundle audits clean.

The bounded version is tests/service/test_crash.py and tests/api/test_crash.py; this one
runs TALLYPROOF_HEAVY_SQLITE_RUNS (50) and TALLYPROOF_HEAVY_PG_RUNS (20) homes of
TALLYPROOF_HEAVY_KILLS (3) kills each, with delays drawn from the seed the suite prints."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyproof.ledger.note import Checkpoint
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.heavy.checks import Acknowledged, check_home, initialised, night
from tests.heavy.tally import SEED, Tally, rng_for, tally
from tests.helpers import fresh_pg_schema
from tests.serving import Server

SQLITE_RUNS = int(os.environ.get("TALLYPROOF_HEAVY_SQLITE_RUNS", "50"))
PG_RUNS = int(os.environ.get("TALLYPROOF_HEAVY_PG_RUNS", "20"))
KILLS = int(os.environ.get("TALLYPROOF_HEAVY_KILLS", "3"))
CLIENTS = 8  # threads posting one form a request
INGEST_DELAY = (0.02, 0.8)  # seconds after the ingesting process is ready
SERVE_DELAY = (0.05, 1.5)  # seconds after the clients start posting
# The ingesting process: forms from pending.jsonl in batches of argv[3], one transaction
# each. It says how many it hands the writer before each batch, and prints a form's receipt
# only once submit_forms has returned, so after its commit.
CHILD = """
import json, sys
from tallyproof.service import submission
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
home, url, size = sys.argv[1], sys.argv[2] or None, int(sys.argv[3])
envelopes = [json.loads(line) for line in open(home + "/pending.jsonl")]
writer = LedgerWriter.open(Settings.at(home, url, verify_workers=1))
print("ready", flush=True)
for start in range(0, len(envelopes), size):
    print("sending", len(envelopes[start:start + size]), flush=True)
    lines = []
    for o in submission.submit_forms(writer, envelopes[start:start + size]):
        assert o.accepted, o.problems
        lines.append(json.dumps({"at": start + o.index, "receipt": o.receipt.as_dict()}))
    sys.stdout.write("\\n".join(lines) + "\\n")
    sys.stdout.flush()
print("done", flush=True)
"""
PLAN, ENVELOPES, IDS = night()


@dataclass
class Home:
    """One home under test: its settings, what its clients were promised, and the newest
    checkpoint checked at the last restart."""

    settings: Settings
    url: str | None
    rng: random.Random
    acked: Acknowledged = field(default_factory=Acknowledged)
    last: Checkpoint | None = None
    stored: set[str] = field(default_factory=set)

    def pending(self) -> list[dict[str, Any]]:
        """The forms still to log, after a few already logged (sent again, they must be
        answered with their first receipt, not logged twice)."""
        done = [e for e, i in zip(ENVELOPES, IDS, strict=True) if i in self.stored]
        again = self.rng.sample(done, min(len(done), 10))
        return again + [e for e, i in zip(ENVELOPES, IDS, strict=True) if i not in self.stored]

    def take(self, envelope: dict[str, Any], receipt: dict[str, Any]) -> None:
        self.acked.add(receipt["entry_id"], envelope, receipt)


@pytest.fixture(scope="module", autouse=True)
def _say_seed() -> None:
    print(f"\nheavy crash runs: seed {SEED}, {KILLS} kills a home", flush=True)


@pytest.fixture
def pg_home(pg_server_url: str) -> Iterator[str | None]:
    with fresh_pg_schema(pg_server_url) as url:
        yield url


@pytest.mark.parametrize("run", range(SQLITE_RUNS))
def test_sqlite_home_killed_again_and_again(run: int, tmp_path: Path) -> None:
    killed_again_and_again("sqlite", run, tmp_path, None)


@pytest.mark.postgres
@pytest.mark.parametrize("run", range(PG_RUNS))
def test_postgresql_home_killed_again_and_again(run: int, tmp_path: Path, pg_home: str) -> None:
    killed_again_and_again("postgresql", run, tmp_path, pg_home)


def killed_again_and_again(backend: str, run: int, tmp_path: Path, url: str | None) -> None:
    """Set a home up, then kill its writer KILLS times, alternating the ingesting process
    and the server (which first depends on the run), checking everything after each."""
    counts = tally(backend)
    home = set_up(tmp_path / "home", url, rng_for("crash", backend, run))
    kinds = ("ingest", "serve") if run % 2 == 0 else ("serve", "ingest")
    for kill in range(KILLS):
        kind = kinds[kill % 2]
        if kind == "ingest":
            ingest_until_killed(home, counts)
        else:
            serve_until_killed(home, counts)
        check_restarted(home, counts)
    counts.runs += 1
    print(f"{backend} run {run}: {len(home.acked.forms)} acknowledged, {len(home.stored)} logged")


def set_up(path: Path, url: str | None, rng: random.Random) -> Home:
    return Home(initialised(path, url, PLAN), url, rng)


def check_restarted(home: Home, counts: Tally) -> None:
    """Count what an acknowledged form missing from the store would be (it must be none),
    then hold the home to everything in checks.py."""
    writer = LedgerWriter.open(home.settings)
    try:
        with writer.read() as reader:
            home.stored = {row.form_id for row in reader.forms("synthetic")}
    finally:
        writer.close()
    lost = set(home.acked.forms) - home.stored
    counts.lost += len(lost)
    assert not lost, f"{len(lost)} acknowledged forms lost (seed {SEED})"
    home.last = check_home(home.settings, home.acked, home.last)


def ingest_until_killed(home: Home, counts: Tally) -> None:
    """Run the ingesting process on the pending forms and SIGKILL it a random moment after
    it is ready (in batches of a random size, so the kill lands on commits of all sizes)."""
    pending = home.pending()
    (home.settings.home / "pending.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in pending)
    )
    size = home.rng.randint(1, 60)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home.settings.home), home.url or "", str(size)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    ready = threading.Event()
    reader = threading.Thread(target=_read_child, args=(child, home, pending, counts, ready))
    reader.start()
    assert ready.wait(60), "the ingesting process never started"
    time.sleep(home.rng.uniform(*INGEST_DELAY))
    child.send_signal(signal.SIGKILL)  # if it has finished already, this kills nothing
    child.wait()
    reader.join()
    if child.returncode == -signal.SIGKILL:
        counts.killed("ingesting process")
    else:
        assert child.returncode == 0, "the ingesting process failed before it was killed"


def _read_child(
    child: subprocess.Popen, home: Home, pending: list[dict[str, Any]], counts: Tally, ready: Any
) -> None:
    """What the child says: ready, how many it sends, each receipt once committed. A line
    cut short by the kill was not an acknowledgement."""
    for line in child.stdout:  # type: ignore[union-attr]
        word = line.strip()
        if word == "ready":
            ready.set()
        elif word.startswith("sending "):
            counts.inputs += int(word.split()[1])
        elif word.startswith("{"):
            try:
                said = json.loads(word)
            except json.JSONDecodeError:
                continue
            home.take(pending[said["at"]], said["receipt"])
            counts.acknowledged += 1
    ready.set()


def serve_until_killed(home: Home, counts: Tally) -> None:
    """Start the server, let CLIENTS threads post the pending forms one a request, and
    SIGKILL its process group (workers and committer) a random moment after they start.
    A form answered 200 or 201 was acknowledged; any other answer, or none, was not."""
    server = Server(home.settings.home, database_url=home.url, args=("--workers", "2")).start()
    pending = home.pending()
    stop = threading.Event()
    lock = threading.Lock()

    def post(share: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for envelope in share:
                if stop.is_set():
                    return
                with lock:
                    counts.inputs += 1
                try:
                    answer = http.post("/v1/forms", json=envelope)
                except httpx.HTTPError:
                    return  # the server died under it: no promise was made
                if answer.status_code in (200, 201):
                    with lock:
                        home.take(envelope, answer.json()["receipt"])
                        counts.acknowledged += 1

    shares = [pending[i::CLIENTS] for i in range(CLIENTS)]
    delay = home.rng.uniform(*SERVE_DELAY)
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            posting = [pool.submit(post, share) for share in shares]
            time.sleep(delay)
            server.kill()
            stop.set()
            for done in posting:
                done.result()
    finally:
        server.stop(kill=True)
    counts.killed("server")
