"""Publishing: the public read side as static files (`publish DIR`) for a CDN or an object
store to serve without the database; docs/static.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tallyproof.cli.common import JsonOpt, app, err, known_errors, out
from tallyproof.cli.reading import AsOfOpt, as_of_value, read_model
from tallyproof.export.static import PublishReport, publish
from tallyproof.ledger.keys import Signer
from tallyproof.service.settings import Settings
from tallyproof.service.witnessing import read_policy


@app.command("publish")
def publish_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="The directory to publish into.")],
    as_of: AsOfOpt = None,
    history: Annotated[
        bool,
        typer.Option(help="Each contest's history too (a replay of each contest that changed)."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write the read side at the newest checkpoint (or --as-of) into DIR: every answer of
    the API as a file written once, the heads naming the current ones, and the log as
    tlog-tiles. A re-run writes only what changed; it never moves the heads back."""
    at = as_of_value(as_of)
    log_key = _log_key(ctx.obj)
    with read_model(ctx) as model, _progress() as progress:
        tasks: dict[str, int] = {}

        def advance(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(what, total=total)
            progress.update(tasks[what], completed=done, total=total)

        with known_errors("witnesses.json"):
            witnesses = read_policy(ctx.obj)
        report = publish(
            model,
            directory,
            at,
            log_key=log_key,
            history=history,
            progress=advance,
            witnesses=witnesses,
        )
    if as_json:
        out.print_json(data=report.as_dict() | {"directory": str(directory)})
    else:
        out.print(_summary(report, directory))


def _progress() -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    return Progress(*columns, TimeElapsedColumn(), console=err, transient=True)


def _log_key(settings: Settings) -> str | None:
    """The log's verifier key, for index.json to name, when this home holds the log key."""
    if not settings.log_key_path.exists():
        return None
    with known_errors(str(settings.log_key_path)):
        return Signer.from_private_text(settings.log_key_path.read_text()).public.vkey


def _summary(report: PublishReport, directory: Path) -> str:
    if report.note:
        return f"{directory}: nothing written: {report.note}"
    return (
        f"{directory}: tree size {report.tree_size:,} (was {report.previous:,}): "
        f"{report.written:,} files written ({report.bytes:,} bytes), "
        f"{report.unchanged:,} unchanged; {report.contests:,} contests and "
        f"{report.stations:,} stations asked again; {report.seconds:.2f} s"
    )
