"""Read-side benchmark: the read model (service/reading.py) on a national-scale store, against
the bare cost of the same reads measured in the same run on the same store.

The store: a synthetic national night (sample/synthetic.py; by default 90,000 stations, 266
National and 593 provincial contests, 12 candidates, so 180,000 signed forms) ingested in
batches through the service layer, with a returning officer's declared result (Form 47) for a
few contests at the end of the night. It is kept in var/bench-read/home and reused when the
spec matches.

Every answer of the read model is cached by (question, tree size), so each figure says what it
measures:

- cold: the first time that question is asked at that size — the cost a reader pays after
  every commit during a live night. Measured on one long-lived reader (the election's
  structure parsed and its tally kept, as a reader serving a night has them) by asking a
  different contest each sample, and the contest again on a reader without a tally, which
  reads the contest's own rows; for standings, which
  is one question, by stepping the reader through consecutive checkpoints (its running tally
  advances one commit at a time), and, for `as_of`, through the checkpoints nearest half-way;
- cached: the same questions asked again at the same size;
- open: ReadModel.open and the first contest answer, a fresh reader each sample;
- fresh-reader standings: a new reader, its structure parsed before the clock starts, then
  standings() (the tally built from the whole log).

The bare counterparts use sqlite3 directly with the store's PRAGMAs: the same rows selected
and their JSON votes summed in Python, for one contest; for standings after a commit, that
commit's forms added to kept per-contest sums, and for a fresh reader or `as_of`, every
official form up to the size; then each contest's leader counted per assembly and party.

A quick run: `--stations 5000` (it replaces the national store in var/bench-read).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import shutil
import sqlite3
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from floors import summed
from record import write_results
from tallyproof.importers.plan import Plan, run_step
from tallyproof.ledger.entries import EntryKind, read_envelope, sign
from tallyproof.sample.synthetic import SyntheticSpec, synthetic_plan
from tallyproof.service import submission
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.database import READER_CACHE, SQLITE_PRAGMAS

WORK = Path("var/bench-read")
HOME = WORK / "home"
SPEC = WORK / "spec.json"
DB = HOME / "tallyproof.sqlite"
DECLARED_AT = "2024-02-09T02:00:00+05:00"
TARGETS = {  # from the issue: p50 in ms
    "open": 300.0,
    "current": 5.0,
    "standings": 20.0,
    "as_of": 100.0,
}
console = Console()


@dataclass(frozen=True)
class Build:
    """What the store holds; a store is reused only when all of it matches."""

    stations: int
    na_contests: int
    pa_contests: int
    candidates: int
    seed: int
    batch: int
    declared: int


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def declared_contests(plan_structure: dict[str, Any], count: int) -> list[str]:
    """`count` contests spread over both assemblies."""
    codes = [c["code"] for c in plan_structure["contests"]]
    if count <= 0:
        return []
    step = max(1, len(codes) // count)
    return codes[::step][:count]


def build(want: Build, workers: int) -> tuple[float, bool]:
    """Generate, sign and ingest the night into HOME: the seconds it took (when it was built,
    for a reused store) and whether it was reused."""
    kept = json.loads(SPEC.read_text("utf-8")) if SPEC.exists() else {}
    if kept.get("build") == asdict(want):
        console.print(f"reusing the store in {HOME} ({want})")
        return float(kept.get("seconds", 0.0)), True
    start = time.perf_counter()
    shutil.rmtree(WORK, ignore_errors=True)
    spec = SyntheticSpec(
        stations=want.stations,
        na_contests=want.na_contests,
        pa_contests=want.pa_contests,
        candidates=want.candidates,
        seed=want.seed,
    )
    with console.status(f"generating and signing {spec.forms:,} forms"):
        plan, envelopes = synthetic_plan(spec)
    eid = spec.election_id
    structure = dict(read_envelope(plan.steps[0].envelopes[0], EntryKind.STRUCTURE).body)
    declared = declared_contests(structure, want.declared)
    _register_returning_officers(plan, eid, declared)
    ctx = LedgerWriter.initialise(Settings.at(HOME, verify_workers=workers))
    try:
        with _progress() as progress:
            keys = sum(len(s.envelopes) for s in plan.steps)
            task = progress.add_task("structure and keys", total=keys)
            for step in plan.steps:
                outcomes = run_step(ctx, step)
                if not all(o.accepted for o in outcomes):
                    bad = next(o for o in outcomes if not o.accepted)
                    raise SystemExit(f"{step.title}: refused: {bad.problems}")
                progress.advance(task, len(outcomes))
            task = progress.add_task("forms", total=len(envelopes))
            n = want.batch
            batches = (envelopes[i : i + n] for i in range(0, len(envelopes), n))
            for outcomes in submission.ingest_forms(ctx, batches):
                if not all(o.accepted for o in outcomes):
                    bad = next(o for o in outcomes if not o.accepted)
                    raise SystemExit(f"form refused: {bad.problems}")
                progress.advance(task, len(outcomes))
            if declared:
                task = progress.add_task("declarations", total=len(declared))
                outcomes = submission.submit_declarations(ctx, _declarations(plan, eid, declared))
                if not all(o.accepted for o in outcomes):
                    bad = next(o for o in outcomes if not o.accepted)
                    raise SystemExit(f"declaration refused: {bad.problems}")
                progress.advance(task, len(outcomes))
    finally:
        ctx.close()
    elapsed = time.perf_counter() - start
    SPEC.write_text(json.dumps({"build": asdict(want), "seconds": round(elapsed, 1)}) + "\n")
    return elapsed, False


def _register_returning_officers(plan: Plan, eid: str, contests: Sequence[str]) -> None:
    admin = plan.keys[f"{eid}/admin"]
    bodies = []
    for code in contests:
        name = f"{eid}/ro/{code}"
        key = plan.key(name, f"bench-read:{name}")
        bodies.append(
            {
                "election": eid,
                "source": "returning_officer",
                "key": {"name": name, "public_key": key.public.b64},
                "contests": [code],
                "time": "2024-02-08T06:00:00+05:00",
            }
        )
    if bodies:
        plan.add("register_keys", "returning officers' keys", bodies, [admin] * len(bodies))


def _declarations(plan: Plan, eid: str, contests: Sequence[str]) -> list[dict[str, Any]]:
    """Form 47 for each contest: the forms' sum, except that every third declaration moves
    5 % of the leader's votes to the runner-up (so some declared results differ)."""
    conn = sqlite3.connect(DB)
    out = []
    for i, code in enumerate(contests):
        votes: Counter[str] = Counter()
        rejected = polled = 0
        query = "SELECT votes, rejected, polled FROM forms WHERE election_id=? AND contest=?"
        for v, r, p in conn.execute(query + " AND official=1", (eid, code)):
            votes.update(json.loads(v))
            rejected += r
            polled += p
        if i % 3 == 2 and len(votes) > 1:
            (first, _), (second, _) = votes.most_common(2)
            moved = votes[first] // 20
            votes[first] -= moved
            votes[second] += moved
        body = {
            "election": eid,
            "contest": code,
            "source": "returning_officer",
            "votes": dict(votes),
            "rejected": rejected,
            "polled": polled,
            "time": DECLARED_AT,
        }
        out.append(sign(EntryKind.DECLARATION, body, plan.keys[f"{eid}/ro/{code}"]).envelope())
    conn.close()
    return out


# --- timing ---------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    what: str
    samples: list[float]  # milliseconds

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        """Nearest rank; with fewer than 100 samples this is the largest."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered) + 0.5) - 1))]


def measure(items: Sequence[Any], run: Callable[[Any], object], budget: float) -> list[float]:
    """Milliseconds of run(item) for each item, stopping once `budget` seconds are spent
    (but never before 5 samples)."""
    out: list[float] = []
    spent = time.perf_counter()
    for item in items:
        start = time.perf_counter()
        made = run(item)
        out.append((time.perf_counter() - start) * 1000)
        del made  # freeing what a sample built (a fresh reader's structure) is not its cost
        if len(out) >= 5 and time.perf_counter() - spent > budget:
            break
    return out


class Bare:
    """The same reads with sqlite3 and a Python sum, on one connection (one snapshot)."""

    def __init__(self, election: str, party_of: dict[str, str | None], assembly: dict[str, str]):
        self.election, self.party_of, self.assembly = election, party_of, assembly
        self.conn = self.connect()
        self.conn.execute("BEGIN")

    @staticmethod
    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(DB, isolation_level=None)
        for pragma in (*SQLITE_PRAGMAS, READER_CACHE):
            conn.execute(pragma)
        return conn

    @staticmethod
    def contest_on(conn: sqlite3.Connection, election: str, code: str, size: int) -> dict[str, int]:
        query = (
            "SELECT votes, rejected, polled FROM forms"
            " WHERE election_id=? AND contest=? AND official=1 AND seq<?"
        )
        return summed(conn.execute(query, (election, code, size)), json.loads)

    def contest(self, code: str, size: int) -> dict[str, int]:
        return self.contest_on(self.conn, self.election, code, size)

    def forms(self, code: str, size: int) -> list[tuple[Any, ...]]:
        query = (
            "SELECT f.*, l.received_at FROM forms f JOIN ledger_entries l ON l.seq = f.seq"
            " WHERE f.election_id=? AND f.contest=? AND f.seq<? ORDER BY f.seq"
        )
        rows = self.conn.execute(query, (self.election, code, size)).fetchall()
        return [(*r, json.loads(r[10])) for r in rows]

    def findings(self, code: str, size: int) -> tuple[dict[str, Any], dict[str, int]]:
        """Every form of the contest, by station and chain, and the official sum: what the
        findings compare (copies of a station's count; the declared result against the sum)."""
        query = (
            "SELECT station, chain, official, votes FROM forms"
            " WHERE election_id=? AND contest=? AND seq<? ORDER BY seq"
        )
        copies: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        total: dict[str, int] = {}
        for station, chain, official, v in self.conn.execute(query, (self.election, code, size)):
            votes = json.loads(v)
            copies[station][chain] = votes
            if official:
                for candidate, n in votes.items():
                    total[candidate] = total.get(candidate, 0) + n
        return copies, total

    def standings(
        self, size: int, since: int = 0, totals: dict[str, dict[str, int]] | None = None
    ) -> Counter[tuple[str, str | None]]:
        """Sum the official forms logged in [since, size) into `totals` (every form up to
        `size` when none are kept), take each contest's leader, count them per assembly and
        party. `+election_id` keeps SQLite on the seq index for a range of the log."""
        query = (
            "SELECT contest, votes FROM forms"
            " WHERE +election_id=? AND official=1 AND seq>=? AND seq<?"
        )
        totals = {} if totals is None else totals
        for contest, v in self.conn.execute(query, (self.election, since, size)):
            sums = totals.setdefault(contest, {})
            for candidate, n in json.loads(v).items():
                sums[candidate] = sums.get(candidate, 0) + n
        seats: Counter[tuple[str, str | None]] = Counter()
        for contest, votes in totals.items():
            leader = max(votes, key=votes.__getitem__)
            seats[(self.assembly[contest], self.party_of[leader])] += 1
        return seats


def checkpoints() -> list[int]:
    conn = sqlite3.connect(DB)
    sizes = [r[0] for r in conn.execute("SELECT tree_size FROM checkpoints ORDER BY tree_size")]
    conn.close()
    return sizes


def form_span() -> tuple[int, int, int]:
    conn = sqlite3.connect(DB)
    first, last, count = conn.execute("SELECT min(seq), max(seq), count(*) FROM forms").fetchone()
    conn.close()
    return first, last, count


def profile(run: Callable[[], object], title: str, top: int = 14) -> None:
    prof = cProfile.Profile()
    prof.enable()
    run()
    prof.disable()
    console.rule(f"cProfile: {title}")
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=90_000, help="forms = 2 x stations")
    parser.add_argument("--na-contests", type=int, default=266)
    parser.add_argument("--pa-contests", type=int, default=593)
    parser.add_argument("--candidates", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1000, help="forms a commit (a checkpoint)")
    parser.add_argument("--declared", type=int, default=30, help="contests given a Form 47")
    parser.add_argument("--workers", type=int, default=0, help="signature processes (0: cores)")
    parser.add_argument("--samples", type=int, default=100, help="samples a figure (at most)")
    parser.add_argument("--budget", type=float, default=45.0, help="seconds a figure (at most)")
    parser.add_argument("--profile", action="store_true", help="cProfile the slow answers")
    args = parser.parse_args()
    want = Build(
        args.stations,
        args.na_contests,
        args.pa_contests,
        args.candidates,
        args.seed,
        args.batch,
        args.declared,
    )
    built, reused = build(want, args.workers)
    load_before = os.getloadavg()
    eid = SyntheticSpec().election_id
    settings = Settings.at(HOME)
    first_form, last_form, n_forms = form_span()
    sizes = checkpoints()
    tree_size = sizes[-1]
    form_sizes = [s for s in sizes if s > first_form + 1]  # checkpoints with forms in them
    middle = first_form + (last_form - first_form) // 2
    half = min(form_sizes, key=lambda s: abs(s - middle))

    reader = ReadModel.open(settings)
    structure = reader.structure(eid).value  # parsed once: the reader below is long-lived
    reader.standings(eid)  # and tallied once, as a reader serving a night is
    codes = [c.code for c in structure.contests]
    party_of = {k.id: k.party for c in structure.contests for k in c.candidates}
    assembly = {c.code: c.assembly for c in structure.contests}
    picked = random.Random(args.seed).sample(codes, min(args.samples, len(codes)))
    bare = Bare(eid, party_of, assembly)
    by_rows = ReadModel.open(settings)  # never tallied: each contest from its own rows
    by_rows.structure(eid)
    repeat = range(args.samples)
    figures: dict[str, Figure] = {}

    def add(key: str, what: str, items: Sequence[Any], run: Callable[[Any], object]) -> None:
        figures[key] = Figure(key, what, measure(items, run, args.budget))

    with console.status("measuring") as status:
        status.update("open + first contest answer, a fresh reader each sample")

        def open_and_ask(code: str) -> ReadModel:
            fresh = ReadModel.open(settings)
            fresh.contest(eid, code)
            fresh.close()
            return fresh

        def bare_open(code: str) -> None:
            conn = Bare.connect()
            Bare.contest_on(conn, eid, code, tree_size)
            conn.close()

        add("bare_open", "connect + one contest's sum", picked, bare_open)
        add("open", "open + first contest()", picked, open_and_ask)

        for prefix, size in (("", tree_size), ("as_of_", half)):
            at = size if prefix else None
            status.update(f"contest, forms, findings {'as_of ' if at else ''}at {size:,}")
            for name, ask, bare_ask in (
                ("contest", lambda c, a=at: reader.contest(eid, c, a), bare.contest),
                ("contest_rows", lambda c, a=at: by_rows.contest(eid, c, a), bare.contest),
                ("forms", lambda c, a=at: reader.forms(eid, contest=c, as_of=a), bare.forms),
                ("findings", lambda c, a=at: reader.findings(eid, c, a), bare.findings),
            ):
                label = f"{prefix.replace('_', ' ')}{name.replace('_rows', ' from its rows')}"
                if not name.endswith("_rows"):  # the same bare query as the contest's
                    add(
                        f"bare_{prefix}{name}", label, picked, lambda c, f=bare_ask, s=size: f(c, s)
                    )
                add(f"{prefix}{name}", f"{label}, cold", picked, ask)
                asked = picked[: len(figures[f"{prefix}{name}"].samples)]
                add(f"{prefix}{name}_cached", f"{label}, cached", asked, ask)

        status.update("standings one commit later, checkpoint after checkpoint")
        steps = form_sizes[-min(args.samples, len(form_sizes) - 1) :]
        before = form_sizes[form_sizes.index(steps[0]) - 1]
        kept: dict[str, dict[str, int]] = {}
        bare.standings(before, 0, kept)  # the running sums up to the first step, not timed
        previous = [before]

        def bare_step(size: int) -> None:
            bare.standings(size, previous[0], kept)
            previous[0] = size

        add("bare_standings", "standings (1 commit on)", steps, bare_step)
        live = ReadModel.open(settings)
        live.structure(eid)
        live.standings(eid, before)  # a replay of the log, not timed
        add("standings", "standings, cold (1 commit on)", steps, lambda s: live.standings(eid, s))
        last = steps[len(figures["standings"].samples) - 1]
        add("standings_cached", "standings, cached", repeat, lambda _: live.standings(eid, last))

        status.update("bare standings: every official form summed, winners counted")
        add(
            "bare_standings_full",
            "standings (every form)",
            repeat,
            lambda _: bare.standings(tree_size),
        )
        add("bare_as_of_standings", "as of standings", repeat, lambda _: bare.standings(half))

        status.update("standings on a fresh reader: the whole log replayed")
        replays: list[float] = []

        def first_standings(_: object) -> None:
            fresh = ReadModel.open(settings)
            fresh.structure(eid)  # parsed before the clock starts
            start = time.perf_counter()
            fresh.standings(eid)
            replays.append((time.perf_counter() - start) * 1000)
            fresh.close()

        measure(repeat, first_standings, args.budget)
        figures["standings_first"] = Figure("standings_first", "standings, fresh reader", replays)

        status.update(f"standings as_of the checkpoints nearest {half:,}, from kept figures")
        live.close()
        live = ReadModel.open(settings)  # a live reader: its tally at the newest size
        live.structure(eid)
        live.standings(eid)
        around = sorted(form_sizes[:-1], key=lambda s: abs(s - half))[: args.samples]
        add("as_of_standings", "as of standings, cold", around, lambda s: live.standings(eid, s))
        asked = around[: len(figures["as_of_standings"].samples)]
        add(
            "as_of_standings_cached",
            "as of standings, cached",
            asked,
            lambda s: live.standings(eid, s),
        )
    reader.close()
    by_rows.close()
    live.close()

    bare_of = {
        "open": "bare_open",
        "standings_first": "bare_standings_full",
        **{
            f"{p}{n}": f"bare_{p}{n}"
            for p in ("", "as_of_")
            for n in ("contest", "forms", "findings", "standings")
        },
        "contest_rows": "bare_contest",
        "as_of_contest_rows": "bare_as_of_contest",
    }
    target_of = {
        "open": TARGETS["open"],
        "contest": TARGETS["current"],
        "contest_rows": TARGETS["current"],
        "forms": TARGETS["current"],
        "findings": TARGETS["current"],
        "standings": TARGETS["standings"],
        **{
            f"as_of_{n}": TARGETS["as_of"]
            for n in ("contest", "contest_rows", "forms", "findings", "standings")
        },
    }
    results: dict[str, Any] = {
        "stations": args.stations,
        "forms": n_forms,
        "contests": len(codes),
        "declared_contests": args.declared,
        "candidates": args.candidates,
        "tree_size": tree_size,
        "as_of_tree_size": half,
        "batch": args.batch,
        "build_seconds": round(built, 1),
        "store_reused": reused,
        "load_average": [round(x, 1) for x in (*load_before, *os.getloadavg())],
    }
    table = Table(
        title=(
            f"read model: {n_forms:,} forms, {args.stations:,} stations, {len(codes):,} "
            f"contests, tree size {tree_size:,}; as of {half:,}"
        ),
        caption=(
            "ms. cold: first time asked at that size (a different contest each sample, of a "
            "reader that keeps its tally; from its rows: of a reader without one; standings: "
            "one commit later; as of standings: checkpoints near half-way). "
            "cached: asked again. open: a fresh reader each sample. fresh reader: the "
            "structure parsed, then the log replayed. bare: sqlite3 and a Python sum of the "
            "same rows, same run; × = p50 ÷ bare p50. p99 is the largest below 100 samples."
        ),
    )
    for column in ("answer", "n", "p50", "p99", "bare p50", "×", "target", ""):
        table.add_column(column, justify="left" if column == "answer" else "right")
    met: list[str] = []
    missed: list[str] = []
    for key, fig in figures.items():
        results[f"{key}_ms_p50"] = round(fig.p50, 3)
        results[f"{key}_ms_p99"] = round(fig.p99, 3)
        results[f"{key}_samples"] = len(fig.samples)
        if key.startswith("bare_"):
            continue
        against = figures.get(bare_of.get(key, ""))
        ratio = fig.p50 / against.p50 if against else None
        if ratio is not None:
            results[f"{key}_ratio_to_bare"] = round(ratio, 1)
        target = target_of.get(key)
        verdict = ""
        if target is not None:
            (met if fig.p50 < target else missed).append(key)
            verdict = "[green]met" if fig.p50 < target else "[red]missed"
        table.add_row(
            fig.what,
            str(len(fig.samples)),
            f"{fig.p50:,.2f}",
            f"{fig.p99:,.2f}",
            f"{against.p50:,.2f}" if against else "",
            f"{ratio:,.0f}" if ratio is not None else "",
            f"< {target:,.0f}" if target is not None else "",
            verdict,
        )
    console.print(table)
    console.print(
        f"load average (1, 5, 15 min) before {load_before[0]:.1f} {load_before[1]:.1f} "
        f"{load_before[2]:.1f}, after {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} cores"
    )
    console.print(f"targets met: {', '.join(met) or 'none'}")
    console.print(f"targets missed: {', '.join(missed) or 'none'}")
    results["targets_met"] = met
    results["targets_missed"] = missed
    console.print(f"figures: {write_results('read', results)}")

    if args.profile:
        code = picked[0]
        profile(lambda: ReadModel.open(settings).contest(eid, code), "open + first contest")
        warm = ReadModel.open(settings)
        warm.structure(eid)
        profile(lambda: [warm.contest(eid, c) for c in picked[1:21]], "contest() cold x20")
        profile(lambda: [warm.forms(eid, contest=c) for c in picked[1:21]], "forms() cold x20")
        profile(lambda: [warm.findings(eid, c) for c in picked[1:6]], "findings() cold x5")
        warm.standings(eid, steps[0])
        profile(lambda: [warm.standings(eid, s) for s in steps[1:6]], "standings() 5 commits")
        warm.standings(eid)  # the tally at the newest size: an as_of below it reads kept figures
        profile(lambda: warm.standings(eid, half), f"standings as_of {half:,} (kept figures)")


if __name__ == "__main__":
    main()
