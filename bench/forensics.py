"""Forensics benchmark: Russia 2018 (97,699 stations) imported through the ordinary ingest path,
then every forensic test with 1,000 Monte Carlo replicates, stage by stage, against the bare
cost measured in the same run:

- bare numpy pass: the plain loop the integer test replaces — per replicate, one binomial draw
  per station for turnout and for the leader's share, the percentages, and the count of
  stations within the window of an integer (one core);
- detection on known truth: ballots stuffed at 2 % of stations of a seeded honest election,
  and of the real Russia 2018 arrays; recall and false-positive rate of the station flags.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from record import write_results
from tallyproof.export.forensics_report import write_report
from tallyproof.forensics.arrays import StationArrays
from tallyproof.forensics.integer import PUBLISHED, WINDOW, on_integer
from tallyproof.forensics.report import Analysis, analyse
from tallyproof.forensics.simulate import (
    honest_election,
    recall_and_false_positives,
    stuff_ballots,
)
from tallyproof.importers.plan import run_plan
from tallyproof.importers.stations import Mapping, build_plan
from tallyproof.service import forensics, submission
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter

WORK = Path("var/bench-forensics")
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "russia-kobak"
console = Console()


def import_election(directory: Path, workers: int) -> tuple[dict[str, float], LedgerWriter]:
    shutil.rmtree(WORK, ignore_errors=True)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    with console.status("reading the CSV from the zip and signing one form per station"):
        plan, envelopes, rows, read = build_plan(Mapping.load("russia-2018"), directory)
    seconds["read and sign"] = time.perf_counter() - clock
    ctx = LedgerWriter.initialise(Settings.at(WORK / "home", verify_workers=workers))
    clock = time.perf_counter()
    with console.status("registering the structure and the importer's key"):
        run_plan(ctx, plan)
    seconds["structure"] = time.perf_counter() - clock
    clock = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingest", total=len(envelopes))
        batches = (envelopes[i : i + 2000] for i in range(0, len(envelopes), 2000))
        for outcomes in submission.ingest_forms(ctx, batches):
            if not all(o.accepted for o in outcomes):
                raise SystemExit(f"refused: {next(o for o in outcomes if not o.accepted)}")
            progress.advance(task, len(outcomes))
    seconds["ingest"] = time.perf_counter() - clock
    console.print(
        f"imported {len(rows):,} stations; {read.totals['registered']:,} registered voters"
    )
    return seconds, ctx


def bare_numpy(a: StationArrays, replicates: int, seed: int) -> float:
    """The plain loop: binomial redraws of every station, percentages, integer counts."""
    keep = PUBLISHED.keep(a.registered, a.issued, a.polled, a.votes[:, a.leader])
    n_t, n_s = a.registered[keep], a.polled[keep]
    p_t, p_s = a.issued[keep] / n_t, a.votes[keep, a.leader] / n_s
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("bare numpy loop", total=replicates)
        for _ in range(replicates):
            hit_t = on_integer(rng.binomial(n_t, p_t), n_t, WINDOW)
            hit_s = on_integer(rng.binomial(n_s, p_s), n_s, WINDOW)
            int((hit_t | hit_s).sum())
            progress.advance(task)
    return time.perf_counter() - start


def detection(real: StationArrays) -> Table:
    table = Table(title="detection on known truth: ballots stuffed at 2 % of stations")
    for column in ("election", "stations", "stuffed", "recall", "false-positive rate"):
        table.add_column(column, justify="right" if column != "election" else "left")
    rng = np.random.default_rng(2026)
    cases = [("seeded honest election", honest_election(97699, 85, rng)), ("Russia 2018", real)]
    for name, arrays in cases:
        before = analyse(arrays, replicates=10).flagged_stations()
        stuffed, truth = stuff_ballots(arrays, 0.02, rng)
        flagged = analyse(stuffed, replicates=10).flagged_stations()
        # on real data a station already flagged before stuffing is not a false positive of ours
        recall, fpr = recall_and_false_positives(flagged & ~(before & ~truth), truth)
        table.add_row(name, f"{arrays.size:,}", f"{truth.sum():,}", f"{recall:.3f}", f"{fpr:.5f}")
    return table


def report(an: Analysis, stage_seconds: dict[str, float], bare: float, load: float) -> Table:
    table = Table(title="Russia 2018: seconds per stage (1,000 replicates)")
    for column in ("stage", "seconds", "note"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for stage, seconds in stage_seconds.items():
        table.add_row(stage, f"{seconds:.2f}", "")
    table.add_row("station arrays from the store", f"{load:.2f}", "")
    integer = an.seconds["integer percentages"]
    total = sum(an.seconds.values())
    for stage, seconds in an.seconds.items():
        table.add_row(stage, f"{seconds:.2f}", "")
    table.add_row(
        "integer test vs bare numpy loop",
        f"{integer:.2f}",
        f"bare {bare:.1f} s, {bare / integer:.1f}x faster (target <= 5 s)",
    )
    table.add_row(
        "every test", f"{total:.2f}", f"target <= 20 s; {bare / total:.1f}x the bare loop"
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the russia-kobak data set")
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not (args.data / "2018.csv.zip").exists():
        raise SystemExit(f"no 2018.csv.zip in {args.data}: pass --data")
    stages, ctx = import_election(args.data, args.workers)
    clock = time.perf_counter()
    arrays = forensics.station_arrays(ctx, None, "RU-PRES-2018")
    load = time.perf_counter() - clock
    ctx.close()
    an = analyse(arrays, replicates=args.replicates, seed=0, workers=args.workers)
    bare = bare_numpy(arrays, args.replicates, seed=0)
    console.print(report(an, stages, bare, load))
    either = an.integer["either"]
    console.print(
        f"integer percentages (either): observed {either.observed:,}, expected "
        f"{either.expected:,.1f} ± {either.spread:.1f}, excess {either.excess:,.1f} "
        f"(z = {either.z:.1f}); Klimek fit f_i = {an.fit.f_incremental:.3f}, "
        f"f_e = {an.fit.f_extreme:.4f}"
    )
    clock = time.perf_counter()
    page = write_report(WORK / "report", "Russia 2018: forensics", [("RU-PRES-2018", an, [])])
    console.print(f"report with figures: {page} ({time.perf_counter() - clock:.1f} s)")
    console.print(detection(arrays))
    integer = an.seconds["integer percentages"]
    total = sum(an.seconds.values())
    written = write_results(
        "forensics",
        {
            "stations": int(arrays.size),
            "replicates": args.replicates,
            "stage_seconds": {k: round(v, 3) for k, v in {**stages, **an.seconds}.items()},
            "load_seconds": round(load, 3),
            "bare_integer_seconds": round(bare, 3),
            "integer_seconds": round(integer, 3),
            "every_test_seconds": round(total, 3),
            "bare_over_integer": round(bare / integer, 2),
            "bare_over_every_test": round(bare / total, 2),
        },
    )
    console.print(f"figures: {written}")


if __name__ == "__main__":
    main()
