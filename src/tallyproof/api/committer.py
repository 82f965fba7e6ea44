"""The committer: one process per machine that holds the writer (its lock, the log's key, the
ledger state) and the group commit, apart from the HTTP workers. Workers read requests,
verify signatures and encode leaves on every core, and hand the prepared documents to it over
a Unix socket; it judges them against the ledger, commits whatever is waiting as one
transaction, and answers each worker with its outcomes once they are durable. It also tells
every worker of each commit, so their feeds wake at once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tallyproof.api import children
from tallyproof.ledger.entries import EntryKind
from tallyproof.service.intake import Intake, IntakeClosed
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
    """Where the committer listens: a Unix socket in a directory only the server's user may
    enter (mkdtemp makes it 0700), which is what keeps other users from writing to the log
    through it."""

    path: str

    @classmethod
    def fresh(cls) -> Address:
        return cls(str(Path(tempfile.mkdtemp(prefix="tallyproof-")) / "committer.sock"))


_LENGTH = struct.Struct("!I")


def frame(message: tuple[Any, ...]) -> bytes:
    """A message as sent: its pickle, after its length."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


# --- the committer's side ---------------------------------------------------------------


class _Peer:
    """One connected worker. Answers wait in its outbox until the group they belong to is
    done, then go out with the commit notice in one write: one system call a group, not
    one a request."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.lock = threading.Lock()
        self.outbox: list[bytes] = []

    def send(self, message: tuple[Any, ...]) -> None:
        with self.lock:
            self.outbox.append(frame(message))

    def flush(self) -> None:
        with self.lock:
            data, self.outbox = b"".join(self.outbox), []
            if data:
                with contextlib.suppress(OSError):
                    self.conn.sendall(data)

    def receive(self) -> tuple[Any, ...] | None:
        head = self._exactly(_LENGTH.size)
        if head is None:
            return None
        body = self._exactly(_LENGTH.unpack(head)[0])
        return None if body is None else pickle.loads(body)

    def _exactly(self, n: int) -> bytes | None:
        parts, left = [], n
        while left:
            part = self.conn.recv(min(left, 1 << 20))
            if not part:
                return None
            parts.append(part)
            left -= len(part)
        return b"".join(parts)


class CommitterServer:
    def __init__(self, settings: Settings, address: Address) -> None:
        self.writer = LedgerWriter.open(settings)
        self.peers: list[_Peer] = []
        self.intake = Intake(self.writer, on_commit=self._committed, after=self._flush)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(address.path)
        self.listener.listen(64)

    def serve_forever(self) -> None:
        while True:
            conn, _ = self.listener.accept()
            peer = _Peer(conn)
            peer.send(("hello", self.writer.origin, self.writer.log_key.vkey))
            peer.flush()
            self.peers.append(peer)
            threading.Thread(target=self._serve, args=(peer,), daemon=True).start()

    def _serve(self, peer: _Peer) -> None:
        """Each request: (id, kind, documents); each answer: (id, outcomes) or (id, error)."""
        while True:
            try:
                message = peer.receive()
            except OSError:
                message = None
            if message is None:
                self.peers.remove(peer)
                return
            request_id, kind, items = message
            try:
                done = self.intake.submit(EntryKind(kind), items)
            except IntakeClosed as error:  # stopping: this one is not taken
                peer.send(_failure(request_id, error))
                peer.flush()
                continue
            done.add_done_callback(lambda f, r=request_id: peer.send(_answer(r, f)))

    def _committed(self, size: int) -> None:
        stats = asdict(self.intake.stats)
        for peer in list(self.peers):
            peer.send(("committed", size, stats))

    def _flush(self) -> None:
        for peer in list(self.peers):
            peer.flush()


def _answer(request_id: int, done: Future[list[Outcome]]) -> tuple[Any, ...]:
    """A request's outcomes (the intake settled their receipts), or why it failed."""
    error = done.exception()
    return ("done", request_id, done.result()) if error is None else _failure(request_id, error)


def _failure(request_id: int, error: BaseException) -> tuple[Any, ...]:
    code = getattr(error, "code", "service.commit_failed")
    return ("failed", request_id, type(error).__name__, code, str(error))


def run_committer(ready: Any, settings: Settings, address: Address) -> None:
    """The committer process's body: open the writer, listen, say so, serve. Asked to stop
    (SIGTERM), it commits and answers what is already queued, takes nothing more, and ends."""
    server = CommitterServer(settings, address)

    def stop(_signal: int, _frame: Any) -> None:
        server.intake.close()
        server.writer.close()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    ready.set()
    server.serve_forever()


def start_committer(settings: Settings, address: Address) -> multiprocessing.Process:
    return children.start("committer", run_committer, settings, address)


def stop_committer(process: multiprocessing.Process, address: Address) -> None:
    children.stop(process)
    with contextlib.suppress(OSError):
        os.unlink(address.path)
        os.rmdir(Path(address.path).parent)


# --- a worker's side ---------------------------------------------------------------------


class CommitterClient:
    """A worker's connection to the committer, on the worker's event loop: requests are
    written without waiting, and a reading task matches each answer to its future."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        hello: tuple[Any, ...],
        on_commit: Callable[[int], None],
    ) -> None:
        self.reader, self.writer = reader, writer
        _, self.origin, self.vkey = hello
        self.on_commit = on_commit
        self.stats: dict[str, int] = {}  # the committer's, as of its last commit
        self._ids = itertools.count()
        self._waiting: dict[int, asyncio.Future[list[Outcome]]] = {}
        self._gone: str | None = None
        self._out: list[bytes] = []  # requests of this turn of the loop, written together
        self._task = asyncio.create_task(self._receive(), name="tallyproof-committer-link")

    @classmethod
    async def connect(cls, address: Address, on_commit: Callable[[int], None]) -> CommitterClient:
        reader, writer = await asyncio.open_unix_connection(address.path, limit=1 << 26)
        hello = await _read_frame(reader)
        if hello is None:
            raise CommitFailed("service.committer_gone", "the committer closed at once")
        return cls(reader, writer, hello, on_commit)

    def submit(self, kind: EntryKind, items: Sequence[Any]) -> asyncio.Future[list[Outcome]]:
        done: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        if self._gone is not None:
            done.set_exception(CommitFailed("service.committer_gone", self._gone))
            return done
        request_id = next(self._ids)
        self._waiting[request_id] = done
        if not self._out:
            asyncio.get_running_loop().call_soon(self._write)
        self._out.append(frame((request_id, str(kind), list(items))))
        return done

    def _write(self) -> None:
        data, self._out = b"".join(self._out), []
        self.writer.write(data)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.writer.close()

    async def _receive(self) -> None:
        try:
            while (message := await _read_frame(self.reader)) is not None:
                self._take(message)
        except (OSError, asyncio.IncompleteReadError):
            pass
        self._fail_all("the committer closed the connection")

    def _take(self, message: tuple[Any, ...]) -> None:
        if message[0] == "committed":
            self.stats = message[2]
            self.on_commit(message[1])
            return
        done = self._waiting.pop(message[1])
        if done.cancelled():
            return
        if message[0] == "done":
            done.set_result(message[2])
        else:
            done.set_exception(_error(*message[2:]))

    def _fail_all(self, why: str) -> None:
        self._gone = why
        waiting, self._waiting = self._waiting, {}
        for done in waiting.values():
            if not done.done():
                done.set_exception(CommitFailed("service.committer_gone", why))


async def _read_frame(reader: asyncio.StreamReader) -> tuple[Any, ...] | None:
    try:
        head = await reader.readexactly(_LENGTH.size)
        body = await reader.readexactly(_LENGTH.unpack(head)[0])
    except asyncio.IncompleteReadError:
        return None
    message: tuple[Any, ...] = pickle.loads(body)
    return message


def _error(kind: str, code: str, message: str) -> Exception:
    text = message.removeprefix(f"{code}: ")
    if kind == "StoreInconsistent":
        return StoreInconsistent(code, text)
    return CommitFailed(code, text)
