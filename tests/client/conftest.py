"""Fixtures for the field client: the test election's log answering in this process behind an
httpx transport, with faults on demand (no answer, a lost answer, a crash of the client, a
forged receipt ...); and the real server as a subprocess on a loopback port, behind a relay
that can cut a request in flight."""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyproof.client.outbox import Outbox
from tallyproof.ledger.entries import EntryKind, read_envelope, sign
from tallyproof.ledger.keys import PublicKey, Signer
from tallyproof.ledger.note import Checkpoint
from tallyproof.ledger.receipts import Receipt
from tallyproof.service import submission
from tallyproof.service.log import LogView
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.database import Store
from tests.helpers import ElectionFixture, counter_clock, form_doc, make_election
from tests.serving import Server

SERVER = "http://log.test"


class Crash(BaseException):
    """Raised by the transport: the client process dies where it stands."""


def device_forms(stations: int) -> list[dict[str, Any]]:
    """One presiding officer's form per station and contest: every one acceptable."""
    forms = []
    for i in range(1, stations + 1):
        forms.append(form_doc(f"S{i}", votes=(300 + i % 100, 200, 100)))
        forms.append(form_doc(f"S{i}", votes=(150, 100 + i % 100), contest="PP-1"))
    return forms


def register_device(election: ElectionFixture, stations: int) -> Signer:
    return election.register(
        "po/device", "presiding_officer", stations=[f"S{i}" for i in range(1, stations + 1)]
    )


def logged_forms(store: Store) -> Counter[str]:
    """How many times each form's id is in the log (a form counted twice shows 2)."""
    with store.read() as reader:
        return Counter(r.entry_id for r in reader.entries(0, None) if r.kind == "form")


Fault = Callable[["FieldLog", list[Any]], httpx.Response]


@dataclass
class FieldLog:
    """The test election's log answering `POST /v1/forms`, the latest checkpoint and
    consistency proofs from this process, through the service (not the HTTP layer), so a
    test can script what goes wrong with each request: `faults` are taken one per POST."""

    election: ElectionFixture
    device: Signer
    faults: list[str | Fault] = field(default_factory=list)
    posted: list[list[str]] = field(default_factory=list)  # the ids each POST carried
    latest: str | None = None  # a checkpoint note to answer as the newest, instead of the log's

    @property
    def log_key(self) -> PublicKey:
        return self.election.ctx.log_key

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=SERVER, transport=httpx.MockTransport(self.handle))

    def outbox(self, directory: Path) -> Outbox:
        key_file = directory / "device.key"
        return Outbox.create(directory, SERVER, self.log_key, self.device, key_file)

    def signed(self, doc: dict[str, Any], key: Signer | None = None) -> Any:
        return sign(EntryKind.FORM, doc, key or self.device)

    def logged(self) -> Counter[str]:
        return logged_forms(self.election.ctx.store)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/forms":
            return self._post(json.loads(request.content)["forms"])
        if request.url.path == "/v1/checkpoints/latest":
            note = self.latest or LogView(self.election.ctx.store).checkpoint().note
            return httpx.Response(200, json={"checkpoint": note})
        if request.url.path == "/v1/proofs/consistency":
            first, second = (int(request.url.params[k]) for k in ("first", "second"))
            proof = LogView(self.election.ctx.store).consistency(first, second).proof
            return httpx.Response(200, json={"consistency_proof": [_b64(h) for h in proof]})
        return httpx.Response(404, json={"code": "request.not_found"})

    def _post(self, forms: list[Any]) -> httpx.Response:
        self.posted.append([sign_id(f) for f in forms])
        fault = self.faults.pop(0) if self.faults else None
        if callable(fault):
            return fault(self, forms)
        if fault in BEFORE:
            return BEFORE[fault]()
        answer = self.commit(forms)
        if fault in AFTER:
            AFTER[fault]()
        return httpx.Response(200, json=answer)

    def commit(self, forms: list[Any]) -> dict[str, Any]:
        """What the API answers a batch with (api/writes.py)."""
        outcomes = submission.submit_forms(self.election.ctx, forms)
        return {
            "accepted": sum(1 for o in outcomes if o.accepted and not o.duplicate),
            "duplicates": sum(1 for o in outcomes if o.duplicate),
            "refused": sum(1 for o in outcomes if not o.accepted),
            "outcomes": [o.as_dict() for o in outcomes],
        }


def sign_id(envelope: Any) -> str:
    return read_envelope(envelope, EntryKind.FORM).body_id


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _problem(status: int, code: str, **headers: str) -> httpx.Response:
    doc = {"type": f"urn:tallyproof:rule:{code}", "status": status, "code": code, "detail": code}
    return httpx.Response(status, json=doc, headers=headers)


def _raise(error: BaseException) -> Callable[[], httpx.Response]:
    def fail() -> httpx.Response:
        raise error

    return fail


BEFORE: dict[str, Callable[[], httpx.Response]] = {  # nothing committed
    "down": _raise(httpx.ConnectError("connection refused")),
    "slow": _raise(httpx.ReadTimeout("timed out")),
    "crash": _raise(Crash()),
    "503": lambda: _problem(503, "service.closing"),
    "500": lambda: _problem(500, "service.internal"),
    "429": lambda: _problem(429, "request.rate_limited", **{"Retry-After": "7"}),
    "413": lambda: _problem(413, "request.too_large"),
    "400": lambda: _problem(400, "request.invalid"),
    "portal": lambda: httpx.Response(200, text="<html>Sign in to the network</html>"),
    "redirect": lambda: httpx.Response(302, headers={"location": "http://portal.test/"}),
}
AFTER: dict[str, Callable[[], None]] = {  # committed, and the answer never arrives
    "lost": _raise(httpx.RemoteProtocolError("server disconnected without a response")),
    "crash_after": _raise(Crash()),
}


def forged(change: Callable[[dict[str, Any], FieldLog], None]) -> Fault:
    """A fault that commits the batch and then alters each receipt of the answer."""

    def fault(log: FieldLog, forms: list[Any]) -> httpx.Response:
        answer = log.commit(forms)
        for outcome in answer["outcomes"]:
            if "receipt" in outcome:
                change(outcome["receipt"], log)
        return httpx.Response(200, json=answer)

    return fault


def resign_checkpoint(receipt: dict[str, Any], signer: Signer) -> None:
    """The receipt's checkpoint, same tree, signed by `signer` under the log's name."""
    text = receipt["checkpoint"].split("\n\n")[0] + "\n"
    receipt["checkpoint"] = Checkpoint.parse(text).sign(signer)


class FakeClock:
    """Time that passes only when the code under test sleeps; every sleep is kept."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="session")
def election_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test election with the device's key, built once; each test logs into a copy."""
    home = tmp_path_factory.mktemp("election") / "home"
    election = make_election(home, stations=4)
    register_device(election, 4)
    election.ctx.close()
    return home


def open_copy(template: Path, home: Path) -> FieldLog:
    """A log of its own on a copy of the template election."""
    shutil.copytree(template, home)
    writer = LedgerWriter.open(Settings.at(home, verify_workers=1), clock=counter_clock())
    election = ElectionFixture(writer, Signer.from_seed_text("test/admin", "test:admin"))
    return FieldLog(election, Signer.from_seed_text("po/device", "test:po/device"))


@pytest.fixture
def field_log(election_home: Path, tmp_path: Path) -> Iterator[FieldLog]:
    log = open_copy(election_home, tmp_path / "home")
    yield log
    log.election.ctx.close()


# --- the real server ------------------------------------------------------------------------


class Relay:
    """A TCP relay from the client to the server that can cut a request in flight: when the
    answer to the n-th `POST /v1/forms` that reached the server starts to come back, it runs
    `cut[n]` (kill the server, kill the client) and drops the answer. Requests that cannot
    reach the server are closed at once, as a dead server's are."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.cut: dict[int, Callable[[], None]] = {}
        self.posts = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        current = [0]  # the POST this connection carries now
        threading.Thread(target=self._up, args=(client, server, current), daemon=True).start()
        self._down(server, client, current)

    def _up(self, client: socket.socket, server: socket.socket, current: list[int]) -> None:
        for chunk in _chunks(client):
            if chunk.startswith(b"POST /v1/forms"):
                with self._lock:
                    self.posts += 1
                    current[0] = self.posts
            if not _send(server, chunk):
                break
        _close(client, server)

    def _down(self, server: socket.socket, client: socket.socket, current: list[int]) -> None:
        for chunk in _chunks(server):
            with self._lock:
                cut = self.cut.pop(current[0], None)
            if cut is not None:
                cut()
                break
            if not _send(client, chunk):
                break
        _close(client, server)


def _chunks(sock: socket.socket) -> Iterator[bytes]:
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except OSError:
            return
        if not chunk:
            return
        yield chunk


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


@dataclass
class Served:
    """A home with the test election, its log's published key, a device key registered for
    every station, the server (not started) and a relay in front of it."""

    home: Path
    log_vkey: str
    device_key: Path
    stations: int
    server: Server
    relay: Relay

    @property
    def database_url(self) -> str:
        return Settings.at(self.home).database_url


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    stations = 100
    home = tmp_path / "home"
    election = make_election(home, stations=stations)
    device = register_device(election, stations)
    log_vkey = election.ctx.log_key.vkey
    election.ctx.close()
    key_file = tmp_path / "device.key"
    key_file.write_text(device.private_text() + "\n")
    server = Server(home, log=tmp_path / "serve.log")
    relay = Relay(server.port)
    yield Served(home, log_vkey, key_file, stations, server, relay)
    server.kill()
    relay.close()


def verify_kept(outbox: Outbox, log_key: PublicKey) -> int:
    """Every receipt the outbox kept verifies against the log's key and its form."""
    kept = [k for k in outbox.forms() if k.receipt is not None]
    for k in kept:
        Receipt.from_dict(k.receipt).verify(log_key, k.signed())
    return len(kept)
