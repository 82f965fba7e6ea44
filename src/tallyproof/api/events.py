"""The live feed over Server-Sent Events. Every worker tails the ledger table (service/feed.py)
and hands each new run of events, encoded once, to the readers connected to it; a reader who
reconnects with `Last-Event-ID: n` is first given the events after leaf n, read back from the
store, then the live ones — none missed, none twice, whichever worker it reaches.

A thousand readers each get every run of events, so handing one out is the cost that counts:
the broadcaster writes to each reader's connection itself, and a write that does not have to
wait (a reader keeping up) finishes there and then, with no task, queue or wake-up a reader.
Only a reader whose connection is backed up gets a task of its own to finish the write, and
its runs wait for it; one that falls too far behind is let go, to come back by its id."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
import orjson
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from tallyproof.api.runtime import Runtime
from tallyproof.ledger.intake import MAX_SAFE_INTEGER
from tallyproof.service.feed import PAGE, Feed, LeafEvent
from tallyproof.service.log import QueryError
from tallyproof.store.database import Store

router = APIRouter(prefix="/v1", tags=["events"])
_ON_LOOP = 256  # leaves the feed reads on the event loop at once; more are read in a thread
_PING = b": ping\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


Filter = tuple[str | None, bool]  # the election asked for, and whether as digests
_LATEST = 10  # entries a digest describes one by one: what a page lists as the latest
_BRIEF = ("station", "contest", "source", "official", "supersedes", "target", "status")


def encode(events: Sequence[LeafEvent], election: str | None = None, digest: bool = False) -> bytes:
    """Events as SSE text: the leaf index is the id, the entry's kind the event name; or, as
    digests, one event a commit (see `digests`)."""
    if digest:
        return digests(events, election)
    parts = []
    for e in events:
        if election is None or e.election == election:
            data = orjson.dumps(e.as_dict())
            parts.append(b"id: %d\nevent: %s\ndata: %s\n\n" % (e.seq, e.kind.encode(), data))
    return b"".join(parts)


def digests(events: Sequence[LeafEvent], election: str | None) -> bytes:
    """One `digest` event a commit (a run of events ending at the checkpoint its commit
    signed, or at the end of what was read): how many entries of each kind, the contests
    they touched, the last few entries in brief, every finding opened and resolved, and
    the checkpoint. Its id is the run's last leaf index, so resuming works as for entries.
    A dashboard needs no more, and on a national night it is a fortieth of the bytes."""
    parts, run = [], []
    for e in events:
        run.append(e)
        if e.checkpoint is not None:
            parts.append(_digest(run, election))
            run = []
    if run:
        parts.append(_digest(run, election))
    return b"".join(parts)


def _digest(run: list[LeafEvent], election: str | None) -> bytes:
    own = [e for e in run if election is None or e.election == election]
    if not own:
        return b""
    last = run[-1]
    kinds: dict[str, int] = {}
    contests: set[str] = set()
    for e in own:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
        code = e.detail.get("contest") or e.detail.get("target")
        if isinstance(code, str):
            contests.add(code)
    doc: dict[str, Any] = {
        "first": run[0].seq,
        "last": last.seq,
        "tree_size": last.seq + 1,
        "entries": len(own),
        "kinds": kinds,
        "contests": sorted(contests),
        "latest": [_brief(e) for e in own[-_LATEST:]],
        "findings_opened": [f.as_dict() for e in own for f in e.opened],
        "findings_resolved": [f.as_dict() for e in own for f in e.resolved],
    }
    if last.checkpoint is not None:
        doc["checkpoint"] = last.checkpoint
    return b"id: %d\nevent: digest\ndata: %s\n\n" % (last.seq, orjson.dumps(doc))


def _brief(e: LeafEvent) -> dict[str, Any]:
    brief = {"leaf_index": e.seq, "kind": e.kind, "received_at": e.received_at}
    return brief | {k: e.detail[k] for k in _BRIEF if k in e.detail}


@dataclass
class Chunk:
    """A run of consecutive events, encoded once per filter asked for."""

    events: list[LeafEvent]
    _encoded: dict[Filter, bytes] = field(default_factory=dict)

    @property
    def last(self) -> int:
        return self.events[-1].seq

    def encoded(self, wanted: Filter) -> bytes:
        found = self._encoded.get(wanted)
        if found is None:
            found = self._encoded[wanted] = encode(self.events, *wanted)
        return found


class Reader:
    """One connected reader: where its connection is written, the last leaf it was sent,
    and the runs waiting while its connection is backed up (or its backlog is sent)."""

    def __init__(self, send: Send, wanted: Filter, sent: int, limit: int) -> None:
        self.send, self.wanted, self.sent, self.limit = send, wanted, sent, limit
        self.waiting: deque[Chunk | bytes] = deque()
        self.busy = True  # until its backlog is sent, runs wait
        self.gone = asyncio.Event()
        self.written_at = time.monotonic()
        self.draining: asyncio.Future[None] | None = None  # a backed-up write, finishing

    def offer(self, item: Chunk | bytes) -> None:
        """Write a run (or a ping) now if the connection takes it, else keep it in order."""
        if self.gone.is_set():
            return
        if self.busy:
            self.waiting.append(item)
            if len(self.waiting) > self.limit:  # too far behind: let it come back by its id
                self.gone.set()
            return
        self._write(item)

    def release(self) -> None:
        """The backlog is sent: what waited goes out, then runs are written as they come."""
        self.busy = False
        while self.waiting and not self.busy and not self.gone.is_set():
            self._write(self.waiting.popleft())

    def _write(self, item: Chunk | bytes) -> None:
        data = item if isinstance(item, bytes) else self._text(item)
        if not data:
            return
        self.written_at = time.monotonic()
        message: Message = {"type": "http.response.body", "body": data, "more_body": True}
        try:
            waits = _waits(self.send(message))
        except Exception:  # the connection is gone: so is the reader
            self.gone.set()
            return
        if waits:  # the connection is backed up: a task finishes the write
            self.busy = True
            self.draining = asyncio.ensure_future(self._drain(message))

    def _text(self, chunk: Chunk) -> bytes:
        if chunk.last <= self.sent:
            return b""
        text = (
            chunk.encoded(self.wanted)
            if chunk.events[0].seq > self.sent
            else encode([e for e in chunk.events if e.seq > self.sent], *self.wanted)
        )
        self.sent = chunk.last
        return text

    async def _drain(self, message: Message) -> None:
        try:
            await self.send(message)
        except Exception:
            self.gone.set()
            return
        self.release()


def _waits(write: Coroutine[Any, Any, None]) -> bool:
    """Run an ASGI send as far as it goes without waiting. False when it finished (the usual
    case: the bytes went to the socket); True when it had to wait (the connection's buffer is
    full), in which case it is closed and the caller sends the same message again in a task.
    A send that waits has written nothing yet: uvicorn waits for room before it writes."""
    try:
        write.send(None)
    except StopIteration:
        return False
    write.close()
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
            self._ping()
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
        for reader in list(self.readers):
            reader.offer(chunk)

    def _ping(self) -> None:
        """A comment to each reader that heard nothing for `ping_seconds`, so proxies keep
        its connection open."""
        quiet = time.monotonic() - self.rt.settings.ping_seconds
        for reader in list(self.readers):
            if reader.written_at < quiet:
                reader.offer(_PING)

    def join(self, reader: Reader) -> int:
        """Add a reader; the leaf index its live runs start at: every event before it was
        handed out before the reader joined. The feed is woken to catch up for it."""
        self.readers.add(reader)
        self.rt.committed.set()
        return self.published

    async def backlog(self, reader: Reader, end: int) -> None:
        """Send a joining reader the events it missed, [sent + 1, end), from the store."""
        pages = self.feed.backlog(reader.sent + 1, end)
        while not reader.gone.is_set():
            page = await anyio.to_thread.run_sync(next, pages, None, limiter=self._tailing)
            if page is None:
                return
            text = encode(page, *reader.wanted)
            if text:
                await reader.send({"type": "http.response.body", "body": text, "more_body": True})
            reader.sent = page[-1].seq

    async def log_size(self) -> int:
        """The log's size now: where a reader who asks only for what comes next starts."""
        return await anyio.to_thread.run_sync(_ledger_size, self.rt.store)


def _ledger_size(store: Store) -> int:
    with store.read() as reader:
        return reader.ledger_size()


class FeedResponse(Response):
    """The event stream of one reader: its backlog, then live runs until it goes."""

    media_type = "text/event-stream"

    def __init__(self, broadcaster: Broadcaster, wanted: Filter, last: int) -> None:
        super().__init__()
        self.broadcaster, self.wanted, self.last = broadcaster, wanted, last

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        limit = self.broadcaster.rt.limits.sse_queue
        reader = Reader(send, self.wanted, self.last, limit)
        joined = self.broadcaster.join(reader)
        hung_up = asyncio.ensure_future(_hung_up(receive))
        gone = asyncio.ensure_future(reader.gone.wait())
        try:
            if reader.sent + 1 < joined:
                await self.broadcaster.backlog(reader, joined)
            reader.release()
            await asyncio.wait({hung_up, gone}, return_when=asyncio.FIRST_COMPLETED)
        except OSError:
            pass
        finally:
            self.broadcaster.readers.discard(reader)
            reader.gone.set()
            disconnected = hung_up.done()
            hung_up.cancel()
            gone.cancel()
        if not disconnected:  # let go: the stream ends, and the reader comes back by its id
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _hung_up(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


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
    response_class=FeedResponse,
    status_code=200,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
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
    digest: Annotated[
        bool,
        Query(
            description="One `digest` event a commit (counts, contests touched, the last "
            "entries in brief, findings, checkpoint) instead of one event an entry"
        ),
    ] = False,
) -> FeedResponse:
    """Without `Last-Event-ID` or `after`, only what is committed from now on. Each event is
    named by its entry's kind (form, declaration, status, claim, structure, key_registration,
    key_revocation); its data names the findings the entry opened and resolved, and the
    checkpoint its commit signed when it was the commit's last entry. With `digest`, one
    event a commit, its id the commit's last leaf index."""
    broadcaster: Broadcaster = request.app.state.broadcaster
    last = _last_event_id(last_event_id, after)
    if last is None:  # only what is committed from now on
        last = await broadcaster.log_size() - 1
    return FeedResponse(broadcaster, (election, digest), last)
