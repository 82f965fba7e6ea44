"""Reading results, standings and findings."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from tallyproof import console as render
from tallyproof.cli.common import (
    ElectionOpt,
    JsonOpt,
    app,
    open_writer,
    out,
)
from tallyproof.domain.findings import Severity
from tallyproof.export.bundle import result_record
from tallyproof.service import queries


@app.command()
def results(
    ctx: typer.Context,
    contest: Annotated[str | None, typer.Argument(help="One contest, e.g. NA-122.")] = None,
    election: ElectionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per contest: winner or leader, runner-up, margin, turnout, stations reported, status."""
    with open_writer(ctx) as service:
        structure = queries.structure_of(service, election)
        rows = queries.results(service, structure.election.id, contest)
    if as_json:
        out.print_json(data=[_result_dict(r) for r in rows])
    elif contest:
        out.print(render.contest_table(rows[0]))
    else:
        out.print(render.results_table(structure, rows))


def _result_dict(r: queries.ContestResult) -> dict[str, Any]:
    """The published record of the bundle, with what a reader also wants to see."""
    return result_record(r) | {
        "name": r.name,
        "assembly": r.assembly,
        "status_reason": r.status_reason,
        "leader": r.leader.candidate if r.leader else None,
        "margin": r.margin,
        "turnout": r.turnout,
        "ranking": [
            {"candidate": s.candidate, "name": s.name, "side": s.affiliation, "votes": s.votes}
            for s in r.ranking
        ],
    }


@app.command()
def standings(
    ctx: typer.Context,
    election: ElectionOpt = None,
    after_joining: Annotated[
        bool, typer.Option(help="Count independents who later joined a party for that party.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Seats per assembly by party; independents apart, grouped by the party that backed them."""
    with open_writer(ctx) as service:
        structure = queries.structure_of(service, election)
        rows = queries.standings(service, structure.election.id, after_joining=after_joining)
    if as_json:
        out.print_json(data=[asdict(r) for r in rows])
    else:
        out.print(render.standings_table(structure, rows))


@app.command()
def findings(
    ctx: typer.Context,
    election: ElectionOpt = None,
    contest: Annotated[str | None, typer.Option(help="Only this contest.")] = None,
    min_severity: Annotated[
        str, typer.Option(help="critical, high, medium, low or info.")
    ] = "info",
    as_json: JsonOpt = False,
) -> None:
    """Every discrepancy found: between sources, stations and declared totals."""
    try:
        floor = Severity(min_severity).rank
    except ValueError:
        raise typer.BadParameter(
            f"must be one of {', '.join(Severity)}", param_hint="--min-severity"
        ) from None
    with open_writer(ctx) as service:
        found = [
            f for f in queries.findings(service, election, contest) if f.severity.rank <= floor
        ]
    if as_json:
        out.print_json(data=[f.as_dict() for f in found])
    else:
        out.print(render.findings_table(found))
