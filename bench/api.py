"""The HTTP service on loopback, in one run, against the same work done in-process:

- single-form POSTs from 64 concurrent connections (forms/s, p50, p99), with one more
  connection reading a contest or the standings all along (p50, p99 during ingest), and the
  same reads with nothing else on afterwards;
- batched POSTs of 500 forms (forms/s), against the same forms ingested in-process in
  batches of 500 through the service layer (the ratio);
- the live feed: 1,000 connected SSE readers while forms arrive at a steady rate, each
  event's delay from the entry's logged time to its arrival at a reader (p50, p99).

The server is `tallyproof serve` in its own processes; the load comes from another process
(bench/loadgen.py). All share the machine's cores, as they would on one laptop."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from loadgen import (
    event,
    paced_and_read,
    paced_posts,
    post_and_read,
    post_load,
    post_request,
    read_load,
    run_in_process,
    sse_crowd,
    start_in_process,
)
from record import write_results
from tallyproof.importers.plan import run_plan
from tallyproof.sample.synthetic import SyntheticSpec, synthetic_plan
from tallyproof.service import submission
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter

WORK = Path("var/bench-http")
console = Console()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def build_base(spec: SyntheticSpec) -> list[dict[str, Any]]:
    """The election, its keys registered, in a home every phase copies; the signed forms."""
    shutil.rmtree(WORK, ignore_errors=True)
    with console.status(f"generating and signing {spec.forms:,} forms"):
        plan, envelopes = synthetic_plan(spec)
    writer = LedgerWriter.initialise(Settings.at(WORK / "base"))
    with console.status("registering the structure and the presiding officers' keys"):
        run_plan(writer, plan)
    writer.close()
    return envelopes


def fresh_home(name: str) -> Path:
    home = WORK / name
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(WORK / "base", home)
    return home


def in_process(envelopes: list[dict[str, Any]], batch: int) -> float:
    """The same forms through the service layer in one process, `batch` a transaction."""
    writer = LedgerWriter.open(Settings.at(fresh_home("in-process")))
    batches = [envelopes[i : i + batch] for i in range(0, len(envelopes), batch)]
    start = time.perf_counter()
    for outcomes in submission.ingest_forms(writer, batches):
        if not all(o.accepted for o in outcomes):
            raise SystemExit("in-process ingest refused a form")
    elapsed = time.perf_counter() - start
    writer.close()
    return elapsed


def cpu_seconds(root: int) -> float:
    """User and system CPU of a process and all its descendants so far (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    family, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return sum(times.get(pid, 0.0) for pid in family)


class Served:
    """`tallyproof serve` on a free loopback port over a home, until stopped."""

    def __init__(self, home: Path, workers: int) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        command = [sys.executable, "-m", "tallyproof", "--home", str(home), "serve"]
        command += ["--port", str(self.port), "--workers", str(workers)]
        command += ["--per-key-per-minute", "0"]
        self.process = subprocess.Popen(command, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit("the server did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/v1/health", timeout=10).json()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)


def single_posts(envelopes: list, workers: int, connections: int, reads: list[str]) -> dict:
    server = Served(fresh_home("single"), workers)
    try:
        requests = [post_request("/v1/forms", json.dumps(e).encode()) for e in envelopes]
        before = cpu_seconds(server.process.pid)
        with console.status(f"{len(requests):,} single-form POSTs over {connections} connections"):
            posted = run_in_process(post_and_read, server.port, requests, connections, reads)
        posted["server_cpu_seconds"] = cpu_seconds(server.process.pid) - before
        intake = server.health()["intake"]
        with console.status("the same reads with nothing else on"):
            idle = run_in_process(read_load, server.port, reads, 10.0)
    finally:
        server.stop()
    if posted["statuses"] != [201]:
        raise SystemExit(f"single POSTs answered {posted['statuses']}")
    return {"posted": posted, "intake": intake, "idle_reads": idle}


def batched_posts(envelopes: list, workers: int, batch: int, connections: int) -> dict:
    server = Served(fresh_home("batched"), workers)
    try:
        requests = [
            post_request("/v1/forms", json.dumps({"forms": envelopes[i : i + batch]}).encode())
            for i in range(0, len(envelopes), batch)
        ]
        with console.status(f"{len(requests):,} POSTs of {batch} forms"):
            posted = run_in_process(post_load, server.port, requests, connections)
    finally:
        server.stop()
    if posted["statuses"] != [200]:
        raise SystemExit(f"batched POSTs answered {posted['statuses']}")
    return posted


def steady_reads(envelopes: list, workers: int, rate: float, reads: list[str]) -> dict:
    """Contest and standings reads while forms arrive at a steady `rate` (single POSTs over
    8 connections), and the same reads afterwards with nothing else on."""
    server = Served(fresh_home("steady"), workers)
    try:
        requests = [post_request("/v1/forms", json.dumps(e).encode()) for e in envelopes]
        with console.status(f"reads while {len(requests):,} forms arrive at {rate:,.0f}/s"):
            during = run_in_process(paced_and_read, server.port, requests, rate, 8, reads)
        with console.status("the same reads with nothing else on"):
            idle = run_in_process(read_load, server.port, reads, 10.0)
    finally:
        server.stop()
    return {"during": during["reads"], "idle": idle}


def feed(envelopes: list, workers: int, readers: int, timed: int, rate: float) -> dict:
    """`readers` on the feed while forms arrive one POST at a time at `rate` a second."""
    server = Served(fresh_home("feed"), workers)
    try:
        go, stop = event(), event()
        crowd = start_in_process(sse_crowd, server.port, readers, timed, stop, go)
        with console.status(f"connecting {readers:,} feed readers"):
            go.wait(120)
        time.sleep(1.0)
        requests = [post_request("/v1/forms", json.dumps(e).encode()) for e in envelopes]
        with console.status(f"{len(requests):,} forms at {rate:,.0f}/s to {readers:,} readers"):
            paced = run_in_process(paced_posts, server.port, requests, rate)
        time.sleep(3.0)  # the last events' way to the readers
        stop.set()
        heard = crowd.get(120)
    finally:
        server.stop()
    return {"paced": paced, "connected": heard["connected"], "latencies": heard["latencies"]}


def reads_of(spec: SyntheticSpec) -> list[str]:
    e = f"/v1/elections/{spec.election_id}"
    contests = [f"{e}/contests/NA-{i}" for i in range(1, spec.na_contests + 1, 7)]
    contests += [f"{e}/contests/PP-{i}" for i in range(1, spec.pa_contests + 1, 13)]
    return contests + [f"{e}/standings"] * len(contests)


def by_kind(reads: list) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"contest": [], "standings": []}
    for path, seconds, _ in reads:
        out["standings" if path.endswith("standings") else "contest"].append(seconds * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=20_000, help="forms = 2 x stations")
    parser.add_argument("--workers", type=int, default=2, help="HTTP worker processes")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batch-connections", type=int, default=4)
    parser.add_argument("--readers", type=int, default=1000, help="SSE readers")
    parser.add_argument("--timed", type=int, default=100, help="of them, timing each event")
    parser.add_argument("--feed-rate", type=float, default=200, help="forms/s while timed")
    parser.add_argument("--feed-forms", type=int, default=3000)
    parser.add_argument("--read-rate", type=float, default=500, help="forms/s while reading")
    parser.add_argument("--read-forms", type=int, default=10_000)
    parser.add_argument(
        "--only",
        choices=("feed", "single", "reads", "batched"),
        help="run one phase alone (no results file)",
    )
    args = parser.parse_args()
    spec = SyntheticSpec(stations=args.stations, na_contests=150, pa_contests=300, candidates=8)
    envelopes = build_base(spec)
    n = len(envelopes)
    if args.only:
        only(args, spec, envelopes)
        return
    with console.status(f"in-process ingest of {n:,} forms, {args.batch} a transaction"):
        inproc = in_process(envelopes, args.batch)
    single = single_posts(envelopes, args.workers, args.connections, reads_of(spec))
    batched = batched_posts(envelopes, args.workers, args.batch, args.batch_connections)
    fed = feed(envelopes[: args.feed_forms], args.workers, args.readers, args.timed, args.feed_rate)
    steady = steady_reads(
        envelopes[: args.read_forms], args.workers, args.read_rate, reads_of(spec)
    )
    figures = report(args, n, inproc, single, batched, fed, steady)
    console.print(f"figures: {write_results('http', figures)}")


def only(args: Any, spec: SyntheticSpec, envelopes: list) -> None:
    """One phase, its figures printed: for working on one thing at a time."""
    if args.only == "feed":
        forms = envelopes[: args.feed_forms]
        fed = feed(forms, args.workers, args.readers, args.timed, args.feed_rate)
        ms = [x * 1000 for x in fed["latencies"]]
        console.print(
            f"feed to {fed['connected']:,} readers: p50 {percentile(ms, 0.5):.1f} ms, "
            f"p99 {percentile(ms, 0.99):.1f} ms over {len(ms):,} events"
        )
        return
    if args.only == "batched":
        with console.status(f"in-process ingest of {len(envelopes):,} forms"):
            inproc = in_process(envelopes, args.batch)
        posted = batched_posts(envelopes, args.workers, args.batch, args.batch_connections)
        console.print(
            f"in-process {len(envelopes) / inproc:,.0f}/s; batched POSTs "
            f"{len(envelopes) / posted['seconds']:,.0f}/s: {inproc / posted['seconds']:.3f}"
        )
        return
    if args.only == "reads":
        steady = steady_reads(
            envelopes[: args.read_forms], args.workers, args.read_rate, reads_of(spec)
        )
        for kind, values in by_kind(steady["during"]).items():
            idle = by_kind(steady["idle"])[kind]
            console.print(
                f"{kind} reads at {args.read_rate:,.0f} forms/s: p50 "
                f"{percentile(values, 0.5):.2f} p99 {percentile(values, 0.99):.2f} ms; idle p50 "
                f"{percentile(idle, 0.5):.2f} p99 {percentile(idle, 0.99):.2f} ms"
            )
        return
    single = single_posts(envelopes, args.workers, args.connections, reads_of(spec))
    posted = single["posted"]
    lat = [x * 1000 for x in posted["latencies"]]
    console.print(
        f"single POSTs: {len(envelopes) / posted['seconds']:,.0f}/s, "
        f"p50 {percentile(lat, 0.5):.1f} ms, p99 {percentile(lat, 0.99):.1f} ms"
    )
    idle = by_kind(single["idle_reads"])
    for kind, values in by_kind(posted["reads"]).items():
        console.print(
            f"{kind} reads during: p50 {percentile(values, 0.5):.2f} "
            f"p99 {percentile(values, 0.99):.2f} ms; idle p50 {percentile(idle[kind], 0.5):.2f} "
            f"p99 {percentile(idle[kind], 0.99):.2f} ms"
        )


def read_figures(during: list, idle: list) -> dict[str, dict[str, Any]]:
    d, i = by_kind(during), by_kind(idle)
    return {
        kind: {
            "p50_ms": round(percentile(d[kind], 0.5), 2),
            "p99_ms": round(percentile(d[kind], 0.99), 2),
            "idle_p50_ms": round(percentile(i[kind], 0.5), 2),
            "idle_p99_ms": round(percentile(i[kind], 0.99), 2),
            "asked": len(d[kind]),
        }
        for kind in ("contest", "standings")
    }


def report(
    args: Any, n: int, inproc: float, single: dict, batched: dict, fed: dict, steady: dict
) -> dict:
    posted = single["posted"]
    lat = [x * 1000 for x in posted["latencies"]]
    feed_ms = [x * 1000 for x in fed["latencies"]]
    figures = {
        "forms": n,
        "workers": args.workers,
        "in_process_forms_per_s": round(n / inproc),
        "single": {
            "connections": args.connections,
            "forms_per_s": round(n / posted["seconds"]),
            "p50_ms": round(percentile(lat, 0.5), 1),
            "p99_ms": round(percentile(lat, 0.99), 1),
            "ratio_to_in_process": round(inproc / posted["seconds"], 3),
            "server_cpu_ms_per_form": round(posted["server_cpu_seconds"] * 1000 / n, 3),
            "transactions": single["intake"].get("transactions"),
            "largest_group": single["intake"].get("largest"),
        },
        "batched": {
            "batch": args.batch,
            "connections": args.batch_connections,
            "forms_per_s": round(n / batched["seconds"]),
            "ratio_to_in_process": round(inproc / batched["seconds"], 3),
        },
        "feed": {
            "readers": fed["connected"],
            "timed_readers": args.timed,
            "rate_forms_per_s": args.feed_rate,
            "events_timed": len(feed_ms),
            "events_expected": args.timed * min(args.feed_forms, n),
            "p50_ms": round(percentile(feed_ms, 0.5), 1),
            "p99_ms": round(percentile(feed_ms, 0.99), 1),
        },
        "reads_at_steady_ingest": {"rate_forms_per_s": args.read_rate}
        | read_figures(steady["during"], steady["idle"]),
        "reads_while_saturated": read_figures(posted["reads"], single["idle_reads"]),
    }
    console.print(figures_table(args, figures))
    return figures


def figures_table(args: Any, figures: dict) -> Table:
    n = figures["forms"]
    table = Table(title=f"tallyproof serve on loopback: {n:,} forms, {args.workers} workers")
    for column in ("measure", "figure", "target"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    s, b, f = figures["single"], figures["batched"], figures["feed"]
    table.add_row(
        f"in-process ingest, batches of {args.batch}",
        f"{figures['in_process_forms_per_s']:,}/s",
        "",
    )
    table.add_row(
        f"single-form POSTs, {s['connections']} connections",
        f"{s['forms_per_s']:,}/s",
        ">= 2,000/s",
    )
    table.add_row("  p50 / p99", f"{s['p50_ms']} / {s['p99_ms']} ms", "p99 < 250 ms")
    table.add_row(
        "  server CPU a form (all its processes)", f"{s['server_cpu_ms_per_form']} ms", ""
    )
    table.add_row(f"batched POSTs of {args.batch}", f"{b['forms_per_s']:,}/s", "")
    table.add_row("  ÷ in-process", f"{b['ratio_to_in_process']}", ">= 0.7")
    table.add_row(
        f"feed, {f['readers']:,} readers, {f['rate_forms_per_s']:,.0f} forms/s, p50 / p99",
        f"{f['p50_ms']} / {f['p99_ms']} ms",
        "p99 < 100 ms",
    )
    table.add_row(
        "  events received / sent to the timed readers",
        f"{f['events_timed']:,} / {f['events_expected']:,}",
        "",
    )
    steady = figures["reads_at_steady_ingest"]
    for kind in ("contest", "standings"):
        r = steady[kind]
        table.add_row(
            f"{kind} read, ingest at {steady['rate_forms_per_s']:,.0f}/s, p50 / p99",
            f"{r['p50_ms']} / {r['p99_ms']} ms",
            "p50 < 5 ms",
        )
        table.add_row("  idle, p50 / p99", f"{r['idle_p50_ms']} / {r['idle_p99_ms']} ms", "")
        sat = figures["reads_while_saturated"][kind]
        table.add_row(
            "  while single POSTs saturate the machine", f"{sat['p50_ms']} / {sat['p99_ms']} ms", ""
        )
    table.caption = "one machine: server, load and readers share its cores"
    return table


if __name__ == "__main__":
    main()
