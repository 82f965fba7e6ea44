"""Rows about witnesses, on both sides: the cosignatures a log collected on its checkpoints,
and a witness's record of the logs it follows, what it cosigned and what it refused. Like
every table here, rows are only ever added; a witness's state is its newest cosigned row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from tallyproof.store import schema
from tallyproof.store.database import Reader, Writer


@dataclass(frozen=True, slots=True)
class CosignatureRow:
    tree_size: int
    witness: str
    timestamp: int
    line: str
    received_at: str


@dataclass(frozen=True, slots=True)
class CosignedRow:
    origin: str
    tree_size: int
    root: str  # base64
    note: str
    cosignature: str
    cosigned_at: str


@dataclass(frozen=True, slots=True)
class RefusalRow:
    origin: str
    old_size: int
    tree_size: int
    code: str
    reason: str
    request: str
    cosigned_note: str | None
    refused_at: str


# --- the log's side -----------------------------------------------------------------------


def cosignatures(reader: Reader, sizes: Sequence[int]) -> dict[int, list[CosignatureRow]]:
    """The cosignatures collected on the checkpoints of these sizes, by size."""
    t = schema.cosignatures
    found: dict[int, list[CosignatureRow]] = {size: [] for size in sizes}
    if not sizes:
        return found
    query = select(t).where(t.c.tree_size.in_(sorted(set(sizes)))).order_by(t.c.witness)
    for row in reader.conn.execute(query).all():
        found[row.tree_size].append(CosignatureRow(*row))
    return found


def cosignatures_upto(reader: Reader, size: int) -> list[CosignatureRow]:
    """Every cosignature on a checkpoint of at most `size` entries (for a bundle)."""
    t = schema.cosignatures
    query = select(t).where(t.c.tree_size <= size).order_by(t.c.tree_size, t.c.witness)
    return [CosignatureRow(*row) for row in reader.conn.execute(query).all()]


def cosigned_sizes(reader: Reader) -> dict[str, int]:
    """The largest size each witness has cosigned: the old size the log sends it next."""
    t = schema.cosignatures
    query = select(t.c.witness, func.max(t.c.tree_size)).group_by(t.c.witness)
    return {witness: size for witness, size in reader.conn.execute(query).all()}


def newest_witnessed(reader: Reader, witnesses: Sequence[str], quorum: int) -> int | None:
    """The largest checkpoint size cosigned by at least `quorum` of these witnesses."""
    if quorum <= 0 or not witnesses:
        return None
    t = schema.cosignatures
    query = (
        select(t.c.tree_size)
        .where(t.c.witness.in_(list(witnesses)))
        .group_by(t.c.tree_size)
        .having(func.count() >= quorum)
        .order_by(t.c.tree_size.desc())
        .limit(1)
    )
    return reader.conn.execute(query).scalar()


def add_cosignatures(writer: Writer, rows: Sequence[CosignatureRow]) -> int:
    """Keep cosignatures not kept before (a witness asked twice at one size answers twice);
    returns how many were new."""
    if not rows:
        return 0
    have = {
        (r.tree_size, r.witness)
        for rs in cosignatures(writer, [r.tree_size for r in rows]).values()
        for r in rs
    }
    new = [r for r in rows if (r.tree_size, r.witness) not in have]
    writer.insert(schema.cosignatures, [_fields(r) for r in new])
    return len(new)


# --- a witness's side ----------------------------------------------------------------------


def followed_logs(reader: Reader) -> list[tuple[str, str]]:
    """(origin, vkey) of every log this witness follows."""
    t = schema.witness_logs
    return [tuple(r) for r in reader.conn.execute(select(t.c.origin, t.c.vkey)).all()]  # type: ignore[misc]


def follow_log(writer: Writer, origin: str, vkey: str, at: str) -> bool:
    """Start following a log's key; False if it was followed already."""
    if (origin, vkey) in followed_logs(writer):
        return False
    writer.insert(schema.witness_logs, [{"origin": origin, "vkey": vkey, "added_at": at}])
    return True


def latest_cosigned(reader: Reader, origin: str) -> CosignedRow | None:
    t = schema.witness_cosigned
    query = select(t).where(t.c.origin == origin).order_by(t.c.tree_size.desc()).limit(1)
    row = reader.conn.execute(query).first()
    return CosignedRow(*row) if row is not None else None


def every_latest_cosigned(reader: Reader) -> list[CosignedRow]:
    """The newest cosigned checkpoint of each log followed."""
    return [
        row
        for origin in sorted({o for o, _ in followed_logs(reader)})
        if (row := latest_cosigned(reader, origin)) is not None
    ]


def add_cosigned(writer: Writer, row: CosignedRow) -> None:
    writer.insert(schema.witness_cosigned, [_fields(row)])


def add_refusal(writer: Writer, row: RefusalRow) -> None:
    writer.insert(schema.witness_refusals, [_fields(row)])


def refusals(reader: Reader, origin: str | None = None) -> list[RefusalRow]:
    t = schema.witness_refusals
    query = select(*[c for c in t.columns if c.name != "refusal"]).order_by(t.c.refusal)
    if origin is not None:
        query = query.where(t.c.origin == origin)
    return [RefusalRow(*row) for row in reader.conn.execute(query).all()]


def _fields(row: object) -> dict[str, object]:
    return {name: getattr(row, name) for name in row.__slots__}  # type: ignore[attr-defined]
