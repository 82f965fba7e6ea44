"""`tallyproof demo` as an election night: the service on the home's store with the sample
elections loaded, the dashboard's address printed as soon as it answers, then a simulated
national night streamed into it at a compressed pace. Ctrl-C stops both cleanly: the
server's committer commits what it has queued before it ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.panel import Panel

from tallyproof.cli.common import ExitCode, err, fail, out
from tallyproof.cli.simulating import ServerSink, Stopped, send_night, summary_table
from tallyproof.ledger.cosignature import Witness, WitnessPolicy
from tallyproof.sample.national import build_national
from tallyproof.sample.night import Faults, Night
from tallyproof.service.settings import Settings
from tallyproof.service.witness import WitnessService
from tallyproof.service.witnessing import write_policy
from tallyproof.service.writer import LedgerWriter

READY_SECONDS = 120.0
# the demo's witnesses: an observer group's and a party's, each a `tallyproof witness serve`
DEMO_WITNESSES = ("observers.example/witness", "party-agents.example/witness")


@contextmanager
def witnessed(settings: Settings, names: Sequence[str]) -> Iterator[list[str]]:
    """Witness processes for the demo's log, each in a home under the log's and following
    it, and the log's witnesses.json naming them (a majority quorum); their URLs."""
    if not names:
        yield []
        return
    writer = LedgerWriter.open(settings)
    vkey = writer.log_key.vkey
    writer.close()
    processes: list[subprocess.Popen[bytes]] = []
    found = []
    try:
        for number, name in enumerate(names, 1):
            home = settings.home / "witnesses" / f"w{number}"
            service = WitnessService.initialise(Settings.at(home), name)
            service.follow(vkey)
            key = service.key
            service.close()
            port = _free_port()
            command = [
                sys.executable, "-m", "tallyproof", "--home", str(home), "witness", "serve",
                "--port", str(port),
            ]  # fmt: skip
            with (home / "witness.log").open("ab") as sink:
                processes.append(
                    subprocess.Popen(command, stdout=sink, stderr=sink, start_new_session=True)
                )
            found.append(Witness(key, f"http://127.0.0.1:{port}"))
        write_policy(settings, WitnessPolicy(tuple(found), len(found) // 2 + 1))
        yield [w.url for w in found]
    finally:
        for process in processes:
            _stop(process)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(settings: Settings, host: str, port: int, workers: int) -> Iterator[str]:
    """`tallyproof serve` on the home, in its own process; its base URL once it answers.
    Its output goes to serve.log in the home: the terminal is the demo's."""
    log = settings.home / "serve.log"
    command = [
        sys.executable, "-m", "tallyproof", "--home", str(settings.home), "serve",
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--per-key-per-minute", "0",
    ]  # fmt: skip
    with log.open("ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=sink, start_new_session=True)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    try:
        _wait(process, url, log)
        yield url
    finally:
        _stop(process)


def _wait(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    with err.status(f"starting the server at {url}"):
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log.read_text("utf-8", "replace")[-2000:]
                raise fail(f"the server exited ({process.returncode}):\n{tail}", ExitCode.NOT_READY)
            try:
                if httpx.get(f"{url}/v1/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise fail(f"no answer from {url} after {READY_SECONDS:.0f} s (see {log})", ExitCode.NOT_READY)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (workers, committer); SIGKILL if it hangs."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def election_night(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    stations: int,
    speed: float,
    seed: int,
    witnesses: Sequence[str] = DEMO_WITNESSES,
) -> None:
    """Serve the home, with witnesses cosigning its checkpoints, and stream the simulated
    night into it; serve on until Ctrl-C (or SIGTERM, or the terminal closing: the server
    is in a session of its own, and would otherwise outlive the demo)."""
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _interrupt)
    try:
        with witnessed(settings, witnesses) as urls, served(settings, host, port, workers) as url:
            asked = f"\nWitnesses cosigning the log: {', '.join(urls)}" if urls else ""
            out.print(
                Panel.fit(
                    f"[bold]Dashboard:[/bold] {url}/\n"
                    f"API: {url}/docs · feed: {url}/v1/events{asked}\n"
                    "The sample elections are loaded; a national night of "
                    f"{stations:,} stations now streams in. Ctrl-C stops.",
                    title="tallyproof election night",
                )
            )
            _stream(url, stations, speed, seed)
            out.print(f"The night is in. Still serving {url}/ — Ctrl-C stops.")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        err.print("stopping: the server commits what it has queued, then ends")


def _interrupt(number: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(number).name)


def _stream(url: str, stations: int, speed: float, seed: int) -> None:
    with err.status("building the national election"):
        night = Night(build_national(seed, stations), Faults())
    sink = ServerSink(url)
    try:
        out.print(summary_table(night, send_night(night, sink, 2000, speed)))
    except Stopped as error:
        err.print(f"the night stopped: {error}")
    finally:
        sink.close()
