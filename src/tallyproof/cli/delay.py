"""`tallyproof delay`: how long after polls closed each contest's forms and declaration arrived,
the slowest contests, and the reporting curves as text (docs/api.md, "Results delay")."""

from __future__ import annotations

from bisect import bisect_right
from typing import Annotated

import typer
from rich.table import Table

from tallyproof.cli.common import ElectionOpt, JsonOpt, app, out
from tallyproof.cli.reading import AsOfOpt, as_of_value, read_model
from tallyproof.domain.delay import ContestDelay, Curve, ElectionDelay, SlowestBy, slowest
from tallyproof.formats.delay import contest_delay_document, delay_document
from tallyproof.service.reading import contest_of

BAR = 40  # characters of a full curve bar
MAX_ROWS = 36  # rows of a curve: hourly, or coarser for a longer night


def span(seconds: float | None) -> str:
    """A duration as hours and minutes ("-" for none yet)."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    minutes = int(abs(seconds) // 60)
    return f"{sign}{minutes // 60}h {minutes % 60:02d}m"


def _finish(took: float | None, value: ElectionDelay) -> str:
    return span(took) if took is not None else f"not yet ({span(value.elapsed)} so far)"


def delay_table(value: ElectionDelay, rows: list[ContestDelay], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("contest", "assembly", "reported"):
        table.add_column(name)
    for name in ("to first form", "to all forms", "to declared"):
        table.add_column(name, justify="right")
    for c in rows:
        table.add_row(
            c.contest + (" (postponed)" if c.postponed else ""),
            c.assembly,
            f"{c.reported:,}/{c.stations:,}",
            span(c.to_first_form),
            _finish(c.to_all_forms, value),
            _finish(c.to_declared, value),
        )
    return table


def curve_lines(curve: Curve, elapsed: float | None) -> list[str]:
    """The curve as text: stations reported by each hour (or each few) after the close."""
    if not curve.points or not curve.stations:
        return [f"{curve.name}: no station has reported"]
    end = max(elapsed or 0.0, curve.points[-1].after_close)
    hours = max(1, int(-(-end // 3600)))
    step = max(1, -(-hours // MAX_ROWS))
    times = [p.after_close for p in curve.points]
    lines = [f"{curve.name}: stations reported, of {curve.stations:,}"]
    for h in range(step, hours + step, step):
        i = bisect_right(times, h * 3600.0)
        reported = curve.points[i - 1].reported if i else 0
        share = reported / curve.stations
        filled = round(share * BAR)
        lines.append(f"  +{h:>3}h {'█' * filled}{'░' * (BAR - filled)} {share:6.1%} {reported:>9,}")
    return lines


@app.command()
def delay(
    ctx: typer.Context,
    election: ElectionOpt = None,
    as_of: AsOfOpt = None,
    contest: Annotated[str | None, typer.Option("--contest", help="One contest's delays.")] = None,
    top: Annotated[
        int, typer.Option("--slowest", min=0, help="How many of the slowest contests to list.")
    ] = 10,
    by: Annotated[
        SlowestBy, typer.Option("--by", help="Rank the slowest by time to all forms or declared.")
    ] = SlowestBy.ALL_FORMS,
    close: Annotated[
        str | None,
        typer.Option(
            "--close",
            help="The close of poll, RFC 3339 with its offset (default 17:00+05:00 on the "
            "election's date).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Results delay: per contest, the time from the close of poll to its first form, to all
    its stations' forms and to its declared result (Form 47); the slowest contests, with
    those not finished ranked by the time so far; and the reporting curves."""
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        answer = model.delay(election, at, close)
        if contest is not None:
            contest_of(model.structure(election, answer.tree_size).value, contest)
    value = answer.value
    if as_json:
        doc = (
            contest_delay_document(answer, contest) if contest else delay_document(answer, top, by)
        )
        out.print_json(data=doc)
        return
    out.print(
        f"Results delay in {value.election} at tree size {answer.tree_size:,}: polls closed "
        f"{value.close}; last entry logged {value.as_of_time or '-'} "
        f"({span(value.elapsed)} after the close).",
        markup=False,
        soft_wrap=True,
    )
    if contest is not None:
        one = value.contest(contest)
        assert one is not None
        out.print(delay_table(value, [one], f"{contest}: times after the close of poll"))
        return
    ranked = slowest(value, top, by)
    by_what = "all forms" if by is SlowestBy.ALL_FORMS else "the declared result"
    out.print(delay_table(value, ranked, f"The {len(ranked)} slowest contests to {by_what}"))
    for curve in (value.national, *value.assemblies):
        out.print("\n".join(curve_lines(curve, value.elapsed)), markup=False, highlight=False)
