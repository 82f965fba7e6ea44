"""The field device's outbox: every form it signed, in one SQLite file, with where each
stands — pending, sent, accepted with its verified receipt, or refused with the rules it
broke — and how the device reaches the log. Nothing is deleted and a form's state only
moves forward; the file itself refuses anything else, whoever writes to it."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from tallyproof.domain.forms import parse_form
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.formats.structure import FileFormatError
from tallyproof.ledger.canonical import canonical
from tallyproof.ledger.entries import EntryKind, EnvelopeError, Signed, read_envelope, sign
from tallyproof.ledger.intake import Unreadable
from tallyproof.ledger.keys import PublicKey, Signer

FILE_NAME = "outbox.sqlite"
VERSION = 1
OTHER_KEY = "field.other_key"  # an envelope signed by a key that is not the device's


class State(StrEnum):
    PENDING = "pending"  # signed, never sent
    SENT = "sent"  # sent at least once; no answer that checks out yet
    ACCEPTED = "accepted"  # in the log: its receipt verified against the log's key
    REFUSED = "refused"  # the log refused it; the rules it broke are kept


UNSETTLED = (State.PENDING, State.SENT)

_SCHEMA = (
    """CREATE TABLE device (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        server TEXT NOT NULL,
        log_key TEXT NOT NULL,
        device_key TEXT NOT NULL,
        key_file TEXT NOT NULL,
        created_at TEXT NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        retry_at REAL NOT NULL DEFAULT 0,
        checkpoint TEXT)""",
    """CREATE TABLE forms (
        seq INTEGER PRIMARY KEY,
        entry_id TEXT NOT NULL UNIQUE,
        envelope BLOB NOT NULL,
        station TEXT NOT NULL,
        contest TEXT NOT NULL,
        supersedes TEXT,
        added_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending'
            CHECK (state IN ('pending', 'sent', 'accepted', 'refused')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_attempt_at TEXT,
        next_attempt REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        receipt TEXT,
        duplicate INTEGER NOT NULL DEFAULT 0,
        note TEXT,
        problems TEXT,
        settled_at TEXT,
        CHECK ((state = 'accepted') = (receipt IS NOT NULL)),
        CHECK ((state = 'refused') = (problems IS NOT NULL)))""",
    "CREATE INDEX forms_unsettled ON forms (seq) WHERE state IN ('pending', 'sent')",
    """CREATE TRIGGER forms_kept BEFORE DELETE ON forms
    BEGIN SELECT RAISE(ABORT, 'outbox: nothing is deleted from the outbox'); END""",
    """CREATE TRIGGER forms_as_signed
    BEFORE UPDATE OF seq, entry_id, envelope, station, contest, supersedes, added_at ON forms
    BEGIN SELECT RAISE(ABORT, 'outbox: a signed form never changes'); END""",
    """CREATE TRIGGER forms_settled BEFORE UPDATE ON forms
    WHEN OLD.state IN ('accepted', 'refused')
    BEGIN SELECT RAISE(ABORT, 'outbox: a settled form never changes'); END""",
    """CREATE TRIGGER forms_forward BEFORE UPDATE OF state ON forms
    WHEN OLD.state = 'sent' AND NEW.state = 'pending'
    BEGIN SELECT RAISE(ABORT, 'outbox: a form''s state only moves forward'); END""",
    f"PRAGMA user_version = {VERSION}",
)


class OutboxError(FileFormatError):
    """An outbox that cannot be used: missing, already there, of another version, or a key
    that is not the device's. Like any file that cannot be read, exit 3."""


@dataclass(frozen=True)
class Device:
    """How this device reaches the log and what it trusts: the log's key, given at setup
    (never taken from the server), and its own key."""

    server: str
    log_key: PublicKey
    key: PublicKey
    key_file: str
    created_at: str
    failures: int  # answers missed in a row (unreachable, 5xx, 429)
    retry_at: float  # epoch seconds: nothing is sent before, after those failures
    checkpoint: str | None  # the newest checkpoint `sync --check` verified


@dataclass(frozen=True)
class Kept:
    """One form in the outbox, as the device signed it, and where it stands."""

    seq: int
    entry_id: str
    envelope: bytes  # the signed envelope's RFC 8785 bytes, sent exactly as kept
    station: str
    contest: str
    supersedes: str | None
    state: State
    added_at: str
    attempts: int
    last_attempt_at: str | None
    next_attempt: float
    last_error: str | None
    receipt: dict[str, Any] | None
    duplicate: bool
    note: str | None
    problems: tuple[Problem, ...]
    settled_at: str | None

    def signed(self) -> Signed:
        return read_envelope(json.loads(self.envelope), EntryKind.FORM)


@dataclass(frozen=True)
class Verdict:
    """What the log's answer means for one form: accepted with its verified receipt, refused
    with its problems, or still to send (`error` says why, `retry_at` not before when)."""

    entry_id: str
    state: State
    receipt: Mapping[str, Any] | None = None
    duplicate: bool = False
    note: str = ""
    problems: tuple[Problem, ...] = ()
    error: str = ""
    retry_at: float = 0.0


def iso(moment: float) -> str:
    """A moment as the officer reads it: UTC, to the second."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def signed_form(doc: object, signer: Signer) -> Signed:
    """A document ready to keep. An unsigned form is read first — a malformed field is
    refused now, while the officer still holds the paper, not hours later when the network
    returns — then signed with the device's key; an envelope already signed must be the
    device's, with a signature that holds."""
    if isinstance(doc, Unreadable):
        raise Rejected(doc.problems)
    if isinstance(doc, Mapping) and "signature" in doc:
        signed = _envelope(doc, signer.public)
        parse_form(signed.body)
        return signed
    parse_form(doc)
    assert isinstance(doc, Mapping)
    return sign(EntryKind.FORM, doc, signer)


def _envelope(doc: Mapping[str, Any], device: PublicKey) -> Signed:
    try:
        signed = read_envelope(doc, EntryKind.FORM)
    except EnvelopeError as error:
        raise Rejected([Problem(error.code, error.field, str(error))]) from None
    if signed.key_id != device.key_id:
        message = f"signed by key {signed.key_id}, not this device's ({device.key_id})"
        raise Rejected([Problem(OTHER_KEY, "signature.key", message)])
    if not device.verify(signed.message, signed.signature):
        raise Rejected([Problem("signature.invalid", "signature", "does not match the form")])
    return signed


class Outbox:
    """The outbox file, opened. WAL with synchronous=FULL: a form is on disk before `add`
    returns, and an attempt is recorded before its request leaves. Each method is one
    transaction; `BEGIN IMMEDIATE` and a busy timeout let `sign`, `sync` and `status` run
    side by side."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn, self.path = conn, path

    @classmethod
    def create(
        cls, directory: Path, server: str, log_key: PublicKey, signer: Signer, key_file: Path
    ) -> Outbox:
        path = directory / FILE_NAME
        if path.exists():
            raise OutboxError(f"{path}: an outbox is already there", "outbox.exists")
        directory.mkdir(parents=True, exist_ok=True)
        outbox = cls(_connect(path), path)
        with outbox._write() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO device (id, server, log_key, device_key, key_file, created_at) "
                "VALUES (1, ?, ?, ?, ?, ?)",
                (server, log_key.vkey, signer.public.vkey, str(key_file), iso(time.time())),
            )
        return outbox

    @classmethod
    def open(cls, directory: Path) -> Outbox:
        path = directory / FILE_NAME
        if not path.is_file():
            raise OutboxError(
                f"{path}: no outbox (tallyproof field init makes one)", "outbox.missing"
            )
        try:
            conn = _connect(path)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as error:
            raise OutboxError(f"{path}: {error}", "outbox.unreadable") from None
        if version != VERSION:
            conn.close()
            raise OutboxError(
                f"{path}: not an outbox of this version ({version}; this client reads {VERSION})",
                "outbox.version",
            )
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction, taken for writing at once; rolled back on any exception. A file
        that cannot be written (locked for longer than the timeout, full, read-only) is an
        OutboxError naming it."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.execute("COMMIT")
        except sqlite3.Error as error:
            raise OutboxError(f"{self.path}: {error}", "outbox.unwritable") from error

    # --- the device ----------------------------------------------------------------------

    def device(self) -> Device:
        row = self._conn.execute(
            "SELECT server, log_key, device_key, key_file, created_at, failures, retry_at, "
            "checkpoint FROM device WHERE id = 1"
        ).fetchone()
        server, log_key, key, key_file, created, failures, retry_at, checkpoint = row
        return Device(
            server,
            PublicKey.from_vkey(log_key),
            PublicKey.from_vkey(key),
            key_file,
            created,
            failures,
            retry_at,
            checkpoint,
        )

    def missed(self, seqs: Sequence[int], error: str, retry_at: float) -> None:
        """The log could not be reached, or did not answer: the forms of the request keep the
        error, and the device waits until `retry_at` before it sends anything."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE forms SET last_error = ? WHERE seq = ? AND state IN ('pending', 'sent')",
                [(error, seq) for seq in seqs],
            )
            conn.execute(
                "UPDATE device SET failures = failures + 1, retry_at = ? WHERE id = 1",
                (retry_at,),
            )

    def retry_now(self) -> None:
        """Forget every wait kept from earlier runs (the officer sees the network is back)."""
        with self._write() as conn:
            conn.execute("UPDATE device SET retry_at = 0 WHERE id = 1")
            conn.execute("UPDATE forms SET next_attempt = 0 WHERE state IN ('pending', 'sent')")

    def keep_checkpoint(self, note: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE device SET checkpoint = ? WHERE id = 1", (note,))

    # --- forms ---------------------------------------------------------------------------

    def add(self, forms: Sequence[Signed], now: float) -> list[bool]:
        """Keep signed forms, durably, in one transaction; for each, whether it is new (the
        same document kept twice is one row)."""
        added = []
        with self._write() as conn:
            for signed in forms:
                cursor = conn.execute(
                    "INSERT INTO forms (entry_id, envelope, station, contest, supersedes, "
                    "added_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entry_id) DO NOTHING",
                    (
                        signed.body_id,
                        canonical(signed.envelope()),
                        str(signed.body.get("station", "")),
                        str(signed.body.get("contest", "")),
                        signed.body.get("supersedes"),
                        iso(now),
                    ),
                )
                added.append(cursor.rowcount == 1)
        return added

    def due(self, now: float, after: int, limit: int) -> list[Kept]:
        """Forms to send now, in the order they were signed, from `after` on. A correction
        waits while the form it supersedes is still to send, so the log meets them in order."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM forms f WHERE {_SENDABLE} "
            "AND next_attempt <= ? AND seq > ? ORDER BY seq LIMIT ?",
            (now, after, limit),
        ).fetchall()
        return [_kept(row) for row in rows]

    def next_due(self) -> float | None:
        """When the next form may be sent (the device's own wait aside); None when none is
        left to send."""
        row = self._conn.execute(
            f"SELECT count(*), min(next_attempt) FROM forms f WHERE {_SENDABLE}"
        ).fetchone()
        return float(row[1]) if row[0] else None

    def sending(self, seqs: Sequence[int], now: float) -> None:
        """Record an attempt before its request leaves, so a crash mid-request leaves the
        forms marked sent and they are sent again (the log answers a resent form with its
        original receipt)."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE forms SET state = 'sent', attempts = attempts + 1, last_attempt_at = ? "
                "WHERE seq = ? AND state IN ('pending', 'sent')",
                [(iso(now), seq) for seq in seqs],
            )

    def record(self, verdicts: Sequence[Verdict], now: float) -> None:
        """The log answered: settle or hold each form, and end the device's wait. Only an
        unsettled form changes, so two syncs racing on one outbox settle it once."""
        with self._write() as conn:
            for verdict in verdicts:
                conn.execute(*_settling(verdict, iso(now)))
            conn.execute("UPDATE device SET failures = 0, retry_at = 0 WHERE id = 1")

    def counts(self) -> dict[State, int]:
        found = dict(self._conn.execute("SELECT state, count(*) FROM forms GROUP BY state"))
        return {state: found.get(str(state), 0) for state in State}

    def forms(self, *states: State) -> list[Kept]:
        """Every form kept (or those in `states`), in the order they were signed."""
        wanted = states or tuple(State)
        marks = ", ".join("?" * len(wanted))
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM forms WHERE state IN ({marks}) ORDER BY seq",
            [str(s) for s in wanted],
        ).fetchall()
        return [_kept(row) for row in rows]


_COLUMNS = (
    "seq, entry_id, envelope, station, contest, supersedes, state, added_at, attempts, "
    "last_attempt_at, next_attempt, last_error, receipt, duplicate, note, problems, settled_at"
)
_UNSETTLED = "WHERE entry_id = ? AND state IN ('pending', 'sent')"
_SENDABLE = (  # unsettled, and not a correction of a form still to send
    "state IN ('pending', 'sent') AND NOT EXISTS (SELECT 1 FROM forms o "
    "WHERE o.entry_id = f.supersedes AND o.state IN ('pending', 'sent'))"
)


def _settling(verdict: Verdict, at: str) -> tuple[str, tuple[Any, ...]]:
    """The one statement that records a verdict."""
    if verdict.state is State.ACCEPTED:
        receipt = json.dumps(dict(verdict.receipt or {}), separators=(",", ":"))
        return (
            "UPDATE forms SET state = 'accepted', receipt = ?, duplicate = ?, note = ?, "
            f"last_error = NULL, settled_at = ? {_UNSETTLED}",
            (receipt, verdict.duplicate, verdict.note or None, at, verdict.entry_id),
        )
    if verdict.state is State.REFUSED:
        problems = json.dumps([p.as_dict() for p in verdict.problems])
        return (
            "UPDATE forms SET state = 'refused', problems = ?, note = ?, last_error = NULL, "
            f"settled_at = ? {_UNSETTLED}",
            (problems, verdict.note or None, at, verdict.entry_id),
        )
    return (
        f"UPDATE forms SET last_error = ?, next_attempt = ? {_UNSETTLED}",
        (verdict.error, verdict.retry_at, verdict.entry_id),
    )


def _kept(row: Sequence[Any]) -> Kept:
    (seq, entry_id, envelope, station, contest, supersedes, state, added_at, attempts) = row[:9]
    (last_at, next_attempt, last_error, receipt, duplicate, note, problems, settled) = row[9:]
    return Kept(
        seq,
        entry_id,
        bytes(envelope),
        station,
        contest,
        supersedes,
        State(state),
        added_at,
        attempts,
        last_at,
        next_attempt,
        last_error,
        json.loads(receipt) if receipt else None,
        bool(duplicate),
        note,
        tuple(Problem(**p) for p in json.loads(problems)) if problems else (),
        settled,
    )


def _connect(path: Path) -> sqlite3.Connection:
    """Autocommit (transactions are explicit), WAL, and every commit synced to disk."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn
