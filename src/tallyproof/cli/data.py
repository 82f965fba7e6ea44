"""Real data sets, forensics and the demo."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from tallyproof import console as render
from tallyproof.cli.common import (
    ElectionOpt,
    ExitCode,
    JsonOpt,
    app,
    err,
    fail,
    fail_on,
    open_writer,
    out,
    raw,
)
from tallyproof.cli.demonstrating import election_night
from tallyproof.cli.submitting import submit_in_batches
from tallyproof.formats.answers import view_record
from tallyproof.importers import catalogue
from tallyproof.importers.plan import Plan, run_plan
from tallyproof.importers.stations import Mapping, MappingError, ReadReport, Row, build_plan
from tallyproof.sample.generator import build_sample
from tallyproof.sample.national import NATIONAL_STATIONS
from tallyproof.service import queries
from tallyproof.service.outcomes import Outcome
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter


@app.command("import-stations")
def import_stations(
    ctx: typer.Context,
    mapping_name: Annotated[
        str,
        typer.Argument(
            metavar="MAPPING",
            help="A shipped mapping (russia-2018, uganda-2011, ...) or a .toml file.",
        ),
    ],
    data: Annotated[Path, typer.Option(help="Directory holding the mapping's data file.")],
    batch_size: Annotated[int, typer.Option(min=100, max=20000)] = 2000,
    as_json: JsonOpt = False,
) -> None:
    """Import a station-level election from CSV (or a zipped CSV) through the ordinary ingest
    path: structure, an importer's key, one signed form per station. Exits 1 if the rules
    refused any row (the table names each rule and an example row)."""
    try:
        mapping = Mapping.load(mapping_name)
        with err.status(f"reading {mapping.file['path']}"):
            plan, envelopes, rows, read = build_plan(mapping, data)
    except (OSError, MappingError) as error:
        raise fail_on(error, mapping_name) from None
    except KeyError as error:
        raise fail_on(MappingError(f"the mapping names no {error}"), mapping_name) from None
    with open_writer(ctx) as service:
        try:
            with err.status(f"registering {len(rows):,} stations"):
                run_plan(service, plan)
        except RuntimeError as error:
            raise fail(str(error), ExitCode.REFUSED) from None
        plan.write_keys(ctx.obj.home / "keys")
        outcomes = submit_in_batches(service, list(envelopes), batch_size, None)
    if as_json:
        out.print_json(data=import_summary(mapping, read, rows, outcomes))
    else:
        out.print(render.import_table(mapping, read, rows, outcomes))
    if any(not o.accepted for o in outcomes):
        raise typer.Exit(ExitCode.REFUSED)


@app.command("import-dataset")
def import_dataset(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="DATASET", help="pk-2024-form45-vs-47 or pk-2018 (docs/formats.md)."
        ),
    ],
    data: Annotated[
        Path, typer.Option(help="The data set's directory, or the directory holding it.")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Load a public Pakistani results data set as an election: its structure, the keys of
    its sources (saved in the home's keys/), and every declared result, through the
    ordinary use cases; then say what was loaded and what the rules found. Exits 3 for an
    unknown data set or a directory without its files, 1 if the election is already in the
    store."""
    try:
        ds = catalogue.dataset(name)
        folder = catalogue.locate(ds, data)
        with err.status(f"reading {', '.join(ds.files)}"):
            plan = ds.build(folder)
    except (OSError, ValueError, KeyError) as error:
        if isinstance(error, MappingError):
            raise fail_on(error) from None
        raise fail_on(MappingError(f"{folder}: not the {ds.name} data set ({error})")) from None
    with open_writer(ctx) as service:
        total = sum(len(step.envelopes) for step in plan.steps)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err
        ) as bars:
            task = bars.add_task(f"loading {ds.name}", total=total)
            try:
                run_plan(service, plan, lambda _s, done: bars.advance(task, len(done)))
            except RuntimeError as error:
                raise fail(str(error), ExitCode.REFUSED) from None
        plan.write_keys(ctx.obj.home / "keys")
        summary = dataset_summary(service, ds, plan, folder)
    if as_json:
        out.print_json(data=summary)
        return
    out.print(f"{ds.name}: {summary['name']} ({summary['election']}) from {folder}")
    for step in summary["steps"]:
        out.print(f"  {step['documents']:>6,}  {step['title']}")
    out.print(f"  {summary['contests']:>6,}  contests; ledger now {summary['tree_size']:,} entries")
    table = Table(title="findings by rule", title_justify="left")
    table.add_column("rule")
    table.add_column("count", justify="right")
    for code, count in summary["findings"].items():
        table.add_row(code, f"{count:,}")
    out.print(table)


def dataset_summary(
    service: LedgerWriter, ds: catalogue.Dataset, plan: Plan, folder: Path
) -> dict[str, Any]:
    """`import-dataset --json`: what was loaded, step by step, and the findings by rule."""
    eid = plan.elections[0]
    structure = queries.structure_of(service, eid)
    found = Counter(f.code for f in queries.findings(service, eid))
    return {
        "dataset": ds.name,
        "data": str(folder),
        "election": eid,
        "name": structure.election.name,
        "contests": len(structure.contests),
        "steps": [{"title": s.title, "documents": len(s.envelopes)} for s in plan.steps],
        "tree_size": service.state.size,
        "findings": dict(sorted(found.items())),
    }


def import_summary(
    mapping: Mapping, read: ReadReport, rows: Sequence[Row], outcomes: Sequence[Outcome]
) -> dict[str, Any]:
    """`import-stations --json`: the totals read beside the data set's, and the refusals."""
    refused: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        for p in o.problems if not o.accepted else ():
            entry = refused.setdefault(p.code, {"code": p.code, "count": 0, "first_row": None})
            entry["count"] += 1
            entry["first_row"] = entry["first_row"] or rows[o.index].number
    return {
        "election": mapping.election["id"],
        "totals": [
            {"measure": key, "read": value, "data_set": mapping.totals.get(key)}
            for key, value in sorted(read.totals.items())
        ],
        "skipped": dict(read.skipped),
        "unreadable": len(read.unreadable),
        "accepted": sum(1 for o in outcomes if o.accepted),
        "refused": list(refused.values()),
    }


@app.command()
def forensics(
    ctx: typer.Context,
    report_dir: Annotated[
        Path, typer.Argument(metavar="REPORT-DIR", help="Where to write the report.")
    ],
    election: ElectionOpt = None,
    contest: Annotated[list[str] | None, typer.Option(help="Only these contests.")] = None,
    replicates: Annotated[int, typer.Option(min=10, max=100_000)] = 1000,
    seed: Annotated[int, typer.Option(help="Seeds the Monte Carlo replicates.")] = 0,
    min_voters: Annotated[
        int, typer.Option(min=1, help="Integer test: stations with at least this many voters.")
    ] = 100,
    max_percent: Annotated[
        float,
        typer.Option(
            min=50, max=100, help="Integer test: turnout and leader's share at most this, in %."
        ),
    ] = 99.0,
    as_json: JsonOpt = False,
) -> None:
    """Station-level forensics: integer percentages, the turnout x share fingerprint and
    fraud model, last digits, extreme and impossible stations. Writes figures, CSVs of the
    stations to look at, and index.html; a progress bar per stage of each contest."""
    from tallyproof.export import forensics_report as report  # numpy, scipy, matplotlib:
    from tallyproof.forensics.integer import StationFilter
    from tallyproof.service import forensics as forensic_service  # loaded only when asked

    cap = max_percent / 100  # the defaults are the published filter (docs/forensics.md)
    rule = StationFilter(min_registered=min_voters, max_turnout=cap, max_share=cap)
    done = []
    with open_writer(ctx) as service, _stage_bars() as bars:
        structure = queries.structure_of(service, election)
        for code in forensic_service.contests_to_analyse(service, election, contest):
            tell = _stage_progress(bars, code, report.ALL_STAGES)
            analysis, found = forensic_service.analyse_contest(
                service,
                structure.election.id,
                code,
                replicates=replicates,
                seed=seed,
                progress=tell,
                station_filter=rule,
            )
            done.append(report.write_contest(report_dir, code, analysis, found, tell))
    page = report.write_page(report_dir, f"{structure.election.name}: forensics", done)
    found_all = [f for c in done for f in c.findings]
    if as_json:
        out.print_json(data=[f.as_dict() for f in found_all])
    else:
        out.print(render.findings_table(found_all, limit=40))
        out.print(f"report: {page}")


def _stage_bars() -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    return Progress(*columns, TimeElapsedColumn(), console=err)


def _stage_progress(
    bars: Progress, code: str, stages: Sequence[str]
) -> Callable[[str, int, int], None]:
    """One bar per stage of the contest, all shown at once so the reader sees what is to
    come; the callback the analysis and the report tell (stage, done, total)."""
    tasks = {stage: bars.add_task(f"{code}: {stage}", total=1, start=False) for stage in stages}

    def tell(stage: str, finished: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(f"{code}: {stage}", total=total)
        bars.start_task(tasks[stage])
        bars.update(tasks[stage], completed=finished, total=total)

    return tell


def demo_summary(service: LedgerWriter, elections: Sequence[str]) -> dict[str, Any]:
    """`demo --json`: each sample election's results (as the bundle publishes them), seats
    and findings, and the log."""
    views = ReadModel(service.store)  # the writer's store, so not closed here
    return {
        "home": str(service.settings.home),
        "tree_size": service.state.size,
        "checkpoint": service.publish_checkpoint(),
        "elections": {
            eid: {
                "results": [view_record(v) for v in views.results(eid).value],
                "standings": [asdict(r) for r in queries.standings(service, eid)],
                "findings": [f.as_dict() for f in queries.findings(service, eid)],
            }
            for eid in elections
        },
    }


@app.command()
def demo(
    ctx: typer.Context,
    fresh: Annotated[bool, typer.Option(help="Start from an empty home.")] = True,
    print_only: Annotated[
        bool,
        typer.Option(
            "--print", help="Only load the sample and print its results (no server, no night)."
        ),
    ] = False,
    host: Annotated[str, typer.Option(help="Address the dashboard listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Its port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="HTTP worker processes.")] = 2,
    stations: Annotated[
        int, typer.Option(min=596, help="Polling stations in the simulated national night.")
    ] = NATIONAL_STATIONS,
    speed: Annotated[
        float,
        typer.Option(
            min=0.0, help="Simulated seconds a real second (0: as fast as the server takes it)."
        ),
    ] = 600.0,
    seed: Annotated[int, typer.Option(help="The simulated night's seed.")] = 2024,
    as_json: JsonOpt = False,
) -> None:
    """Election night: load the sample elections (2024 general, 2021-22 KP local
    government), serve the API and the dashboard on them, print the dashboard's address, and
    stream a simulated national night into it (docs/simulator.md) until Ctrl-C. With
    --print (or --json), only load the sample and print its results, seats and findings
    (--json: one document of them, and the log's size and checkpoint)."""
    settings: Settings = ctx.obj
    if fresh and settings.home.exists() and settings.database_url.startswith("sqlite"):
        shutil.rmtree(settings.home)
    service = LedgerWriter.initialise(settings)
    sample = build_sample()
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("loading the sample", total=len(sample.steps))
            run_plan(service, sample, lambda _s, _o: progress.advance(task))
        sample.write_keys(settings.home / "keys")
        if print_only or as_json:
            _print_sample(service, sample.elections, as_json)
    finally:
        service.close()
    if not (print_only or as_json):
        election_night(
            settings,
            host=host,
            port=port,
            workers=workers,
            stations=stations,
            speed=speed,
            seed=seed,
        )


def _print_sample(service: LedgerWriter, elections: Sequence[str], as_json: bool) -> None:
    if as_json:
        out.print_json(data=demo_summary(service, elections))
        return
    for eid in elections:
        structure = queries.structure_of(service, eid)
        out.print(render.results_table(structure, queries.results(service, eid)))
        out.print(render.standings_table(structure, queries.standings(service, eid)))
        out.print(render.findings_table(queries.findings(service, eid)))
    out.print(f"\nledger: {service.state.size} entries; checkpoint:\n", end="")
    raw(service.publish_checkpoint())
    home = service.settings.home
    out.print(f"\nhome {home} (sample keys in {home / 'keys'})")
