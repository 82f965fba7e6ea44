"""`tallyproof simulate`: a national election night (sample/night.py), seeded and
deterministic, written as JSON Lines, loaded into the home's store, or sent to a running
server at a chosen speed; then what the log did beside what each fault was meant to cause."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import IO, Annotated, Any, Protocol

import httpx
import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tallyproof import __version__
from tallyproof.cli.common import JsonOpt, app, err, fail, known_errors, open_writer, out
from tallyproof.client.sync import Missed, RetryPolicy, outcomes_of, retry_after
from tallyproof.domain.checks import NA_PA_POLLED_DIFFER, REJECTED_EXCEED_MARGIN
from tallyproof.errors import ExitCode
from tallyproof.ledger.entries import EntryKind
from tallyproof.sample.national import ELECTION_ID, NATIONAL_STATIONS, build_national
from tallyproof.sample.night import BATCH_NAMES, ROUTES, Event, Faults, Night
from tallyproof.service import queries
from tallyproof.service.loading import Run, submit_runs
from tallyproof.service.outcomes import Outcome
from tallyproof.service.writer import LedgerWriter

UNJUDGED = {NA_PA_POLLED_DIFFER, REJECTED_EXCEED_MARGIN}

MAX_BATCH = 2000  # the server's default --batch-documents
TICK = 0.25  # seconds: a paced batch takes what falls due this soon after its first event
Result = tuple[str, str | None]  # accepted | duplicate | refused, and the rule's code


class Stopped(Exception):  # noqa: N818 - the night cannot go on, and why
    def __init__(self, message: str, code: ExitCode = ExitCode.REFUSED) -> None:
        super().__init__(message)
        self.code = code


class Sink(Protocol):
    """Where the night goes. `send` answers each event's outcome, or None when nobody
    judges them (a file)."""

    retried: bool  # the last batch was sent more than once (its answer was lost)
    mixed: bool  # takes a batch of several kinds (else each batch is of one kind)

    def send(self, batch: Sequence[Event]) -> list[Result] | None: ...

    def findings(self, election: str) -> Counter[str] | None: ...


class FileSink:
    """JSON Lines: one event a line, in time order."""

    retried = False
    mixed = False

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle

    def send(self, batch: Sequence[Event]) -> list[Result] | None:
        self.handle.write(b"".join(orjson.dumps(e.as_dict()) + b"\n" for e in batch))
        return None

    def findings(self, election: str) -> Counter[str] | None:
        return None


class StoreSink:
    """The home's store, through the same use cases as `import-stations` and the demo; a
    batch of several kinds is one transaction (service/loading.py)."""

    retried = False
    mixed = True

    def __init__(self, writer: LedgerWriter) -> None:
        self.writer = writer

    def send(self, batch: Sequence[Event]) -> list[Result] | None:
        runs = [
            Run(EntryKind(kind), [e.envelope for e in events])
            for kind, events in groupby(batch, key=lambda e: e.kind)
        ]
        return [_outcome(o) for outcomes in submit_runs(self.writer, runs) for o in outcomes]

    def findings(self, election: str) -> Counter[str] | None:
        return Counter(f.code for f in queries.findings(self.writer, election))


class ServerSink:
    """A running server's /v1 routes, a batch a request. 429 and 503 (and no answer) are
    waited out and sent again, never sooner than Retry-After; the same signed document
    never counts twice, so a batch sent again is safe."""

    def __init__(self, url: str, timeout: float = 120.0, attempts: int = 8) -> None:
        self.http = httpx.Client(
            base_url=url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            headers={"user-agent": f"tallyproof-simulate/{__version__}"},
            follow_redirects=False,
        )
        self.url, self.attempts = url, attempts
        self.policy = RetryPolicy(base=0.5, cap=15.0)
        self.rng = random.Random(0)
        self.retried = False
        self.mixed = False
        self.rate_limited = False
        self.warned = False

    def close(self) -> None:
        self.http.close()

    def check(self) -> None:
        """A server that does not answer its health check is not there: say so at once."""
        try:
            answered = self.http.get("/v1/health", timeout=10.0).status_code == 200
        except httpx.HTTPError as error:
            raise Stopped(f"no answer from {self.url}: {error}", ExitCode.NOT_READY) from None
        if not answered:
            raise Stopped(f"{self.url} is not a tallyproof server", ExitCode.NOT_READY)

    def send(self, batch: Sequence[Event]) -> list[Result] | None:
        kind = batch[0].kind
        body = orjson.dumps({BATCH_NAMES.get(kind, "structures"): [e.envelope for e in batch]})
        return [_result(o) for o in self._post(ROUTES[kind], body, len(batch))]

    def _post(self, route: str, body: bytes, count: int) -> list[Any]:
        self.retried, misses = False, 0
        while True:
            wait = self._attempt(route, body, count)
            if isinstance(wait, list):
                return wait
            misses += 1
            if misses > self.attempts and not self.rate_limited:
                raise Stopped(
                    f"{self.url}{route}: no answer after {misses} tries", ExitCode.NOT_READY
                )
            self.retried = True
            self._warn()
            time.sleep(max(wait, self.policy.wait(min(misses, 8), self.rng)))

    def _warn(self) -> None:
        if self.rate_limited and not self.warned:
            self.warned = True
            err.print(
                "the server limits how many documents a key may send a minute; waiting "
                "(`tallyproof serve --per-key-per-minute 0` lifts the limit)"
            )

    def _attempt(self, route: str, body: bytes, count: int) -> list[Any] | float:
        """The outcomes, or how long to wait before trying again."""
        self.rate_limited = False
        try:
            response = self.http.post(
                route, content=body, headers={"content-type": "application/json"}
            )
        except httpx.RequestError:
            return 0.0
        if response.status_code == 200:
            try:
                return list(outcomes_of(response, count))
            except Missed:
                return 0.0
        if response.status_code in (408, 429, 502, 503, 504):
            self.rate_limited = response.status_code == 429
            return retry_after(response) or 0.0
        raise Stopped(f"{self.url}{route}: {response.status_code} {_problem(response)}")

    def findings(self, election: str) -> Counter[str] | None:
        """Open findings as the server's read side has them (None if it will not say)."""
        try:
            response = self.http.get(f"/v1/elections/{election}/findings", params={"state": "open"})
            doc = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return None
        found = doc.get("findings") if isinstance(doc, dict) else None
        if not isinstance(found, list):
            return None
        return Counter(str(f.get("code")) for f in found if isinstance(f, dict))


def _problem(response: httpx.Response) -> str:
    try:
        doc = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(doc, dict) and isinstance(doc.get("detail"), str):
        return str(doc.get("detail"))
    return response.reason_phrase


def _outcome(outcome: Outcome) -> Result:
    """The service's outcome as what the simulator checks (no receipt is built)."""
    if outcome.duplicate:
        return "duplicate", None
    if outcome.accepted:
        return "accepted", None
    return "refused", outcome.problems[0].code


def _result(outcome: Any) -> Result:
    """The server's JSON of an outcome as what the simulator checks."""
    if not isinstance(outcome, dict):
        return "refused", None
    if outcome.get("duplicate") is True:
        return "duplicate", None
    if outcome.get("accepted") is True:
        return "accepted", None
    problems = outcome.get("problems") or [{}]
    code = problems[0].get("code") if isinstance(problems[0], dict) else None
    return "refused", code if isinstance(code, str) else None


# --- running the night ---------------------------------------------------------------------


@dataclass
class Tally:
    """What was sent, what came back, and what each fault was meant to cause."""

    sent: int = 0
    forms: int = 0
    outcomes: Counter[Result] = field(default_factory=Counter)
    expected: Counter[Result] = field(default_factory=Counter)
    as_meant: int = 0
    unexpected: list[dict[str, Any]] = field(default_factory=list)
    findings_expected: Counter[str] = field(default_factory=Counter)
    findings_found: Counter[str] | None = None
    seconds: float = 0.0
    clock: str = ""
    resumed: bool = False  # the log had the election already: logged documents count as sent

    def add(self, batch: Sequence[Event], results: list[Result] | None, retried: bool) -> None:
        """Count a batch. A duplicate in a batch sent again was logged by a try whose answer
        was lost, and in a night run again by the run before: it counts as accepted."""
        self.sent += len(batch)
        self.forms += sum(1 for e in batch if e.kind == "form")
        self.clock = batch[-1].time
        for event in batch:
            meant = (event.expect.outcome, event.expect.code)
            self.expected[meant] += 1
            self.findings_expected.update(f.code for f in event.expect.findings)
        if results is None:
            return
        for event, got in zip(batch, results, strict=True):
            meant = (event.expect.outcome, event.expect.code)
            if retried and got == ("duplicate", None) and meant == ("accepted", None):
                got = meant
            self.outcomes[got] += 1
            if got == meant:
                self.as_meant += 1
            elif len(self.unexpected) < 20:
                self.unexpected.append(
                    {"seq": event.seq, "story": event.story, "meant": meant, "got": got}
                )

    @property
    def judged(self) -> bool:
        return bool(self.outcomes)

    @property
    def findings_as_meant(self) -> bool:
        """The Pakistan checks (domain/checks.py) are shown but not judged: the night draws
        a station's NA and PA counts, and its margins, with no expectation of them."""
        if self.findings_found is None:
            return True
        judged = Counter({c: n for c, n in self.findings_found.items() if c not in UNJUDGED})
        return judged == self.findings_expected

    def as_dict(self) -> dict[str, Any]:
        def rows(counts: Counter[Result]) -> dict[str, int]:
            return {(f"{o}:{c}" if c else o): n for (o, c), n in sorted(counts.items(), key=str)}

        return {
            "sent": self.sent,
            "forms": self.forms,
            "expected": rows(self.expected),
            "outcomes": rows(self.outcomes) if self.judged else None,
            "as_meant": self.as_meant if self.judged else None,
            "unexpected": self.unexpected,
            "findings_expected": dict(sorted(self.findings_expected.items())),
            "findings_found": dict(sorted(self.findings_found.items()))
            if self.findings_found is not None
            else None,
            "seconds": round(self.seconds, 2),
            "clock": self.clock,
            "resumed": self.resumed,
        }


def batches(
    events: Iterator[Event], size: int, speed: float, mixed: bool = False
) -> Iterator[list[Event]]:
    """Consecutive events of one kind (of any kinds if `mixed`), at most `size`. With a
    speed, the night is paced from
    polls closing (`speed` simulated seconds a real second; the set-up goes at once): a batch
    leaves when its first event is due, with every event due within TICK after it, or all
    that are overdue when sending has fallen behind."""
    start: float | None = None
    batch: list[Event] = []
    opened = 0.0  # when the batch's first event was due, or was reached if later
    for event in events:
        due = None
        if speed > 0 and event.minutes >= 0:
            start = time.monotonic() if start is None else start
            due = start + event.minutes * 60.0 / speed
        if batch and (
            (batch[0].kind != event.kind and not mixed)
            or len(batch) >= size
            or (due is not None and due > opened + TICK)
        ):
            yield batch
            batch = []
        if not batch:
            if due is not None and due > time.monotonic():
                time.sleep(due - time.monotonic())
            opened = max(due or 0.0, time.monotonic())
        batch.append(event)
    if batch:
        yield batch


def _structure_taken(result: Result) -> bool:
    """Whether the log already had this very election (the same seed, sent before: a night
    run again, or resumed); a structure refused stops the night before anything else."""
    if result[0] == "refused":
        raise Stopped(
            f"the log refused the election's structure ({result[1]}): nothing else was sent; "
            "simulate into a fresh home, or give another --election-id"
        )
    return result[0] == "duplicate"


def run_night(
    night: Night,
    sink: Sink,
    size: int,
    speed: float,
    progress: Callable[[Tally, Sequence[Event]], None] | None = None,
) -> Tally:
    tally = Tally()
    began = time.perf_counter()
    for batch in batches(night.events(), size, speed, sink.mixed):
        results = sink.send(batch)
        if results is not None and batch[0].kind == "structure":
            tally.resumed = _structure_taken(results[0])
        tally.add(batch, results, sink.retried or tally.resumed)
        if progress:
            progress(tally, batch)
    tally.seconds = time.perf_counter() - began
    tally.findings_found = sink.findings(night.eid)
    return tally


# --- the command ---------------------------------------------------------------------------

RateOpt = Annotated[float, typer.Option(min=0.0, max=1.0)]


@app.command()
def simulate(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Everything is drawn from it.")] = 2024,
    stations: Annotated[
        int, typer.Option(min=596, help="Polling stations (596 at least: every seat has one).")
    ] = NATIONAL_STATIONS,
    election_id: Annotated[str, typer.Option(help="The election's id.")] = ELECTION_ID,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the night here as JSON Lines.")
    ] = None,
    into_store: Annotated[
        bool, typer.Option("--into-store", help="Load the night into the home's store.")
    ] = False,
    server: Annotated[
        str | None, typer.Option(help="Send the night to a running server (its base URL).")
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0.0,
            help="Simulated seconds a real second from polls closing (600: ten minutes a "
            "second); 0: as fast as it goes.",
        ),
    ] = 0.0,
    batch_size: Annotated[int, typer.Option(min=1, max=MAX_BATCH)] = MAX_BATCH,
    declaration_mismatch: RateOpt = Faults.declaration_mismatch,
    declaration_flip: RateOpt = Faults.declaration_flip,
    agent_copies: RateOpt = Faults.agent_copies,
    agent_conflict: RateOpt = Faults.agent_conflict,
    observer_copies: RateOpt = Faults.observer_copies,
    duplicate: RateOpt = Faults.duplicate,
    forged: RateOpt = Faults.forged,
    wrong_station: RateOpt = Faults.wrong_station,
    correction: RateOpt = Faults.correction,
    re_poll: RateOpt = Faults.re_poll,
    stuffed: RateOpt = Faults.stuffed,
    media_reports: RateOpt = Faults.media_reports,
    misreport: RateOpt = Faults.misreport,
    outage_start: Annotated[
        float, typer.Option(help="The network outage begins, minutes after polls close.")
    ] = Faults.outage_start,
    outage_minutes: Annotated[float, typer.Option(min=0.0)] = Faults.outage_minutes,
    as_json: JsonOpt = False,
) -> None:
    """Simulate election night: the 2024 general election's shape (266 National Assembly
    and 593 provincial seats, ~90,000 stations, ~128 million voters), its set-up, the forms
    as they arrive, the declarations, and faults at the rates given; into one sink (--out,
    --into-store or --server). Exits 1 if the log did not do what a document was meant to
    cause (docs/simulator.md)."""
    faults = Faults(
        declaration_mismatch=declaration_mismatch,
        declaration_flip=declaration_flip,
        agent_copies=agent_copies,
        agent_conflict=agent_conflict,
        observer_copies=observer_copies,
        duplicate=duplicate,
        forged=forged,
        wrong_station=wrong_station,
        correction=correction,
        re_poll=re_poll,
        stuffed=stuffed,
        media_reports=media_reports,
        misreport=misreport,
        outage_start=outage_start,
        outage_minutes=outage_minutes,
    )
    _one_sink(out_file, into_store, server, speed)

    def make() -> Night:
        with err.status("building the election"):
            return Night(build_national(seed, stations, election_id), faults)

    if out_file is not None:
        with known_errors(str(out_file)), out_file.open("wb") as handle:
            night, tally = _run(make, FileSink(handle), batch_size, 0.0)
    elif into_store:
        with open_writer(ctx) as writer:
            night, tally = _run(make, StoreSink(writer), batch_size, speed)
    else:
        with _server(str(server)) as sink:
            night, tally = _run(make, sink, batch_size, speed)
    _report(night, tally, as_json)


@contextmanager
def _server(url: str) -> Iterator[ServerSink]:
    """The server, once it has answered its health check."""
    sink = ServerSink(url)
    try:
        try:
            sink.check()
        except Stopped as error:
            raise fail(str(error), error.code) from None
        yield sink
    finally:
        sink.close()


def _one_sink(out_file: Path | None, into_store: bool, server: str | None, speed: float) -> None:
    given = (("--out", out_file), ("--into-store", into_store), ("--server", server))
    chosen = [name for name, on in given if on]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give one of --out FILE, --into-store, --server URL"
            + (f" (not {' and '.join(chosen)})" if chosen else "")
        )
    if out_file is not None and speed > 0:
        raise typer.BadParameter(
            "--speed paces a live sink (--into-store or --server)", param_hint="--speed"
        )


def _run(make: Callable[[], Night], sink: Sink, size: int, speed: float) -> tuple[Night, Tally]:
    """Build the night (once the sink is ready), send it with a progress bar."""
    night = make()
    try:
        return night, send_night(night, sink, size, speed)
    except Stopped as error:
        raise fail(str(error), error.code) from None


def send_night(night: Night, sink: Sink, size: int, speed: float) -> Tally:
    """The night into the sink, with a progress bar: station forms sent, simulated clock."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[clock]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("forms", total=night.totals.get("form", 0), clock="set-up")

        def advance(tally: Tally, batch: Sequence[Event]) -> None:
            clock = tally.clock[:16].replace("T", " ") + " PKT"
            bar.update(task, completed=tally.forms, clock=clock)

        return run_night(night, sink, size, speed, advance)


def _report(night: Night, tally: Tally, as_json: bool) -> None:
    if as_json:
        out.print_json(data={"election": night.eid, **tally.as_dict()})
    else:
        out.print(summary_table(night, tally))
        if tally.resumed:
            out.print("the log had this election already: documents it held count as accepted")
        for u in tally.unexpected:
            out.print(f"not as meant: #{u['seq']} {u['story']}: meant {u['meant']}, got {u['got']}")
    if tally.judged and (tally.as_meant != tally.sent or not tally.findings_as_meant):
        raise typer.Exit(ExitCode.REFUSED)


def summary_table(night: Night, tally: Tally) -> Table:
    """What was meant beside what the log did: documents by outcome, refusals by code,
    findings by code."""
    table = Table(
        title=f"{night.eid}: {tally.sent:,} documents in {tally.seconds:.1f} s, "
        f"simulated clock {tally.clock[:16].replace('T', ' ')} PKT",
        title_justify="left",
    )
    table.add_column("")
    table.add_column("meant", justify="right")
    table.add_column("the log", justify="right")
    judged = tally.judged

    def row(label: str, meant: int, got: int | None) -> None:
        table.add_row(label, f"{meant:,}", "—" if got is None else f"{got:,}")

    row("documents sent", tally.sent, tally.sent if judged else None)
    for outcome in ("accepted", "duplicate"):
        got = tally.outcomes[(outcome, None)] if judged else None
        row(outcome, tally.expected[(outcome, None)], got)
    codes = sorted({c for o, c in [*tally.expected, *tally.outcomes] if o == "refused"}, key=str)
    for code in codes:
        got = tally.outcomes[("refused", code)] if judged else None
        row(f"refused {code}", tally.expected[("refused", code)], got)
    if judged:
        row("as meant", tally.sent, tally.as_meant)
    found = tally.findings_found
    for code in sorted({*tally.findings_expected, *(found or {})}):
        row(
            f"finding {code}", tally.findings_expected[code], None if found is None else found[code]
        )
    return table
