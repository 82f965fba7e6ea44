"""News claims: extract, file and reconcile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from tallyproof import console as render
from tallyproof.cli.common import (
    ElectionOpt,
    ExitCode,
    JsonOpt,
    KeyOpt,
    app,
    fail,
    fail_on,
    open_writer,
    out,
    raw,
    read_signer,
)
from tallyproof.domain.claims import is_published_date
from tallyproof.formats.structure import (
    FileFormatError,
    read_bytes,
)
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.intake import (
    MAX_REPORT_BYTES,
    InputError,
    Unreadable,
    check_value,
    decode,
)
from tallyproof.ledger.keys import Signer
from tallyproof.service import claims as claim_service
from tallyproof.service import queries, submission
from tallyproof.service.writer import LedgerWriter, NotInitialised

claims_app = typer.Typer(
    help="News claims: extract vote, margin, seat and status claims from report text, file "
    "them as a media source, and check them against each other and the official results.",
    no_args_is_help=True,
)
app.add_typer(claims_app, name="claims")

OutletOpt = Annotated[str, typer.Option(help="The outlet (default: the report's `outlet:` line).")]
DateOpt = Annotated[str, typer.Option(help="Publication date (default: the report's own).")]
ReportsArg = Annotated[list[Path], typer.Argument(metavar="FILE...", help="Report text files.")]


def _report_text(path: Path) -> str:
    """A report's text: UTF-8, a byte-order mark dropped, at most one document's size."""
    try:
        text = decode(read_bytes(path, MAX_REPORT_BYTES), str(path))
    except (FileFormatError, InputError) as error:
        raise fail_on(error, str(path)) from None
    if not text.strip():
        raise fail(f"input.empty: {path}: the report holds no text", ExitCode.NOT_READY)
    return text


def _read_reports(
    service: LedgerWriter | None, files: list[Path], outlet: str, date: str, election: str | None
) -> list[tuple[Path, claim_service.ReadClaims]]:
    try:
        check_value([outlet, date, election or ""], "--outlet, --date, --election")
    except InputError as error:
        raise fail_on(error) from None
    if date and not is_published_date(date):
        raise fail(
            f"schema.timestamp: --date {date!r} is not a date (YYYY-MM-DD)", ExitCode.REFUSED
        )
    return [
        (
            path,
            claim_service.read_claims(
                service, _report_text(path), outlet=outlet, published=date, election=election
            ),
        )
        for path in files
    ]


@claims_app.command("extract")
def claims_extract(
    ctx: typer.Context,
    files: ReportsArg,
    outlet: OutletOpt = "",
    date: DateOpt = "",
    election: ElectionOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", "--jsonl", help="JSON Lines: one claim per line.")
    ] = False,
) -> None:
    """Print every claim in the reports, with its sentence and span; linked to the stored
    elections when the home is initialised (nothing is written)."""
    try:
        service: LedgerWriter | None = LedgerWriter.open(ctx.obj)
    except NotInitialised:
        service = None
    try:
        read = _read_reports(service, files, outlet, date, election)
    except queries.UnknownElection as error:
        raise fail_on(error) from None
    finally:
        if service is not None:
            service.close()
    for path, report in read:
        if as_json:
            for c in report.claims:
                line = {"report": str(path), "outlet": report.outlet, **c.document()}
                if c.side:
                    line["side"] = c.side  # "IND (PTI-backed)" for a backed independent
                raw(json.dumps(line, ensure_ascii=False) + "\n")
        else:
            out.print(render.claims_table(str(path), report))


def _claims_envelope(doc: dict[str, Any], signer: Signer) -> object:
    """A report's claims, signed; or refused in its place when the outlet or election given
    on the command line is not text."""
    try:
        check_value(doc)
    except InputError as error:
        return Unreadable((error.problem,))
    return sign(EntryKind.CLAIM, doc, signer).envelope()


@claims_app.command("ingest")
def claims_ingest(
    ctx: typer.Context,
    files: ReportsArg,
    key: KeyOpt,
    outlet: OutletOpt = "",
    date: DateOpt = "",
    election: ElectionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Extract, link and file each report's claims as one entry signed for media:<outlet>,
    then show the claim findings: outlets that disagree, claims the official result
    contradicts. Exits 1 if a report was refused."""
    signer = read_signer(key)
    with open_writer(ctx) as service:
        read = _read_reports(service, files, outlet, date, election)
        envelopes, where = [], []
        for path, report in read:
            try:
                docs = claim_service.report_documents(report, election)
            except claim_service.FilingError as error:
                raise fail_on(error, f"{path} (nothing was filed)") from None
            envelopes += [_claims_envelope(d, signer) for d in docs]
            where += [str(path)] * len(docs)
        outcomes = submission.submit_claim_reports(service, envelopes)
        found = claim_service.findings_after_filing(service, [r for _, r in read], election)
    refused = [o for o in outcomes if not o.accepted]
    if as_json:
        out.print_json(
            data={
                "reports": [{"input": where[o.index], **o.as_dict()} for o in outcomes],
                "findings": [f.as_dict() for f in found],
            }
        )
    else:
        for path, report in read:
            out.print(render.claims_table(str(path), report))
        filed = render.counted(len(outcomes) - len(refused), "report")
        out.print(f"filed {filed}; refused {len(refused)}")
        if refused:
            out.print(render.refusals_table(outcomes, where))
        out.print(render.findings_table(found, limit=40))
    if refused:
        raise typer.Exit(ExitCode.REFUSED)
