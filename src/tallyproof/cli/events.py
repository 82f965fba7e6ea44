"""`tallyproof event`: sign and record an event in a contest's life (a concession, a
renunciation, a joining, a complaint or petition and its tribunal's moves). The contest's
history (`tallyproof history CONTEST`) shows it among the contest's other changes."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tallyproof.cli.admin import AdminElectionOpt, _admin_submit, _election_id
from tallyproof.cli.common import JsonOpt, KeyOpt, app, read_signer
from tallyproof.domain.events import EVENT_TYPES
from tallyproof.ledger.entries import EntryKind
from tallyproof.service import events
from tallyproof.service.writer import utc_now


@app.command("event")
def event(
    ctx: typer.Context,
    kind: Annotated[
        str,
        typer.Argument(
            metavar="TYPE", help=f"One of: {', '.join(sorted(EVENT_TYPES))}.", show_default=False
        ),
    ],
    contest: Annotated[str, typer.Argument(help="The contest's code, e.g. PS-129.")],
    key: KeyOpt,
    candidate: Annotated[str, typer.Option(help="Who conceded, renounced or joined.")] = "",
    statement: Annotated[str, typer.Option(help="What they said (optional).")] = "",
    url: Annotated[str, typer.Option(help="Where it was said or filed (optional).")] = "",
    party: Annotated[str, typer.Option(help="The party joined (joining).")] = "",
    date: Annotated[str, typer.Option(help="The day it was joined, YYYY-MM-DD.")] = "",
    source: Annotated[str, typer.Option(help="Who files a complaint, e.g. agent:PTI.")] = "",
    summary: Annotated[str, typer.Option(help="What a complaint says.")] = "",
    evidence: Annotated[
        list[str] | None, typer.Option(help="A cited form: its id, or its leaf index.")
    ] = None,
    complaint: Annotated[str, typer.Option(help="The complaint an update moves (its id).")] = "",
    status: Annotated[
        str, typer.Option(help="A complaint's new status: hearing, decided, ...")
    ] = "",
    outcome: Annotated[str, typer.Option(help="A decision's outcome.")] = "",
    election: AdminElectionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an event, signed with --key: the election's admin key for a concession,
    renunciation, joining or a complaint's move; a key covering the contest for a complaint
    or petition. Refusals name the field and the rule (docs/rules.md, "Events")."""
    signer = read_signer(key)
    body: dict[str, Any] = {
        "election": _election_id(ctx, election, signer.public),
        "type": kind,
        "contest": contest,
        "time": utc_now(),
    }
    given = {
        "candidate": candidate,
        "statement": statement,
        "url": url,
        "party": party,
        "date": date,
        "source": source,
        "summary": summary,
        "complaint": complaint,
        "status": status,
        "outcome": outcome,
    }
    body |= {name: value for name, value in given.items() if value}
    if evidence:
        body["evidence"] = [int(e) if e.isdigit() else e for e in evidence]
    _admin_submit(ctx, EntryKind.EVENT, body, signer, events.submit_event, as_json)
