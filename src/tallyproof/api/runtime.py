"""What one worker process of the HTTP service holds: the writer behind the group commit, the
read model and the log's proofs (used from one reading thread, as neither is thread-safe),
the feed's tail of the ledger, the key rates, and a cache of rendered answers."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import orjson

from tallyproof.api.limits import KeyRates
from tallyproof.api.settings import ServeSettings
from tallyproof.ledger.entries import EntryKind
from tallyproof.service.intake import Intake
from tallyproof.service.log import LogView
from tallyproof.service.outcomes import Outcome
from tallyproof.service.reading import ReadModel
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.database import Store

T = TypeVar("T")
_RENDERED = 2048  # rendered answers kept: (question, size) -> bytes and ETag
# a refused document whose signature was never verified is not charged to the key it names
_UNVERIFIED = ("schema.", "input.", "signature.missing", "signature.encoding", "signature.invalid")
_UNVERIFIED += ("signature.unknown_key",)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str  # strong: the same bytes always, for the same question at the same size
    tree_size: int


class Runtime:
    """Opened when the app starts, closed when it stops."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.writer = LedgerWriter.open(settings.store)
        self.committed = asyncio.Event()  # set after each of this process's commits
        self._loop = asyncio.get_running_loop()
        self.intake = Intake(self.writer, on_commit=self._on_commit)
        self.store = Store(settings.store.database_url)
        self.model = ReadModel(self.store)
        self.log = LogView(self.store)
        self.rates = KeyRates(self.limits.per_key_per_minute)
        self.reads = anyio.CapacityLimiter(1)
        self._rendered: OrderedDict[tuple[Any, ...], Rendered] = OrderedDict()
        self._rendered_lock = threading.Lock()

    def close(self) -> None:
        self.intake.close()
        self.writer.close()
        self.store.close()

    # --- writes -------------------------------------------------------------------------

    async def submit(self, kind: EntryKind, envelopes: Sequence[object]) -> list[Outcome]:
        """Queue for the group commit, charging each signer's allowance; answer once the
        documents' transaction has committed."""
        counts = key_counts(envelopes)
        self.rates.charge(counts)
        outcomes = await asyncio.wrap_future(self.intake.submit(kind, envelopes))
        for outcome, envelope in zip(outcomes, envelopes, strict=True):
            if outcome.problems and outcome.problems[0].code.startswith(_UNVERIFIED):
                key = _key_of(envelope)
                if key is not None:
                    self.rates.refund(key, 1)
        return outcomes

    def _on_commit(self, _size: int) -> None:
        """From the committer thread: wake the feed, which reads the commit from the store."""
        self._loop.call_soon_threadsafe(self.committed.set)

    # --- reads --------------------------------------------------------------------------

    async def read(self, question: Callable[[], T]) -> T:
        """Run a question in the one reading thread."""
        return await anyio.to_thread.run_sync(question, limiter=self.reads)

    def rendered(self, key: tuple[Any, ...], size: int) -> Rendered | None:
        with self._rendered_lock:
            found = self._rendered.get((*key, size))
            if found is not None:
                self._rendered.move_to_end((*key, size))
            return found

    def render(self, key: tuple[Any, ...], doc: Any, size: int) -> Rendered:
        """An answer's bytes and strong ETag, kept for the next asker at the same size."""
        body = orjson.dumps(doc)
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        done = Rendered(body, etag, size)
        with self._rendered_lock:
            self._rendered[(*key, size)] = done
            if len(self._rendered) > _RENDERED:
                self._rendered.popitem(last=False)
        return done


def _key_of(envelope: object) -> str | None:
    signature = envelope.get("signature") if isinstance(envelope, dict) else None
    key = signature.get("key") if isinstance(signature, dict) else None
    return key if isinstance(key, str) else None


def key_counts(envelopes: Sequence[object]) -> dict[str, int]:
    """Documents per key id named, for the rate limit."""
    counts: dict[str, int] = {}
    for envelope in envelopes:
        key = _key_of(envelope)
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    return counts
