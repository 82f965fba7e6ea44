"""`tallyproof government`: the National Assembly's seats per party before and after
independents join, the reserved seats, the total of 336 and the majority line; with
--what-if, the same had these independents joined these parties."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tallyproof.cli.common import ElectionOpt, JsonOpt, app, out
from tallyproof.cli.reading import AsOfOpt, as_of_value, read_model
from tallyproof.domain.government import Scenario
from tallyproof.formats.government import government_document
from tallyproof.service.government import (
    GovernmentAnswer,
    government_answer,
    parse_parties,
    parse_provinces,
    parse_what_if,
)


@app.command()
def government(
    ctx: typer.Context,
    election: ElectionOpt = None,
    what_if: Annotated[
        list[str] | None,
        typer.Option(
            "--what-if",
            help="CANDIDATE=PARTY, or backed:PARTY=PARTY for every independent that party "
            "backed: a hypothetical joining (repeatable).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="A party denied reserved seats (repeatable)."),
    ] = None,
    min_general_seats: Annotated[
        int,
        typer.Option(min=0, help="General seats a party must win under its own ticket."),
    ] = 0,
    notified: Annotated[
        str | None,
        typer.Option(
            help="The date returned candidates were notified (YYYY-MM-DD): a joining more "
            "than 3 days later gets its party no reserved seats."
        ),
    ] = None,
    province: Annotated[
        list[str] | None,
        typer.Option(
            "--province",
            help="CONTEST=PROVINCE where a seat's province is not the 2024 numbering's "
            "(Punjab, Sindh, Khyber Pakhtunkhwa, Balochistan, Islamabad; repeatable).",
        ),
    ] = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Government arithmetic: seats per party of 336 and the majority line (docs/government.md)."""
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        scenario = Scenario(
            exclude=parse_parties(exclude or ()),
            min_general_seats=min_general_seats,
            notified=notified,
            provinces=parse_provinces(province or ()),
        )
        answer = government_answer(model, election, at, parse_what_if(what_if or ()), scenario)
    if as_json:
        out.print_json(data=government_document(answer))
        return
    out.print(government_table(answer.value, answer.tree_size))
    for line in _allocation_lines(answer.value):
        out.print(line, markup=False, soft_wrap=True)


def government_table(a: GovernmentAnswer, size: int) -> Table:
    """One row a side: general seats as returned and after joinings, reserved, total."""
    g = a.government
    title = f"{a.structure.election.name} — National Assembly at tree size {size:,}"
    table = Table(title=title, title_justify="left")
    table.add_column("party / independents")
    for name in ("returned", "after joining", "of which leading", "women", "non-Muslim", "total"):
        table.add_column(name, justify="right")
    for line in g.lines:
        table.add_row(
            line.side,
            str(line.before),
            str(line.after),
            str(line.leading),
            str(line.women),
            str(line.non_muslim),
            f"[bold]{line.total}[/]" if line.total >= g.majority else str(line.total),
        )
    unallocated = sum(x.unallocated for x in g.allocations)
    table.caption = (
        f"{g.total_seats} seats: {g.general_seats} general ({g.undecided} not yet won or led), "
        f"60 women, 10 non-Muslim; majority {g.majority}; reserved seats unallocated "
        f"{unallocated}"
    )
    return table


def _allocation_lines(a: GovernmentAnswer) -> list[str]:
    lines = []
    for x in a.government.allocations:
        shares = ", ".join(f"{p} {n}" for p, n in x.awarded.items() if n) or "none"
        basis = ", ".join(f"{p} {n}" for p, n in x.basis.items()) or "no counted seat"
        extra = f"; by remainder: {', '.join(x.by_remainder)}" if x.by_remainder else ""
        lines.append(f"{x.pool} ({x.seats}): {shares} — on general seats {basis}{extra}")
    for j, timely in a.government.joinings:
        kind = "what-if" if j in a.hypothetical else "joined"
        when = j.date or "date unknown"
        window = "" if timely else " (after the window: no reserved seats)"
        lines.append(f"{kind}: {j.candidate} ({j.contest}) -> {j.party}, {when}{window}")
    return lines
