"""The context every use case runs in: settings, store, the log's key, the ledger state,
and the one write path that appends entries, index rows and checkpoints in one commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table

from tallyproof.ledger.entries import LedgerEntry, Signed
from tallyproof.ledger.keys import PublicKey, Signer
from tallyproof.ledger.merkle import leaf_hash
from tallyproof.ledger.note import Checkpoint
from tallyproof.ledger.receipts import Receipt
from tallyproof.service.preparation import Workers
from tallyproof.service.settings import Settings
from tallyproof.service.state import LedgerState
from tallyproof.store import schema
from tallyproof.store.database import Reader, Store, Writer


class NotInitialised(RuntimeError):  # noqa: N818 - a state, reported to the user as such
    """The data directory has no log key yet: run `tallyproof init`."""


def _age(then: str, now: str) -> float:
    """Seconds between two timestamps written by the clock."""
    parse = datetime.fromisoformat
    return (parse(now.replace("Z", "+00:00")) - parse(then.replace("Z", "+00:00"))).total_seconds()


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
    """Rows of one write transaction; flushed together, so they commit or vanish together."""

    writer: Writer
    state: LedgerState
    clock: Callable[[], str]
    ledger_rows: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    appended: list[Appended] = field(default_factory=list)

    def append(self, signed: Signed, election_id: str, entry_id: str) -> Appended:
        """Add a leaf to the log (in memory until commit) and return where it went."""
        received_at = self.clock()
        data = LedgerEntry(signed, received_at).leaf_data()
        return self.append_leaf(
            str(signed.kind),
            election_id,
            entry_id,
            signed.key_id,
            data,
            leaf_hash(data),
            received_at,
        )

    def append_leaf(
        self,
        kind: str,
        election_id: str,
        entry_id: str,
        key_id: str,
        data: bytes,
        leaf: bytes,
        received_at: str,
    ) -> Appended:
        """Add a leaf whose bytes were prepared already (see service/preparation.py)."""
        seq = self.state.tree.append(leaf)
        self.state.entries[(kind, entry_id)] = seq
        self.ledger_rows.append(
            {
                "seq": seq,
                "election_id": election_id,
                "kind": kind,
                "entry_id": entry_id,
                "key_id": key_id,
                "leaf_data": data,
                "leaf_hash": leaf,
                "received_at": received_at,
            }
        )
        done = Appended(seq, kind, entry_id, received_at)
        self.appended.append(done)
        return done

    def add_rows(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows.setdefault(table.name, []).extend(rows)

    def flush(self) -> int:
        """Write everything; every entry of the batch records the tree size it committed at."""
        size = self.state.size
        for row in self.ledger_rows:
            row["tree_size"] = size
        self.writer.insert(schema.ledger_entries, self.ledger_rows)
        for name, rows in self.rows.items():
            self.writer.insert(schema.metadata.tables[name], rows)
        return size


class Context:
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
        self._checkpoints: dict[int, str] = {}

    @classmethod
    def open(cls, settings: Settings, clock: Callable[[], str] = utc_now) -> Context:
        """Open an initialised home: its log key must exist and the schema be current."""
        if not settings.log_key_path.exists():
            raise NotInitialised(
                f"no log key at {settings.log_key_path}; run `tallyproof init` first"
            )
        log = Signer.from_private_text(settings.log_key_path.read_text())
        store = Store(settings.database_url)
        store.ensure_schema()
        return cls(settings, store, log, clock)

    @classmethod
    def initialise(cls, settings: Settings, clock: Callable[[], str] = utc_now) -> Context:
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

    @contextmanager
    def transaction(self) -> Iterator[Batch]:
        """The single write path: lock, catch up, let the caller append, flush, publish a
        checkpoint if one is due, commit. On any failure the in-memory state is dropped and
        rebuilt from the store, so a rolled-back append leaves no trace."""
        try:
            with self.store.write() as writer:
                self.state.catch_up(writer)
                batch = Batch(writer, self.state, self.clock)
                yield batch
                if batch.appended:
                    size = batch.flush()
                    self._publish_if_due(writer, size)
            self.state.committed()
        except BaseException:
            self.state = LedgerState()
            self._checkpoints.clear()
            raise

    def _publish_if_due(self, writer: Writer, size: int) -> None:
        every, seconds = self.settings.checkpoint_every, self.settings.checkpoint_seconds
        published = writer.conn.execute(
            schema.checkpoints.select().order_by(schema.checkpoints.c.tree_size.desc()).limit(1)
        ).first()
        last = published.tree_size if published else 0
        grown = every and size - last >= every
        stale = (
            seconds
            and size > last
            and (published is None or _age(published.published_at, self.clock()) >= seconds)
        )
        if grown or stale:
            self._insert_checkpoint(writer, size)

    def _insert_checkpoint(self, writer: Writer, size: int) -> str:
        note = self.checkpoint_note(size)
        writer.insert(
            schema.checkpoints, [{"tree_size": size, "note": note, "published_at": self.clock()}]
        )
        return note

    def publish_checkpoint(self) -> str:
        """Publish a signed checkpoint of the log as it is now (idempotent per size)."""
        with self.transaction() as batch:
            size = self.state.size
            exists = batch.writer.conn.execute(
                schema.checkpoints.select().where(schema.checkpoints.c.tree_size == size)
            ).first()
            return exists.note if exists else self._insert_checkpoint(batch.writer, size)

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
        self, seq: int, tree_size: int, kind: str, entry_id: str, received_at: str
    ) -> Receipt:
        return Receipt(
            kind=kind,
            entry_id=entry_id,
            leaf_index=seq,
            leaf_hash=self.state.tree.leaf(seq),
            tree_size=tree_size,
            received_at=received_at,
            checkpoint=self.checkpoint_note(tree_size),
            inclusion_proof=tuple(self.state.tree.inclusion_proof(seq, tree_size)),
        )

    def receipt_for_entry(self, kind: str, entry_id: str) -> Receipt:
        """The receipt of an entry committed earlier: identical to the one first returned."""
        with self.store.read() as reader:
            row = reader.entry_by_id(kind, entry_id)
        if row is None:
            raise LookupError(f"no {kind} {entry_id} in the ledger")
        return self.receipt(row.seq, row.tree_size, row.kind, row.entry_id, row.received_at)
