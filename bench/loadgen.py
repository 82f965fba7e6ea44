"""The load `bench/http.py` puts on a server, from a process of its own: keep-alive HTTP/1.1
connections writing pre-encoded requests (so the client costs little and its cost does not
vary with the request), and Server-Sent Events readers that time each event's arrival.

Each scenario is a function of plain arguments returning plain figures, run with
`run_in_process` so the driver's own work never shares its interpreter."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import uvloop

HOST = "127.0.0.1"


def post_request(path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def get_request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One request on a kept-alive connection; the server answers with a Content-Length."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _posting(
    port: int, requests: Sequence[bytes], next_index: Callable[[], int | None], out: list
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    while (i := next_index()) is not None:
        start = time.perf_counter()
        status, body = await _exchange(reader, writer, requests[i])
        out.append((time.perf_counter() - start, status, len(body)))
    writer.close()


async def _post_all(port: int, requests: Sequence[bytes], connections: int) -> dict[str, Any]:
    counter = iter(range(len(requests)))
    out: list[tuple[float, int, int]] = []
    start = time.perf_counter()
    await asyncio.gather(
        *(_posting(port, requests, lambda: next(counter, None), out) for _ in range(connections))
    )
    return {
        "seconds": time.perf_counter() - start,
        "latencies": [x[0] for x in out],
        "statuses": sorted({x[1] for x in out}),
    }


def post_load(port: int, requests: Sequence[bytes], connections: int) -> dict[str, Any]:
    """Send every request once, over `connections` connections each waiting for its answer."""
    return uvloop.run(_post_all(port, requests, connections))


async def _reading(port: int, paths: Sequence[str], stop_at: float, seed: int) -> list:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(HOST, port)
    out = []
    while time.perf_counter() < stop_at:
        path = rng.choice(paths)
        start = time.perf_counter()
        status, _ = await _exchange(reader, writer, get_request(path))
        out.append((path, time.perf_counter() - start, status))
        await asyncio.sleep(0.005)
    writer.close()
    return out


async def _post_and_read(
    port: int, requests: Sequence[bytes], connections: int, reads: Sequence[str]
) -> dict[str, Any]:
    posting = asyncio.create_task(_post_all(port, requests, connections))
    read_results: list = []

    async def read_until_done() -> None:
        while not posting.done():
            read_results.extend(await _reading(port, reads, time.perf_counter() + 1.0, 7))

    reading = asyncio.create_task(read_until_done())
    posted = await posting
    await reading
    return posted | {"reads": read_results}


def post_and_read(
    port: int, requests: Sequence[bytes], connections: int, reads: Sequence[str]
) -> dict[str, Any]:
    """`post_load`, with one more connection asking the `reads` (at random) all along."""
    return uvloop.run(_post_and_read(port, requests, connections, reads))


def read_load(port: int, paths: Sequence[str], seconds: float) -> list:
    """One connection asking `paths` at random for `seconds`: reads with nothing else on."""
    return uvloop.run(_reading(port, paths, time.perf_counter() + seconds, 7))


def _received_at(data: bytes) -> float:
    at = data.index(b'"received_at":"') + 15
    text = data[at : data.index(b'"', at)].decode()
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class _Listener(asyncio.Protocol):
    """One SSE reader as a bare protocol: a crowd of a thousand costs the measuring process
    one callback a chunk each, not a task switch. A timed reader notes, for every event, the
    wall clock at arrival minus the entry's logged time; the others only drain the stream."""

    def __init__(self, timed: bool, out: list[float], ready: list[int]) -> None:
        self.timed, self.out, self.ready = timed, out, ready
        self.buffer = b""
        self.head = True

    def connection_made(self, transport: Any) -> None:
        transport.write(get_request("/v1/events"))

    def data_received(self, data: bytes) -> None:
        if self.head:
            self.head = False
            self.ready.append(1)
            data = data.split(b"\r\n\r\n", 1)[-1]
        if not self.timed:
            return
        now = time.time()
        self.buffer += data
        *events, self.buffer = self.buffer.split(b"\n\n")
        for event in events:
            if b'"received_at"' in event:
                self.out.append(now - _received_at(event))


async def _crowd(port: int, readers: int, timed: int, stop: Any, go: Any) -> dict:
    out: list[float] = []
    ready: list[int] = []
    loop = asyncio.get_running_loop()
    transports = []
    for i in range(readers):
        transport, _ = await loop.create_connection(
            lambda i=i: _Listener(i < timed, out, ready), HOST, port
        )
        transports.append(transport)
    until = time.time() + 120
    while len(ready) < readers and time.time() < until:
        await asyncio.sleep(0.05)
    go.set()
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for transport in transports:
        transport.close()
    return {"connected": len(ready), "latencies": out}


def sse_crowd(port: int, readers: int, timed: int, stop: Any, go: Any) -> dict[str, Any]:
    """`readers` connected to the feed until `stop` is set; `go` is set once all are
    connected."""
    return uvloop.run(_crowd(port, readers, timed, stop, go))


async def _paced(port: int, requests: Sequence[bytes], per_second: float) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection(HOST, port)
    start = time.perf_counter()
    for i, request in enumerate(requests):
        delay = start + i / per_second - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await _exchange(reader, writer, request)
    writer.close()
    return {"seconds": time.perf_counter() - start}


async def _paced_and_read(
    port: int, requests: Sequence[bytes], per_second: float, lanes: int, reads: Sequence[str]
) -> dict[str, Any]:
    lanes_of = [requests[i::lanes] for i in range(lanes)]
    posting = asyncio.gather(*(_paced(port, lane, per_second / lanes) for lane in lanes_of))
    read_results: list = []

    async def read_until_done() -> None:
        while not posting.done():
            read_results.extend(await _reading(port, reads, time.perf_counter() + 1.0, 11))

    reading = asyncio.create_task(read_until_done())
    await posting
    await reading
    return {"reads": read_results}


def paced_and_read(
    port: int, requests: Sequence[bytes], per_second: float, lanes: int, reads: Sequence[str]
) -> dict[str, Any]:
    """Requests at a steady `per_second` over `lanes` connections, and one more connection
    asking the `reads` all along: reads while ingest runs at a given rate."""
    return uvloop.run(_paced_and_read(port, requests, per_second, lanes, reads))


def paced_posts(port: int, requests: Sequence[bytes], per_second: float) -> dict[str, Any]:
    """Requests one after another at a steady rate (the feed's ingest while it is timed)."""
    return uvloop.run(_paced(port, requests, per_second))


def run_in_process(target: Callable[..., Any], *args: Any) -> Any:
    """Run a scenario in a fresh process and return its figures."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(target, args)


def start_in_process(target: Callable[..., Any], *args: Any) -> Any:
    """Start a scenario in a fresh process; `.get()` on the result waits for its figures."""
    context = multiprocessing.get_context("spawn")
    pool = context.Pool(1)
    result = pool.apply_async(target, args)
    pool.close()
    return result


def event() -> Any:
    """An event another process can wait on and this one can set."""
    return multiprocessing.get_context("spawn").Manager().Event()
