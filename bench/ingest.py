"""Ingest and audit benchmark: signed forms through the service layer into SQLite, and the
audit of the resulting public bundle, against the bare cost of the same work measured in the
same run.

- bare insert: the very rows ingest wrote (ledger leaves and the form index), inserted
  with sqlite3 executemany into a fresh database with the same schema, batches and PRAGMAs;
- bare verify: Ed25519 verification of the same signatures, one core, PyNaCl (the forms for
  ingest; every entry of the bundle, forms and key registrations, for the audit).
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

from record import write_results
from tallyproof.audit.run import audit_bundle
from tallyproof.export.bundle import export_bundle
from tallyproof.importers.plan import run_plan
from tallyproof.ledger.entries import EntryKind, parse_leaf, read_envelope
from tallyproof.sample.synthetic import SyntheticSpec, synthetic_plan
from tallyproof.service import submission
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tallyproof.store import schema
from tallyproof.store.database import SQLITE_PRAGMAS, WRITER_CACHE

WORK = Path("var/bench")
console = Console()


def ingest(spec: SyntheticSpec, batch: int, workers: int) -> tuple[float, LedgerWriter, list]:
    shutil.rmtree(WORK, ignore_errors=True)
    with console.status("generating and signing the election night"):
        plan, envelopes = synthetic_plan(spec)
    ctx = LedgerWriter.initialise(Settings.at(WORK / "home", verify_workers=workers))
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


def bare_insert(ctx: LedgerWriter, batch: int, forms: int) -> float:
    """executemany of the same rows, same batches, same durability settings."""
    path = WORK / "bare.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    schema.metadata.create_all(engine)
    engine.dispose()
    source = sqlite3.connect(WORK / "home" / "tallyproof.sqlite")
    tables = {}
    for name in ("ledger_entries", "forms"):
        cursor = source.execute(f"SELECT * FROM {name} ORDER BY rowid")
        columns = [d[0] for d in cursor.description]
        tables[name] = (columns, cursor.fetchall())
    tables["ledger_entries"] = (tables["ledger_entries"][0], tables["ledger_entries"][1][-forms:])
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in (*SQLITE_PRAGMAS, WRITER_CACHE):
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


def bare_verify(items: list[tuple[bytes, bytes, bytes]]) -> float:
    start = time.perf_counter()
    for public, message, signature in items:
        VerifyKey(public).verify(message, signature)
    return time.perf_counter() - start


def form_signatures(ctx: LedgerWriter, envelopes: list) -> list[tuple[bytes, bytes, bytes]]:
    state = ctx.refresh()
    items = []
    for envelope in envelopes:
        signed = read_envelope(envelope, EntryKind.FORM)
        items.append((state.keys[signed.key_id].raw, signed.message, signed.signature))
    return items


def bundle_signatures(ctx: LedgerWriter) -> list[tuple[bytes, bytes, bytes]]:
    """Every entry's (key, message, signature), as an auditor must check them."""
    state = ctx.refresh()
    admins = {k.key_id: k for k in state.admin_keys.values()}
    with ctx.read() as reader:
        leaves = [parse_leaf(row.leaf_data).signed for row in reader.entries()]
    return [
        ((state.keys.get(s.key_id) or admins[s.key_id]).raw, s.message, s.signature) for s in leaves
    ]


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
        verify = bare_verify(form_signatures(ctx, envelopes))
    with console.status("exporting the public bundle"):
        start = time.perf_counter()
        export_bundle(ctx, WORK / "bundle")
        exported = time.perf_counter() - start
    signatures = bundle_signatures(ctx)
    ctx.close()
    with console.status("auditing the bundle"):
        start = time.perf_counter()
        report = audit_bundle(WORK / "bundle", args.workers)
        audited = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"the audit failed: {report.issues[:3]}")
    with console.status("bare Ed25519 verification of every signature in the bundle"):
        verify_all = bare_verify(signatures)
    m = len(signatures)
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
    audit = Table(
        title=f"audit of the bundle: {m:,} entries ({n:,} forms), export {exported:.1f} s"
    )
    for column in ("measure", "seconds", "entries/s", "audit rate ÷ this rate"):
        audit.add_column(column, justify="right" if column != "measure" else "left")
    audit.add_row("tallyproof audit (all checks)", f"{audited:.2f}", f"{m / audited:,.0f}", "1.00")
    audit.add_row(
        "bare Ed25519 verification (1 core)",
        f"{verify_all:.2f}",
        f"{m / verify_all:,.0f}",
        f"{verify_all / audited:.2f}",
    )
    console.print(audit)
    written = write_results(
        "ingest",
        {
            "forms": n,
            "batch": args.batch,
            "ingest_seconds": round(elapsed, 3),
            "ingest_forms_per_s": round(n / elapsed),
            "bare_insert_forms_per_s": round(n / insert),
            "bare_verify_forms_per_s": round(n / verify),
            "ratio_to_bare_insert": round(insert / elapsed, 3),
            "ratio_to_bare_verify": round(verify / elapsed, 3),
            "export_seconds": round(exported, 2),
            "audit_entries": m,
            "audit_entries_per_s": round(m / audited),
            "audit_ratio_to_bare_verify": round(verify_all / audited, 3),
        },
    )
    console.print(f"figures: {written}")


if __name__ == "__main__":
    main()
