"""Proofs: checkpoints, the log key, the public bundle, the audit and receipts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from tallyproof import console as render
from tallyproof.audit.run import audit_bundle
from tallyproof.cli.common import (
    ExitCode,
    JsonOpt,
    app,
    err,
    fail_on,
    open_writer,
    out,
    raw,
)
from tallyproof.domain.problems import Rejected
from tallyproof.export.bundle import export_bundle
from tallyproof.formats.documents import read_documents
from tallyproof.formats.structure import (
    FileFormatError,
    read_bytes,
)
from tallyproof.ledger.entries import EntryKind, EnvelopeError, Signed, read_envelope
from tallyproof.ledger.intake import (
    InputError,
    Unreadable,
    decode,
    load_json,
)
from tallyproof.ledger.keys import KeyTextError, PublicKey
from tallyproof.ledger.receipts import Receipt, ReceiptError


@app.command()
def checkpoint(ctx: typer.Context) -> None:
    """Publish a signed checkpoint (C2SP tlog-checkpoint) of the log as it is now."""
    with open_writer(ctx) as service:
        raw(service.publish_checkpoint())


@app.command("log-key")
def log_key(ctx: typer.Context) -> None:
    """Print the log's verifier key (what checkpoints and receipts are checked against)."""
    with open_writer(ctx) as service:
        raw(service.log_key.vkey + "\n")


@app.command("export-bundle")
def export_bundle_command(
    ctx: typer.Context, directory: Annotated[Path, typer.Argument(help="Where to write it.")]
) -> None:
    """Write the public bundle: ledger, checkpoints, keys, structure and published results."""
    with open_writer(ctx) as service:
        manifest = export_bundle(service, directory)
    out.print(f"bundle {directory}: {manifest['tree_size']} entries, root {manifest['root']}")


@app.command()
def audit(
    directory: Annotated[Path, typer.Argument(help="A bundle written by export-bundle.")],
    report: Annotated[Path | None, typer.Option(help="Write the full report here (JSON).")] = None,
    workers: Annotated[int, typer.Option(help="Processes for signatures (0: one per core).")] = 0,
    receipts: Annotated[
        Path | None,
        typer.Option(help="Receipts (JSON Lines) the bundle must hold the entries of."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-verify a bundle from scratch: every signature, every rule, the Merkle root, every
    checkpoint and its consistency, and every published result; with --receipts, that the
    log kept everything it acknowledged. Exit 4 names what is wrong."""
    try:
        held = [_receipt(n, doc) for n, doc in read_documents(receipts)] if receipts else []
    except (FileFormatError, OSError) as error:
        raise fail_on(error) from None
    except (ReceiptError, Rejected, InputError) as error:
        raise fail_on(error, str(receipts)) from None
    with err.status("auditing"):
        result = audit_bundle(directory, workers, held)
    if report is not None:
        report.write_text(json.dumps(result.as_dict(), indent=1) + "\n")
    if as_json:
        out.print_json(data=result.as_dict())
    else:
        out.print(render.audit_table(result))
    if not result.ok:
        raise typer.Exit(ExitCode.AUDIT_FAILED)


@app.command("verify-receipt")
def verify_receipt(
    receipt_file: Annotated[
        Path, typer.Argument(help="A receipt (JSON) or receipts (JSON Lines).")
    ],
    log_key_text: Annotated[
        str, typer.Option("--log-key", help="The log's vkey, or a file holding it.")
    ],
    entry: Annotated[
        Path | None, typer.Option(help="The signed document as submitted (JSON envelope).")
    ] = None,
) -> None:
    """Check receipts offline: the log's checkpoint signature and the inclusion proof, and
    with --entry, that the receipt is for exactly that signed document."""
    try:
        key = PublicKey.from_vkey(_vkey_text(log_key_text))
    except KeyTextError as error:
        raise fail_on(error, "--log-key") from None
    try:
        receipts = [_receipt(line, doc) for line, doc in read_documents(receipt_file)]
        submitted = _submitted(entry) if entry else None
    except FileFormatError as error:
        raise fail_on(error) from None
    except EnvelopeError as error:
        raise fail_on(error, "--entry") from None
    except (ReceiptError, Rejected, InputError) as error:
        raise fail_on(error, str(receipt_file)) from None
    failed = 0
    for receipt in receipts:
        try:
            checkpoint = receipt.verify(key, submitted)
            out.print(
                f"ok: {receipt.kind} {receipt.entry_id} is leaf {receipt.leaf_index} of "
                f"{checkpoint.origin} at size {checkpoint.size}, received {receipt.received_at}"
            )
        except ReceiptError as error:
            failed += 1
            out.print(
                f"[red]FAILED[/]: receipt.invalid: {receipt.kind} {receipt.entry_id}: {error}"
            )
    if failed:
        raise typer.Exit(ExitCode.REFUSED)


def _vkey_text(given: str) -> str:
    """The --log-key value, or the text of the file it names."""
    path = Path(given)
    try:
        is_file = len(given) < 4096 and path.is_file()
    except OSError:
        is_file = False
    if not is_file:
        return given
    try:
        return decode(read_bytes(path, 4096)).strip()
    except (InputError, FileFormatError) as error:
        raise KeyTextError(f"{path}: {error}") from None


def _receipt(line: int, doc: object) -> Receipt:
    if isinstance(doc, Unreadable):
        raise Rejected(doc.problems)
    try:
        return Receipt.from_dict(doc)  # type: ignore[arg-type]
    except ReceiptError as error:
        raise ReceiptError(f"receipt.malformed at line {line}: {error}") from None


def _submitted(path: Path) -> Signed:
    doc = load_json(read_bytes(path))
    if not isinstance(doc, dict):
        raise EnvelopeError("schema.type", "$", f"{path}: not a signed envelope")
    kind = next((k for k in EntryKind if str(k) in doc), None)
    if kind is None:
        raise EnvelopeError("schema.missing", "$", f"{path}: not a signed envelope")
    return read_envelope(doc, kind)
