"""Ingest benchmark: signed forms through the service layer into SQLite, against the bare
cost of the same work measured in the same run.

- bare insert: the very rows ingest wrote (ledger leaves, form index, tally deltas), inserted
  with sqlite3 executemany into a fresh database with the same schema, batches and PRAGMAs;
- bare verify: Ed25519 verification of the same signatures, one core, PyNaCl.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import time
from pathlib import Path

from nacl.signing import VerifyKey
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import create_engine

from tallyproof.importers.plan import run_plan
from tallyproof.ledger.entries import EntryKind, read_envelope
from tallyproof.sample.synthetic import SyntheticSpec, synthetic_plan
from tallyproof.service import submission
from tallyproof.service.context import Context
from tallyproof.service.settings import Settings
from tallyproof.store import schema
from tallyproof.store.database import SQLITE_PRAGMAS

WORK = Path("var/bench")
console = Console()


def ingest(spec: SyntheticSpec, batch: int, workers: int) -> tuple[float, Context, list]:
    shutil.rmtree(WORK, ignore_errors=True)
    with console.status("generating and signing the election night"):
        plan, envelopes = synthetic_plan(spec)
    ctx = Context.initialise(Settings.at(WORK / "home", verify_workers=workers))
    with console.status("registering the structure and the presiding officers' keys"):
        run_plan(ctx, plan)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingest", total=len(envelopes))
        start = time.perf_counter()
        batches = (envelopes[i : i + batch] for i in range(0, len(envelopes), batch))
        for outcomes in submission.ingest_forms(ctx, batches):
            if not all(o.accepted for o in outcomes):
                raise SystemExit(f"refused: {next(o for o in outcomes if not o.accepted).problems}")
            progress.advance(task, len(outcomes))
        elapsed = time.perf_counter() - start
    return elapsed, ctx, envelopes


def bare_insert(ctx: Context, batch: int, forms: int) -> float:
    """executemany of the same rows, same batches, same durability settings."""
    path = WORK / "bare.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    schema.metadata.create_all(engine)
    engine.dispose()
    source = sqlite3.connect(WORK / "home" / "tallyproof.sqlite")
    tables = {}
    for name in ("ledger_entries", "forms", "tally_deltas"):
        cursor = source.execute(f"SELECT * FROM {name} ORDER BY rowid")
        columns = [d[0] for d in cursor.description]
        tables[name] = (columns, cursor.fetchall())
    tables["ledger_entries"] = (tables["ledger_entries"][0], tables["ledger_entries"][1][-forms:])
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    start = time.perf_counter()
    for i in range(0, forms, batch):
        conn.execute("BEGIN IMMEDIATE")
        for name, (columns, rows) in tables.items():
            marks = ",".join("?" * len(columns))
            conn.executemany(f"INSERT INTO {name} VALUES ({marks})", rows[i : i + batch])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    source.close()
    return elapsed


def bare_verify(ctx: Context, envelopes: list) -> float:
    state = ctx.refresh()
    items = []
    for envelope in envelopes:
        signed = read_envelope(envelope, EntryKind.FORM)
        items.append((state.keys[signed.key_id].raw, signed.message, signed.signature))
    start = time.perf_counter()
    for public, message, signature in items:
        VerifyKey(public).verify(message, signature)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=50_000, help="forms = 2 x stations")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=0, help="signature processes (0: cores)")
    args = parser.parse_args()
    spec = SyntheticSpec(stations=args.stations, na_contests=150, pa_contests=300, candidates=8)
    elapsed, ctx, envelopes = ingest(spec, args.batch, args.workers)
    n = len(envelopes)
    with console.status("bare executemany of the same rows"):
        insert = bare_insert(ctx, args.batch, n)
    with console.status("bare Ed25519 verification of the same signatures"):
        verify = bare_verify(ctx, envelopes)
    ctx.close()
    table = Table(title=f"ingest of {n:,} signed forms into SQLite (batches of {args.batch:,})")
    for column in ("measure", "seconds", "forms/s", "ingest rate ÷ this rate"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    table.add_row(
        "tallyproof ingest (service layer)", f"{elapsed:.2f}", f"{n / elapsed:,.0f}", "1.00"
    )
    table.add_row(
        "bare executemany of the same rows",
        f"{insert:.2f}",
        f"{n / insert:,.0f}",
        f"{insert / elapsed:.2f}",
    )
    table.add_row(
        "bare Ed25519 verification (1 core)",
        f"{verify:.2f}",
        f"{n / verify:,.0f}",
        f"{verify / elapsed:.2f}",
    )
    console.print(table)


if __name__ == "__main__":
    main()
