"""Loading a stream of signed documents of several kinds in ledger order (`simulate
--into-store`, a data set's plan): runs of one kind each, judged by the use case of their
kind, all in one transaction. A national night interleaves declarations, claims and status
orders with its forms, so one transaction a run would commit ~1,200 times; and the verify
workers start on the runs ahead while the writer judges the one before them."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tallyproof.ledger.entries import EntryKind
from tallyproof.service import admin, events, submission
from tallyproof.service.outcomes import Outcome
from tallyproof.service.writer import LedgerWriter

Started = submission.Started | admin.Opened  # a run handed to the workers
_DOCUMENTS = {EntryKind.FORM, EntryKind.DECLARATION, EntryKind.CLAIM}
_ADMIN: dict[EntryKind, Callable[[LedgerWriter, object], Outcome]] = {
    EntryKind.STRUCTURE: admin.import_structure,
    EntryKind.KEY_REVOCATION: admin.revoke_key,
    EntryKind.STATUS: admin.order_status,
    EntryKind.EVENT: events.submit_event,
}


@dataclass(frozen=True)
class Run:
    """Consecutive documents of one kind."""

    kind: EntryKind
    envelopes: Sequence[object]


def submit_runs(writer: LedgerWriter, runs: Sequence[Run]) -> list[list[Outcome]]:
    """Each run's outcomes, as its use case would give them were it submitted alone after
    the runs before it; but all commit together, so none is acknowledged before the last
    is judged (a receipt is built against the commit's checkpoint, after it). Runs are
    handed to the workers ahead, up to and including the next key registration: a document
    after it may be signed by a key it registers, so it starts only once that is logged.

    A loader's ledger state grows by a million objects over a national night, all kept to
    its end; the cyclic collector would walk them all on every full collection, so what is
    alive after each bulk is moved out of its sight (refcounting still frees what is
    dropped; submission.ingest_forms does the same once)."""
    started: dict[int, Started] = {}
    ahead = 0  # the first run not started: the one after a registration not yet judged
    results: list[list[Outcome]] = []
    with writer.bulk():
        for i, run in enumerate(runs):
            if ahead <= i:
                ahead = _start_ahead(writer, runs, started, i)
            results.append(_finish(writer, run, started.pop(i, None)))
    gc.freeze()  # what the bulk added to the ledger state lives for the run (see above)
    return results


def _start_ahead(
    writer: LedgerWriter, runs: Sequence[Run], started: dict[int, Started], at: int
) -> int:
    """Start runs from `at`; the index of the first run not started."""
    while at < len(runs):
        run = runs[at]
        if run.kind in _DOCUMENTS:
            started[at] = submission.start(writer, run.kind, run.envelopes)
        elif run.kind is EntryKind.KEY_REGISTRATION:
            started[at] = admin.start_registrations(writer, run.envelopes)
            return at + 1
        at += 1
    return at


def _finish(writer: LedgerWriter, run: Run, started: Started | None) -> list[Outcome]:
    if isinstance(started, submission.Started):
        return submission.finish(writer, started)
    if run.kind in _DOCUMENTS:
        return submission.finish(writer, submission.start(writer, run.kind, run.envelopes))
    if run.kind is EntryKind.KEY_REGISTRATION:
        opened = started or admin.start_registrations(writer, run.envelopes)
        return admin.finish_registrations(writer, opened, run.envelopes)
    return [_ADMIN[run.kind](writer, e) for e in run.envelopes]
