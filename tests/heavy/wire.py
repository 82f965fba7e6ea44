"""Shared by the wire-fault test and the soak: a TCP proxy that injects faults between a
client and a real `tallyproof serve`, and what can be measured of the server's processes
from outside (their memory, through /proc: psutil is not a dependency).

The proxy works at the TCP level, not through httpx, so the client under test meets what a
real network does to it: answers that come late, answers cut off half way, connections reset
after the server has already done the work. Each fault is chosen per request (a kept-alive
connection carries many), from a seeded random generator, and counted."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
CHUNK = 1 << 16
PASS, DELAY, DROP, RESET = "pass", "delay", "drop", "reset"
METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ")


@dataclass(frozen=True)
class FaultRates:
    """The share of the proxied requests that meet each fault (the rest pass). `delay` holds
    the server's answer back a uniform time in `delay_seconds`; `drop` forwards part of the
    answer's first bytes and then closes the connection; `reset` answers the client with a
    TCP RST the moment the server starts to answer (the request reached it: it did the work)."""

    delay: float = 0.0
    drop: float = 0.0
    reset: float = 0.0
    delay_seconds: tuple[float, float] = (0.2, 1.0)

    def draw(self, rng: random.Random) -> str:
        roll = rng.random()
        for name, rate in ((DELAY, self.delay), (DROP, self.drop), (RESET, self.reset)):
            if roll < rate:
                return name
            roll -= rate
        return PASS


@dataclass
class _Exchange:
    """The request a connection carries now and the fault chosen for it."""

    number: int = 0  # the n-th targeted request through the proxy; 0 if not targeted
    fault: str = PASS
    answering: bool = False  # the server's first bytes of this answer have been seen


@dataclass
class FaultProxy:
    """A TCP proxy on a loopback port in front of `upstream`, run by an asyncio loop in a
    thread of its own. Requests whose first bytes start with `target` meet the faults of
    `rates`, or the next of `scripted` if any; the others pass. `slow` (seconds) holds
    every targeted answer back on top: a slowed server. `cut[n]` is called, in a thread of
    its own, when the answer to the n-th targeted request starts to come back, and that answer
    is reset: the hook kills the server at the worst moment, the work done and unsaid."""

    upstream: int
    rates: FaultRates = field(default_factory=FaultRates)
    seed: int = 0
    target: bytes = b"POST /v1/forms"
    enabled: bool = True
    slow: float = 0.0
    scripted: deque[str] = field(default_factory=deque)
    cut: dict[int, Callable[[], None]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    port: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def requests(self) -> int:
        """Targeted requests seen so far."""
        with self._lock:
            return self.counts["requests"]

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def close(self) -> None:
        """Stop listening and cut every connection still open."""
        if not self._loop.is_closed():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # --- the loop ------------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._connection, HOST, self.port or 0)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    async def _connection(
        self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        self.count("connections")
        try:
            server_r, server_w = await asyncio.open_connection(HOST, self.upstream)
        except OSError:
            self.count("unreachable")  # the server is down: the client's connection closes
            _abort(client_w)
            return
        exchange = _Exchange()
        try:
            await asyncio.gather(
                self._upward(client_r, server_w, exchange),
                self._downward(server_r, client_w, exchange),
            )
        finally:
            _close(client_w)
            _close(server_w)

    async def _upward(
        self, client: asyncio.StreamReader, server: asyncio.StreamWriter, exchange: _Exchange
    ) -> None:
        """Client to server, choosing a fault as each request starts (HTTP/1.1 clients do
        not pipeline, so a chunk opening with a method is a new request)."""
        while chunk := await _read(client):
            if chunk.startswith(METHODS):
                self._begin(chunk, exchange)
            if not await _write(server, chunk):
                break
        _close(server)

    def _begin(self, chunk: bytes, exchange: _Exchange) -> None:
        exchange.answering = False
        if not (self.enabled and chunk.startswith(self.target)):
            exchange.number, exchange.fault = 0, PASS
            return
        with self._lock:
            self.counts["requests"] += 1
            exchange.number = self.counts["requests"]
            scripted = self.scripted.popleft() if self.scripted else None
            exchange.fault = scripted or self.rates.draw(self._rng)

    async def _downward(
        self, server: asyncio.StreamReader, client: asyncio.StreamWriter, exchange: _Exchange
    ) -> None:
        """Server to client; the first bytes of each answer meet its request's fault."""
        while chunk := await _read(server):
            if exchange.number and not exchange.answering:
                exchange.answering = True
                if not await self._fault(chunk, client, exchange):
                    return
            elif not await _write(client, chunk):
                return
        _close(client)

    async def _fault(self, chunk: bytes, client: asyncio.StreamWriter, exchange: _Exchange) -> bool:
        """Apply the fault to an answer's first chunk; False when the connection ends here."""
        with self._lock:
            hook = self.cut.pop(exchange.number, None)
        if hook is not None:
            self.count("cut")
            threading.Thread(target=hook, name="fault-proxy-cut", daemon=True).start()
            _abort(client)
            return False
        if exchange.fault == RESET:
            self.count(RESET)
            _abort(client)
            return False
        if exchange.fault == DROP:
            self.count(DROP)
            keep = self._rng.randint(1, max(1, len(chunk) - 1))
            await _write(client, chunk[:keep])
            _close(client)
            return False
        wait = self.slow
        if exchange.fault == DELAY:
            self.count(DELAY)
            wait += self._rng.uniform(*self.rates.delay_seconds)
        elif self.slow > 0:
            self.count("slowed")
        if wait > 0:
            await asyncio.sleep(wait)
        self.count(PASS if exchange.fault == PASS else "delivered_late")
        return await _write(client, chunk)


async def _read(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.read(CHUNK)
    except (OSError, asyncio.IncompleteReadError):
        return b""


async def _write(writer: asyncio.StreamWriter, data: bytes) -> bool:
    try:
        writer.write(data)
        await writer.drain()
    except (OSError, RuntimeError):
        return False
    return True


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        writer.close()


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a middlebox or a crashed host does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# --- the server's processes, from /proc -----------------------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1 << 20


@dataclass(frozen=True)
class Proc:
    pid: int
    role: str
    rss: int  # bytes


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name (which may hold spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def group_members(leader: int) -> list[int]:
    """Every live process of the process group `leader` leads (`serve` is started in a
    session of its own, so its workers, committer and helpers are all in it)."""
    members = []
    for entry in Path("/proc").iterdir():
        fields = _stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and int(fields[2]) == leader and fields[0] != "Z":
            members.append(int(entry.name))
    return sorted(members)


def rss_of(pid: int) -> int:
    """Resident set size in bytes (0 if the process is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _started(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[19]) if fields else 0  # field 22 of stat: start time in clock ticks


def server_processes(leader: int) -> list[Proc]:
    """The serve process, the committer and each worker, named by role. `serve` spawns the
    committer before uvicorn spawns its workers, so of the spawned children the earliest is
    the committer; multiprocessing's resource tracker is named as such."""
    members = group_members(leader)
    spawned = sorted(
        (p for p in members if p != leader and "resource_tracker" not in _cmdline(p)),
        key=_started,
    )
    roles = {leader: "serve"}
    roles.update({p: "tracker" for p in members if "resource_tracker" in _cmdline(p)})
    for i, pid in enumerate(spawned):
        roles[pid] = "committer" if i == 0 else f"worker-{i}"
    return [Proc(pid, roles[pid], rss_of(pid)) for pid in members]


# --- figures ---------------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    """The q-quantile by the nearest rank (nan for no values)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def slope_per(xs: list[float], ys: list[float], per: float) -> float:
    """Least-squares slope of ys over xs, scaled to a change per `per` units of x."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return per * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def wait_for(check: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    """Poll `check` until it holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()
