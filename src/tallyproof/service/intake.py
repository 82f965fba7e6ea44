"""Group commit: documents submitted concurrently (one HTTP request each, or batches) wait in
one queue, and a single committer thread logs whatever is waiting as one transaction — one
commit and one fsync for many requests — then acknowledges each request with its own
outcomes. Nothing is acknowledged before the transaction that holds it has committed."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Any

from tallyproof.ledger.entries import EntryKind
from tallyproof.service import admin, events, submission
from tallyproof.service.outcomes import Outcome
from tallyproof.service.writer import LedgerWriter

Commit = Callable[[LedgerWriter, Sequence[Any]], list[Outcome]]


def _prepared(kind: EntryKind) -> Commit:
    """Documents HTTP workers have read, verified and encoded: numbered within the group."""

    def commit(writer: LedgerWriter, items: Sequence[Any]) -> list[Outcome]:
        numbered = [replace(p, index=i) for i, p in enumerate(items)]
        return submission.submit_prepared(writer, kind, numbered)

    return commit


# each kind's use case: one transaction for a list of documents, an outcome for each. Forms,
# declarations and claim reports arrive prepared (service/preparation.py); admin documents,
# rare and signed by the election's own key, arrive as envelopes.
USE_CASES: dict[EntryKind, Commit] = {
    EntryKind.FORM: _prepared(EntryKind.FORM),
    EntryKind.DECLARATION: _prepared(EntryKind.DECLARATION),
    EntryKind.CLAIM: _prepared(EntryKind.CLAIM),
    EntryKind.BALLOT_ACCOUNT: _prepared(EntryKind.BALLOT_ACCOUNT),
    EntryKind.STRUCTURE: lambda w, envelopes: [admin.import_structure(w, e) for e in envelopes],
    EntryKind.KEY_REGISTRATION: admin.register_keys,
    EntryKind.KEY_REVOCATION: lambda w, envelopes: [admin.revoke_key(w, e) for e in envelopes],
    EntryKind.STATUS: lambda w, envelopes: [admin.order_status(w, e) for e in envelopes],
    EntryKind.EVENT: events.submit_events,
}
# the kinds that arrive prepared; documents of these from many requests share a transaction
# (each is judged alone against everything before it, so a refused one sinks no other)
PREPARED = frozenset(
    {EntryKind.FORM, EntryKind.DECLARATION, EntryKind.CLAIM, EntryKind.BALLOT_ACCOUNT}
)


class IntakeClosed(RuntimeError):  # noqa: N818 - a state, reported as 503
    """The service is shutting down and takes no more submissions."""

    code = "service.closing"


@dataclass
class _Request:
    kind: EntryKind
    envelopes: Sequence[Any]
    done: Future[list[Outcome]] = field(default_factory=Future)


@dataclass
class IntakeStats:
    """What the committer did: transactions, documents and requests, for the health answer
    and the benchmark's check that requests really were committed together."""

    transactions: int = 0
    documents: int = 0
    requests: int = 0
    largest: int = 0


class Intake:
    """The committer thread and its queue. Every write of the process goes through it, so
    the writer (its state is not thread-safe) is only ever used from that one thread."""

    def __init__(
        self,
        writer: LedgerWriter,
        *,
        max_group: int = 4000,
        on_commit: Callable[[int], None] | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        self.writer = writer
        self.max_group = max_group
        self.on_commit = on_commit  # told the log's size after each commit (wakes the feed)
        self.after = after  # called once a group's requests have all been answered
        self.stats = IntakeStats()
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="tallyproof-committer", daemon=True)
        self._thread.start()

    def submit(self, kind: EntryKind, envelopes: Sequence[Any]) -> Future[list[Outcome]]:
        """Queue documents of one kind (prepared, for the kinds in PREPARED); the future
        resolves, after their commit, to one outcome per document in order (receipts built),
        or to the error that stopped it."""
        if self._closed:
            raise IntakeClosed("service.closing: the service is shutting down")
        request = _Request(kind, envelopes)
        self._queue.put(request)
        return request.done

    def close(self, timeout: float = 30.0) -> None:
        """Take no more; commit what is queued; stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            waiting, stop = self._gather(first)
            for kind, requests in groupby(waiting, key=lambda r: r.kind):
                self._commit(kind, list(requests))
            if stop:
                return

    def _gather(self, first: _Request) -> tuple[list[_Request], bool]:
        """Everything already waiting, up to `max_group` documents: the group that commits
        together. Requests that arrive while it commits form the next group."""
        waiting, count = [first], len(first.envelopes)
        while count < self.max_group:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                break
            if request is None:
                return waiting, True
            waiting.append(request)
            count += len(request.envelopes)
        return waiting, False

    def _commit(self, kind: EntryKind, requests: list[_Request]) -> None:
        """One transaction for the group when the kind allows it, else one per request."""
        groups = [requests] if kind in PREPARED else [[r] for r in requests]
        for group in groups:
            envelopes = [e for r in group for e in r.envelopes]
            try:
                outcomes = USE_CASES[kind](self.writer, envelopes)
                for o in outcomes:
                    o.settle()  # the receipt built now: the next transaction may reset the state
            except BaseException as error:  # every waiting request hears why
                for r in group:
                    r.done.set_exception(error)
                self._answered()
                if not isinstance(error, Exception):
                    raise
                continue
            self._record(len(group), len(envelopes))
            at = 0
            for r in group:
                mine = outcomes[at : at + len(r.envelopes)]
                at += len(r.envelopes)
                r.done.set_result([_reindexed(o, i) for i, o in enumerate(mine)])
            if self.on_commit is not None:
                self.on_commit(self.writer.state.size)
            self._answered()

    def _answered(self) -> None:
        if self.after is not None:
            self.after()

    def _record(self, requests: int, documents: int) -> None:
        s = self.stats
        s.transactions += 1
        s.requests += requests
        s.documents += documents
        s.largest = max(s.largest, documents)


def _reindexed(outcome: Outcome, index: int) -> Outcome:
    """An outcome numbered within its own request, not within the group it committed in."""
    if outcome.index != index:
        outcome.index = index
    return outcome
