"""Reading: results, standings, findings, every station's forms and a contest's history, each
as of a tree size (`--as-of`), from the read model alone (no key, no writer)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from tallyproof import console as render
from tallyproof.cli.common import ElectionOpt, JsonOpt, app, err, known_errors, out
from tallyproof.domain.consolidation import ContestView
from tallyproof.domain.findings import Severity
from tallyproof.errors import ExitCode
from tallyproof.formats.answers import (
    answer_record,
    change_dict,
    form_dict,
    life_dict,
    standings_document,
    view_dict,
)
from tallyproof.service.ballots import account_dict
from tallyproof.service.reading import (
    AsOf,
    FindingLife,
    FormEntry,
    ReadModel,
    parse_as_of,
)

AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="A tree size, or an RFC 3339 time: the answer as the log stood then.",
    ),
]
CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV on standard output.")]


@contextmanager
def read_model(ctx: typer.Context) -> Iterator[ReadModel]:
    """The read model over the home's store; known errors become their exit codes."""
    with known_errors():
        model = ReadModel.open(ctx.obj)
    try:
        with known_errors():
            yield model
    finally:
        model.close()


def as_of_value(text: str | None) -> AsOf:
    try:
        return parse_as_of(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--as-of") from None


def _say(sentence: str) -> None:
    """Why a table would be empty, said instead of the empty table (unwrapped, no markup)."""
    out.print(sentence, markup=False, soft_wrap=True)


def _write_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)


@app.command()
def results(
    ctx: typer.Context,
    contest: Annotated[str | None, typer.Argument(help="One contest, e.g. NA-122.")] = None,
    election: ElectionOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Per contest: the declared result (Form 47) beside the sum of the station forms
    (Form 45), the difference per candidate, and whether the winner differs."""
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        structure = model.structure(election, at).value
        if contest:
            one = model.contest(structure.election.id, contest, at)
            answer, views = one, [one.value]
        else:
            answer = model.results(structure.election.id, at)
            views = answer.value
    if as_json:
        out.print_json(data=answer_record(answer, "results", [view_dict(v) for v in views]))
    elif as_csv:
        _write_csv(*_views_csv(views))
    elif not views:
        _say(f"no contests in {structure.election.id} at tree size {answer.tree_size:,}.")
    else:
        if contest:
            out.print(render.contest_view_table(views[0], answer.tree_size))
            re_polls = render.re_polls_table(views[0])
            if re_polls is not None:
                out.print(re_polls)
        else:
            out.print(render.views_table(structure, views, answer.tree_size))
        if not any(v.declared or v.computed.stations_reported for v in views):
            where = f"for {contest}" if contest else f"in {structure.election.id}"
            _say(
                f"no forms or declared results yet {where} at tree size "
                f"{answer.tree_size:,}: nothing is counted."
            )


def _views_csv(views: Sequence[ContestView]) -> tuple[list[str], list[list[Any]]]:
    header = ["contest", "candidate", "name", "side", "declared", "computed", "difference"]
    header += ["status", "stations_reported", "stations_total", "winner_differs"]
    rows = []
    for v in views:
        declared = {s.candidate: s.votes for s in v.declared.result.ranking} if v.declared else {}
        c = v.computed
        for s in c.ranking:
            d = declared.get(s.candidate)
            rows.append(
                [
                    c.contest,
                    s.candidate,
                    s.name,
                    s.affiliation,
                    "" if d is None else d,
                    s.votes,
                    v.differences.get(s.candidate, 0),
                    v.official.status.value,
                    c.stations_reported,
                    c.stations_total,
                    int(v.winner_differs),
                ]
            )
    return header, rows


@app.command()
def standings(
    ctx: typer.Context,
    election: ElectionOpt = None,
    after_joining: Annotated[
        bool, typer.Option(help="Count independents who later joined a party for that party.")
    ] = False,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Seats per assembly: declared winners where declared, else the forms' winners; beside
    them, what the polling-station forms alone would give."""
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        structure = model.structure(election, at).value
        answer = model.standings(structure.election.id, at, after_joining=after_joining)
    if as_json:
        out.print_json(data=standings_document(answer))
    elif not (answer.value.rows or answer.value.by_forms):
        _say(
            f"no seats won or led yet in {structure.election.id} at tree size "
            f"{answer.tree_size:,}: no contest has a declared result or a form with votes."
        )
    else:
        out.print(render.standings_pair_table(structure, answer.value.rows, answer.value.by_forms))


@app.command()
def findings(
    ctx: typer.Context,
    election: ElectionOpt = None,
    contest: Annotated[str | None, typer.Option(help="Only this contest.")] = None,
    min_severity: Annotated[
        str, typer.Option(help="critical, high, medium, low or info.")
    ] = "info",
    show_all: Annotated[
        bool, typer.Option("--all", help="Resolved findings too, with when they were resolved.")
    ] = False,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 1, after printing, if an open finding this severe or worse exists "
            "(critical, high, medium, low or info): for scripts and CI.",
        ),
    ] = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Every discrepancy found: between sources, stations and declared totals; each with
    the tree size and entry that opened it (and, with --all, resolved it)."""
    floor = _severity(min_severity, "--min-severity")
    failing = None if fail_on is None else _severity(fail_on, "--fail-on")
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        structure = model.structure(election, at).value
        answer = model.findings(structure.election.id, contest, at)
    lives = [x for x in answer.value if x.finding.severity.rank <= floor and (show_all or x.open)]
    if as_json:
        out.print_json(data=answer_record(answer, "findings", [life_dict(x) for x in lives]))
    elif as_csv:
        header = ["id", "code", "severity", "contest", "station", "candidate", "opened_size"]
        header += ["opened_by", "resolved_size", "resolved_by", "message"]
        _write_csv(header, [_life_row(x) for x in lives])
    elif not lives:
        _say(_no_findings(answer.value, answer.tree_size, contest, floor, show_all))
    else:
        out.print(render.lives_table(lives))
    if failing is not None:
        severe = [x for x in answer.value if x.open and x.finding.severity.rank <= failing]
        if severe:
            worst = Severity(fail_on)
            err.print(
                f"--fail-on {worst}: {render.counted(len(severe), 'open finding')} {worst} or "
                f"worse at tree size {answer.tree_size:,}",
                markup=False,
                soft_wrap=True,
            )
            raise typer.Exit(ExitCode.REFUSED)


def _severity(text: str, option: str) -> int:
    """The rank of a severity named on the command line (0 is critical)."""
    try:
        return Severity(text).rank
    except ValueError:
        raise typer.BadParameter(
            f"must be one of {', '.join(Severity)}", param_hint=option
        ) from None


def _no_findings(
    every: Sequence[FindingLife], size: int, contest: str | None, floor: int, show_all: bool
) -> str:
    """Why `findings` lists nothing: `no findings open in NA-1 at tree size 12 (2 resolved:
    --all shows them).`"""
    what = "no findings" if show_all else "no findings open"
    if floor < Severity.INFO.rank:
        what += f" {list(Severity)[floor]} or worse"
    where = f" in {contest}" if contest else ""
    sentence = f"{what}{where} at tree size {size:,}"
    below = [x for x in every if (show_all or x.open) and x.finding.severity.rank > floor]
    resolved = [x for x in every if not x.open and x.finding.severity.rank <= floor]
    if below:
        sentence += f" ({len(below):,} less severe: --min-severity info shows them)"
    elif resolved and not show_all:
        sentence += f" ({len(resolved):,} resolved: --all shows them)"
    return sentence + "."


def _life_row(life: FindingLife) -> list[Any]:
    f = life.finding
    return [
        f.id,
        f.code,
        str(f.severity),
        f.contest or "",
        f.station or "",
        f.candidate or "",
        life.opened_size,
        life.opened_by,
        "" if life.resolved_size is None else life.resolved_size,
        "" if life.resolved_by is None else life.resolved_by,
        f.message,
    ]


@app.command()
def forms(
    ctx: typer.Context,
    station: Annotated[str | None, typer.Argument(help="A polling station.")] = None,
    contest: Annotated[str | None, typer.Option(help="Every station of this contest.")] = None,
    election: ElectionOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Every form of a station (or a contest) from every source, side by side: current and
    superseded, with entry ids and leaf indexes, and where each differs from the official."""
    if station is None and contest is None:
        raise typer.BadParameter("name a STATION or give --contest", param_hint="STATION")
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        structure = model.structure(election, at).value
        answer = model.forms(structure.election.id, station=station, contest=contest, as_of=at)
    if as_json:
        out.print_json(data=answer_record(answer, "forms", [form_dict(e) for e in answer.value]))
    elif as_csv:
        header = ["station", "contest", "source", "leaf_index", "form_id", "current"]
        header += ["supersedes", "reason", "rejected", "polled", "votes", "differs"]
        _write_csv(header, [_form_row(e) for e in answer.value])
    elif not answer.value:
        where = (
            (f"station {station}" + (f" in {contest}" if contest else "")) if station else contest
        )
        _say(f"no forms yet for {where} at tree size {answer.tree_size:,}.")
    else:
        title = f"forms of {station or contest} at tree size {answer.tree_size:,}"
        out.print(render.forms_table(answer.value, title))


def _form_row(e: FormEntry) -> list[Any]:
    r = e.record
    votes = ";".join(f"{c}={n}" for c, n in r.votes.items())
    return [
        r.station,
        r.contest,
        r.source,
        r.seq,
        r.form_id,
        int(e.current),
        r.supersedes or "",
        r.reason or "",
        r.rejected,
        r.polled,
        votes,
        ";".join(e.differs_from_official),
    ]


@app.command("ballot-accounts")
def ballot_accounts(
    ctx: typer.Context,
    station: Annotated[str, typer.Argument(help="A polling station.")],
    election: ElectionOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A station's ballot paper accounts (Form 46): received, issued, spoilt and unused,
    current and corrected (findings against its Form 45 are listed by `findings`)."""
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        structure = model.structure(election, at).value
        answer = model.ballot_accounts(structure.election.id, station, as_of=at)
    docs = [account_dict(e) for e in answer.value]
    if as_json:
        out.print_json(data=answer_record(answer, "ballot_accounts", docs))
    elif not docs:
        _say(
            f"no ballot paper account yet for station {station} at tree size {answer.tree_size:,}."
        )
    else:
        out.print(f"ballot paper accounts of {station} at tree size {answer.tree_size:,}")
        for d in docs:
            state = "current" if d["current"] else "corrected"
            out.print(
                f"  {d['contest']} leaf {d['leaf_index']} {d['account_id'][:16]}…: received "
                f"{d['received']:,} = issued {d['issued']:,} + spoilt {d['spoilt']:,} + unused "
                f"{d['unused']:,} ({state})",
                soft_wrap=True,
            )


@app.command()
def history(
    ctx: typer.Context,
    contest: Annotated[str, typer.Argument(help="A contest, e.g. NA-122.")],
    election: ElectionOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every change to a contest's numbers, status and findings, with the entry that caused
    it and when it was logged: "what changed overnight" is `history --as-of` twice."""
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        structure = model.structure(election, at).value
        answer = model.history(structure.election.id, contest, at)
    if as_json:
        out.print_json(
            data=answer_record(answer, "history", [change_dict(c) for c in answer.value])
        )
    elif not answer.value:
        _say(
            f"no changes to {contest} yet at tree size {answer.tree_size:,}: no form, "
            "declaration or status order for it is logged."
        )
    else:
        title = f"{contest}: history to tree size {answer.tree_size:,}"
        out.print(render.history_table(answer.value, title))
