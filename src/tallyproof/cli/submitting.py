"""Submitting result forms (Form 45) and declared results (Form 47), with receipts; signing
documents ahead of submission, and keeping the signed envelopes receipts are checked with."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tallyproof.cli.common import (
    JsonOpt,
    app,
    err,
    fail_on,
    open_writer,
    out,
    read_signer,
    report_outcomes,
)
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.formats.documents import read_placed_documents, where_read
from tallyproof.formats.places import CsvRow, locate_outcomes
from tallyproof.formats.structure import (
    FileFormatError,
)
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.intake import Unreadable
from tallyproof.service import submission
from tallyproof.service.outcomes import Outcome
from tallyproof.service.writer import LedgerWriter


def _envelopes(
    path: Path, kind: EntryKind, key: Path | None
) -> tuple[list[object], list[str], list[CsvRow | None]]:
    """Read documents; sign the unsigned ones with `key` (signed envelopes pass as they are).
    With each, where it was read (`forms.csv line 3`) and, from a CSV file, its row, which
    names a refused field by its cell (`forms.csv line 3, column polled`)."""
    signer = read_signer(key) if key else None
    envelopes: list[object] = []
    where: list[str] = []
    rows: list[CsvRow | None] = []
    try:
        for line, doc, row in read_placed_documents(path):
            where.append(where_read(path, line))
            rows.append(row)
            if isinstance(doc, dict) and "signature" in doc:
                envelopes.append(doc)
            elif signer is None:
                envelopes.append({str(kind): doc})  # refused as unsigned, with the rule
            else:
                envelopes.append(
                    sign(kind, doc, signer).envelope() if isinstance(doc, dict) else doc
                )
    except (OSError, FileFormatError) as error:
        raise fail_on(error) from None
    return envelopes, where, rows


WriteSignedOpt = Annotated[
    Path | None,
    typer.Option("--write-signed", help="Append the signed envelopes submitted here (JSON Lines)."),
]


def signed_lines(envelopes: Sequence[object]) -> list[str]:
    """The JSON Lines of the signed envelopes among `envelopes`: what `verify-receipt
    --entry` matches receipts to. Unsigned or unreadable documents are not envelopes."""
    return [json.dumps(e) + "\n" for e in envelopes if isinstance(e, dict) and "signature" in e]


def write_synced(path: Path, lines: Sequence[str], mode: str = "a") -> None:
    """Append (or write) lines and sync them to disk: what a submitter keeps must outlive a
    crash."""
    try:
        with path.open(mode, encoding="utf-8") as handle:
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise fail_on(error) from None


def keep_signed(path: Path | None, envelopes: Sequence[object]) -> None:
    """Keep the envelopes before they are submitted, so every receipt that comes back has
    its envelope on disk already."""
    if path is not None:
        write_synced(path, signed_lines(envelopes))


def keep_receipts(receipts: Path | None, outcomes: Sequence[Outcome]) -> None:
    """Append a committed batch's receipts and sync them to disk before the next batch, so
    a submitter interrupted mid-file still holds the receipt of everything acknowledged."""
    lines = [json.dumps(o.receipt.as_dict()) + "\n" for o in outcomes if o.receipt is not None]
    if receipts is None or not lines:
        return
    write_synced(receipts, lines)


def submit_in_batches(
    service: LedgerWriter, envelopes: list[object], batch_size: int, receipts: Path | None
) -> list[Outcome]:
    """Stream the forms in batches (one transaction each) with a progress bar."""
    outcomes: list[Outcome] = []
    batches = [envelopes[i : i + batch_size] for i in range(0, len(envelopes), batch_size)]
    columns = (TextColumn("forms"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("forms", total=len(envelopes))
        for start, done in zip(
            range(0, len(envelopes), batch_size),
            submission.ingest_forms(service, batches),
            strict=True,
        ):
            keep_receipts(receipts, done)
            outcomes += [replace(o, index=o.index + start) for o in done]
            progress.advance(task, len(done))
    return outcomes


@app.command()
def submit(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Forms: .json, .jsonl or .csv (docs/formats.md).")],
    key: Annotated[Path | None, typer.Option("--key", help="Signs the unsigned forms.")] = None,
    receipts: Annotated[
        Path | None, typer.Option(help="Append receipts here (JSON Lines).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=20000)] = 2000,
    write_signed: WriteSignedOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submit result forms (Form 45); each is accepted with a receipt or refused with the rule."""
    envelopes, where, rows = _envelopes(path, EntryKind.FORM, key)
    keep_signed(write_signed, envelopes)
    with open_writer(ctx) as service:
        outcomes = submit_in_batches(service, envelopes, batch_size, receipts)
        report_outcomes(locate_outcomes(outcomes, rows), where, as_json)


@app.command()
def declare(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Declared results: .json or .jsonl.")],
    key: Annotated[
        Path | None, typer.Option("--key", help="Signs the unsigned declarations.")
    ] = None,
    receipts: Annotated[
        Path | None, typer.Option(help="Append receipts here (JSON Lines).")
    ] = None,
    write_signed: WriteSignedOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a declared consolidation (Form 47), e.g. the returning officer's."""
    envelopes, where, rows = _envelopes(path, EntryKind.DECLARATION, key)
    keep_signed(write_signed, envelopes)
    with open_writer(ctx) as service:
        outcomes = submission.submit_declarations(service, envelopes)
        keep_receipts(receipts, outcomes)
        report_outcomes(locate_outcomes(outcomes, rows), where, as_json)


@app.command("submit-account")
def submit_account(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Ballot paper accounts: .json or .jsonl.")],
    key: Annotated[Path | None, typer.Option("--key", help="Signs the unsigned accounts.")] = None,
    receipts: Annotated[
        Path | None, typer.Option(help="Append receipts here (JSON Lines).")
    ] = None,
    write_signed: WriteSignedOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Submit ballot paper accounts (Form 46), signed by the station's presiding officer."""
    envelopes, where, rows = _envelopes(path, EntryKind.BALLOT_ACCOUNT, key)
    keep_signed(write_signed, envelopes)
    with open_writer(ctx) as service:
        outcomes = submission.submit_ballot_accounts(service, envelopes)
        keep_receipts(receipts, outcomes)
        report_outcomes(locate_outcomes(outcomes, rows), where, as_json)


@app.command("sign")
def sign_command(
    path: Annotated[Path, typer.Argument(help="Documents: .json, .jsonl or .csv.")],
    key: Annotated[Path, typer.Option("--key", help="Private key file that signs them.")],
    kind: Annotated[EntryKind, typer.Option("--kind", help="What the documents are.")],
    out_path: Annotated[
        Path, typer.Option("--out", help="Write the signed envelopes here (JSON Lines).")
    ],
) -> None:
    """Sign documents exactly as `submit --key` would (envelopes already signed pass as they
    are), to submit later and to check receipts against with `verify-receipt --entry`."""
    envelopes, where, _ = _envelopes(path, kind, key)
    for envelope, place in zip(envelopes, where, strict=True):
        _check_signable(envelope, place)
    lines = signed_lines(envelopes)
    write_synced(out_path, lines, "w")
    out.print(f"signed {len(lines)} documents into {escape(str(out_path))}", soft_wrap=True)


def _check_signable(envelope: object, where: str) -> None:
    """A document that is not a JSON object has no envelope: refuse the file with the rule
    (submit would refuse it the same way) rather than leave a document out."""
    if isinstance(envelope, Unreadable):
        raise fail_on(Rejected(envelope.problems), where)
    if not isinstance(envelope, dict):
        problem = Problem("schema.type", "$", "a submission must be a JSON object")
        raise fail_on(Rejected([problem]), where)
