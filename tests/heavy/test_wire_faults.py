"""Faults on the wire: the field client (the real `Sync`, in a thread of this process) sends
400 signed forms through a fault-injecting TCP proxy to a real `tallyproof serve`, while
the test SIGKILLs the server (at random moments, and at the worst one: its answer to a
committed batch on its way back) and restarts it, freezes it (SIGSTOP) for longer than the
client waits, slows every answer, and the proxy delays, cuts off half way, and resets
connections at set rates.

In the end nothing is lost and nothing counted twice: the outbox is empty, every form is in
the log exactly once at the index its receipt names, every receipt verifies with the log's
published key and the log's newest tree still extends it, and the contests add up to the
forms sent, once each. On SQLite, and on PostgreSQL when the suite has a server."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyproof.client.outbox import Outbox, State, signed_form
from tallyproof.client.sync import (
    RetryPolicy,
    Sync,
    SyncOptions,
    SyncReport,
    check_log,
    http_client,
)
from tallyproof.ledger.keys import PublicKey, Signer
from tallyproof.ledger.receipts import Receipt
from tallyproof.service.settings import Settings
from tallyproof.store.database import Store
from tests.client.conftest import device_forms, register_device
from tests.heavy.tally import rng_for, tally
from tests.heavy.wire import FaultProxy, FaultRates, wait_for
from tests.helpers import ELECTION, make_election
from tests.serving import Server

STATIONS = 200  # two forms a station: 400 forms
RATES = FaultRates(delay=0.10, drop=0.12, reset=0.06, delay_seconds=(0.2, 1.2))
OPTIONS = SyncOptions(
    batch_size=5,  # 80 batches at least: room for every fault to land on a live batch,
    # however quickly the server answers between them (at 10, a quiet machine finished first)
    max_wait=600.0,
    timeout=3.0,  # a SIGSTOP of 1-5 s outlasts it about half the time
    policy=RetryPolicy(base=0.05, cap=0.5),
)
# the schedule of server faults, shuffled by the seed; each strikes a few requests after the
# one before
ACTIONS = ("kill_in_flight",) * 3 + ("kill",) * 3 + ("stall",) * 3 + ("slow",) * 2
MIN_KILLS = 5  # of the six: a kill in flight may miss if the client ends first


@dataclass
class Rig:
    """A home with the test election and a device key registered for every station, the
    server on it (its store SQLite or PostgreSQL), the proxy in front, and the device's
    outbox holding every form, signed, none sent."""

    backend: str
    home: Path
    database_url: str
    server: Server
    proxy: FaultProxy
    device_dir: Path
    log_key: PublicKey
    forms: list[dict[str, Any]]


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    home = tmp_path / "home"
    election = make_election(home, url, stations=STATIONS)
    device = register_device(election, STATIONS)
    log_key = election.ctx.log_key
    election.ctx.close()
    server = Server(home, database_url=url, args=("--workers", "2"), log=tmp_path / "serve.log")
    proxy = FaultProxy(server.port, RATES, seed=rng_for("wire", request.param).randrange(1 << 32))
    forms = device_forms(STATIONS)
    device_dir = tmp_path / "device"
    fill_outbox(device_dir, proxy.url, log_key, device, forms)
    try:
        database_url = url or Settings.at(home).database_url
        yield Rig(request.param, home, database_url, server, proxy, device_dir, log_key, forms)
    finally:
        server.kill()
        proxy.close()


def fill_outbox(
    directory: Path, server: str, log_key: PublicKey, device: Signer, forms: list[dict]
) -> None:
    """What `field init` and `field sign` do: the device's forms, signed and kept."""
    key_file = directory.parent / "device.key"
    key_file.write_text(device.private_text() + "\n")
    outbox = Outbox.create(directory, server, log_key, device, key_file)
    try:
        assert all(outbox.add([signed_form(d, device) for d in forms], time.time()))
    finally:
        outbox.close()


# --- the client ------------------------------------------------------------------------------


class Client(threading.Thread):
    """One `field sync` run in a thread of this process, on its own outbox connection."""

    def __init__(self, directory: Path, rng: random.Random) -> None:
        super().__init__(name="field-sync", daemon=True)
        self.directory, self.rng = directory, rng
        self.report: SyncReport | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            outbox = Outbox.open(self.directory)
            try:
                with http_client(outbox.device().server, OPTIONS.timeout) as http:
                    sync = Sync(outbox, http, OPTIONS, rng=self.rng)
                    self.report = sync.run()
            finally:
                outbox.close()
        except BaseException as error:  # re-raised in the test's thread
            self.error = error


# --- the server's faults ---------------------------------------------------------------------


@dataclass
class Chaos:
    """What the test does to the server while the client sends, and how often it did it."""

    server: Server
    proxy: FaultProxy
    client: Client
    rng: random.Random
    counts: Counter[str] = field(default_factory=Counter)

    def run(self, actions: tuple[str, ...]) -> None:
        """Each action a few targeted requests after the last, until the client is done."""
        plan = list(actions)
        self.rng.shuffle(plan)
        for name in plan:
            mark = self.proxy.requests + self.rng.randint(1, 3)
            if not wait_for(lambda m=mark: self.proxy.requests >= m or not self.live, 120):
                raise AssertionError(f"the client stopped sending at request {mark}")
            if not self.live:
                return
            getattr(self, name)()

    @property
    def live(self) -> bool:
        return self.client.is_alive()

    def kill(self) -> None:
        """SIGKILL at whatever moment this is: a power cut, then back after a while."""
        self.server.kill()
        self.counts["kills"] += 1
        self.restart()

    def kill_in_flight(self) -> None:
        """SIGKILL as the answer to the next batch starts back: committed, never told."""
        killed = threading.Event()
        mark = self.proxy.requests + 1

        def hook() -> None:
            self.server.kill()
            killed.set()

        self.proxy.cut[mark] = hook
        if not wait_for(lambda: killed.is_set() or not self.live, 120):
            raise AssertionError(f"request {mark} never reached the server")
        if self.proxy.cut.pop(mark, None) is None:
            killed.wait(30)
            self.counts["kills"] += 1
            self.counts["kills_in_flight"] += 1
            self.restart()

    def restart(self) -> None:
        time.sleep(self.rng.uniform(0.2, 2.0))  # down for a while: the client retries
        self.server.start()
        self.counts["restarts"] += 1

    def stall(self) -> None:
        """SIGSTOP the server's processes for 1-5 s: connections are accepted by the kernel
        and nothing answers; the client's 3 s timeout may or may not run out."""
        assert self.server.process is not None
        group = self.server.process.pid
        os.killpg(group, signal.SIGSTOP)
        try:
            time.sleep(self.rng.uniform(1.0, 5.0))
        finally:
            os.killpg(group, signal.SIGCONT)
        self.counts["stalls"] += 1

    def slow(self) -> None:
        """Every answer held back 0.5-1.5 s for the next few batches."""
        self.proxy.slow = self.rng.uniform(0.5, 1.5)
        mark = self.proxy.requests + 4
        wait_for(lambda: self.proxy.requests >= mark or not self.live, 60)
        self.proxy.slow = 0.0
        self.counts["slow_phases"] += 1


# --- the test --------------------------------------------------------------------------------


def test_forms_through_a_faulty_wire_land_once_each(rig: Rig) -> None:
    began = time.monotonic()
    rig.server.start()
    client = Client(rig.device_dir, rng_for("wire", rig.backend, "client"))
    client.start()
    chaos = Chaos(rig.server, rig.proxy, client, rng_for("wire", rig.backend, "chaos"))
    chaos.run(ACTIONS)
    client.join(OPTIONS.max_wait or 600)
    assert not client.is_alive(), "the client did not finish"
    if client.error is not None:
        raise client.error
    assert client.report is not None
    rig.proxy.enabled = False  # the faults are over: now look at what is left
    figures = measure(rig, client.report, chaos.counts, time.monotonic() - began)
    print_figures(figures)
    count_in_the_suite(rig, figures)
    assert figures["lost"] == 0 and figures["counted twice"] == 0, figures
    check_receipts(rig)
    check_tree_extends_receipts(rig)
    check_totals(rig)
    assert chaos.counts["kills"] >= MIN_KILLS, chaos.counts
    assert chaos.counts["stalls"] == ACTIONS.count("stall"), chaos.counts
    cut_off = figures["dropped mid-answer"] + figures["reset before the answer"]
    assert cut_off + figures["  of which with an answer in flight"] >= 5, figures
    assert figures["duplicates answered 200"] >= 1  # a lost answer's forms: the log's own


def measure(rig: Rig, report: SyncReport, counts: Counter[str], seconds: float) -> dict[str, Any]:
    """The run's figures: what was done to the wire and the server, what the client did,
    and what is lost (a form not accepted, or accepted but not in the log) or counted twice
    (a form at two leaves of the log)."""
    kept = outbox_forms(rig.device_dir)
    logged = logged_form_indexes(rig.database_url)
    accepted = {k.entry_id for k in kept if k.state is State.ACCEPTED}
    proxy = rig.proxy.snapshot()
    assert report.remaining == 0 and not report.unverified and not report.refused, report
    assert set(logged) <= {k.entry_id for k in kept}, "the log holds a form nobody sent"
    return {
        "store": rig.database_url.split(":", 1)[0],
        "forms": len(rig.forms),
        "kills (SIGKILL)": counts["kills"],
        "  of which with an answer in flight": counts["kills_in_flight"],
        "restarts": counts["restarts"],
        "stalls (SIGSTOP 1-5 s)": counts["stalls"],
        "slow phases": counts["slow_phases"],
        "POST /v1/forms through the proxy": proxy.get("requests", 0),
        "dropped mid-answer": proxy.get("drop", 0),
        "reset before the answer": proxy.get("reset", 0),
        "answers delayed": proxy.get("delay", 0) + proxy.get("slowed", 0),
        "connections refused (server down)": proxy.get("unreachable", 0),
        "client requests": report.requests,
        "retries (requests without an answer)": report.misses,
        "duplicates answered 200": sum(k.duplicate for k in kept),
        "lost": len(rig.forms) - len(accepted & set(logged)),
        "counted twice": sum(1 for seqs in logged.values() if len(seqs) > 1),
        "seconds": round(seconds, 1),
    }


def print_figures(figures: dict[str, Any]) -> None:
    print("\nwire faults:")
    for label, value in figures.items():
        print(f"  {label:<40} {value}")


def count_in_the_suite(rig: Rig, figures: dict[str, Any]) -> None:
    """Add this run to the suite's closing counts (tests/heavy/tally.py)."""
    counts = tally(f"wire faults ({rig.backend})")
    counts.runs += 1
    counts.killed("server", figures["kills (SIGKILL)"])
    counts.inputs += figures["forms"]
    counts.acknowledged += figures["forms"] - figures["lost"]
    counts.lost += figures["lost"]


def check_receipts(rig: Rig) -> None:
    """Every form's receipt verifies with the log's published key (its checkpoint, its
    inclusion proof, its leaf: this form as signed) and names the one leaf the form is at."""
    logged = logged_form_indexes(rig.database_url)
    kept = outbox_forms(rig.device_dir)
    assert len(kept) == len(rig.forms)
    for k in kept:
        receipt = Receipt.from_dict(k.receipt or {})
        receipt.verify(rig.log_key, k.signed())
        assert receipt.entry_id == k.entry_id and logged[k.entry_id] == [receipt.leaf_index]


def outbox_forms(directory: Path) -> list[Any]:
    outbox = Outbox.open(directory)
    try:
        return outbox.forms()
    finally:
        outbox.close()


def logged_form_indexes(database_url: str) -> dict[str, list[int]]:
    """Each form's id in the log, with every leaf index it holds (two: counted twice)."""
    store = Store(database_url)
    try:
        with store.read() as reader:
            found: dict[str, list[int]] = {}
            for row in reader.entries(0, None, with_data=False):
                if row.kind == "form":
                    found.setdefault(row.entry_id, []).append(row.seq)
            return found
    finally:
        store.close()


def check_tree_extends_receipts(rig: Rig) -> None:
    """`field sync --check`: the log's newest tree, signed by its key, extends every tree
    size the device holds a receipt of; after the SIGKILLs nothing acknowledged was lost."""
    outbox = Outbox.open(rig.device_dir)
    try:
        with http_client(rig.proxy.url, 30.0) as http:
            log = check_log(outbox, http)
    finally:
        outbox.close()
    assert not log.unreachable and not log.problems, (log.unreachable, log.problems)
    assert log.receipts == len(rig.forms) and log.sizes >= 1


def check_totals(rig: Rig) -> None:
    """The log's results are the sum of the forms sent, once each, and every station in."""
    expected: dict[str, Counter[str]] = {}
    for doc in rig.forms:
        expected.setdefault(doc["contest"], Counter()).update(doc["votes"])
    with httpx.Client(base_url=rig.server.url, timeout=30) as http:
        for contest, votes in expected.items():
            answer = http.get(f"/v1/elections/{ELECTION}/contests/{contest}")
            assert answer.status_code == 200, answer.text
            computed = answer.json()["contest"]["computed"]
            assert computed["votes"] == dict(votes), contest
            assert computed["stations_reported"] == STATIONS, contest
