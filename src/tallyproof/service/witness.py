"""A witness: what an observer group or a party runs to cosign a log's checkpoints, only
after checking each one extends the last it cosigned (C2SP tlog-witness). Its check and the
record of what it cosigned are one transaction, so two requests racing cannot roll it back,
and a restart remembers; a validly signed checkpoint it refuses as a fork is kept, with the
request, as evidence."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from tallyproof.ledger.cosignature import (
    AddCheckpoint,
    Cosigned,
    WitnessKey,
    WitnessRefusal,
    cosign,
    judge,
    split_note,
)
from tallyproof.ledger.keys import KeyTextError, PublicKey, Signer
from tallyproof.ledger.note import Checkpoint
from tallyproof.service.settings import Settings
from tallyproof.service.writer import NotInitialised, utc_now
from tallyproof.store import witnesses as rows
from tallyproof.store.database import Store


@dataclass(frozen=True, slots=True)
class Followed:
    """A log a witness follows, and the newest checkpoint it cosigned for it."""

    origin: str
    vkeys: tuple[str, ...]
    size: int | None
    cosigned_at: str | None


class WitnessService:
    """Owns a witness's key and store."""

    def __init__(
        self, store: Store, signer: Signer, *, keep_forks: bool = True, clock: Callable[[], float]
    ) -> None:
        self.store = store
        self.signer = signer
        self.keep_forks = keep_forks
        self.clock = clock

    @property
    def key(self) -> WitnessKey:
        return WitnessKey.of(self.signer)

    @classmethod
    def initialise(cls, settings: Settings, name: str) -> WitnessService:
        """Create the witness's home, key (once) and schema; safe to run again."""
        settings.home.mkdir(parents=True, exist_ok=True)
        path = settings.witness_key_path
        if not path.exists():  # created readable by its owner only, from the first byte
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(Signer.generate(name).private_text() + "\n")
        service = cls.open(settings)
        if service.signer.name != name:
            service.close()
            raise KeyTextError(
                f"{path} already holds the key of witness {service.signer.name!r}, not {name!r}"
            )
        return service

    @classmethod
    def open(
        cls, settings: Settings, *, keep_forks: bool = True, clock: Callable[[], float] = time.time
    ) -> WitnessService:
        if not settings.witness_key_path.exists():
            raise NotInitialised(
                f"no witness at {settings.home} (no key {settings.witness_key_path}); run "
                "`tallyproof --home DIR witness init NAME`"
            )
        signer = Signer.from_private_text(settings.witness_key_path.read_text())
        store = Store(settings.database_url)
        store.ensure_schema()
        return cls(store, signer, keep_forks=keep_forks, clock=clock)

    def close(self) -> None:
        self.store.close()

    def follow(self, vkey: str) -> tuple[PublicKey, bool]:
        """Follow a log by its verifier key; its origin is the key's name."""
        key = PublicKey.from_vkey(vkey)
        with self.store.write() as writer:
            added = rows.follow_log(writer, key.name, key.vkey, utc_now())
        return key, added

    def followed(self) -> list[Followed]:
        with self.store.read() as reader:
            logs: dict[str, list[str]] = {}
            for origin, vkey in rows.followed_logs(reader):
                logs.setdefault(origin, []).append(vkey)
            done = []
            for origin in sorted(logs):
                latest = rows.latest_cosigned(reader, origin)
                done.append(
                    Followed(
                        origin,
                        tuple(logs[origin]),
                        latest.tree_size if latest else None,
                        latest.cosigned_at if latest else None,
                    )
                )
        return done

    def add_checkpoint(self, body: bytes) -> str:
        """Answer an add-checkpoint request: the cosignature line(s), or WitnessRefusal.
        Judged and recorded under the store's writer lock, so the size checked is the size
        replaced; a refused fork is kept in the same transaction, then refused."""
        request = AddCheckpoint.parse(body)
        refused: WitnessRefusal | None = None
        line = ""
        with self.store.write() as writer:
            keys: dict[str, list[PublicKey]] = {}
            for origin, vkey in rows.followed_logs(writer):
                keys.setdefault(origin, []).append(PublicKey.from_vkey(vkey))
            origin = _origin(request.note)
            latest_row = rows.latest_cosigned(writer, origin) if origin else None
            latest = _cosigned(latest_row)
            try:
                checkpoint = judge(request, keys, latest)
            except WitnessRefusal as refusal:
                if refusal.fork and self.keep_forks:
                    rows.add_refusal(writer, _evidence(request, refusal, latest_row))
                refused = refusal
            else:
                text = split_note(request.note)[0]
                made = cosign(self.signer, text, int(self.clock()))
                line = made.line
                # the same tree again (a log retrying a lost answer) is cosigned anew, but
                # its row is kept once
                if latest is None or latest.size != checkpoint.size:
                    rows.add_cosigned(
                        writer,
                        rows.CosignedRow(
                            checkpoint.origin,
                            checkpoint.size,
                            base64.b64encode(checkpoint.root).decode(),
                            request.note,
                            made.line,
                            utc_now(),
                        ),
                    )
        if refused is not None:
            raise refused
        return line

    def checkpoint_of(self, origin_hash: str) -> str | None:
        """The newest checkpoint cosigned for the log whose origin hashes to `origin_hash`
        (tlog-witness monitoring), with the log's signature and the witness's cosignature."""
        with self.store.read() as reader:
            for row in rows.every_latest_cosigned(reader):
                if hashlib.sha256(row.origin.encode()).hexdigest() == origin_hash.lower():
                    return _with_line(row.note, row.cosignature)
        return None

    def refusals(self, origin: str | None = None) -> list[rows.RefusalRow]:
        with self.store.read() as reader:
            return rows.refusals(reader, origin)


def _origin(note: str) -> str:
    return note.split("\n", 1)[0]


def _cosigned(row: rows.CosignedRow | None) -> Cosigned | None:
    if row is None:
        return None
    return Cosigned(row.tree_size, base64.b64decode(row.root), row.note)


def _evidence(
    request: AddCheckpoint, refusal: WitnessRefusal, latest: rows.CosignedRow | None
) -> rows.RefusalRow:
    """A refused checkpoint the log signed: both signed notes, and the request as sent."""
    return rows.RefusalRow(
        _origin(request.note),
        request.old_size,
        Checkpoint.parse(split_note(request.note)[0]).size,  # judged signed, so it parses
        refusal.code,
        str(refusal),
        request.body().decode(),
        latest.note if latest else None,
        utc_now(),
    )


def _with_line(note: str, line: str) -> str:
    return note if line in split_note(note)[1] else note + line
