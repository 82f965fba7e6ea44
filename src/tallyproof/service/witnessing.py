"""The log's side of witnessing: the witnesses a home's log asks (its `witnesses.json`), a
round that sends each the newest checkpoint with a consistency proof from the size it last
cosigned, and the cosignatures kept. Checkpoints are signed at every commit, many a second
on election night; witnesses are asked about the newest one each round, and every earlier
checkpoint is covered by consistency with a witnessed later one (docs/witnesses.md)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from tallyproof.ledger.cosignature import (
    AddCheckpoint,
    PolicyError,
    Witness,
    Witnessed,
    WitnessPolicy,
    cosignatures_on,
    with_cosignatures,
)
from tallyproof.ledger.note import NoteError
from tallyproof.ledger.receipts import Receipt
from tallyproof.service.log import LogView, NotInLog
from tallyproof.service.settings import Settings
from tallyproof.service.writer import utc_now
from tallyproof.store import witnesses as rows
from tallyproof.store.database import Reader, Store
from tallyproof.store.records import CheckpointRow

logger = logging.getLogger("tallyproof.witnessing")

# How a witness is reached: POST the body to its add-checkpoint; (status, body) back.
Post = Callable[[Witness, bytes], Awaitable[tuple[int, bytes]]]


def read_policy(settings: Settings) -> WitnessPolicy:
    """The home's witnesses; none configured is an empty policy (nothing to ask)."""
    path = settings.witnesses_path
    if not path.exists():
        return WitnessPolicy()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as error:
        raise PolicyError(str(path), f"cannot be read: {error}") from None
    return WitnessPolicy.from_json(text, path.name)


def write_policy(settings: Settings, policy: WitnessPolicy) -> None:
    """Replace the home's witnesses file atomically (configuration, not the record)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    temporary = settings.witnesses_path.with_suffix(".json.new")
    temporary.write_text(json.dumps(policy.as_dict(), indent=1) + "\n")
    temporary.replace(settings.witnesses_path)


@dataclass(frozen=True, slots=True)
class Asked:
    """What one witness answered in a round."""

    witness: str
    tree_size: int
    cosigned: bool
    detail: str  # "cosigned", or why not (the status and the witness's words)


@dataclass(frozen=True, slots=True)
class Round:
    tree_size: int | None
    asked: tuple[Asked, ...]
    witnessed: int | None  # the newest size the quorum cosigned, after the round


class Collector:
    """Asks the configured witnesses to cosign the newest checkpoint and keeps what they
    return, verified. The old size it sends a witness is the largest that witness cosigned
    here; a 409 names the witness's own, and the round retries once from it."""

    def __init__(self, store: Store, policy: WitnessPolicy, post: Post, timeout: float) -> None:
        self.store = store
        self.policy = policy
        self.post = post
        self.timeout = timeout
        self.view = LogView(store)
        self._known: dict[str, int] = {}  # what each witness said it cosigned last

    async def round(self) -> Round:
        with self.store.read() as reader:
            newest = reader.checkpoint_at_or_before()
            cosigned = rows.cosigned_sizes(reader)
        if newest is None or not self.policy.witnesses:
            return Round(None, (), self.newest_witnessed())
        due = [w for w in self.policy.witnesses if cosigned.get(w.name, -1) < newest.tree_size]
        asked = await asyncio.gather(*(self._ask(w, newest, cosigned) for w in due))
        kept = [row for _, row in asked if row is not None]
        if kept:
            with self.store.write() as writer:
                rows.add_cosignatures(writer, kept)
        return Round(newest.tree_size, tuple(a for a, _ in asked), self.newest_witnessed())

    def newest_witnessed(self) -> int | None:
        with self.store.read() as reader:
            return witnessed_size(reader, self.policy)

    async def _ask(
        self, witness: Witness, newest: CheckpointRow, cosigned: dict[str, int]
    ) -> tuple[Asked, rows.CosignatureRow | None]:
        old = self._known.get(witness.name, cosigned.get(witness.name, 0))
        for attempt in range(2):
            try:
                status, body = await asyncio.wait_for(
                    self.post(witness, self._request(old, newest)), self.timeout
                )
            except (TimeoutError, OSError, ValueError) as error:
                why = "timed out" if isinstance(error, TimeoutError) else str(error)
                return self._no(witness, newest, f"unreachable: {why or type(error).__name__}")
            if status == 409 and attempt == 0:
                size = _size(body)
                if size is not None and size <= newest.tree_size:
                    self._known[witness.name] = old = size
                    continue
            if status != 200:
                return self._no(witness, newest, f"{status}: {_words(body)}")
            return self._kept(witness, newest, body)
        return self._no(witness, newest, "409 twice: the witness's size keeps moving")

    def _request(self, old: int, newest: CheckpointRow) -> bytes:
        proof = self.view.proof_between(old, newest.tree_size) if old <= newest.tree_size else ()
        return AddCheckpoint(old, proof, newest.note).body()

    def _kept(
        self, witness: Witness, newest: CheckpointRow, body: bytes
    ) -> tuple[Asked, rows.CosignatureRow | None]:
        """Keep the witness's line only if it is its valid cosignature on this checkpoint."""
        try:
            lines = body.decode().splitlines(keepends=True)
            found = cosignatures_on(with_cosignatures(newest.note, lines), [witness.key])
        except (UnicodeDecodeError, NoteError) as error:
            return self._no(witness, newest, f"answered with no valid cosignature: {error}")
        if not found:
            return self._no(witness, newest, "answered without a cosignature by its key")
        self._known[witness.name] = newest.tree_size
        mine = found[0]
        row = rows.CosignatureRow(
            newest.tree_size, witness.name, mine.timestamp, mine.line, utc_now()
        )
        return Asked(witness.name, newest.tree_size, True, "cosigned"), row

    @staticmethod
    def _no(
        witness: Witness, newest: CheckpointRow, why: str
    ) -> tuple[Asked, rows.CosignatureRow | None]:
        logger.warning("witness %s did not cosign size %s: %s", witness.name, newest.tree_size, why)
        return Asked(witness.name, newest.tree_size, False, why), None


def _size(body: bytes) -> int | None:
    text = body.decode(errors="replace").strip()
    return int(text) if text.isdigit() else None


def _words(body: bytes) -> str:
    return body.decode(errors="replace").strip()[:200] or "(no body)"


# --- reading cosigned checkpoints -----------------------------------------------------------


def cosigned_note(note: str, lines: Sequence[rows.CosignatureRow]) -> str:
    """The log's checkpoint with the witnesses' cosignature lines after its signature."""
    return with_cosignatures(note, [r.line for r in lines])


def cosigned_at(reader: Reader, size: int, note: str) -> str:
    """The checkpoint `note` of `size` with every cosignature collected on it."""
    return cosigned_note(note, rows.cosignatures(reader, [size])[size])


def witnessed_size(reader: Reader, policy: WitnessPolicy) -> int | None:
    """The newest checkpoint size the policy's quorum cosigned."""
    return rows.newest_witnessed(reader, [w.name for w in policy.witnesses], policy.quorum)


def witnessed_checkpoint(reader: Reader, policy: WitnessPolicy) -> tuple[int, str] | None:
    """The newest checkpoint the policy's quorum cosigned: its size, and its note with its
    cosignatures."""
    size = witnessed_size(reader, policy)
    if size is None:
        return None
    return size, cosigned_at(reader, size, reader.checkpoint(size).note)


# --- what the API serves ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WitnessedCheckpoint:
    """A checkpoint with the cosignatures collected on it, checked against the policy."""

    tree_size: int
    note: str  # the log's own note
    cosigned: str  # the note with every cosignature line collected
    published_at: str
    witnessed: Witnessed


class Witnessing:
    """The log's witnesses as a reader of the store sees them."""

    def __init__(self, store: Store, policy: WitnessPolicy, view: LogView) -> None:
        self.store = store
        self.policy = policy
        self.view = view

    def checkpoint(self, size: int | None = None) -> WitnessedCheckpoint:
        """The checkpoint signed at `size` (the newest without one) and its cosignatures."""
        signed = self.view.checkpoint(size)
        with self.store.read() as reader:
            cosigned = cosigned_at(reader, signed.tree_size, signed.note)
        witnessed = self.policy.check(cosigned)
        return WitnessedCheckpoint(
            signed.tree_size, signed.note, cosigned, signed.published_at, witnessed
        )

    def newest_witnessed(self) -> WitnessedCheckpoint:
        """The newest checkpoint the quorum cosigned; NotInLog when there is none yet."""
        with self.store.read() as reader:
            size = witnessed_size(reader, self.policy)
        if size is None:
            why = "no witness is configured" if not self.policy.witnesses else "none yet"
            raise NotInLog("witness.none", f"no checkpoint was witnessed by the quorum: {why}")
        return self.checkpoint(size)

    def receipt(self, kind: str, entry_id: str) -> Receipt:
        """An entry's receipt against the newest witnessed checkpoint: the same leaf, its
        inclusion proof in that tree, and the checkpoint note with its cosignatures — a
        receipt that needs no trust in the log not to have shown another history."""
        witnessed = self.newest_witnessed()
        with self.store.read() as reader:
            row = reader.entry_by_id(kind, entry_id)
        if row is None:
            raise NotInLog("ledger.no_entry", f"no {kind} {entry_id} in the log")
        if row.seq >= witnessed.tree_size:
            raise NotInLog(
                "witness.not_yet",
                f"{kind} {entry_id} is entry {row.seq}, after the newest checkpoint the "
                f"witnesses' quorum cosigned (size {witnessed.tree_size}): ask again once "
                "they cosign a newer one",
            )
        proof = self.view.inclusion_of(kind, entry_id, witnessed.tree_size)
        return Receipt(
            kind=proof.kind,
            entry_id=proof.entry_id,
            leaf_index=proof.leaf_index,
            leaf_hash=proof.leaf_hash,
            tree_size=proof.tree_size,
            received_at=row.received_at,
            checkpoint=witnessed.cosigned,
            inclusion_proof=proof.proof,
        )

    def state(self) -> dict[str, object]:
        with self.store.read() as reader:
            sizes = rows.cosigned_sizes(reader)
            newest = witnessed_size(reader, self.policy)
        return {**self.policy.as_dict(), "cosigned": sizes, "witnessed": newest}
