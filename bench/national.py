"""A whole simulated national night through the real ingest path, on SQLite and on
PostgreSQL, each figure beside its bare floor measured in the same run.

The night is `tallyproof simulate --out` (sample/night.py: 90,000 stations, 295,057
documents at seed 2024: 202,694 forms, counting the agents' and observers' copies, 91,200
key registrations, declarations, claims, status orders, with every fault at its default
rate), made once per (stations, seed) and kept in var/bench-national: generating and
signing it is the producers' cost, not the log's. For each backend:

- ingest: a fresh child process streams the night's JSON lines and sends them, in night
  order, through `simulate --into-store`'s sink (`StoreSink`: consecutive documents of one
  kind, at most 2,000, through `importers.plan.run_step`, one transaction each), with the
  default `verify_workers` (one process a core). Timed: the sends (reading the file is not
  the log's cost); every outcome is held to what the night meant it to be. Peak RSS: the
  ingest process's own high-water mark (VmHWM), and the largest sum of the resident sets of
  it and its verify workers, sampled every 0.2 s (the figure held to the target);
- reads while ingest runs: another process, started once the structure is logged, asks one
  long-lived read model (service/reading.py, as bench/read.py does) for a random contest's
  result, its forms, a station's forms, its findings and the national standings, each at
  the log's newest size, pausing `--read-pause` s between rounds; beside them the bare sum
  of the same contest's official forms through the driver;
- export of the bundle (export/bundle.py) and its audit (audit/run.py, `audit_bundle` with
  one signature process a core);
- floors: Ed25519 verification of every document's signature on as many processes as the
  ingest verifies with; SHA-256 of every leaf it logged; a bare `executemany` of every row
  it wrote into fresh tables of the same schema, in as many transactions as it committed;
  Ed25519 verification of every bundle entry's signature on as many processes as the audit
  uses.

Ratios are floor seconds ÷ measured seconds for the same work (the measured rate as a share
of the floor's rate). Targets (the issue "National scale and faults"): ingest ≥ 0.5 × bare
verification, audit ≥ 0.6 ×, peak RSS < 1 GiB, read p50 < 5 ms during ingest.

A quick run: `make bench-national BENCH_NATIONAL_ARGS="--stations 3000"`.
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing as mp
import os
import pstats
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import create_engine, text

from floors import (
    Signature,
    bare_executemany,
    libpq_url,
    sha256_leaves,
    source_rows,
    summed,
    verify_on,
)
from ingest import bundle_signatures
from record import write_results
from tallyproof.audit.run import audit_bundle
from tallyproof.cli.simulating import StoreSink, Tally, batches
from tallyproof.export.bundle import export_bundle
from tallyproof.ledger.entries import EntryKind, EnvelopeError, read_envelope
from tallyproof.sample.national import ELECTION_ID, NATIONAL_STATIONS
from tallyproof.sample.night import Event, Expect, Expected
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.scratch import scratch_schema

WORK = Path("var/bench-national")
BATCH = 2000  # simulate --into-store's batches (the server's default --batch-documents)
TARGETS: dict[str, tuple[str, float]] = {  # figure -> (">=" or "<", the target)
    "ingest_vs_verify": (">=", 0.5),
    "audit_vs_verify": (">=", 0.6),
    "peak_rss_mib": ("<", 1024.0),
    "read_p50_ms": ("<", 5.0),
    "standings_p50_ms": ("<", 20.0),  # the Read side issue's target for standings
}
CURRENT_READS = ("contest", "contest_forms", "station_forms", "findings")
console = Console(width=None if sys.stdout.isatty() else 140)


# --- the night ------------------------------------------------------------------------------


def night_file(stations: int, seed: int) -> tuple[Path, Counter[str]]:
    """The night as JSON lines, made once; and its documents by kind."""
    path = WORK / f"night-{stations}-{seed}.jsonl"
    counts_path = path.with_suffix(".counts.json")
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        command = [sys.executable, "-m", "tallyproof", "--home", str(WORK / "sim-home")]
        command += ["simulate", "--out", str(part), "--seed", str(seed)]
        command += ["--stations", str(stations)]
        with console.status(f"simulating and signing the night of {stations:,} stations"):
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        part.rename(path)
    if counts_path.exists():
        return path, Counter(orjson.loads(counts_path.read_bytes()))
    counts: Counter[str] = Counter()
    with console.status("counting the night's documents"), path.open("rb") as lines:
        for line in lines:
            counts[orjson.loads(line)["kind"]] += 1
    counts_path.write_bytes(orjson.dumps(counts))
    return path, counts


def events(path: Path) -> Iterator[Any]:
    """The night's events as `simulate` made them, one line at a time."""
    with path.open("rb") as lines:
        for line in lines:
            doc = orjson.loads(line)
            expect = doc["expect"]
            findings = tuple(Expected(**f) for f in expect.get("findings", ()))
            meant = Expect(expect["outcome"], expect.get("code"), findings, expect.get("note", ""))
            yield Event(doc["seq"], 0.0, doc["kind"], doc["story"], doc["envelope"], meant)


# --- the ingest, in its own process ------------------------------------------------------------


def vm_hwm_mib(pid: int | str = "self") -> float:
    """The process's peak resident set so far (Linux VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ingest_child(
    path: Path,
    home: Path,
    url: str,
    workers: int,
    counters: Any,
    logged: Any,
    out: Any,
    profile: bool = False,
) -> None:
    """Send the night through StoreSink, as `simulate --into-store` does; report the time
    spent sending, the outcomes against what was meant, this process's peak RSS, and the
    CPU time of the writer (this process) and of its verify workers."""
    profiler = cProfile.Profile() if profile else None
    settings = Settings.at(home, url, verify_workers=workers)
    writer = LedgerWriter.initialise(settings)
    sink, tally = StoreSink(writer), Tally()
    sending = 0.0
    by_kind: dict[str, list[float]] = {}  # kind most of a batch is -> [seconds, documents, batches]
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    for batch in batches(events(path), BATCH, 0.0, sink.mixed):
        start = time.perf_counter()
        results = sink.send(batch)
        took = time.perf_counter() - start
        sending += took
        kind = by_kind.setdefault(Counter(e.kind for e in batch).most_common(1)[0][0], [0.0, 0, 0])
        kind[0] += took
        kind[1] += len(batch)
        kind[2] += 1
        tally.add(batch, results, False)
        if batch[0].kind == "structure":
            logged.set()
        counters[0], counters[1] = tally.sent, tally.forms
    wall = time.perf_counter() - began
    if profiler:
        profiler.disable()
        profiler.dump_stats(home / "ingest.prof")
    hwm = vm_hwm_mib()
    workers_used = writer.workers.workers
    writer.close()  # joins the verify workers: their CPU time is ours to read
    own = resource.getrusage(resource.RUSAGE_SELF)
    pool = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.put(
        {
            "seconds": sending,
            "wall_seconds": wall,
            "documents": tally.sent,
            "forms": tally.forms,
            "as_meant": tally.as_meant,
            "unexpected": tally.unexpected[:5],
            "outcomes": tally.as_dict()["outcomes"],
            "ingest_process_peak_rss_mib": hwm,
            "verify_workers": workers_used,
            "writer_cpu_seconds": own.ru_utime + own.ru_stime,
            "workers_cpu_seconds": pool.ru_utime + pool.ru_stime,
            "by_kind": {
                k: {"seconds": round(t, 2), "documents": n, "batches": b}
                for k, (t, n, b) in by_kind.items()
            },
        }
    )


def tree_rss_mib(root: int) -> float:
    """The summed resident sets of a process and its descendants now, MiB."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            todo += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / 1024


# --- reads while ingest runs, in another process -------------------------------------------


def bare_contest(conn: Any, placeholder: str, election: str, code: str) -> dict[str, int]:
    """The contest's official forms summed in Python, one driver query: the floor of a
    contest read."""
    q = placeholder
    query = (
        f"SELECT votes, rejected, polled FROM forms WHERE election_id={q} AND contest={q}"
        " AND official"
    )
    return summed(conn.execute(query, (election, code)).fetchall(), orjson.loads)


def reader_child(home: Path, url: str, pause: float, seed: int, stop: Any, out: Any) -> None:
    """Ask the read model what a reader of the live night asks, at the newest size each
    time, until told to stop; the milliseconds of each answer by question."""
    settings = Settings.at(home, url)
    model = ReadModel.open(settings)
    structure = model.structure(ELECTION_ID).value  # parsed once, as a serving reader has it
    codes = [c.code for c in structure.contests]
    stations = [s.id for s in structure.stations]
    if url.startswith("sqlite"):
        import sqlite3

        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        mark = "?"
    else:
        import psycopg

        conn = psycopg.connect(libpq_url(url), autocommit=True)
        mark = "%s"
    rng = random.Random(seed)
    asked = ("bare_contest", *CURRENT_READS, "standings", "standings_new_size")
    samples: dict[str, list[float]] = {k: [] for k in asked}
    sizes: set[int] = set()
    eid = ELECTION_ID

    def timed(name: str, ask: Any, *args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        answer = ask(*args, **kw)
        samples[name].append((time.perf_counter() - start) * 1000)
        if hasattr(answer, "tree_size"):
            sizes.add(answer.tree_size)
        return answer

    last = -1
    while not stop.is_set():
        code, station = rng.choice(codes), rng.choice(stations)
        timed("bare_contest", bare_contest, conn, mark, eid, code)
        timed("contest", model.contest, eid, code)
        timed("contest_forms", model.forms, eid, contest=code)
        timed("station_forms", model.forms, eid, station=station)
        timed("findings", model.findings, eid, code)
        size = timed("standings", model.standings, eid).tree_size
        if size != last:  # asked at a size it had not answered yet: the cold cost
            samples["standings_new_size"].append(samples["standings"][-1])
        last = size
        stop.wait(pause)
    conn.close()
    model.close()
    out.put({"samples": samples, "sizes": len(sizes), "reader_peak_rss_mib": vm_hwm_mib()})


# --- one backend --------------------------------------------------------------------------------


def p(values: list[float], q: float) -> float:
    """Nearest-rank percentile (nan for none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def run_ingest(
    path: Path, counts: Counter[str], home: Path, url: str, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ingest in one child, the reader in another once the structure is logged; the
    ingest's figures and the reader's."""
    ctx = mp.get_context("spawn")  # a clean interpreter: its peak RSS is the ingest's own
    counters = ctx.Array("q", 2, lock=False)
    logged, stop = ctx.Event(), ctx.Event()
    ingest_out, reader_out = ctx.Queue(), ctx.Queue()
    ingest = ctx.Process(
        target=ingest_child,
        args=(path, home, url, args.workers, counters, logged, ingest_out, args.profile),
    )
    reader = ctx.Process(
        target=reader_child, args=(home, url, args.read_pause, args.seed, stop, reader_out)
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
    )
    tree_peak = 0.0
    started = False
    result: dict[str, Any] | None = None
    with Progress(*columns, console=console, transient=True) as bar:
        docs = bar.add_task("documents", total=sum(counts.values()), note="")
        forms = bar.add_task("station forms", total=counts.get("form", 0), note="")
        ingest.start()
        while result is None:
            if not started and logged.is_set():
                reader.start()
                started = True
            tree_peak = max(tree_peak, tree_rss_mib(ingest.pid or 0))
            bar.update(docs, completed=counters[0], note=f"RSS peak {tree_peak:,.0f} MiB")
            bar.update(forms, completed=counters[1], note="")
            try:
                result = ingest_out.get(timeout=0.2)
            except Exception:  # queue.Empty: still going
                if not ingest.is_alive():
                    raise SystemExit(f"the ingest process died ({ingest.exitcode})") from None
    ingest.join()
    stop.set()
    reads: dict[str, Any] = {"samples": {}, "sizes": 0}
    while started:
        try:
            reads = reader_out.get(timeout=1.0)
            break
        except Exception:  # queue.Empty: a reader still answering its last round
            if not reader.is_alive():
                console.print(f"[red]the reader process died ({reader.exitcode})")
                break
    if started:
        reader.join()
    result["tree_peak_rss_mib"] = tree_peak
    return result, reads


def one_backend(
    name: str, url: str, path: Path, counts: Counter[str], args: argparse.Namespace
) -> dict[str, Any]:
    """Ingest, reads, export, audit and their floors on one backend: its named figures."""
    home = WORK / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    cores = os.cpu_count() or 1
    workers = args.workers or cores  # what Settings(verify_workers=0) means: one a core
    console.rule(f"{name}: {sum(counts.values()):,} documents, {counts['form']:,} forms")
    ing, reads = run_ingest(path, counts, home, url, args)
    if args.profile:
        console.rule(f"cProfile of the ingest process ({name})")
        pstats.Stats(str(home / "ingest.prof")).sort_stats("tottime").print_stats(25)
    if ing["as_meant"] != ing["documents"]:
        console.print(f"[red]not as meant: {ing['unexpected']}")
    console.print(
        f"ingest: {ing['documents']:,} documents in {ing['seconds']:.1f} s "
        f"({ing['forms'] / ing['seconds']:,.0f} forms/s), {ing['as_meant']:,} as meant"
    )
    settings = Settings.at(home, url, verify_workers=1)
    writer = LedgerWriter.open(settings)
    with console.status("exporting the bundle"):
        start = time.perf_counter()
        export_bundle(writer, home / "bundle")
        exported = time.perf_counter() - start
    with console.status("collecting the floors' inputs: signatures, leaves, rows"):
        submitted = document_signatures(writer, path)
        entries = bundle_signatures(writer)
        with writer.read() as reader:
            leaves = [row.leaf_data for row in reader.entries()]
        writer.close()
        rows = source_rows(url)
        commits = len(rows.get("checkpoints", ([], []))[1])
    with console.status(f"auditing the bundle ({len(entries):,} entries)"):
        start = time.perf_counter()
        report = audit_bundle(home / "bundle", args.audit_workers)
        audited = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"the audit failed: {report.issues[:3]}")
    audit_workers = args.audit_workers or cores
    with console.status(f"bare Ed25519 verification of {len(submitted):,} documents"):
        verify = verify_on(submitted, workers)
    with console.status(f"bare Ed25519 verification of {len(entries):,} bundle entries"):
        verify_bundle = verify_on(entries, audit_workers)
    with console.status(f"bare SHA-256 of {len(leaves):,} leaves"):
        sha = sha256_leaves(leaves)
    with console.status(f"bare executemany of the same rows in {commits:,} transactions"):
        if url.startswith("postgresql"):
            with scratch_schema(args.pg_url, "bench_national_bare") as bare_url:
                insert = bare_executemany(rows, commits, bare_url)
        else:
            insert = bare_executemany(rows, commits, str(home / "bare.sqlite"))
    n_rows, n_leaves = sum(len(r) for _, r in rows.values()), len(leaves)
    del rows, leaves
    samples = reads["samples"]
    current = [ms for k in CURRENT_READS for ms in samples.get(k, [])]
    secs, docs, forms = ing["seconds"], ing["documents"], ing["forms"]
    figures: dict[str, Any] = {
        "documents": docs,
        "forms": forms,
        "as_meant": ing["as_meant"],
        "outcomes": ing["outcomes"],
        "commits": commits,
        "rows_written": n_rows,
        "verify_workers": ing["verify_workers"],
        "audit_workers": audit_workers,
        "ingest_seconds": round(secs, 2),
        "ingest_wall_seconds": round(ing["wall_seconds"], 2),
        "ingest_forms_per_s": round(forms / secs),
        "ingest_documents_per_s": round(docs / secs),
        "ingest_by_kind": ing["by_kind"],
        "ingest_writer_cpu_seconds": round(ing["writer_cpu_seconds"], 1),
        "ingest_workers_cpu_seconds": round(ing["workers_cpu_seconds"], 1),
        "bare_verify_documents_per_s": round(len(submitted) / verify),
        "ingest_vs_verify": round(verify / secs * docs / len(submitted), 3),
        "bare_sha256_leaves_per_s": round(n_leaves / sha),
        "ingest_vs_sha256": round(sha / secs, 4),
        "bare_insert_documents_per_s": round(docs / insert),
        "ingest_vs_insert": round(insert / secs, 3),
        "peak_rss_mib": round(ing["tree_peak_rss_mib"]),
        "ingest_process_peak_rss_mib": round(ing["ingest_process_peak_rss_mib"]),
        "reader_peak_rss_mib": round(reads.get("reader_peak_rss_mib", 0)),
        "export_seconds": round(exported, 2),
        "audit_entries": len(entries),
        "audit_seconds": round(audited, 2),
        "audit_entries_per_s": round(len(entries) / audited),
        "bare_verify_entries_per_s": round(len(entries) / verify_bundle),
        "audit_vs_verify": round(verify_bundle / audited, 3),
        "reads": sum(len(v) for k, v in samples.items() if k != "bare_contest"),
        "read_sizes": reads["sizes"],
        "read_p50_ms": round(statistics.median(current), 3) if current else None,
        "read_p99_ms": round(p(current, 0.99), 3) if current else None,
    }
    for key, values in samples.items():
        figures[f"{key}_p50_ms"] = round(p(values, 0.5), 3) if values else None
        figures[f"{key}_p99_ms"] = round(p(values, 0.99), 3) if values else None
        figures[f"{key}_samples"] = len(values)
    figures["met"], figures["missed"] = verdicts(figures)
    f = figures
    console.print(table(name, figures, len(submitted), len(entries), samples))
    console.print(
        f"ingest CPU: writer {f['ingest_writer_cpu_seconds']:,.1f} s, verify workers "
        f"{f['ingest_workers_cpu_seconds']:,.1f} s, in {f['ingest_seconds']:,.1f} s\n"
        "ingest by the kind most of a batch is: "
        + "; ".join(
            f"{k} {v['documents']:,} in {v['batches']:,} batches, {v['seconds']:.1f} s"
            for k, v in ing["by_kind"].items()
        )
    )
    return figures


def document_signatures(writer: LedgerWriter, path: Path) -> list[Signature]:
    """(key, message, signature) of every document the night sent whose key the log knows
    (forged ones included: checking them costs the ingest the same)."""
    state = writer.refresh()
    admins = {k.key_id: k for k in state.admin_keys.values()}
    out: list[Signature] = []
    with path.open("rb") as lines:
        for line in lines:
            doc = orjson.loads(line)
            try:
                signed = read_envelope(doc["envelope"], EntryKind(doc["kind"]))
            except (EnvelopeError, ValueError):
                continue
            key = state.keys.get(signed.key_id) or admins.get(signed.key_id)
            if key is not None:
                out.append((key.raw, signed.message, signed.signature))
    return out


def verdicts(figures: dict[str, Any]) -> tuple[list[str], list[str]]:
    met, missed = [], []
    for key, (op, target) in TARGETS.items():
        value = figures.get(key)
        if value is None:
            continue
        ok = value >= target if op == ">=" else value < target
        (met if ok else missed).append(key)
    return met, missed


def table(
    name: str, f: dict[str, Any], submitted: int, entries: int, samples: dict[str, list[float]]
) -> Table:
    out = Table(
        title=(
            f"{name}: {f['documents']:,} documents ({f['forms']:,} station forms) in "
            f"{f['commits']:,} commits; {f['verify_workers']} verify workers, audit on "
            f"{f['audit_workers']}; {os.cpu_count()} cores"
        ),
        caption=(
            "ratio: floor seconds ÷ measured seconds for the same work. Bare verification: "
            f"every document's signature ({submitted:,}) on {f['verify_workers']} processes; "
            f"for the audit, every entry's ({entries:,}) on {f['audit_workers']}. Reads: "
            "one read model at the log's newest size while ingest runs; p50 / p99."
        ),
    )
    for column in ("figure", "value", "floor", "ratio", "target", ""):
        out.add_column(column, justify="left" if column == "figure" else "right")

    def verdict(key: str) -> tuple[str, str]:
        if key not in TARGETS:
            return "", ""
        op, target = TARGETS[key]
        ok = key in f["met"]
        return f"{'≥' if op == '>=' else '<'} {target:g}", "[green]met" if ok else "[red]missed"

    out.add_row("ingest, total", f"{f['ingest_seconds']:,.1f} s", "", "", "", "")
    out.add_row(
        "ingest, forms/s (documents/s)",
        f"{f['ingest_forms_per_s']:,} ({f['ingest_documents_per_s']:,})",
        "",
        "",
        "",
        "",
    )
    out.add_row(
        "  vs Ed25519 verification, documents/s",
        f"{f['ingest_documents_per_s']:,}",
        f"{f['bare_verify_documents_per_s']:,}",
        f"{f['ingest_vs_verify']:.2f}",
        *verdict("ingest_vs_verify"),
    )
    out.add_row(
        "  vs SHA-256 of the leaves, entries/s",
        "",
        f"{f['bare_sha256_leaves_per_s']:,}",
        f"{f['ingest_vs_sha256']:.3f}",
        "",
        "",
    )
    out.add_row(
        "  vs bare executemany of the rows, documents/s",
        f"{f['ingest_documents_per_s']:,}",
        f"{f['bare_insert_documents_per_s']:,}",
        f"{f['ingest_vs_insert']:.2f}",
        "",
        "",
    )
    out.add_row(
        "peak RSS: ingest and its workers (ingest process)",
        f"{f['peak_rss_mib']:,} ({f['ingest_process_peak_rss_mib']:,}) MiB",
        "",
        "",
        *verdict("peak_rss_mib"),
    )
    out.add_row("export of the bundle", f"{f['export_seconds']:,.1f} s", "", "", "", "")
    out.add_row(
        "audit, entries/s",
        f"{f['audit_entries_per_s']:,}",
        f"{f['bare_verify_entries_per_s']:,}",
        f"{f['audit_vs_verify']:.2f}",
        *verdict("audit_vs_verify"),
    )
    bare = samples.get("bare_contest") or []
    floor = f"{p(bare, 0.5):.2f}" if bare else ""
    out.add_row(
        f"reads during ingest ({f['reads']:,}, {f['read_sizes']:,} sizes): "
        "contest, forms, station, findings",
        _ms(f, "read"),
        floor,
        "",
        *verdict("read_p50_ms"),
    )
    for key, label in (
        ("contest", "  contest result"),
        ("contest_forms", "  a contest's forms"),
        ("station_forms", "  a station's forms"),
        ("findings", "  a contest's findings"),
    ):
        out.add_row(label, _ms(f, key), floor if key == "contest" else "", "", "", "")
    out.add_row("  national standings", _ms(f, "standings"), "", "", *verdict("standings_p50_ms"))
    out.add_row(
        "    of them at a size not answered before", _ms(f, "standings_new_size"), *[""] * 4
    )
    return out


def _ms(f: dict[str, Any], key: str) -> str:
    p50, p99 = f.get(f"{key}_p50_ms"), f.get(f"{key}_p99_ms")
    return "" if p50 is None else f"{p50:,.2f} / {p99:,.1f} ms"


# --- the command ---------------------------------------------------------------------------------


def pg_ready(url: str) -> str | None:
    """Why the PostgreSQL server cannot be used, or None."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any failure to connect means: no PostgreSQL run
        return str(error).splitlines()[0]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=NATIONAL_STATIONS)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "TALLYPROOF_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL server; each run works in a schema of its own, dropped after",
    )
    parser.add_argument("--workers", type=int, default=0, help="verify workers (0: one a core)")
    parser.add_argument("--audit-workers", type=int, default=0, help="0: one a core")
    parser.add_argument(
        "--read-pause", type=float, default=0.05, help="seconds between rounds of reads"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest process")
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        raise SystemExit(f"unknown backends: {', '.join(sorted(unknown))}")
    if "postgresql" in backends and (why := pg_ready(args.pg_url)):
        console.print(f"[yellow]no PostgreSQL at {args.pg_url} ({why}): SQLite only")
        backends.remove("postgresql")
    path, counts = night_file(args.stations, args.seed)
    results: dict[str, Any] = {
        "stations": args.stations,
        "seed": args.seed,
        "cores": os.cpu_count(),
        "documents_by_kind": dict(sorted(counts.items())),
        "documents": sum(counts.values()),
        "targets": {k: f"{op} {v:g}" for k, (op, v) in TARGETS.items()},
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    for backend in backends:
        with ExitStack() as stack:
            if backend == "postgresql":
                url = stack.enter_context(scratch_schema(args.pg_url, "bench_national"))
            else:
                url = f"sqlite:///{WORK / backend / 'tallyproof.sqlite'}"
            results[backend] = one_backend(backend, url, path, counts, args)
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    first = results.get("sqlite") or (results.get(backends[0]) if backends else None)
    if first:  # the headline figures: SQLite's run (the default store)
        for key in (
            "ingest_forms_per_s",
            "ingest_vs_verify",
            "audit_vs_verify",
            "peak_rss_mib",
            "read_p50_ms",
        ):
            results[key] = first[key]
    console.print(f"figures: {write_results('national', results)}")


if __name__ == "__main__":
    main()
