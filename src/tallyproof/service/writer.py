"""The context every use case runs in: settings, store, the log's key, the ledger state,
and the one write path that appends entries, index rows and checkpoints in one commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tallyproof.ledger.entries import LeafTemplate, Signed
from tallyproof.ledger.keys import PublicKey, Signer
from tallyproof.ledger.merkle import leaf_hash
from tallyproof.ledger.note import Checkpoint, NoteError
from tallyproof.ledger.receipts import Receipt
from tallyproof.service.preparation import Workers
from tallyproof.service.settings import Settings
from tallyproof.service.state import LedgerState, StoreInconsistent
from tallyproof.store.database import Reader, Store, Writer
from tallyproof.store.kept import KeptCheckpoints
from tallyproof.store.records import CheckpointRow, IndexRecord, LedgerIndex


class NotInitialised(RuntimeError):  # noqa: N818 - a state, reported to the user as such
    """The data directory has no log key yet: run `tallyproof init`."""


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Appended:
    """An entry appended in the current transaction."""

    seq: int
    kind: str
    entry_id: str
    received_at: str


@dataclass
class Batch:
    """Rows of one write transaction; flushed together, so they commit or vanish together.
    `received_at` is read under the writer lock and never earlier than the log's last entry,
    so the time of every leaf is at or after the one before it, whoever wrote it."""

    writer: Writer
    state: LedgerState
    received_at: str
    checkpoint: tuple[int, str] | None = None  # signed in this transaction: (size, note)
    ledger_rows: list[tuple[Any, ...]] = field(default_factory=list)  # LedgerIndex but its size
    rows: dict[type, list[IndexRecord]] = field(default_factory=dict)
    appended: list[Appended] = field(default_factory=list)

    def append(self, signed: Signed, election_id: str, entry_id: str) -> Appended:
        """Add a leaf to the log (in memory until commit) and return where it went."""
        return self.append_leaf(
            str(signed.kind), election_id, entry_id, signed.key_id, LeafTemplate.of(signed)
        )

    def append_leaf(
        self, kind: str, election_id: str, entry_id: str, key_id: str, template: LeafTemplate
    ) -> Appended:
        """Add a leaf whose bytes were prepared but for the time (service/preparation.py)."""
        data = template.fill(self.received_at)
        leaf = leaf_hash(data)
        seq = self.state.tree.append(leaf)
        self.state.entries[(kind, entry_id)] = seq
        self.state.last_received_at = self.received_at
        self.ledger_rows.append(
            (seq, election_id, kind, entry_id, key_id, data, leaf, self.received_at)
        )
        done = Appended(seq, kind, entry_id, self.received_at)
        self.appended.append(done)
        return done

    def add(self, *records: IndexRecord) -> None:
        """Index rows to write with the batch's leaves."""
        for record in records:
            self.rows.setdefault(type(record), []).append(record)

    def flush(self) -> int:
        """Write everything; every entry of the batch records the tree size it committed at."""
        size = self.state.size
        self.writer.add_entries([LedgerIndex(*row, size) for row in self.ledger_rows])
        for records in self.rows.values():
            self.writer.add_index(records)
        # written: an outcome holds its batch until its receipt is built, not the rows
        self.ledger_rows, self.rows = [], {}
        return size


def later_of(clock_time: str, last: str) -> str:
    """The clock's time, or the last logged time if the clock is behind it (another
    writer's clock, or this one stepped back)."""
    if not last or _instant(clock_time) >= _instant(last):
        return clock_time
    return last


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class LedgerWriter:
    """Owns the store, the log's signing key and the in-memory ledger state."""

    def __init__(
        self, settings: Settings, store: Store, log: Signer, clock: Callable[[], str] = utc_now
    ) -> None:
        self.settings = settings
        self.store = store
        self.log = log
        self.clock = clock
        self.state = LedgerState()
        self.workers = Workers(settings.verify_workers)
        self.kept = KeptCheckpoints(settings.home / "checkpoints.log")
        self._opened: dict[str, Checkpoint] = {}  # checkpoint notes whose signature verified
        self._checkpoints: dict[int, str] = {}
        self._bulk: Batch | None = None  # the open transaction of `bulk`, which use cases join

    @classmethod
    def open(cls, settings: Settings, clock: Callable[[], str] = utc_now) -> LedgerWriter:
        """Open an initialised home: its log key must exist and the schema be current."""
        if not settings.log_key_path.exists():
            raise NotInitialised(
                f"no initialised home at {settings.home} (no log key {settings.log_key_path}); "
                "run `tallyproof init`, or choose another home with `tallyproof --home DIR` "
                "or TALLYPROOF_HOME"
            )
        log = Signer.from_private_text(settings.log_key_path.read_text())
        store = Store(settings.database_url)
        store.ensure_schema()
        return cls(settings, store, log, clock)

    @classmethod
    def initialise(cls, settings: Settings, clock: Callable[[], str] = utc_now) -> LedgerWriter:
        """Create the home, the log key (once) and the schema; safe to run again."""
        settings.home.mkdir(parents=True, exist_ok=True)
        if not settings.log_key_path.exists():
            signer = Signer.generate(settings.log_origin)
            settings.log_key_path.write_text(signer.private_text() + "\n")
            settings.log_key_path.chmod(0o600)
        return cls.open(settings, clock)

    @property
    def origin(self) -> str:
        """The log's name: the name of its key, fixed when the home was initialised."""
        return self.log.name

    @property
    def log_key(self) -> PublicKey:
        return self.log.public

    def close(self) -> None:
        self.workers.close()
        self.store.close()

    @contextmanager
    def read(self) -> Iterator[Reader]:
        with self.store.read() as reader:
            yield reader

    def refresh(self) -> LedgerState:
        """Catch the in-memory state up with the store (for read-side use)."""
        with self.store.read() as reader:
            self.state.catch_up(reader)
        return self.state

    @property
    def in_bulk(self) -> bool:
        """A `bulk` transaction is open: the state is the writer's own, under its lock."""
        return self._bulk is not None

    @contextmanager
    def bulk(self) -> Iterator[Batch]:
        """Several use cases in one transaction: a loader's consecutive batches of different
        kinds (key registrations, forms, a declaration, a status order) commit together
        under one checkpoint instead of one commit, and one fsync, each. Every use case run
        inside joins it and judges its documents against everything before them, this
        transaction's too. Nothing may be acknowledged before it ends: the outcomes'
        receipts carry the checkpoint signed at its commit."""
        if self._bulk is not None:
            raise RuntimeError("a bulk transaction is already open")
        with self.transaction() as batch:
            self._bulk = batch
            try:
                yield batch
            finally:
                self._bulk = None

    @contextmanager
    def transaction(self) -> Iterator[Batch]:
        """The single write path: lock, catch up, check the store against what the log has
        signed, let the caller append, flush, sign and keep a checkpoint of the new size (the
        one its receipts carry), commit, then keep that checkpoint beside the log key too. On
        any failure the in-memory state is dropped and rebuilt from the store, so a
        rolled-back append leaves no trace. Inside `bulk` it is the bulk's transaction."""
        if self._bulk is not None:
            yield self._bulk
            return
        try:
            with self.store.write() as writer:
                stored = writer.ledger_size()
                if stored != self.state.size:  # another writer committed since
                    self.state.catch_up(writer)
                self._guard(writer, stored)
                time = later_of(self.clock(), self.state.last_received_at)
                batch = Batch(writer, self.state, time)
                yield batch
                if batch.appended:
                    size = batch.flush()
                    batch.checkpoint = (size, self._insert_checkpoint(writer, size))
            self.state.committed()
        except BaseException:
            self.state = LedgerState()
            self._checkpoints.clear()
            raise
        if batch.checkpoint is not None:
            self.kept.append(*batch.checkpoint)

    def _guard(self, reader: Reader, stored: int) -> None:
        """Refuse to go on, and sign nothing, when the store no longer holds what the log
        signed: the newest checkpoint in the store and the newest one kept beside the key
        must both be this log's, no larger than the store, and have its root."""
        if stored != self.state.size:
            raise StoreInconsistent(
                "ledger.truncated",
                f"the store holds {stored} entries, {self.state.size} were read before",
            )
        latest = reader.checkpoint_at_or_before()
        if latest is not None:
            self._check_signed(latest.note, "the newest checkpoint in the store")
        try:
            kept = self.kept.latest()
        except (ValueError, KeyError, TypeError) as err:
            raise StoreInconsistent("ledger.kept_unreadable", f"{self.kept.path}: {err}") from None
        if kept is not None and (latest is None or kept[1] != latest.note):
            self._check_signed(kept[1], f"the newest checkpoint in {self.kept.path.name}")

    def _check_signed(self, note: str, where: str) -> None:
        """The note is this log's, and the store holds what it commits to. Its signature is
        checked once per note; what the store holds, at every transaction."""
        checkpoint = self._opened.get(note)
        if checkpoint is None:
            try:
                checkpoint = Checkpoint.open(note, self.log_key)
            except NoteError as err:
                raise StoreInconsistent("ledger.checkpoint_signature", f"{where}: {err}") from None
            self._opened = {note: checkpoint}  # the newest is all a later check needs
        size = self.state.size
        if checkpoint.origin != self.origin:
            raise StoreInconsistent(
                "ledger.checkpoint_signature", f"{where} is for {checkpoint.origin!r}"
            )
        if checkpoint.size > size:
            raise StoreInconsistent(
                "ledger.truncated",
                f"{where} commits to {checkpoint.size} entries but the store holds {size}: "
                "entries the log signed for are gone",
            )
        if self.state.tree.root(checkpoint.size) != checkpoint.root:
            raise StoreInconsistent(
                "ledger.inconsistent",
                f"{where} commits to a root the store's first {checkpoint.size} entries do not "
                "have: an entry was altered, removed or moved",
            )

    def _insert_checkpoint(self, writer: Writer, size: int) -> str:
        note = self.checkpoint_note(size)
        writer.add_checkpoint(CheckpointRow(size, note, self.clock()))
        # signed here, so the next transaction's guard need not check its signature again
        self._opened = {note: Checkpoint(self.origin, size, self.state.tree.root(size))}
        return note

    def publish_checkpoint(self) -> str:
        """The signed checkpoint of the log as it is now (every commit signs one; this signs
        one only for a store written before that was so)."""
        with self.transaction() as batch:
            size = self.state.size
            exists = batch.writer.checkpoint(size)
            if exists is not None:
                return exists.note
            batch.checkpoint = (size, self._insert_checkpoint(batch.writer, size))
            return batch.checkpoint[1]

    def checkpoint_note(self, size: int) -> str:
        """The log's signed checkpoint at `size` (deterministic: Ed25519 signs the same text
        the same way), cached because a whole batch shares one."""
        note = self._checkpoints.get(size)
        if note is None:
            note = Checkpoint(self.origin, size, self.state.tree.root(size)).sign(self.log)
            if len(self._checkpoints) > 64:
                self._checkpoints.clear()
            self._checkpoints[size] = note
        return note

    def receipt(
        self,
        seq: int,
        tree_size: int,
        kind: str,
        entry_id: str,
        received_at: str,
        note: str | None = None,
    ) -> Receipt:
        """A receipt against the checkpoint of `tree_size`: the one signed at its commit."""
        return Receipt(
            kind=kind,
            entry_id=entry_id,
            leaf_index=seq,
            leaf_hash=self.state.tree.leaf(seq),
            tree_size=tree_size,
            received_at=received_at,
            checkpoint=note or self.checkpoint_note(tree_size),
            inclusion_proof=tuple(self.state.tree.inclusion_proof(seq, tree_size)),
        )

    def receipt_of(self, batch: Batch, appended: Appended) -> Receipt:
        """The receipt of an entry `batch` appended, against the checkpoint signed at the
        batch's commit (so built only after it: in `bulk`, after the whole bulk)."""
        if batch.checkpoint is None:
            raise RuntimeError(f"entry {appended.seq} is not committed yet: no receipt")
        size, note = batch.checkpoint
        a = appended
        return self.receipt(a.seq, size, a.kind, a.entry_id, a.received_at, note)

    def receipt_for_entry(self, kind: str, entry_id: str) -> Receipt:
        """The receipt of an entry committed earlier: identical to the one first returned,
        against the checkpoint kept from its commit (or, for a store written before every
        commit kept one, the first checkpoint after it)."""
        with self.store.read() as reader:
            row = reader.entry_by_id(kind, entry_id)
            kept = reader.checkpoint_covering(row.tree_size) if row is not None else None
        if row is None:
            raise LookupError(f"no {kind} {entry_id} in the ledger")
        if kept is None:
            self.publish_checkpoint()
            return self.receipt_for_entry(kind, entry_id)
        if kept.tree_size > self.state.size:
            self.refresh()
        return self.receipt(
            row.seq, kept.tree_size, row.kind, row.entry_id, row.received_at, kept.note
        )
