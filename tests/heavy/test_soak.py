"""The soak: a national election night simulated at three times real speed (`simulate
--speed 3`) into a real `serve --workers 2` over HTTP, for TALLYPROOF_SOAK_MINUTES minutes
(60 by default: the set-up and the first three hours after polls close, the evening's rush),
with readers asking the results, a contest, a station and the findings all along, and SSE
clients following the live feed from its first entry.

Every 10 s it samples the resident memory of each server process (serve, the committer, each
worker), the documents logged, the reads' latencies and errors, and the events the feed
clients received. Memory must be flat once warm: a process that keeps something per request
or per document grows by the hour, and a night is many hours. The curve goes to
var/soak/rss.csv and var/soak/rss.png, the figures to bench/results (write_results("soak")).

TALLYPROOF_SOAK_SPEED changes the speed (a short check at speed 60 covers the same three
hours of the night in three minutes)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import math
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyproof.sample.national import ELECTION_ID
from tests.heavy.wire import MIB, percentile, server_processes, slope_per, wait_for
from tests.helpers import cli
from tests.serving import Server, stop_group

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
from loadgen import _exchange, get_request  # noqa: E402 - bench/ is not a package
from record import write_results  # noqa: E402

MINUTES = float(os.environ.get("TALLYPROOF_SOAK_MINUTES") or 60)
SPEED = float(os.environ.get("TALLYPROOF_SOAK_SPEED") or 3)
EVERY = 10.0  # seconds between samples
# The night has three phases, found from the log's size: the set-up (the structure, 91,200
# key registrations, the postponements) goes at once and is over when the log stops growing;
# then a quiet spell (the first forms are signed 45 simulated minutes after polls close: 15
# minutes at 3x) with only the readers and the feed clients on; then the rush of forms.
STILL = 2  # samples in a row without a new document: the set-up is in
QUIET_WARM_UP = MINUTES / 20  # 3 of 60 minutes into the quiet: the caches fill
RUSH_WARM_UP = MINUTES / 6  # 10 of 60 minutes into the rush: the read model's tallies built
READERS, READ_PAUSE = 20, 0.5  # keep-alive readers, each a GET every half second
SSE_CLIENTS = 50
# In the quiet, nothing new is logged, so whatever a process keeps is kept per read, per
# feed client or per minute: it must not grow. 40 reads a second keeping 100 bytes each would
# grow a worker 2.3 MiB in ten minutes, 1 KB each 23 MiB; the allocator's arenas come and go
# by a few MiB. The bound sits between.
SLOPE_MIB_PER_10MIN = 5.0
# In the rush memory follows the log, by design: the committer holds the ledger's state (every
# rule is checked against everything committed) and each worker's read model its running
# tallies and 2,048 rendered answers, which grow with the contests they show. That is bounded
# by the election, not by the hours. What a process adds per document logged is held to a
# budget: twice the most seen in short runs (committer and workers 2-5 KiB); a national
# night's 295,000 documents at the budget would be 2.3 GiB a process.
KIB_PER_DOCUMENT = 8.0
MAX_READ_ERRORS = 0.01  # share of reads answered with an error or not at all
OUT = REPO / "var" / "soak"
E = f"/v1/elections/{ELECTION_ID}"


def read_paths(rng: random.Random) -> list[str]:
    """What a newsroom's page asks: the contests, a contest, a station, the findings and
    the standings, over many contests so the caches hold only part of it."""
    seats = rng.sample(range(1, 267), 40)
    return [
        f"{E}/contests",
        f"{E}/standings",
        f"{E}/findings?state=open&limit=50",
        *(f"{E}/contests/NA-{n}" for n in seats[:20]),
        *(f"{E}/stations/NA-{n}-001" for n in seats[20:]),
    ]


# --- the load: readers and feed clients, on an asyncio loop in a thread ----------------------


@dataclass
class Read:
    at: float  # monotonic, when it was answered
    seconds: float
    ok: bool


class FeedClient(asyncio.Protocol):
    """One SSE client following /v1/events from the first entry: counts the events (a
    line `id: n` each), and whether it was ever cut off."""

    def __init__(self) -> None:
        self.events = 0
        self.connected = False
        self.lost = False
        self.status = b""
        self.transport: Any = None
        self._tail = b""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(get_request("/v1/events?after=-1"))

    def data_received(self, data: bytes) -> None:
        if not self.connected:
            self.connected = True
            self.status = data[9:12]
        window = self._tail + data
        self.events += window.count(b"\nid: ")
        self._tail = window[-4:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


@dataclass
class Load:
    """The readers and the feed clients, run by an asyncio loop in a thread of this process
    (they mostly wait on the network; the server's processes are what is measured)."""

    port: int
    paths: list[str]
    reads: list[Read] = field(default_factory=list)
    feeds: list[FeedClient] = field(default_factory=list)
    stopping: bool = False

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._tasks: list[asyncio.Future[Any]] = []

    def follow_feed(self, clients: int) -> None:
        future = asyncio.run_coroutine_threadsafe(self._connect_feeds(clients), self._loop)
        future.result(60)

    def start_readers(self, readers: int, seed: int) -> None:
        for i in range(readers):
            coroutine = self._reader(random.Random(seed + i))
            self._tasks.append(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    def take_reads(self) -> list[Read]:
        """The reads answered since the last call (list swaps are atomic under the GIL)."""
        taken, self.reads = self.reads, []
        return taken

    def stop(self) -> None:
        """End the readers, close the feed clients (the test has read their state by
        then), stop the loop."""
        self.stopping = True
        for task in self._tasks:
            with contextlib.suppress(Exception):
                task.result(60)
        for feed in self.feeds:
            if feed.transport is not None:
                self._loop.call_soon_threadsafe(feed.transport.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _connect_feeds(self, clients: int) -> None:
        for _ in range(clients):
            feed = FeedClient()
            await self._loop.create_connection(lambda f=feed: f, "127.0.0.1", self.port)
            self.feeds.append(feed)

    async def _reader(self, rng: random.Random) -> None:
        """GET a path at random, every READ_PAUSE, on one kept-alive connection; a failed
        read is counted and the connection opened again."""
        reader = writer = None
        while not self.stopping:
            path = rng.choice(self.paths)
            began = time.monotonic()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                assert reader is not None
                status, _ = await asyncio.wait_for(_exchange(reader, writer, get_request(path)), 30)
                ok = status in (200, 304)
            except (
                OSError,
                TimeoutError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ValueError,
            ):
                ok, writer = False, None
            self.reads.append(Read(time.monotonic(), time.monotonic() - began, ok))
            await asyncio.sleep(READ_PAUSE)
        if writer is not None:
            writer.close()


# --- the run -------------------------------------------------------------------------------


@dataclass
class Sample:
    minute: float
    rss: dict[str, float]  # MiB by role
    documents: int
    reads: int
    read_errors: int
    read_p50_ms: float
    read_p99_ms: float
    sse_events: int  # the fewest any feed client has received
    sse_connected: int


@dataclass
class Soak:
    server: Server
    simulator: subprocess.Popen[bytes]
    load: Load
    began: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    all_reads: list[Read] = field(default_factory=list)

    def sample(self) -> Sample:
        assert self.server.process is not None
        rss = {p.role: p.rss / MIB for p in server_processes(self.server.process.pid)}
        reads = self.load.take_reads()
        self.all_reads.extend(reads)
        latencies = [r.seconds * 1000 for r in reads if r.ok]
        feeds = self.load.feeds
        sample = Sample(
            minute=(time.monotonic() - self.began) / 60,
            rss=rss,
            documents=tree_size(self.server.url),
            reads=len(reads),
            read_errors=sum(not r.ok for r in reads),
            read_p50_ms=percentile(latencies, 0.5),
            read_p99_ms=percentile(latencies, 0.99),
            sse_events=min((f.events for f in feeds), default=0),
            sse_connected=sum(f.connected and not f.lost for f in feeds),
        )
        self.samples.append(sample)
        return sample

    def run(self, minutes: float) -> None:
        """Sample every EVERY seconds for `minutes`; stop early if the server or the
        simulator dies (the simulator may end on its own only with exit 0)."""
        deadline = self.began + minutes * 60
        while time.monotonic() + 1.0 < deadline:
            time.sleep(max(0.0, min(EVERY, deadline - time.monotonic())))
            assert self.server.process is not None
            assert self.server.process.poll() is None, f"the server died: {self.server.printed()}"
            code = self.simulator.poll()
            assert code in (None, 0), f"the simulator exited {code}"
            show(self.sample())


def tree_size(url: str) -> int:
    try:
        answer = httpx.get(f"{url}/v1/checkpoints/latest", timeout=30)
        return int(answer.json()["tree_size"]) if answer.status_code == 200 else 0
    except (httpx.HTTPError, ValueError, KeyError):
        return -1


def show(s: Sample) -> None:
    rss = " ".join(f"{role} {mib:.0f}" for role, mib in sorted(s.rss.items()))
    print(
        f"  {s.minute:5.1f} min  docs {s.documents:>7,}  RSS MiB: {rss}  reads {s.reads} "
        f"(errors {s.read_errors}) p50 {s.read_p50_ms:.0f} p99 {s.read_p99_ms:.0f} ms  "
        f"feed {s.sse_events:,} events, {s.sse_connected} connected",
        flush=True,
    )


@pytest.fixture
def soak(tmp_path: Path) -> Iterator[Soak]:
    home = tmp_path / "home"
    cli(home, "init")
    server = Server(
        home, args=("--workers", "2", "--per-key-per-minute", "0"), log=tmp_path / "serve.log"
    ).start()
    load = Load(server.port, read_paths(random.Random(2024)))
    load.follow_feed(SSE_CLIENTS)
    simulator = start_simulator(server.url, tmp_path / "simulate.log")
    try:
        yield Soak(server, simulator, load)
    finally:
        stop_group(simulator)
        load.stop()
        server.stop()


def start_simulator(url: str, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "tallyproof", "simulate", "--server", url]
    with log.open("wb") as out:
        return subprocess.Popen(
            [*command, "--speed", str(SPEED)], stdout=out, stderr=out, start_new_session=True
        )


def test_a_night_at_three_times_real_speed_keeps_memory_flat(soak: Soak) -> None:
    print(f"\nsoak: {MINUTES:g} min at speed {SPEED:g}")
    structure_in = wait_for(lambda: httpx.get(soak.server.url + E).status_code == 200, 600, 1.0)
    assert structure_in, "the simulator never sent the election's structure"
    soak.load.start_readers(READERS, seed=7)
    soak.run(MINUTES)
    stop_group(soak.simulator)  # the night goes on for days at this speed: it ends here
    final = tree_size(soak.server.url)
    caught_up = wait_for(lambda: min(f.events for f in soak.load.feeds) >= final, 120, 0.5)
    feeds = [(f.events, f.connected, f.lost, f.status) for f in soak.load.feeds]
    figures = summarise(soak, final)
    write_curve(soak.samples)
    plot_curve(soak.samples, figures)
    write_results("soak", figures)
    print_figures(figures)
    check_memory_flat(figures)
    assert figures["documents"] > 0
    assert figures["read_error_rate"] <= MAX_READ_ERRORS, figures["read_error_rate"]
    assert all(ok and not lost and status == b"200" for _, ok, lost, status in feeds), feeds
    assert caught_up and {n for n, *_ in feeds} == {final}, (final, sorted({n for n, *_ in feeds}))


# --- figures ---------------------------------------------------------------------------------


def roles(samples: list[Sample]) -> list[str]:
    return sorted({role for s in samples for role in s.rss})


@dataclass(frozen=True)
class Phases:
    """Where the set-up ended, the rush began, and the samples each check reads."""

    set_up_end: float  # minutes
    rush_start: float | None  # minutes; None if no form came
    quiet: list[Sample]  # after the quiet's warm-up, before the rush
    rush: list[Sample]  # after the rush's warm-up


def phases(samples: list[Sample]) -> Phases:
    set_up_end, still = samples[-1].minute, samples[-1].documents
    for i in range(STILL, len(samples)):
        window = {s.documents for s in samples[i - STILL : i + 1]}
        if len(window) == 1 and samples[i].documents > 0:
            set_up_end, still = samples[i - STILL].minute, samples[i].documents
            break
    later = [s for s in samples if s.minute > set_up_end]
    rush_start = next((s.minute for s in later if s.documents > still), None)
    quiet = [
        s for s in later
        if s.minute >= set_up_end + QUIET_WARM_UP and (rush_start is None or s.minute < rush_start)
    ]  # fmt: skip
    rush = [] if rush_start is None else [s for s in later if s.minute >= rush_start + RUSH_WARM_UP]
    return Phases(set_up_end, rush_start, quiet, rush)


def process_figures(role: str, samples: list[Sample], p: Phases) -> dict[str, float | None]:
    """One process's memory: where it started and ended, its slope in the quiet (MiB per 10
    minutes), and in the rush what it added per document logged (KiB) and per 10 minutes."""
    mine = [s for s in samples if role in s.rss]
    quiet = [(s.minute, s.rss[role]) for s in p.quiet if role in s.rss]
    rush = [s for s in p.rush if role in s.rss]

    def fit(points: list[tuple[float, float]], per: float) -> float | None:
        if len(points) < 3:
            return None
        return round(slope_per([x for x, _ in points], [y for _, y in points], per), 2)

    return {
        "rss_first_mib": round(mine[0].rss[role], 1),
        "rss_end_mib": round(mine[-1].rss[role], 1),
        "rss_max_mib": round(max(s.rss[role] for s in mine), 1),
        "quiet_slope_mib_per_10min": fit(quiet, 10.0),
        "rush_kib_per_document": fit([(s.documents, s.rss[role] * 1024) for s in rush], 1.0),
        "rush_slope_mib_per_10min": fit([(s.minute, s.rss[role]) for s in rush], 10.0),
    }


def summarise(soak: Soak, final: int) -> dict[str, Any]:
    samples = soak.samples
    p = phases(samples)
    latencies = [r.seconds * 1000 for r in soak.all_reads if r.ok]
    return {
        "duration_min": round(samples[-1].minute, 2),
        "speed": SPEED,
        "set_up_min": round(p.set_up_end, 2),
        "rush_start_min": None if p.rush_start is None else round(p.rush_start, 2),
        "quiet_samples": len(p.quiet),
        "rush_samples": len(p.rush),
        "samples": len(samples),
        "documents": final,
        "rush_documents_per_min": round(
            (p.rush[-1].documents - p.rush[0].documents)
            / ((p.rush[-1].minute - p.rush[0].minute) or 1.0)
        )
        if p.rush
        else None,
        "processes": {role: process_figures(role, samples, p) for role in roles(samples)},
        "slope_bound_mib_per_10min": SLOPE_MIB_PER_10MIN,
        "kib_per_document_bound": KIB_PER_DOCUMENT,
        "reads": len(soak.all_reads),
        "read_p50_ms": round(percentile(latencies, 0.5), 1),
        "read_p99_ms": round(percentile(latencies, 0.99), 1),
        "read_error_rate": round(
            sum(not r.ok for r in soak.all_reads) / max(1, len(soak.all_reads)), 4
        ),
        "readers": READERS,
        "sse_clients": SSE_CLIENTS,
        "sse_events_per_client": min((f.events for f in soak.load.feeds), default=0),
        "sse_disconnects": sum(f.lost for f in soak.load.feeds),
    }


def check_memory_flat(figures: dict[str, Any]) -> None:
    """In the quiet no process grows faster than the bound; in the rush none keeps more per
    document than the budget. A run of half an hour or more at 3x must reach the rush."""
    assert figures["quiet_samples"] >= 3, "no quiet spell after the set-up to measure"
    if MINUTES >= 30 and SPEED >= 3:
        assert figures["rush_samples"] >= 3, "the rush of forms never came"
    for role, f in figures["processes"].items():
        assert f["quiet_slope_mib_per_10min"] < SLOPE_MIB_PER_10MIN, (role, f)
        if figures["rush_samples"] >= 3:
            assert f["rush_kib_per_document"] <= KIB_PER_DOCUMENT, (role, f)


def print_figures(figures: dict[str, Any]) -> None:
    print("\nsoak figures:")
    for key, value in figures.items():
        if key != "processes":
            print(f"  {key:<34} {value}")
    for role, f in figures["processes"].items():
        print(f"  {role:<12} " + "  ".join(f"{k} {v}" for k, v in f.items()))


def write_curve(samples: list[Sample]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "rss.csv"
    names = roles(samples)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["minute", *(f"{r}_mib" for r in names), "documents", "reads",
                      "read_errors", "read_p50_ms", "read_p99_ms", "sse_events",
                      "sse_connected"])  # fmt: skip
        for s in samples:
            rss = [f"{s.rss[r]:.1f}" if r in s.rss else "" for r in names]
            out.writerow([f"{s.minute:.2f}", *rss, s.documents, s.reads, s.read_errors,
                          _ms(s.read_p50_ms), _ms(s.read_p99_ms), s.sse_events,
                          s.sse_connected])  # fmt: skip
    return path


def _ms(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.1f}"


def fit_line(points: list[tuple[float, float]], slope: float) -> tuple[list, list] | None:
    """The least-squares line through `points` (it passes through their mean), drawn over
    their span."""
    if len(points) < 2:
        return None
    xs, ys = zip(*points, strict=True)
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    ends = [xs[0], xs[-1]]
    return ends, [my + slope * (x - mx) for x in ends]


def plot_curve(samples: list[Sample], figures: dict[str, Any]) -> Path:
    """RSS per process over the run, the phases shaded, the quiet's fitted slope dashed; and
    beneath it the documents logged and the reads' p99."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(11, 8), sharex=True, height_ratios=(3, 2), layout="constrained"
    )
    minutes = [s.minute for s in samples]
    p = phases(samples)
    for role in roles(samples):
        if role == "tracker":
            continue  # multiprocessing's resource tracker: 12 MiB, flat, and no part of serve
        xs = [s.minute for s in samples if role in s.rss]
        (line,) = top.plot(xs, [s.rss[role] for s in samples if role in s.rss], label=role)
        slope = figures["processes"][role]["quiet_slope_mib_per_10min"]
        quiet = [(s.minute, s.rss[role]) for s in p.quiet if role in s.rss]
        fitted = fit_line(quiet, (slope or 0.0) / 10)
        if fitted and slope is not None:
            top.plot(*fitted, linestyle="--", color=line.get_color(), linewidth=1.5)
    shade_phases([top, bottom], p, minutes[-1])
    top.set_ylabel("resident memory (MiB)")
    top.set_ylim(bottom=0)
    top.legend(loc="lower right", ncols=4, fontsize="small")
    top.set_title(
        "RSS of each server process, every 10 s. Grey: the set-up (structure, 91,200 keys) and "
        "the warm-ups;\ndashed: the least-squares slope in the quiet (readers and feed only, "
        f"bound {SLOPE_MIB_PER_10MIN:g} MiB / 10 min); after the rush starts memory follows "
        "the log",
        fontsize="small",
    )
    bottom.plot(minutes, [s.documents for s in samples], color="black", label="documents logged")
    bottom.set_ylabel("documents logged (tree size)")
    bottom.set_xlabel("minutes since the simulator started")
    bottom.set_ylim(bottom=0)
    p99 = bottom.twinx()
    p99.plot(minutes, [s.read_p99_ms for s in samples], color="tab:red", linewidth=0.8)
    p99.set_ylabel("read p99 (ms), each 10 s", color="tab:red")
    p99.set_ylim(bottom=0)
    fig.suptitle(
        f"Soak: a national night at {SPEED:g}x real speed into serve --workers 2 (SQLite),\n"
        f"{READERS} readers and {SSE_CLIENTS} feed clients attached; "
        f"{figures['documents']:,} documents in {figures['duration_min']:.0f} min"
    )
    path = OUT / "rss.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def shade_phases(axes: list[Any], p: Phases, end: float) -> None:
    """Grey where nothing is measured: the set-up and each phase's warm-up."""
    for ax in axes:
        ax.axvspan(0, p.set_up_end, color="0.75", zorder=0)
        ax.axvspan(p.set_up_end, min(end, p.set_up_end + QUIET_WARM_UP), color="0.9", zorder=0)
        if p.rush_start is not None:
            ax.axvline(p.rush_start, color="0.4", linewidth=0.8)
            warm_end = min(end, p.rush_start + RUSH_WARM_UP)
            ax.axvspan(p.rush_start, warm_end, color="0.9", zorder=0)
    where = ("data", "axes fraction")
    axes[0].annotate("set-up", (p.set_up_end / 2, 0.95), xycoords=where, ha="center")
    if p.rush_start is not None:
        axes[0].annotate(" forms begin", (p.rush_start, 0.95), xycoords=where)
