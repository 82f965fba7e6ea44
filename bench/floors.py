"""Bare floors: the least the same work can cost, measured in the same run as the figure it
stands beside, so a ratio survives this machine's run-to-run swings.

- `verify_on`: Ed25519 verification (PyNaCl) of the very signatures, spread over as many
  processes as the measured code uses. The processes are forked with the signatures already
  in memory and start on a signal, so neither process start-up nor moving the data between
  processes is counted: it is the cost of the arithmetic alone;
- `sha256_leaves`: the Merkle leaf hash (SHA-256 of 0x00 + leaf) of the same leaves, one core
  (the writer hashes each leaf itself);
- `source_rows` and `bare_executemany`: the very rows a store holds, inserted again into
  fresh tables of the same schema with the driver's plain `executemany`, in as many
  transactions as the ingest committed (SQLite with the store's PRAGMAs; PostgreSQL through
  psycopg, one transaction a commit).
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from tallyproof.store import schema
from tallyproof.store.database import SQLITE_PRAGMAS, WRITER_CACHE

Signature = tuple[bytes, bytes, bytes]  # public key, message, signature
Rows = dict[str, tuple[list[str], list[tuple[Any, ...]]]]  # table -> (columns, rows)

_SHARED: Sequence[Signature] = ()  # what forked verifiers inherit (never pickled)


def _verify_share(k: int, n: int, ready: Any, go: Any, done: Any) -> None:
    items = _SHARED[k::n]
    ready.put(k)
    go.wait()
    bad = 0
    for public, message, signature in items:
        try:
            VerifyKey(public).verify(message, signature)
        except (BadSignatureError, ValueError):
            bad += 1  # a forged document: its check costs the same
    done.put((time.perf_counter(), bad))


def verify_on(items: Sequence[Signature], workers: int) -> float:
    """Seconds to verify every signature on `workers` processes (inline for one)."""
    global _SHARED
    if workers <= 1:
        start = time.perf_counter()
        for public, message, signature in items:
            with suppress(BadSignatureError, ValueError):
                VerifyKey(public).verify(message, signature)
        return time.perf_counter() - start
    ctx = mp.get_context("fork")
    ready, done, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    _SHARED = items
    try:
        procs = [
            ctx.Process(target=_verify_share, args=(k, workers, ready, go, done))
            for k in range(workers)
        ]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get()
        start = time.perf_counter()
        go.set()
        finished = max(done.get()[0] for _ in procs)
        for p in procs:
            p.join()
    finally:
        _SHARED = ()
    return finished - start


def summed(rows: Iterable[tuple[Any, int, int]], loads: Callable[[Any], Any]) -> dict[str, int]:
    """A contest's official forms (votes as JSON text, rejected, polled) summed in Python,
    as the bare floor of a contest read; `loads` is the JSON reader the floor is held to."""
    votes: dict[str, int] = {}
    rejected = polled = 0
    for v, r, p in rows:
        for candidate, n in loads(v).items():
            votes[candidate] = votes.get(candidate, 0) + n
        rejected += r
        polled += p
    votes[":rejected"], votes[":polled"] = rejected, polled
    return votes


def sha256_leaves(leaves: Sequence[bytes]) -> float:
    """Seconds to compute every leaf's Merkle hash, one core."""
    sha256 = hashlib.sha256
    start = time.perf_counter()
    for leaf in leaves:
        sha256(b"\x00" + leaf).digest()
    return time.perf_counter() - start


def source_rows(url: str) -> Rows:
    """Every row of every table the ingest wrote, raw as the driver returns them (no type
    processing), in log order where the table has one."""
    engine = create_engine(url)
    out: Rows = {}
    with engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            columns = [c.name for c in table.columns]
            order = " ORDER BY seq" if "seq" in columns else ""
            quoted = ", ".join(f'"{c}"' for c in columns)
            result = conn.exec_driver_sql(f'SELECT {quoted} FROM "{table.name}"{order}')
            rows = [tuple(r) for r in result]
            if rows:
                out[table.name] = (columns, rows)
    engine.dispose()
    return out


def _slices(rows: list[tuple[Any, ...]], commits: int) -> list[list[tuple[Any, ...]]]:
    step = -(-len(rows) // commits)
    return [rows[i * step : (i + 1) * step] for i in range(commits)]


def bare_executemany(rows: Rows, commits: int, target: str) -> float:
    """Seconds to insert `rows` into the fresh store at `target` (an SQLite path, or a
    PostgreSQL URL whose search_path names an empty schema), in `commits` transactions,
    each holding a slice of every table."""
    commits = max(1, commits)
    chunks = {name: _slices(r, commits) for name, (_, r) in rows.items()}
    statements = {}
    for name, (columns, _) in rows.items():
        names = ", ".join(f'"{c}"' for c in columns)
        statements[name] = (names, len(columns))
    if target.startswith("postgresql"):
        return _bare_pg(chunks, statements, commits, target)
    return _bare_sqlite(chunks, statements, commits, Path(target))


def _bare_sqlite(chunks: dict, statements: dict, commits: int, path: Path) -> float:
    path.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    schema.metadata.create_all(engine)
    engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in (*SQLITE_PRAGMAS, WRITER_CACHE):
        conn.execute(pragma)
    start = time.perf_counter()
    for i in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        for name, (names, n) in statements.items():
            marks = ",".join("?" * n)
            conn.executemany(f'INSERT INTO "{name}" ({names}) VALUES ({marks})', chunks[name][i])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def _bare_pg(chunks: dict, statements: dict, commits: int, url: str) -> float:
    import psycopg

    engine = create_engine(url)
    schema.metadata.create_all(engine)
    engine.dispose()
    with psycopg.connect(libpq_url(url)) as conn:
        start = time.perf_counter()
        for i in range(commits):
            with conn.transaction(), conn.cursor() as cur:
                for name, (names, n) in statements.items():
                    if chunks[name][i]:
                        marks = ",".join(["%s"] * n)
                        sql = f'INSERT INTO "{name}" ({names}) VALUES ({marks})'
                        cur.executemany(sql, chunks[name][i])
        elapsed = time.perf_counter() - start
    return elapsed


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq takes it (no `+driver`)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
