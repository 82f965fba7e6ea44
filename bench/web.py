"""The dashboard on the full simulated national night, in Debian's Chromium:

- ingest: the night's forms POSTed in batches to `tallyproof serve` (forms/s), once with no
  dashboard open and once with PAGES open national pages following the feed live: both as
  real Chromium pages (which render on the same two cores as the server) and as the same
  number of page-equivalent HTTP clients (the feed, and every two seconds the reads a live
  national page makes), which is the server's own share; the ratio of each to none;
- first render: the national page and a contest page loaded LOADS times each in a fresh
  browser context (no cache), on the whole night's store: milliseconds from navigation to
  the page's first drawing (p50, p90), against the bare cost of the same work: the same API
  answers fetched by a plain HTTP client, one after another;
- bytes: what each page transferred (the document, scripts, styles and every API answer).

Targets (the issue): first render < 1 s; < 500 KB a page; 100 open pages slow ingest by
< 10 %. The night is made once by `tallyproof simulate --out` and kept in var/bench-web."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from record import write_results
from tallyproof.cli.simulating import BATCH_NAMES, ROUTES

WORK = Path("var/bench-web")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
]
TARGETS = {"first_render_ms": 1000.0, "page_kb": 500.0, "ingest_slowdown": 0.10}
console = Console()


# --- the night and the servers -------------------------------------------------------------


def night_file(stations: int, seed: int) -> Path:
    path = WORK / f"night-{stations}-{seed}.jsonl"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        console.print(f"simulating the night into {path}")
        part = path.with_suffix(".part")
        command = [
            sys.executable,
            "-m",
            "tallyproof",
            "--home",
            str(WORK / "sim-home"),
            "simulate",
            "--out",
            str(part),
            "--seed",
            str(seed),
            "--stations",
            str(stations),
        ]
        subprocess.run(command, check=True)
        part.rename(path)
    return path


def batches(path: Path, size: int) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """(route, kind, envelopes): consecutive events of one kind, at most `size`."""
    kind, batch = None, []
    with path.open("rb") as lines:
        for line in lines:
            event = json.loads(line)
            if batch and (event["kind"] != kind or len(batch) >= size):
                yield ROUTES[kind], kind, batch
                batch = []
            kind = event["kind"]
            batch.append(event["envelope"])
    if batch:
        yield ROUTES[kind], kind, batch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`tallyproof serve` on a fresh home (or a kept one), in its own process group."""

    def __init__(self, home: Path, workers: int, fresh: bool) -> None:
        if fresh:
            shutil.rmtree(home, ignore_errors=True)
            subprocess.run(
                [sys.executable, "-m", "tallyproof", "--home", str(home), "init"],
                check=True,
                capture_output=True,
            )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = (home / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tallyproof",
                "--home",
                str(home),
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--per-key-per-minute",
                "0",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError(f"no server at {self.url}")

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server's processes (workers, committer): its process
        group, as /proc counts it (user and system ticks)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.process.pid:  # the process group: serve's session
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(60)


def post(http: httpx.Client, route: str, kind: str, envelopes: list[dict[str, Any]]) -> int:
    """Send one batch; the number of forms the log took (accepted or duplicates)."""
    body = {BATCH_NAMES.get(kind, "structures"): envelopes} if kind != "structure" else envelopes[0]
    for _ in range(20):
        answer = http.post(route, json=body)
        if answer.status_code in (200, 201):
            doc = answer.json()
            return doc.get("accepted", 1) + doc.get("duplicates", 0)
        if answer.status_code not in (429, 503):
            raise RuntimeError(f"{route}: {answer.status_code} {answer.text[:300]}")
        time.sleep(0.5)
    raise RuntimeError(f"{route}: the server would not take the batch")


def send(url: str, items: list[tuple[str, str, list[dict[str, Any]]]], senders: int) -> float:
    """Send the batches from `senders` connections taking them in order; forms a second."""
    queue = list(reversed(items))
    lock = threading.Lock()
    taken = [0]

    def work() -> None:
        with httpx.Client(base_url=url, timeout=300) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    route, kind, batch = queue.pop()
                n = post(http, route, kind, batch)
                with lock:
                    taken[0] += n if kind == "form" else 0

    began = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return taken[0] / (time.perf_counter() - began)


def split_night(path: Path, forms: int, size: int) -> tuple[list[Any], list[Any], list[Any]]:
    """The set-up (all before the first form), the next `forms` forms' batches (with what
    is interleaved), and the rest."""
    setup, measured, rest = [], [], []
    counted = 0
    for item in batches(path, size):
        if not measured and item[1] != "form" and counted == 0:
            setup.append(item)
        elif counted < forms:
            measured.append(item)
            counted += len(item[2]) if item[1] == "form" else 0
        else:
            rest.append(item)
    return setup, measured, rest


# --- what is open while the night comes in -------------------------------------------------


def page_equivalents(
    url: str, election: str, count: int, stop: threading.Event, parts: str = "clients"
) -> dict[str, Any]:
    """`count` clients doing what a live national page does to the server: follow the feed's
    digests (their bytes drained, as a browser's network stack does; a reader dropped for falling
    behind comes back, as EventSource does), and on the clock's even seconds read the
    page's three answers (the newest size: every client asks at the same moment). `parts`
    "feed" or "reads" keeps only that half, to say which costs what."""
    stats = {"feed_bytes": 0, "reads": 0, "reconnects": 0}

    feed_params = {"election": election, "digest": "true"}  # as the page asks

    async def follow(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                async with http.stream("GET", "/v1/events", params=feed_params) as feed:
                    async for chunk in feed.aiter_raw():
                        stats["feed_bytes"] += len(chunk)
                        if stop.is_set():
                            return
            except httpx.HTTPError:
                stats["reconnects"] += 1
                await asyncio.sleep(1.0)

    async def refresh(http: httpx.AsyncClient) -> None:
        e = f"/v1/elections/{election}"
        paths = [(e, {}), (f"{e}/standings", {}), (f"{e}/reporting", {})]
        while not stop.is_set():
            await asyncio.sleep(2.0 - (time.time() % 2.0))
            try:
                await asyncio.gather(*(http.get(p, params=q) for p, q in paths))
                stats["reads"] += len(paths)
            except httpx.HTTPError:
                pass

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=None) as http:
            if parts == "feed":
                await follow(http)
                return
            follower = asyncio.create_task(follow(http)) if parts == "clients" else None
            await refresh(http)
            if follower:
                follower.cancel()

    async def crowd() -> None:
        await asyncio.gather(*(client() for _ in range(count)), return_exceptions=True)

    asyncio.run(crowd())
    return stats


CROWDS = ("clients", "feed", "reads")  # page-equivalent clients, whole or in halves


def ingest(path: Path, args: argparse.Namespace, crowd: str) -> dict[str, Any]:
    """Forms a second into a fresh server while `crowd` ("none", "chromium" or one of CROWDS)
    watches; the server is left running for the caller when asked."""
    setup, measured, _ = split_night(path, args.forms, args.batch)
    served = Served(WORK / f"ingest-{crowd}", args.workers, fresh=True)
    stop = threading.Event()
    watcher, browser, stats = None, None, {}
    try:
        send(served.url, setup, 1)
        election = setup[0][2][0]["structure"]["election"]["id"]
        if crowd in CROWDS:
            watcher = threading.Thread(
                target=lambda: stats.update(
                    page_equivalents(served.url, election, args.pages, stop, crowd)
                )
            )
            watcher.start()
            time.sleep(3)
        elif crowd == "chromium":
            browser = open_pages(served.url, election, args.pages)
        cpu = served.cpu_seconds()
        rate = send(served.url, measured, args.senders)
        cpu = served.cpu_seconds() - cpu
    finally:
        stop.set()
        if watcher:
            watcher.join(30)
        if browser:
            browser()
        served.stop()
    forms = sum(len(b[2]) for b in measured if b[1] == "form")
    per_form = round(1000 * cpu / forms, 3)
    return {"forms_per_second": round(rate, 1), "server_cpu_ms_per_form": per_form, **stats}


def open_pages(url: str, election: str, count: int) -> Any:
    """`count` live national pages in one Chromium; a function that closes them."""
    from playwright.sync_api import sync_playwright

    started = threading.Event()
    done = threading.Event()

    def run() -> None:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            pages = []
            for _ in range(count):
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(f"{url}/#/{election}")
                pages.append(page)
            for page in pages:
                page.wait_for_selector("body[data-rendered]", timeout=120_000)
            started.set()
            while not done.is_set():
                pages[0].wait_for_timeout(200)  # let the browser's loop run
            browser.close()

    thread = threading.Thread(target=run)
    thread.start()
    started.wait(600)

    def close() -> None:
        done.set()
        thread.join(60)

    return close


# --- first render and bytes ---------------------------------------------------------------

MEASURE = """() => {
  const entries = [...performance.getEntriesByType('navigation'),
                   ...performance.getEntriesByType('resource')];
  const bytes = entries.filter((e) => !e.name.includes('/v1/events'))
    .reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0);
  return { first: Number(document.body.dataset.firstRenderMs), bytes, requests: entries.length };
}"""


def render_times(url: str, route: str, loads: int, wait_for: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    firsts, sizes = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(loads):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(f"{url}/{route}")
            page.wait_for_selector("body[data-first-render-ms]", timeout=120_000)
            page.wait_for_selector(wait_for, timeout=120_000)
            page.wait_for_timeout(300)  # the answers that fill in after the first drawing
            got = page.evaluate(MEASURE)
            firsts.append(got["first"])
            sizes.append(got["bytes"])
            context.close()
        browser.close()
    return {
        "first_render_ms_p50": round(statistics.median(firsts), 1),
        "first_render_ms_p90": round(sorted(firsts)[int(0.9 * (len(firsts) - 1))], 1),
        "kb_p50": round(statistics.median(sizes) / 1000, 1),
        "loads": loads,
    }


def bare_fetch(url: str, paths: list[tuple[str, dict[str, Any]]], loads: int) -> float:
    """The same answers with a plain client, one after another: p50 ms."""
    times = []
    with httpx.Client(base_url=url, timeout=120) as http:
        for _ in range(loads):
            began = time.perf_counter()
            for path, params in paths:
                http.get(path, params=params).raise_for_status()
            times.append((time.perf_counter() - began) * 1000)
    return round(statistics.median(times), 1)


# --- the run ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=90_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--forms", type=int, default=30_000, help="forms timed in each ingest")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--contest", default="NA-122")
    args = parser.parse_args()
    path = night_file(args.stations, args.seed)
    figures: dict[str, Any] = {"stations": args.stations, "pages": args.pages}

    with console.status("ingest with nothing open"):
        none = ingest(path, args, "none")
    with console.status(f"ingest with {args.pages} page-equivalent clients"):
        clients = ingest(path, args, "clients")
    with console.status(f"ingest with {args.pages} Chromium pages"):
        chromium = ingest(path, args, "chromium")
    with console.status(f"ingest with {args.pages} clients following the feed, no reads"):
        feed = ingest(path, args, "feed")
    with console.status(f"ingest with {args.pages} clients reading, no feed"):
        reads = ingest(path, args, "reads")
    runs = {"clients": clients, "chromium": chromium, "feed": feed, "reads": reads}
    figures["ingest"] = {"none": none, **runs}
    for name, run in runs.items():
        ratio = run["forms_per_second"] / none["forms_per_second"]
        figures[f"ingest_ratio_{name}"] = round(ratio, 3)
        # the server's own share: with the readers' machines elsewhere, ingest slows by the
        # CPU the server spends on the pages, per form, over what a form costs it alone
        per_form = run["server_cpu_ms_per_form"] / none["server_cpu_ms_per_form"]
        figures[f"server_slowdown_{name}"] = round(1 - 1 / per_form, 3)

    served = full_night(path, args)
    try:
        election = next(batches(path, 1))[2][0]["structure"]["election"]["id"]
        e = f"/v1/elections/{election}"
        national = render_times(
            served.url, f"#/{election}", args.loads, "[data-testid=stations-reported] button"
        )
        contest = render_times(
            served.url, f"#/{election}/contest/{args.contest}", args.loads, "[data-testid=margin]"
        )
        national["bare_fetch_ms_p50"] = bare_fetch(
            served.url,
            [
                ("/v1/elections", {}),
                (e, {}),
                (f"{e}/standings", {}),
                (f"{e}/reporting", {}),
                (f"{e}/contests", {"assembly": "NA"}),
            ],
            args.loads,
        )
        contest["bare_fetch_ms_p50"] = bare_fetch(
            served.url,
            [
                ("/v1/elections", {}),
                (f"{e}/contests/{args.contest}", {}),
                (f"{e}/contests/{args.contest}/history", {}),
                (f"{e}/findings", {"contest": args.contest, "state": "all"}),
                (f"{e}/claims", {"contest": args.contest}),
            ],
            args.loads,
        )
        for page in (national, contest):
            page["ratio_to_bare"] = round(
                page["first_render_ms_p50"] / page["bare_fetch_ms_p50"], 2
            )
        figures["national_page"], figures["contest_page"] = national, contest
    finally:
        served.stop()
    figures["targets"] = TARGETS
    report(figures)
    console.print(f"written {write_results('web', figures)}")


def full_night(path: Path, args: argparse.Namespace) -> Served:
    """The whole night in a kept home (made once): a server on it."""
    home = WORK / f"full-{args.stations}-{args.seed}"
    done = home / "loaded"
    if not done.exists():
        served = Served(home, args.workers, fresh=True)
        items = list(batches(path, args.batch))
        with Progress(
            TextColumn("loading the whole night"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("", total=len(items))
            with httpx.Client(base_url=served.url, timeout=300) as http:
                for route, kind, batch in items:
                    post(http, route, kind, batch)
                    bar.advance(task)
        served.stop()
        done.write_text("yes\n")
    return Served(home, args.workers, fresh=False)


def report(f: dict[str, Any]) -> None:
    table = Table(title=f"dashboard on a national night ({f['stations']:,} stations)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    ing = f["ingest"]
    table.add_row("ingest, nothing open (forms/s)", f"{ing['none']['forms_per_second']:,.0f}", "")
    labels = {
        "clients": "page-equivalent clients",
        "chromium": "Chromium pages",
        "feed": "clients, feed only",
        "reads": "clients, reads only",
    }
    for name, label in labels.items():
        table.add_row(
            f"ingest, {f['pages']} {label} (forms/s)", f"{ing[name]['forms_per_second']:,.0f}", ""
        )
        ratio = f"{f[f'ingest_ratio_{name}']:.2f}"
        table.add_row("  ratio to nothing open (the whole machine)", ratio, "≥ 0.90")
        cpu = [ing[k]["server_cpu_ms_per_form"] for k in ("none", name)]
        table.add_row(
            "  server CPU a form, ms: nothing open → open", f"{cpu[0]:.2f} → {cpu[1]:.2f}", ""
        )
        slowed = f"{100 * f[f'server_slowdown_{name}']:.0f} %"
        table.add_row("  ingest slowed by the server's own work for them", slowed, "< 10 %")
    for name in ("national_page", "contest_page"):
        page = f[name]
        table.add_row(
            f"{name.replace('_', ' ')}: first render p50 / p90 (ms)",
            f"{page['first_render_ms_p50']:,.0f} / {page['first_render_ms_p90']:,.0f}",
            "< 1,000",
        )
        table.add_row(
            "  the same answers fetched bare, p50 (ms); ratio",
            f"{page['bare_fetch_ms_p50']:,.0f}; {page['ratio_to_bare']:.2f}",
            "",
        )
        table.add_row("  transferred (KB)", f"{page['kb_p50']:,.0f}", "< 500")
    console.print(table)


if __name__ == "__main__":
    main()
