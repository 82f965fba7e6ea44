"""What one worker process of the HTTP service holds: its link to the committer (the group
commit), the keys it verifies signatures with, the read model and the log's proofs (used
from one reading thread, as neither is thread-safe), the key rates, and a cache of rendered
answers."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import multiprocessing
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import orjson

from tallyproof.api.committer import Address, CommitterClient, start_committer, stop_committer
from tallyproof.api.limits import KeyRates
from tallyproof.api.settings import ServeSettings
from tallyproof.ledger.entries import EntryKind, claimed_key_id
from tallyproof.ledger.keys import PublicKey
from tallyproof.service.intake import PREPARED
from tallyproof.service.log import LogView
from tallyproof.service.outcomes import Outcome
from tallyproof.service.preparation import prepare
from tallyproof.service.reading import ReadModel
from tallyproof.service.signers import KeyBook
from tallyproof.service.witnessing import Witnessing, read_policy
from tallyproof.store.database import Store

T = TypeVar("T")
_RENDERED = 2048  # rendered answers kept: (question, size) -> bytes and ETag
_INLINE = 16  # documents prepared on the event loop; more go to a thread
KEY_FOLLOW_SECONDS = 1.0  # the key book reads newly registered keys at most this often
# a refused document whose signature was never verified is not charged to the key it names
_UNVERIFIED = ("schema.", "input.", "signature.missing", "signature.encoding", "signature.invalid")
_UNVERIFIED += ("signature.unknown_key",)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str  # strong: the same bytes always, for the same question at the same size
    tree_size: int
    gzipped: bytes | None = None  # the body gzipped, once, where that is worth it


class Runtime:
    """Opened when the app starts, closed when it stops."""

    committed: asyncio.Event

    def __init__(self, settings: ServeSettings, committer: CommitterClient) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.committer = committer
        self.log_key = PublicKey.from_vkey(committer.vkey)
        self.origin = committer.origin
        self.store = Store(settings.store.reads_url)  # a replica's, if there is one
        # keys are read from the primary: a key registered a moment ago must verify at once
        self.primary = (
            Store(settings.store.database_url) if settings.store.read_database_url else self.store
        )
        self.keys = KeyBook(self.primary)
        self.model = ReadModel(self.store)
        self.log = LogView(self.store)
        self.witnessing = Witnessing(self.store, read_policy(settings.store), self.log)
        self.rates = KeyRates(self.limits.per_key_per_minute)
        self.reads = anyio.CapacityLimiter(1)
        self._rendered: OrderedDict[tuple[Any, ...], Rendered] = OrderedDict()
        self._rendered_lock = threading.Lock()
        self._own_committer: tuple[multiprocessing.Process, Address] | None = None
        self.last_read = 0.0  # when a question last asked the read model (monotonic)
        self._following: asyncio.Task[None] | None = None  # reading keys as they commit

    @classmethod
    async def open(cls, settings: ServeSettings) -> Runtime:
        """Connect to the committer `serve` started; without one (the app run some other
        way), start one for this worker."""
        committed = asyncio.Event()  # set after each commit the committer tells of
        own = None
        address = Address(settings.committer_path)
        if not address.path:
            address = Address.fresh()
            own = (start_committer(settings.store, address), address)
        logged = asyncio.Event()  # the same, for the key book

        def on_commit(_size: int) -> None:
            committed.set()
            logged.set()

        committer = await CommitterClient.connect(address, on_commit)
        rt = cls(settings, committer)
        rt.committed, rt._own_committer = committed, own
        rt._following = asyncio.create_task(rt._follow_keys(logged))
        return rt

    async def _follow_keys(self, logged: asyncio.Event) -> None:
        """Read keys as their registrations commit, at most once a second, rather than
        when the first document one of them signs arrives: a national roll is 91,200 keys,
        a second's read and tens of MiB, which would otherwise fall on the first presiding
        officer's form (and into the night's quiet hour, in the soak's memory figures). A
        key registered since the last read is still read when a document names it."""
        while True:
            await logged.wait()
            logged.clear()
            # a read that fails changes nothing: the read made when a document names the
            # key reads again, and that request hears what is wrong with the store
            with contextlib.suppress(Exception):
                await anyio.to_thread.run_sync(self.keys.refresh)
            await asyncio.sleep(KEY_FOLLOW_SECONDS)

    async def close(self) -> None:
        if self._following is not None:
            self._following.cancel()
        await self.committer.close()
        if self._own_committer is not None:
            stop_committer(*self._own_committer)
        self.store.close()
        self.primary.close()

    # --- writes -------------------------------------------------------------------------

    async def submit(self, kind: EntryKind, envelopes: Sequence[object]) -> list[Outcome]:
        """Charge each signer's allowance; read, verify and encode the documents here (on
        this worker's core); hand them to the committer; answer once they are durable."""
        counts = key_counts(envelopes)
        self.rates.charge(counts)
        items: Sequence[Any] = envelopes
        if kind in PREPARED:
            if len(envelopes) <= _INLINE:
                items = self._prepare(kind, envelopes)
            else:
                items = await anyio.to_thread.run_sync(self._prepare, kind, envelopes)
        outcomes = await self.committer.submit(kind, items)
        for outcome, envelope in zip(outcomes, envelopes, strict=True):
            if outcome.problems and outcome.problems[0].code.startswith(_UNVERIFIED):
                key = claimed_key_id(envelope)
                if key is not None:
                    self.rates.refund(key, 1)
        return outcomes

    def _prepare(self, kind: EntryKind, envelopes: Sequence[object]) -> list[Any]:
        named = [claimed_key_id(e) for e in envelopes]
        keys = self.keys.public_keys(named)
        pairs = enumerate(zip(envelopes, named, strict=True))
        items = [(i, e, keys.get(k or "")) for i, (e, k) in pairs]
        return prepare(str(kind), items)

    # --- reads --------------------------------------------------------------------------

    async def read(self, question: Callable[[], T], *, heavy: bool = False) -> T:
        """Ask the read model, one question at a time. A light question (a contest, the
        standings: milliseconds) is answered on the event loop itself: in a thread, every
        query gives the GIL up and waits to get it back behind the requests the loop is
        serving, and a 3 ms read took 30. A heavy one (every finding of a national
        election: seconds) goes to a thread, so the loop goes on serving meanwhile."""
        self.last_read = time.monotonic()
        if heavy:
            return await anyio.to_thread.run_sync(question, limiter=self.reads)
        async with self.reads:
            return question()

    def rendered(self, key: tuple[Any, ...], size: int) -> Rendered | None:
        with self._rendered_lock:
            found = self._rendered.get((*key, size))
            if found is not None:
                self._rendered.move_to_end((*key, size))
            return found

    def keep(self, key: tuple[Any, ...], done: Rendered) -> Rendered:
        """Keep a rendered answer for the next asker of the same question at its size."""
        with self._rendered_lock:
            self._rendered[(*key, done.tree_size)] = done
            if len(self._rendered) > _RENDERED:
                self._rendered.popitem(last=False)
        return done


GZIP_FROM = 2048  # bytes: below this, compressing saves less than it costs
GZIP_LEVEL = 5  # JSON shrinks five- to tenfold already; higher levels cost more than they save


def render(doc: Any, size: int) -> Rendered:
    """An answer's bytes, their strong ETag and, for a large answer, the same bytes
    gzipped: compressed once when the answer is made, sent to every client that takes it
    (a contest's page on a national night is a few hundred KB of JSON)."""
    body = orjson.dumps(doc)
    gzipped = gzip.compress(body, GZIP_LEVEL, mtime=0) if len(body) >= GZIP_FROM else None
    return Rendered(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"', size, gzipped)


def key_counts(envelopes: Sequence[object]) -> dict[str, int]:
    """Documents per key id named, for the rate limit."""
    counts: dict[str, int] = {}
    for envelope in envelopes:
        key = claimed_key_id(envelope)
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    return counts
