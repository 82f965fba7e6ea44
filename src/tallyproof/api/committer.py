"""The committer: one process per machine that holds the writer (its lock, the log's key, the
ledger state) and the group commit, apart from the HTTP workers. Workers read requests,
verify signatures and encode leaves on every core, and hand the prepared documents to it over
a Unix socket; it judges them against the ledger, commits whatever is waiting as one
transaction, and answers each worker with its outcomes once they are durable. It also tells
every worker of each commit, so their feeds wake at once."""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from tallyproof.ledger.entries import EntryKind
from tallyproof.service.intake import Intake
from tallyproof.service.outcomes import Outcome
from tallyproof.service.settings import Settings
from tallyproof.service.state import StoreInconsistent
from tallyproof.service.writer import LedgerWriter


class CommitFailed(RuntimeError):  # noqa: N818 - reported as 503 with its code
    """The committer could not log a group (the store refused the transaction), or is gone;
    nothing in that group was acknowledged, and sending it again is safe."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class Address:
    """Where the committer listens, and the key a worker proves itself with."""

    path: str
    authkey: str  # hex

    @classmethod
    def fresh(cls) -> Address:
        folder = tempfile.mkdtemp(prefix="tallyproof-")
        return cls(str(Path(folder) / "committer.sock"), secrets.token_hex(16))


# --- the committer's side ---------------------------------------------------------------


class _Peer:
    """One connected worker: answers and commit notices go out under one lock."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self.lock, contextlib.suppress(OSError, ValueError):
            self.conn.send(message)


class CommitterServer:
    def __init__(self, settings: Settings, address: Address) -> None:
        self.writer = LedgerWriter.open(settings)
        self.peers: list[_Peer] = []
        self.intake = Intake(self.writer, on_commit=self._committed)
        self.listener = Listener(address.path, "AF_UNIX", authkey=bytes.fromhex(address.authkey))

    def serve_forever(self) -> None:
        while True:
            try:
                conn = self.listener.accept()
            except (OSError, EOFError, multiprocessing.AuthenticationError):
                continue
            peer = _Peer(conn)
            peer.send(("hello", self.writer.origin, self.writer.log_key.vkey))
            self.peers.append(peer)
            threading.Thread(target=self._serve, args=(peer,), daemon=True).start()

    def _serve(self, peer: _Peer) -> None:
        """Each request: (id, kind, documents); each answer: (id, outcomes) or (id, error)."""
        while True:
            try:
                request_id, kind, items = peer.conn.recv()
            except (EOFError, OSError):
                self.peers.remove(peer)
                return
            done = self.intake.submit(EntryKind(kind), items)
            done.add_done_callback(lambda f, r=request_id: peer.send(_answer(r, f)))

    def _committed(self, size: int) -> None:
        stats = asdict(self.intake.stats)
        for peer in list(self.peers):
            peer.send(("committed", size, stats))


def _answer(request_id: int, done: Future[list[Outcome]]) -> tuple[Any, ...]:
    error = done.exception()
    if error is None:
        return ("done", request_id, [o.settle() for o in done.result()])
    code = getattr(error, "code", "service.commit_failed")
    return ("failed", request_id, type(error).__name__, code, str(error))


def run_committer(settings: Settings, address: Address, ready: Any, parent: int) -> None:
    """The committer process's body: open the writer, listen, say so, serve — until the
    process that started it is gone, however it went (a SIGKILL runs no clean-up)."""
    server = CommitterServer(settings, address)
    threading.Thread(target=_outlive_not, args=(parent, server), daemon=True).start()
    ready.set()
    server.serve_forever()


def _outlive_not(parent: int, server: CommitterServer) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    server.intake.close()  # what is queued is committed; nothing more is taken
    os._exit(0)


def start_committer(settings: Settings, address: Address) -> multiprocessing.Process:
    """Start the committer and wait until it listens (or has failed to)."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(
        target=run_committer,
        args=(settings, address, ready, os.getpid()),
        name="tallyproof-committer",
    )
    process.start()
    while not ready.wait(0.1):
        if not process.is_alive():
            raise RuntimeError(f"the committer exited with code {process.exitcode}")
    return process


def stop_committer(process: multiprocessing.Process, address: Address) -> None:
    process.terminate()
    process.join(30)
    with contextlib.suppress(OSError):
        os.unlink(address.path)
        os.rmdir(Path(address.path).parent)


# --- a worker's side ---------------------------------------------------------------------


class CommitterClient:
    """A worker's connection to the committer: requests out, answers matched back to the
    futures waiting for them by a receiving thread."""

    def __init__(self, address: Address, on_commit: Callable[[int], None]) -> None:
        self.stats: dict[str, int] = {}  # the committer's, as of its last commit
        self.conn = Client(address.path, "AF_UNIX", authkey=bytes.fromhex(address.authkey))
        _, self.origin, self.vkey = self.conn.recv()
        self.on_commit = on_commit
        self._ids = itertools.count()
        self._waiting: dict[int, Future[list[Outcome]]] = {}
        self._lock = threading.Lock()
        self._gone: str | None = None
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def submit(self, kind: EntryKind, items: Sequence[Any]) -> Future[list[Outcome]]:
        done: Future[list[Outcome]] = Future()
        with self._lock:
            if self._gone is not None:
                done.set_exception(CommitFailed("service.committer_gone", self._gone))
                return done
            request_id = next(self._ids)
            self._waiting[request_id] = done
            try:
                self.conn.send((request_id, str(kind), list(items)))
            except (OSError, ValueError) as error:
                self._waiting.pop(request_id)
                done.set_exception(CommitFailed("service.committer_gone", str(error)))
        return done

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()

    def _receive(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                self._fail_all("the committer closed the connection")
                return
            if message[0] == "committed":
                self.stats = message[2]
                self.on_commit(message[1])
                continue
            with self._lock:
                done = self._waiting.pop(message[1])
            if message[0] == "done":
                done.set_result(message[2])
            else:
                done.set_exception(_error(*message[2:]))

    def _fail_all(self, why: str) -> None:
        with self._lock:
            self._gone = why
            waiting, self._waiting = self._waiting, {}
        for done in waiting.values():
            done.set_exception(CommitFailed("service.committer_gone", why))


def _error(kind: str, code: str, message: str) -> Exception:
    text = message.removeprefix(f"{code}: ")
    if kind == "StoreInconsistent":
        return StoreInconsistent(code, text)
    return CommitFailed(code, text)
