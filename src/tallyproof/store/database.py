"""The store interface: one writer at a time appends rows; readers see committed rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Select,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tallyproof.store import schema
from tallyproof.store.faults import refusal
from tallyproof.store.records import (
    FORM_COLUMNS,
    JSON_FIELDS,
    BallotAccountIndex,
    BallotAccountRow,
    CheckpointRow,
    ClaimIndex,
    ClaimRow,
    CountRow,
    DeclarationIndex,
    DocumentRow,
    ElectionIndex,
    EventIndex,
    FormIndex,
    FormRow,
    IndexRecord,
    KeyIndex,
    LedgerIndex,
    OfficialCount,
    ReportIndex,
    RevocationIndex,
    StatusIndex,
)

_MIGRATIONS = Path(__file__).parent / "migrations"
# WAL with a sync on every commit (an acknowledged commit survives power loss); checkpoints
# every 80 MB of WAL instead of 4 MB and a 128 MB page cache for the writer, because
# content-hash keys make index inserts random and a checkpoint per batch doubled the cost of
# ingest. A read needs no such cache (the OS keeps the file's pages, and a page SQLite does
# not hold costs a read call): a server's workers hold a pool of connections each, and at
# 128 MB apiece the caches were most of what a worker grew by during a night.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA wal_autocheckpoint=20000",
    "PRAGMA busy_timeout=60000",
)
WRITER_CACHE = "PRAGMA cache_size=-131072"  # KiB: 128 MiB
READER_CACHE = "PRAGMA cache_size=-16384"  # KiB: 16 MiB
_WRITER_LOCK = 0x7A11  # the PostgreSQL advisory lock that serialises ledger appends


def sqlite_url(path: Path | str) -> str:
    return f"sqlite:///{Path(path)}"


class Store:
    """SQLite (WAL, synchronous=FULL) or PostgreSQL behind the same small interface."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self.engine = _engine(url, self.dialect)
        self._inserts: dict[tuple[str, tuple[str, ...]], _Insert] = {}

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command  # Alembic loads only when there is migrating to do
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def schema_revision(self) -> str | None:
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def ensure_schema(self) -> None:
        """Migrate unless the schema is already at this code's revision."""
        if self.schema_revision() != schema.REVISION:
            self.migrate()

    @contextmanager
    def write(self) -> Iterator[Writer]:
        """One transaction holding the single-writer lock; commit on clean exit only. A disk
        that is full or a store that is read-only is raised as StoreRefused, saying so."""
        try:
            conn = self.engine.connect().execution_options(tallyproof_writer=True)
            with conn, conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_WRITER_LOCK})")
                yield Writer(conn, self._inserts)
        except DBAPIError as error:
            refused = refusal(error)
            if refused is None:
                raise
            raise refused from error

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """One snapshot for the whole read: PostgreSQL's REPEATABLE READ, and SQLite's read
        transaction in WAL mode, both see the store as of their first query."""
        conn = self.engine.connect()
        if self.dialect == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn, conn.begin():
            yield Reader(conn)

    def close(self) -> None:
        self.engine.dispose()


def _engine(url: str, dialect: str) -> Engine:
    if dialect != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        """A pooled connection serves writes and reads in turn: its page cache is set for
        the one it begins (shrinking it frees the pages at once), when that changes."""
        writer = conn.get_execution_options().get("tallyproof_writer", False)
        cache, info = WRITER_CACHE if writer else READER_CACHE, conn.connection.info
        if info.get("cache") != cache:
            conn.exec_driver_sql(cache)
            info["cache"] = cache
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


INDEX_TABLES: dict[type, Table] = {  # where each record the writer adds is kept
    ElectionIndex: schema.elections,
    KeyIndex: schema.keys,
    RevocationIndex: schema.key_revocations,
    FormIndex: schema.forms,
    DeclarationIndex: schema.declarations,
    StatusIndex: schema.status_orders,
    ReportIndex: schema.claim_reports,
    ClaimIndex: schema.claims,
    BallotAccountIndex: schema.ballot_accounts,
    EventIndex: schema.events,
}
_BY_NAME = {table.name: kind for kind, table in INDEX_TABLES.items()}


def _row(record: Any, names: Sequence[str], encoded: Sequence[str]) -> dict[str, Any]:
    """A record as its table's row: the `encoded` fields as JSON text."""
    row = {name: getattr(record, name) for name in names}
    for name in encoded:
        if row[name] is not None:
            row[name] = orjson.dumps(row[name]).decode()  # a tuple becomes a JSON list
    return row


def _record(kind: type, row: Any) -> Any:
    values = dict(row._mapping)
    for name in JSON_FIELDS.intersection(values):
        if values[name] is not None:
            value = orjson.loads(values[name])
            values[name] = tuple(value) if isinstance(value, list) else value
    return kind(**values)


class Reader:
    """Read queries over committed rows. No election logic: rows in, rows out."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def ledger_size(self) -> int:
        """Asked in every write transaction: plain SQL, no statement to build."""
        size = self.conn.exec_driver_sql("SELECT max(seq) FROM ledger_entries").scalar()
        return 0 if size is None else size + 1

    def index_since(self, name: str, seq: int) -> list[Any]:
        """The records of one index (`keys`, `forms`, ...) added after leaf `seq`, in log
        order: what a writer catching up on another's commits reads."""
        kind = _BY_NAME[name]
        return [_record(kind, row) for row in self.since(INDEX_TABLES[kind], seq)]

    def since(self, table: Table, seq: int) -> Sequence[Row[Any]]:
        """Rows of an index table appended after ledger position `seq`, in ledger order."""
        return self.conn.execute(select(table).where(table.c.seq > seq).order_by(table.c.seq)).all()

    def leaf_hashes(self, start: int, end: int | None = None) -> list[bytes]:
        t = schema.ledger_entries
        query = select(t.c.leaf_hash).where(t.c.seq >= start).order_by(t.c.seq)
        if end is not None:
            query = query.where(t.c.seq < end)
        return [r[0] for r in self.conn.execute(query)]

    def entries(
        self, start: int = 0, end: int | None = None, *, with_data: bool = True
    ) -> Sequence[Row[Any]]:
        """Ledger rows in order; `with_data=False` leaves out the leaf bytes."""
        t = schema.ledger_entries
        columns = list(t.c) if with_data else [c for c in t.c if c.name != "leaf_data"]
        query = select(*columns).where(t.c.seq >= start).order_by(t.c.seq)
        if end is not None:
            query = query.where(t.c.seq < end)
        return self.conn.execute(query).all()

    def entry(self, seq: int) -> Row[Any] | None:
        t = schema.ledger_entries
        return self.conn.execute(select(t).where(t.c.seq == seq)).first()

    def leaves_at(self, seqs: Sequence[int]) -> dict[int, bytes]:
        """The bytes of the leaves at these positions, asked a few hundred at a time (SQLite
        allows at most 999 parameters a statement)."""
        t = schema.ledger_entries
        out: dict[int, bytes] = {}
        wanted = sorted(set(seqs))
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = select(t.c.seq, t.c.leaf_data).where(t.c.seq.in_(chunk))
            out.update((seq, bytes(data)) for seq, data in self.conn.execute(query))
        return out

    def first_reports(self, election: str, before: int) -> list[tuple[int, str, str]]:
        """Each station's first official form before position `before`: (its leaf, the
        station, the second "YYYY-MM-DDTHH:MM:SS" the log received it), in log order."""
        f, e = schema.forms, schema.ledger_entries
        first = (
            select(f.c.station, func.min(f.c.seq).label("seq"))
            .where(f.c.election_id == election, f.c.official.is_(True), f.c.seq < before)
            .group_by(f.c.station)
            .subquery()
        )
        query = (
            select(first.c.seq, first.c.station, func.substr(e.c.received_at, 1, 19))
            .select_from(first.join(e, e.c.seq == first.c.seq))
            .order_by(first.c.seq)
        )
        return [(seq, station, second) for seq, station, second in self.conn.execute(query)]

    def arrivals_since(self, election: str, since: int, before: int) -> list[tuple[int, str, str]]:
        """The official forms logged at positions [since, before): (leaf, station, second
        received), in log order; no form's bytes are read, as the reporting curve needs none."""
        values = {"election": election, "since": since, "before": before}
        return [
            (seq, station, second) for seq, station, second in self.conn.execute(_ARRIVALS, values)
        ]

    def entry_by_id(self, kind: str, entry_id: str) -> Row[Any] | None:
        t = schema.ledger_entries
        return self.conn.execute(
            select(t).where(t.c.kind == kind, t.c.entry_id == entry_id)
        ).first()

    def elections(self) -> Sequence[Row[Any]]:
        return self.conn.execute(select(schema.elections).order_by(schema.elections.c.seq)).all()

    def forms(self, election_id: str, contest: str | None = None) -> Sequence[Row[Any]]:
        t = schema.forms
        query = select(t).where(t.c.election_id == election_id).order_by(t.c.seq)
        if contest is not None:
            query = query.where(t.c.contest == contest)
        return self.conn.execute(query).all()

    def form(self, form_id: str) -> Row[Any] | None:
        t = schema.forms
        return self.conn.execute(select(t).where(t.c.form_id == form_id)).first()

    def declarations(self, election_id: str, contest: str | None = None) -> Sequence[Row[Any]]:
        t = schema.declarations
        query = select(t).where(t.c.election_id == election_id).order_by(t.c.seq)
        if contest is not None:
            query = query.where(t.c.contest == contest)
        return self.conn.execute(query).all()

    def claims(self, election_id: str) -> list[ClaimRow]:
        """Every stored claim of an election with its report's date, in ledger order."""
        c, r = schema.claims, schema.claim_reports
        query = (
            select(c.c.claim_id, c.c.report_id, c.c.seq, c.c.outlet, r.c.published, c.c.doc)
            .join(r, r.c.report_id == c.c.report_id)
            .where(c.c.election_id == election_id)
            .order_by(c.c.seq, c.c.claim_id)
        )
        return [
            ClaimRow(claim_id, report_id, seq, outlet, published, orjson.loads(doc))
            for claim_id, report_id, seq, outlet, published, doc in self.conn.execute(query).all()
        ]

    def official_counts(self, election_id: str, contest: str | None = None) -> list[OfficialCount]:
        """The counts of every official form (superseded ones too: the caller drops them)."""
        t = schema.forms
        query = select(
            t.c.form_id,
            t.c.station,
            t.c.contest,
            t.c.supersedes,
            t.c.votes,
            t.c.rejected,
            t.c.polled,
            t.c.issued,
        ).where(t.c.election_id == election_id, t.c.official.is_(True))
        if contest is not None:
            query = query.where(t.c.contest == contest)
        loads = orjson.loads
        return [
            OfficialCount(form_id, station, code, supersedes, loads(votes), rej, polled, issued)
            for form_id, station, code, supersedes, votes, rej, polled, issued in self.conn.execute(
                query
            ).all()
        ]

    def status_orders(self, election_id: str) -> Sequence[Row[Any]]:
        t = schema.status_orders
        return self.conn.execute(
            select(t).where(t.c.election_id == election_id).order_by(t.c.seq)
        ).all()

    def keys(self) -> list[KeyIndex]:
        """Every registered key with its scope, in the order registered."""
        query = select(schema.keys).order_by(schema.keys.c.seq)
        return [_record(KeyIndex, row) for row in self.conn.execute(query).all()]

    def revocations(self) -> list[RevocationIndex]:
        query = select(schema.key_revocations).order_by(schema.key_revocations.c.seq)
        return [_record(RevocationIndex, row) for row in self.conn.execute(query).all()]

    def checkpoints(self) -> Sequence[Row[Any]]:
        t = schema.checkpoints
        return self.conn.execute(select(t).order_by(t.c.tree_size)).all()

    def checkpoint(self, size: int) -> Row[Any] | None:
        t = schema.checkpoints
        return self.conn.execute(select(t).where(t.c.tree_size == size)).first()

    def checkpoint_covering(self, size: int) -> Row[Any] | None:
        """The first checkpoint at or after `size`."""
        t = schema.checkpoints
        query = select(t).where(t.c.tree_size >= size).order_by(t.c.tree_size).limit(1)
        return self.conn.execute(query).first()

    # --- the read side: every query bounded by a tree size, rows handed up as records ---

    def checkpoint_at_or_before(self, size: int | None = None) -> CheckpointRow | None:
        """The newest checkpoint of at most `size` entries (the newest of all without one)."""
        row = self.conn.execute(_checkpoint_before(size is not None), {"size": size}).first()
        return CheckpointRow(row.tree_size, row.note, row.published_at) if row else None

    def size_at_time(self, moment: str) -> int:
        """The log's size once the last entry received at or before `moment` had committed.
        Times never go back along the log, so this bisects on the leaf index."""
        t = schema.ledger_entries
        low, high = 0, self.ledger_size()  # the answer's entry lies in [low, high)
        if not high:
            return 0
        while low < high:
            mid = (low + high) // 2
            at = self.conn.execute(select(t.c.received_at).where(t.c.seq == mid)).scalar()
            if at is not None and at <= moment:
                low = mid + 1
            else:
                high = mid
        if low == 0:
            return 0
        return self.conn.execute(select(t.c.tree_size).where(t.c.seq == low - 1)).scalar() or 0

    def election_seq(self, election: str, before: int) -> int | None:
        """The leaf index of an election's structure, if it was logged before `before`."""
        return self.conn.execute(_ELECTION_SEQ, {"election": election, "before": before}).scalar()

    def election_ids(self, before: int) -> list[str]:
        return list(self.conn.execute(_ELECTION_IDS, {"before": before}).scalars())

    def form_rows(
        self,
        election: str,
        before: int,
        *,
        contest: str | None = None,
        station: str | None = None,
        official: bool | None = None,
        since: int = 0,
        timed: bool = True,
    ) -> list[FormRow]:
        """Forms logged at positions [since, before), in log order. Each form's time is its
        ledger entry's; `timed=False` leaves it "" and skips the ledger's rows, which keep
        every leaf's bytes before its time: a contest's findings need no times, and reading
        a few hundred leaves' pages from a cold cache cost more than the rest of the answer."""
        query = _form_rows(timed, contest is not None, station is not None, official)
        values = {"election": election, "before": before, "since": since}
        values |= {"contest": contest, "station": station}
        return [FormRow.of(r) for r in self.conn.execute(query, values).all()]

    def official_counts_since(self, election: str, since: int, before: int) -> list[CountRow]:
        """The counts of the official forms logged at positions [since, before), in log order."""
        values = {"election": election, "since": since, "before": before}
        loads = orjson.loads
        return [
            CountRow(seq, station, contest, loads(votes), rejected, polled)
            for seq, station, contest, votes, rejected, polled in self.conn.execute(
                _OFFICIAL_COUNTS, values
            ).all()
        ]

    def checkpoints_between(self, after: int, upto: int) -> list[CheckpointRow]:
        """The checkpoints of sizes in (after, upto], smallest first."""
        rows = self.conn.execute(_CHECKPOINTS_BETWEEN, {"after": after, "upto": upto}).all()
        return [CheckpointRow(r.tree_size, r.note, r.published_at) for r in rows]

    def checkpoint_sizes(self, after: int, upto: int) -> list[int]:
        """The sizes of the checkpoints in (after, upto], smallest first."""
        values = {"after": after, "upto": upto}
        return list(self.conn.execute(_CHECKPOINT_SIZES, values).scalars())

    def document_rows(
        self,
        kind: str,
        election: str,
        before: int,
        since: int = 0,
        *,
        contest: str | None = None,
    ) -> list[DocumentRow]:
        """Declarations, status orders or claim reports logged at [since, before), with their
        leaves; `contest` narrows declarations to one contest."""
        by_contest = contest is not None and kind == "declaration"
        values = {"kind": kind, "election": election, "since": since, "before": before}
        rows = self.conn.execute(_documents(by_contest), values | {"contest": contest})
        return [_document(r) for r in rows]

    def ballot_accounts(
        self,
        election: str,
        before: int,
        since: int = 0,
        *,
        station: str | None = None,
        contest: str | None = None,
    ) -> list[BallotAccountRow]:
        """Ballot paper accounts (Form 46) logged at [since, before), in log order, each with
        the time its entry was logged."""
        t, e = schema.ballot_accounts, schema.ledger_entries
        query = select(t, e.c.received_at).join(e, e.c.seq == t.c.seq)
        query = query.where(t.c.election_id == election, t.c.seq >= since, t.c.seq < before)
        if station is not None:
            query = query.where(t.c.station == station)
        if contest is not None:
            query = query.where(t.c.contest == contest)
        out = []
        for row in self.conn.execute(query.order_by(t.c.seq)):
            values = dict(row._mapping)
            received_at = values.pop("received_at")
            evidence = values["evidence"]
            values["evidence"] = orjson.loads(evidence) if evidence else None
            out.append(BallotAccountRow(BallotAccountIndex(**values), received_at))
        return out

    def entry_at(self, seq: int) -> DocumentRow | None:
        row = self.entry(seq)
        return _document(row) if row else None


# --- the read side's statements, built once: building a statement cost more than running it --


@cache
def _checkpoint_before(bounded: bool) -> Select[Any]:
    t = schema.checkpoints
    query = select(t).order_by(t.c.tree_size.desc()).limit(1)
    return query.where(t.c.tree_size <= bindparam("size")) if bounded else query


_E = schema.elections
_ELECTION_SEQ = select(_E.c.seq).where(
    _E.c.election_id == bindparam("election"), _E.c.seq < bindparam("before")
)
_ELECTION_IDS = select(_E.c.election_id).where(_E.c.seq < bindparam("before")).order_by(_E.c.seq)
_F = schema.forms
_OFFICIAL_COUNTS = (
    select(_F.c.seq, _F.c.station, _F.c.contest, _F.c.votes, _F.c.rejected, _F.c.polled)
    .where(_F.c.election_id == bindparam("election"))
    .where(_F.c.seq >= bindparam("since"), _F.c.seq < bindparam("before"))
    .where(_F.c.official.is_(True))
    .order_by(_F.c.seq)
)
_ARRIVALS = (
    select(_F.c.seq, _F.c.station, func.substr(schema.ledger_entries.c.received_at, 1, 19))
    .join(schema.ledger_entries, schema.ledger_entries.c.seq == _F.c.seq)
    .where(_F.c.election_id == bindparam("election"))
    .where(_F.c.seq >= bindparam("since"), _F.c.seq < bindparam("before"))
    .where(_F.c.official.is_(True))
    .order_by(_F.c.seq)
)
_C = schema.checkpoints
_BETWEEN = (_C.c.tree_size > bindparam("after"), _C.c.tree_size <= bindparam("upto"))
_CHECKPOINT_SIZES = select(_C.c.tree_size).where(*_BETWEEN).order_by(_C.c.tree_size)
_CHECKPOINTS_BETWEEN = select(_C).where(*_BETWEEN).order_by(_C.c.tree_size)


@cache
def _form_rows(timed: bool, contest: bool, station: bool, official: bool | None) -> Select[Any]:
    f, t = schema.forms, schema.ledger_entries
    columns = [f.c[name] for name in FORM_COLUMNS]
    if timed:
        query = select(*columns, t.c.received_at).join(t, t.c.seq == f.c.seq)
    else:
        query = select(*columns, literal("").label("received_at"))
    query = query.where(f.c.election_id == bindparam("election"))
    query = query.where(f.c.seq < bindparam("before"), f.c.seq >= bindparam("since"))
    if contest:
        query = query.where(f.c.contest == bindparam("contest"))
    if station:
        query = query.where(f.c.station == bindparam("station"))
    if official is not None:
        query = query.where(f.c.official.is_(official))
    return query.order_by(f.c.seq)


@cache
def _documents(by_contest: bool) -> Select[Any]:
    t = schema.ledger_entries
    query = select(t).where(t.c.kind == bindparam("kind"), t.c.election_id == bindparam("election"))
    query = query.where(t.c.seq >= bindparam("since"), t.c.seq < bindparam("before"))
    if by_contest:
        d = schema.declarations
        query = query.join(d, d.c.seq == t.c.seq).where(d.c.contest == bindparam("contest"))
    return query.order_by(t.c.seq)


def _document(row: Any) -> DocumentRow:
    return DocumentRow(
        row.kind, row.entry_id, row.seq, row.election_id, row.received_at, row.leaf_data
    )


class Writer(Reader):
    """Appends rows inside the writer's transaction."""

    def __init__(
        self, conn: Connection, inserts: dict[tuple[str, tuple[str, ...]], _Insert]
    ) -> None:
        super().__init__(conn)
        self._inserts = inserts  # compiled once per table and columns, for the store's life

    def add_entries(self, entries: Sequence[LedgerIndex]) -> None:
        self._add(schema.ledger_entries, entries)

    def add_index(self, records: Sequence[IndexRecord]) -> None:
        """Index rows of one kind (a batch's forms, say), encoded as their table keeps them."""
        if records:
            self._add(INDEX_TABLES[type(records[0])], records)

    def add_checkpoint(self, checkpoint: CheckpointRow) -> None:
        self._add(schema.checkpoints, [checkpoint])

    def _add(self, table: Table, records: Sequence[Any]) -> None:
        """Records whose fields are the table's columns."""
        names = [c.name for c in table.columns]
        encoded = sorted(JSON_FIELDS.intersection(names))
        self.insert(table, [_row(r, names, encoded) for r in records])

    def insert(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """A plain driver-level executemany: at 180,000 forms a night the per-row parameter
        processing of a Core insert costs more than the insert itself, and a small group
        commit would spend more compiling its statements than running them."""
        if not rows:
            return
        columns = tuple(rows[0])
        statement = self._inserts.get((table.name, columns))
        if statement is None:
            statement = self._inserts[(table.name, columns)] = _compile_insert(
                table, columns, self.conn
            )
        sql, positions = statement
        if positions is not None:
            values = itemgetter(*positions)
            self.conn.exec_driver_sql(sql, [values(r) for r in rows])
        else:
            self.conn.exec_driver_sql(sql, [dict(r) for r in rows])


_Insert = tuple[str, tuple[str, ...] | None]  # the SQL, and its parameters' order if positional


def _compile_insert(table: Table, columns: Sequence[str], conn: Connection) -> _Insert:
    compiled = (
        table.insert().values({c: bindparam(c) for c in columns}).compile(dialect=conn.dialect)
    )
    positions = compiled.positiontup
    return str(compiled), tuple(positions) if positions is not None else None
