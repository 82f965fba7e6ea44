"""A witness written by someone else cosigns tallyproof's checkpoints: aics-witness 0.1.0 with
aics-tlog 0.2.1 (PyPI, Apache-2.0, github.com/petros-poli/AICS-public), an independent
Python implementation of C2SP tlog-witness, run as its own `aics-witness serve` process
beside our `tallyproof witness serve`. Our collector sends both the same checkpoints of a
real log, round after round; both must cosign each, the cosignatures must verify with our
code, and both must refuse a fork signed by the log's own key.

aics declares Python >= 3.12 but runs on 3.11; it lives in a venv of its own (its
dependencies must not meet the project's), which `make test` makes in var/interop/aics.
Without that venv the test is skipped, unless TALLYPROOF_REQUIRE_INTEROP=1 (as in CI: then
it fails)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tallyproof.api.witnessing import collect_once
from tallyproof.ledger.cosignature import (
    AddCheckpoint,
    Witness,
    WitnessKey,
    WitnessPolicy,
    cosignatures_on,
    split_note,
)
from tallyproof.ledger.note import Checkpoint
from tallyproof.service.settings import Settings
from tallyproof.service.witnessing import cosigned_note, write_policy
from tallyproof.store import witnesses as rows
from tallyproof.store.database import Store
from tests.helpers import form_doc, make_election
from tests.serving import free_port, stop_group
from tests.witnessing import WitnessServer

REPO = Path(__file__).resolve().parents[2]
AICS_VENV = REPO / "var" / "interop" / "aics"
AICS = AICS_VENV / "bin" / "aics-witness"
AICS_NAME = "interop.example/aics-witness"
D = "\u2014"


@pytest.fixture
def aics_command() -> Path:
    if not AICS.exists():
        why = (
            f"aics-witness is not installed in {AICS_VENV.relative_to(REPO)} "
            "(`make var/interop/aics/bin/aics-witness` installs it; `make test` does)"
        )
        if os.environ.get("TALLYPROOF_REQUIRE_INTEROP") == "1":
            pytest.fail(f"TALLYPROOF_REQUIRE_INTEROP=1 but {why}")
        pytest.skip(why)
    return AICS


@dataclass
class AicsWitness:
    """`aics-witness serve` on loopback with its own config, key and database in `home`."""

    command: Path
    home: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    vkey: str = ""

    @property
    def config(self) -> Path:
        return self.home / "witness.json"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("WITNESS_SEED_HEX",)}
        done = subprocess.run(
            [str(self.command), *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def setup(self, origin: str, log_vkey: str) -> None:
        self.home.mkdir(parents=True)
        # init prints the witness vkey (cosignature/v1, type 0x04) on stdout, the line to publish
        self.vkey = self.run(
            "init", "--name", AICS_NAME, "--listen", f"127.0.0.1:{self.port}"
        ).strip()
        self.run("add-log", "--origin", origin, "--vkey", log_vkey)

    def status(self) -> dict:
        return json.loads(self.run("status", "--json"))

    def evidence(self) -> list[dict]:
        return json.loads(self.run("evidence"))

    def start(self, timeout: float = 30.0) -> None:
        log = (self.home / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.command), "serve", "--config", str(self.config), "--log-level", "WARNING"],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"aics-witness exited: {(self.home / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError(f"no aics-witness on {self.url}")

    def stop(self) -> None:
        stop_group(self.process)


@pytest.fixture
def witnesses(aics_command: Path, tmp_path: Path) -> Iterator[tuple]:
    """A tallyproof log with entries, an aics witness and a tallyproof witness following it."""
    election = make_election(tmp_path / "log")
    log = election.ctx.log
    aics = AicsWitness(aics_command, tmp_path / "aics")
    ours = WitnessServer(tmp_path / "ours", "interop.example/tallyproof-witness", log.public.vkey)
    try:
        aics.setup(log.name, log.public.vkey)
        aics.start()
        ours.start()
        yield election, aics, ours
    finally:
        aics.stop()
        ours.stop()
        election.ctx.close()


def cosignatures_kept(settings: Settings, size: int) -> tuple[str, list[rows.CosignatureRow]]:
    store = Store(settings.database_url)
    try:
        with store.read() as reader:
            note = reader.checkpoint(size).note
            return note, rows.cosignatures(reader, [size])[size]
    finally:
        store.close()


def test_aics_witness_and_ours_cosign_the_same_checkpoints_round_after_round(witnesses):
    election, aics, ours = witnesses
    settings = election.ctx.settings
    aics_key = WitnessKey.from_vkey(aics.vkey)  # aics publishes a 0x04 vkey, read as is
    assert aics_key.name == AICS_NAME
    assert aics.status()["witness"]["vkey"] == aics.vkey
    policy = WitnessPolicy((Witness(aics_key, aics.url), ours.witness), quorum=2)
    write_policy(settings, policy)

    sizes = []
    stations = iter(["S1", "S2", "S3", "S4"])
    for round_number in range(4):
        if round_number:  # the log grows between rounds: forms from another station
            station = next(stations)
            outcomes = election.submit(
                form_doc(station), form_doc(station, contest="PP-1", votes=(400, 300))
            )
            assert all(o.accepted for o in outcomes), outcomes
        done = asyncio.run(collect_once(settings, policy, timeout=20))
        assert done.tree_size is not None
        asked = {a.witness: a for a in done.asked}
        assert set(asked) == {AICS_NAME, ours.name}, done
        assert all(a.cosigned and a.tree_size == done.tree_size for a in asked.values()), done
        assert done.witnessed == done.tree_size
        sizes.append(done.tree_size)

        # both cosignatures were kept, and verify with our code on the log's checkpoint
        note, kept = cosignatures_kept(settings, done.tree_size)
        assert {r.witness for r in kept} == {AICS_NAME, ours.name}
        witnessed = policy.check(cosigned_note(note, kept))
        assert witnessed.holds and witnessed.size == done.tree_size
        assert {c.witness for c in witnessed.cosigned} == {AICS_NAME, ours.name}

        # each witness now holds this size (so the next round's old size is this one)
        (log_state,) = aics.status()["logs"]
        assert log_state["size"] == done.tree_size
        origin_hash = hashlib.sha256(election.ctx.origin.encode()).hexdigest()
        for url, key in ((aics.url, aics_key), (ours.url, ours.key)):
            served = httpx.get(f"{url}/{origin_hash}/checkpoint", timeout=10)
            assert served.status_code == 200, served.text
            assert Checkpoint.open(served.text, election.ctx.log_key).size == done.tree_size
            (cosignature,) = cosignatures_on(served.text, [key])
            assert cosignature.line in {r.line for r in kept}

        # nothing left to ask: a second round asks no one
        again = asyncio.run(collect_once(settings, policy, timeout=20))
        assert again.asked == () and again.witnessed == done.tree_size

    assert sizes == sorted(set(sizes)) and len(sizes) == 4  # every round a larger tree
    assert aics.evidence() == []


def post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{url}/add-checkpoint", content=body, timeout=20)


def test_aics_witness_and_ours_refuse_a_fork_signed_by_the_log(witnesses):
    election, aics, ours = witnesses
    settings = election.ctx.settings
    aics_key = WitnessKey.from_vkey(aics.vkey)
    policy = WitnessPolicy((Witness(aics_key, aics.url), ours.witness), quorum=2)
    done = asyncio.run(collect_once(settings, policy, timeout=20))
    assert done.witnessed == done.tree_size is not None
    size = done.tree_size
    log = election.ctx.log
    honest = Checkpoint.parse(split_note(cosignatures_kept(settings, size)[0])[0])

    # the log's key signs another tree of the same size: a split view
    fork = Checkpoint(honest.origin, size, hashlib.sha256(b"another history").digest())
    forked = fork.sign(log)
    answers = {
        name: post(url, AddCheckpoint(size, (), forked).body())
        for name, url in (("aics", aics.url), ("ours", ours.url))
    }
    assert answers["aics"].status_code == 422, answers["aics"].text
    assert answers["ours"].status_code == 422, answers["ours"].text
    # both keep the request as evidence of the log's misbehaviour
    (kept,) = aics.evidence()
    assert kept["old_size"] == size and forked in kept["request"]

    # from an old size they no longer hold, both answer 409 with their size instead
    stale = AddCheckpoint(0, (), forked).body()
    for url in (aics.url, ours.url):
        answer = post(url, stale)
        assert (answer.status_code, answer.content) == (409, f"{size}\n".encode())

    # the honest checkpoint is still the one both witnesses hold
    assert aics.status()["logs"][0]["size"] == size
    for url in (aics.url, ours.url):
        replay = post(url, AddCheckpoint(size, (), honest.sign(log)).body())
        assert replay.status_code == 200, replay.text


def test_aics_and_ours_refuse_a_bad_line_after_the_logs_signature_alike(witnesses):
    """After the log's valid signature, a failing second signature by the same key, or a
    line that is not base64: both witnesses refuse the note (403, 400; C2SP signed-note says
    a client SHOULD reject a note whose known key's signature fails)."""
    election, aics, ours = witnesses
    settings = election.ctx.settings
    policy = WitnessPolicy((Witness(WitnessKey.from_vkey(aics.vkey), aics.url), ours.witness), 2)
    size = asyncio.run(collect_once(settings, policy, timeout=20)).tree_size
    note = cosignatures_kept(settings, size)[0]
    name, encoded = split_note(note)[1][0][2:].rstrip("\n").split(" ")
    blob = bytearray(base64.b64decode(encoded))
    blob[10] ^= 1
    lines = {
        "failing second signature": f"{D} {name} {base64.b64encode(bytes(blob)).decode()}\n",
        "not base64": f"{D} {name} DEADB\n",
    }
    statuses = {}
    for what, extra in lines.items():
        body = AddCheckpoint(size, (), note + extra).body()  # the size both witnesses hold
        statuses[what] = (post(aics.url, body).status_code, post(ours.url, body).status_code)
    assert statuses == {"failing second signature": (403, 403), "not base64": (400, 400)}
