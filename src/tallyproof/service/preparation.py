"""Everything about a submission that needs no ledger state — the envelope, the document's
shape, the signature, the leaf bytes — done in worker processes, so the single writer only
applies the rules and appends. Ed25519 checks are most of the CPU cost of ingest."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from tallyproof.domain.ballots import BallotAccount, parse_ballot_account
from tallyproof.domain.claims import ClaimReport, parse_claim_report
from tallyproof.domain.declarations import DeclaredResult, parse_declaration
from tallyproof.domain.forms import ResultForm, parse_form
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.ledger.canonical import canonical_plain, content_id
from tallyproof.ledger.entries import (
    EntryKind,
    EnvelopeError,
    LeafTemplate,
    Signed,
    open_envelope,
    read_envelope,
)
from tallyproof.ledger.intake import Unreadable

Document = ResultForm | DeclaredResult | ClaimReport | BallotAccount
T = TypeVar("T")
_PARSERS: dict[str, Callable[[Any], Document]] = {
    EntryKind.FORM: parse_form,
    EntryKind.DECLARATION: parse_declaration,
    EntryKind.CLAIM: parse_claim_report,
    EntryKind.BALLOT_ACCOUNT: parse_ballot_account,
}
_INLINE_BELOW = 256
_CHUNKS_A_WORKER = 4  # chunks a batch is cut into, per worker: the writer starts on the first
_CHUNK_AT_LEAST = 128  # ... but each big enough that sending it costs little against its work


@dataclass(frozen=True, slots=True)
class Prepared:
    """A submission ready for the rules (`doc` set) or already refused (`problems` set)."""

    index: int
    entry_id: str | None = None
    problems: tuple[Problem, ...] = ()
    key_id: str = ""
    doc: Document | None = None
    leaf: LeafTemplate | None = None  # the leaf's bytes but for the time it is logged

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        """Pickled as a plain tuple: prepared forms cross back to the writer by the thousand."""
        return (Prepared, tuple(getattr(self, f) for f in self.__dataclass_fields__))


def _body_id(body: Any) -> str | None:
    """The id of a refused document, when it can be encoded at all."""
    try:
        return content_id(body)
    except (TypeError, ValueError):
        return None


def _refusal(index: int, entry_id: str | None, code: str, field: str, message: str) -> Prepared:
    return Prepared(index, entry_id, (Problem(code, field, message),))


def prepare(kind: str, items: Sequence[tuple[int, object, bytes | None]]) -> list[Prepared]:
    """For each (index, envelope, registered public key or None): read, parse, verify and
    encode the leaf as it will be logged. Never raises for bad input."""
    parse = _PARSERS[kind]
    keys: dict[bytes, VerifyKey] = {}
    out = []
    for index, envelope, public in items:
        if isinstance(envelope, Unreadable):
            out.append(Prepared(index, None, envelope.problems))
            continue
        try:
            body, key_id, signature = open_envelope(envelope, EntryKind(kind))
        except EnvelopeError as err:
            out.append(_refusal(index, None, err.code, err.field, str(err)))
            continue
        try:
            doc = parse(body)
        except Rejected as err:
            out.append(Prepared(index, _body_id(body), err.problems))
            continue
        # a parsed document is plain JSON, so its canonical bytes need no subset check
        signed = Signed(EntryKind(kind), body, key_id, signature, canonical_plain(body))
        entry_id = signed.body_id
        if public is None:
            out.append(
                _refusal(
                    index,
                    entry_id,
                    "signature.unknown_key",
                    "signature.key",
                    f"key {signed.key_id} is not registered",
                )
            )
            continue
        verifier = keys.get(public) or keys.setdefault(public, VerifyKey(public))
        try:
            verifier.verify(signed.message, signed.signature)
        except (BadSignatureError, ValueError):
            out.append(
                _refusal(
                    index,
                    entry_id,
                    "signature.invalid",
                    "signature.value",
                    "the signature does not match the document and key",
                )
            )
            continue
        leaf = LeafTemplate.of(signed)
        out.append(Prepared(index, entry_id, (), signed.key_id, doc, leaf))
    return out


@dataclass(frozen=True, slots=True)
class OpenedAdmin:
    """An admin document (a key registration) read in a worker: its signed form, or why it
    cannot be read; and the admin key its signature verified with, if it did."""

    index: int
    signed: Signed | None = None
    problem: Problem | None = None
    verified_by: bytes | None = None

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (OpenedAdmin, (self.index, self.signed, self.problem, self.verified_by))


def open_admin(
    kind: str, items: Sequence[tuple[int, object]], admins: dict[str, bytes]
) -> list[OpenedAdmin]:
    """Read each admin envelope and verify its signature with the admin key of the election
    its body names (`admins`: election -> raw key). Only the reading and the signature: the
    writer still checks that the key is the admin's and every rule. Never raises."""
    keys = {election: VerifyKey(raw) for election, raw in admins.items()}
    out = []
    for index, envelope in items:
        opened = read_admin(index, envelope, EntryKind(kind))
        signed = opened.signed
        election = signed.body.get("election") if signed is not None else None
        verifier = keys.get(election) if isinstance(election, str) else None
        if signed is not None and verifier is not None:
            try:
                verifier.verify(signed.message, signed.signature)
                opened = OpenedAdmin(index, signed, None, admins[election])
            except (BadSignatureError, ValueError):
                pass  # the writer says why, as it does for a document it reads itself
        out.append(opened)
    return out


def read_admin(index: int, envelope: object, kind: EntryKind) -> OpenedAdmin:
    """An admin envelope read, its signature not yet checked; or why it cannot be read."""
    try:
        return OpenedAdmin(index, read_envelope(envelope, kind))
    except EnvelopeError as err:
        return OpenedAdmin(index, problem=Problem(err.code, err.field, str(err)))


class Workers:
    """A process pool for `prepare`; small batches are prepared inline."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def submit(
        self,
        kind: str,
        items: Sequence[tuple[int, object, bytes | None]],
        inline_below: int | None = None,
    ) -> Callable[[], Iterator[list[Prepared]]]:
        """Start preparing; the returned function yields the results chunk by chunk, in
        order, each as soon as it is ready: the writer judges the first chunks while the
        workers still verify the rest (the writer and the workers overlap within a batch).
        A batch smaller than `inline_below` is prepared at once, here, unless it is started
        ahead of when it is judged (then the workers are always worth it)."""
        below = _INLINE_BELOW if inline_below is None else inline_below
        if self.workers <= 1 or len(items) < max(below, 1):  # nothing: nothing to send
            done = prepare(kind, items)
            return lambda: iter([done])
        futures = self._spread(prepare, kind, items)
        return lambda: (f.result() for f in futures)

    def open_admin(
        self, kind: str, items: Sequence[tuple[int, object]], admins: dict[str, bytes]
    ) -> Callable[[], Iterator[OpenedAdmin]]:
        """Start reading and verifying admin documents (`open_admin`) on the workers; the
        returned function yields them in order, each chunk as soon as it is ready, so the
        writer judges the first while the rest are verified. Few are read here and now."""
        if self.workers <= 1 or len(items) < _INLINE_BELOW:
            done = open_admin(kind, items, admins)
            return lambda: iter(done)
        futures = self._spread(open_admin, kind, items, admins)
        return lambda: (o for f in futures for o in f.result())

    def _spread(
        self, work: Callable[..., list[T]], kind: str, items: Sequence[Any], *args: Any
    ) -> list[Future[list[T]]]:
        """`work(kind, chunk, *args)` for the items in order, a chunk a task: four chunks a
        worker, so the first comes back early, but each big enough to be worth sending."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers)
        size = max(_CHUNK_AT_LEAST, -(-len(items) // (self.workers * _CHUNKS_A_WORKER)))
        return [
            self._pool.submit(work, kind, items[i : i + size], *args)
            for i in range(0, len(items), size)
        ]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
