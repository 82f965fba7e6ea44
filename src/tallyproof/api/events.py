"""The live feed over Server-Sent Events. Every worker tails the ledger table (service/feed.py)
and hands each new run of events, encoded once, to the readers connected to it; a reader who
reconnects with `Last-Event-ID: n` is first given the events after leaf n, read back from the
store, then the live ones — none missed, none twice, whichever worker it reaches."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated

import anyio
import orjson
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from tallyproof.api.runtime import Runtime
from tallyproof.ledger.intake import MAX_SAFE_INTEGER
from tallyproof.service.feed import PAGE, Feed, LeafEvent
from tallyproof.service.log import QueryError
from tallyproof.store.database import Store

router = APIRouter(prefix="/v1", tags=["events"])
_ON_LOOP = 256  # leaves the feed reads on the event loop at once; more are read in a thread


def encode(events: Sequence[LeafEvent], election: str | None = None) -> bytes:
    """Events as SSE text: the leaf index is the id, the entry's kind the event name."""
    parts = []
    for e in events:
        if election is None or e.election == election:
            data = orjson.dumps(e.as_dict())
            parts.append(b"id: %d\nevent: %s\ndata: %s\n\n" % (e.seq, e.kind.encode(), data))
    return b"".join(parts)


@dataclass
class Chunk:
    """A run of consecutive events, encoded once per election filter asked for."""

    events: list[LeafEvent]
    _encoded: dict[str | None, bytes] = field(default_factory=dict)

    @property
    def last(self) -> int:
        return self.events[-1].seq

    def encoded(self, election: str | None) -> bytes:
        found = self._encoded.get(election)
        if found is None:
            found = self._encoded[election] = encode(self.events, election)
        return found


class Reader:
    """One connected reader: its queue of chunks, and its election filter."""

    def __init__(self, election: str | None, size: int) -> None:
        self.election = election
        self.queue: asyncio.Queue[Chunk | None] = asyncio.Queue(size)

    def offer(self, chunk: Chunk) -> bool:
        """False when the reader has fallen too far behind: it is dropped, and on
        reconnecting it catches up from the store by its Last-Event-ID."""
        try:
            self.queue.put_nowait(chunk)
        except asyncio.QueueFull:
            return False
        return True


class Broadcaster:
    """Tails the feed and fans each new chunk out to this process's readers."""

    def __init__(self, feed: Feed, rt: Runtime) -> None:
        self.feed = feed
        self.rt = rt
        self.published = 0  # every event before this leaf index has been handed out
        self.readers: set[Reader] = set()
        self._tailing = anyio.CapacityLimiter(1)

    async def run(self) -> None:
        """Wake on each commit the committer tells of (or every `feed_poll_seconds`, for
        commits made through another machine), and follow the log — only while someone is
        reading: with no reader the feed waits, and catches up when one comes. Commits that
        arrive together are read together, at most one read every `feed_batch_seconds`."""
        settings = self.rt.settings
        committed = self.rt.committed
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(committed.wait(), settings.feed_poll_seconds)
            committed.clear()
            if not self.readers:
                continue
            started = time.monotonic()
            async with self._tailing:  # a few commits' worth, on the loop: no GIL hand-offs
                events = self.feed.advance(_ON_LOOP)
            if events:
                self.publish(events)
            while len(events) == _ON_LOOP or len(events) == PAGE:  # far behind: in a thread
                events = await anyio.to_thread.run_sync(self.feed.advance, limiter=self._tailing)
                if events:
                    self.publish(events)
            await asyncio.sleep(max(0.0, started + settings.feed_batch_seconds - time.monotonic()))

    def publish(self, events: list[LeafEvent]) -> None:
        chunk = Chunk(events)
        self.published = chunk.last + 1
        dropped = [r for r in self.readers if not r.offer(chunk)]
        for reader in dropped:
            self.readers.discard(reader)
            with contextlib.suppress(asyncio.QueueFull):
                reader.queue.put_nowait(None)

    def subscribe(self, election: str | None) -> tuple[Reader, int]:
        """A new reader, and the leaf index its queue starts at: every event before it was
        handed out before the reader joined. The feed is woken to catch up for it."""
        reader = Reader(election, self.rt.limits.sse_queue)
        self.readers.add(reader)
        self.rt.committed.set()
        return reader, self.published

    async def log_size(self) -> int:
        """The log's size now: where a reader who asks only for what comes next starts."""
        return await anyio.to_thread.run_sync(_ledger_size, self.rt.store)

    async def backlog(self, start: int, end: int) -> AsyncIterator[list[LeafEvent]]:
        pages = self.feed.backlog(start, end)
        while True:
            page = await anyio.to_thread.run_sync(next, pages, None, limiter=self._tailing)
            if page is None:
                return
            yield page


def _ledger_size(store: Store) -> int:
    with store.read() as reader:
        return reader.ledger_size()


def _last_event_id(header: str | None, after: int | None) -> int | None:
    if header is not None:
        text = header.strip()
        if not (text.isascii() and text.lstrip("-").isdigit()):
            raise QueryError("query.last_event_id", "Last-Event-ID", "must be a leaf index")
        return int(text)
    return after


@router.get(
    "/events",
    summary="Every accepted entry as it is committed (Server-Sent Events; id = leaf index)",
    response_class=EventSourceResponse,
)
async def events(
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
    after: Annotated[
        int | None,
        Query(
            ge=-1,
            le=MAX_SAFE_INTEGER,
            description="Start after this leaf index (-1: from the start)",
        ),
    ] = None,
    election: Annotated[str | None, Query(max_length=64)] = None,
) -> EventSourceResponse:
    """Without `Last-Event-ID` or `after`, only what is committed from now on. Each event is
    named by its entry's kind (form, declaration, status, claim, structure, key_registration,
    key_revocation); its data names the findings the entry opened and resolved, and the
    checkpoint its commit signed when it was the commit's last entry."""
    rt: Runtime = request.app.state.runtime
    broadcaster: Broadcaster = request.app.state.broadcaster
    last = _last_event_id(last_event_id, after)
    if last is None:  # only what is committed from now on
        last = await broadcaster.log_size() - 1
    reader, joined = broadcaster.subscribe(election)
    return EventSourceResponse(
        _stream(broadcaster, reader, last, joined),
        ping=rt.settings.ping_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(
    broadcaster: Broadcaster, reader: Reader, last: int, joined: int
) -> AsyncIterator[bytes]:
    sent = last
    try:
        if sent + 1 < joined:
            async for page in broadcaster.backlog(sent + 1, joined):
                if page:
                    text = encode(page, reader.election)
                    if text:
                        yield text
                    sent = page[-1].seq
        while True:
            chunk = await reader.queue.get()
            if chunk is None:
                return
            if chunk.last <= sent:
                continue
            if chunk.events[0].seq > sent:
                text = chunk.encoded(reader.election)
            else:
                text = encode([e for e in chunk.events if e.seq > sent], reader.election)
            if text:
                yield text
            sent = chunk.last
    finally:
        broadcaster.readers.discard(reader)
