"""The `tallyproof` command: set up a home, import an election, submit and declare results,
and read results, standings and findings. Exit codes are mapped in one place (ExitCode)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tallyproof import console as render
from tallyproof.audit.run import audit_bundle
from tallyproof.domain.claims import is_published_date
from tallyproof.domain.findings import Severity
from tallyproof.domain.problems import Rejected
from tallyproof.export.bundle import export_bundle, result_record
from tallyproof.formats.documents import read_documents
from tallyproof.formats.structure import (
    FileFormatError,
    read_bytes,
    read_structure,
    write_structure,
)
from tallyproof.importers.plan import run_plan
from tallyproof.importers.stations import Mapping, MappingError, build_plan
from tallyproof.ledger.entries import EntryKind, EnvelopeError, Signed, read_envelope, sign
from tallyproof.ledger.intake import (
    MAX_REPORT_BYTES,
    InputError,
    Unreadable,
    check_value,
    decode,
    load_json,
)
from tallyproof.ledger.keys import KeyTextError, PublicKey, Signer
from tallyproof.ledger.receipts import Receipt, ReceiptError
from tallyproof.sample.generator import build_sample
from tallyproof.service import admin, queries, submission
from tallyproof.service import claims as claim_service
from tallyproof.service.outcomes import Outcome
from tallyproof.service.settings import Settings
from tallyproof.service.state import StoreInconsistent
from tallyproof.service.writer import LedgerWriter, NotInitialised, utc_now


class ExitCode(IntEnum):
    """What the shell sees. Every refusal also prints the rule's code and message."""

    OK = 0
    REFUSED = 1  # some input broke a rule; that input changed nothing
    USAGE = 2  # the command line itself was wrong (Typer's own code)
    NOT_READY = 3  # no initialised home, unknown election or contest, unreadable file or key
    AUDIT_FAILED = 4  # an audit, or the store itself, found the record inconsistent


app = typer.Typer(
    help="tallyproof: election results from polling-station forms, checked, consolidated, "
    "published and provable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = render.console()
err = render.console(stderr=True)

HomeOpt = Annotated[
    Path | None, typer.Option("--home", envvar="TALLYPROOF_HOME", help="Data directory.")
]
ElectionOpt = Annotated[
    str | None, typer.Option("--election", "-e", help="Election id (default: the only one).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
KeyOpt = Annotated[Path, typer.Option("--key", help="Private key file that signs the documents.")]
AdminKeyOpt = Annotated[Path, typer.Option("--admin-key", help="The election's admin key file.")]


@app.callback()
def _options(
    ctx: typer.Context,
    home: HomeOpt = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            envvar="TALLYPROOF_DATABASE_URL", help="SQLAlchemy URL (default: SQLite in home)."
        ),
    ] = None,
) -> None:
    ctx.obj = Settings.at(home or Path("var/tallyproof"), database_url)


def _raw(text: str) -> None:
    """Signed notes and keys go out byte for byte: no wrapping, no markup."""
    sys.stdout.write(text)
    sys.stdout.flush()


def _fail(message: str, code: ExitCode) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def _service(ctx: typer.Context) -> Iterator[LedgerWriter]:
    """Open the home; map the predictable failures to their exit codes."""
    try:
        service = LedgerWriter.open(ctx.obj)
    except NotInitialised as error:
        raise _fail(str(error), ExitCode.NOT_READY) from None
    try:
        yield service
    except queries.UnknownElection as error:
        raise _fail(str(error), ExitCode.NOT_READY) from None
    except StoreInconsistent as error:
        raise _fail(f"{error}; nothing was written", ExitCode.AUDIT_FAILED) from None
    finally:
        service.close()


def _signer(path: Path) -> Signer:
    try:
        return Signer.from_private_text(path.read_text())
    except (OSError, KeyTextError) as error:
        raise _fail(f"{path}: {error}", ExitCode.NOT_READY) from None


def _report(outcomes: Sequence[Outcome], where: Sequence[str], as_json: bool = False) -> None:
    """Print what was accepted and refused; exit 1 if anything was refused."""
    refused = [o for o in outcomes if not o.accepted]
    if as_json:
        for o in outcomes:
            out.print_json(data={"input": where[o.index], **o.as_dict()})
    else:
        new = sum(1 for o in outcomes if o.accepted and not o.duplicate)
        dup = sum(1 for o in outcomes if o.duplicate)
        out.print(f"accepted {new} new, {dup} already in the ledger; refused {len(refused)}")
        if refused:
            out.print(render.refusals_table(outcomes, where))
    if refused:
        raise typer.Exit(ExitCode.REFUSED)


@app.command()
def init(
    ctx: typer.Context,
    origin: Annotated[
        str, typer.Option(help="The log's name on its checkpoints.")
    ] = "tallyproof.local/log",
) -> None:
    """Create the data directory, the log's signing key and the database schema."""
    settings: Settings = ctx.obj
    settings = Settings(settings.home, settings.database_url, log_origin=origin)
    try:
        service = LedgerWriter.initialise(settings)
    except KeyTextError as error:
        raise _fail(str(error), ExitCode.USAGE) from None
    out.print(f"home {settings.home}\nlog key {service.log_key.vkey}")
    service.close()


@app.command()
def keygen(
    name: Annotated[str, typer.Argument(help="Key name, e.g. pk-ge-2024/po/LHR-001.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the private key.")],
) -> None:
    """Generate an Ed25519 key; prints its id and public key for registration."""
    if out_file.exists():
        raise _fail(f"{out_file} exists; keys are never overwritten", ExitCode.USAGE)
    try:
        signer = Signer.generate(name)
    except KeyTextError as error:
        raise _fail(str(error), ExitCode.USAGE) from None
    out_file.write_text(signer.private_text() + "\n")
    out_file.chmod(0o600)
    out.print(
        f"key id {signer.public.key_id}\npublic key {signer.public.b64}\nvkey {signer.public.vkey}"
    )


@app.command("import-structure")
def import_structure(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="Structure JSON file, or a directory of the CSV set.")
    ],
    admin_key: AdminKeyOpt,
) -> None:
    """Register an election (structure signed by its admin key, which it names)."""
    signer = _signer(admin_key)
    try:
        doc = read_structure(path)
    except FileFormatError as error:
        raise _fail(str(error), ExitCode.NOT_READY) from None
    except Rejected as error:
        _report([Outcome(0, str(EntryKind.STRUCTURE), problems=error.problems)], [str(path)])
        return
    doc.setdefault("admin_key", signer.public.b64)
    with _service(ctx) as service:
        outcome = admin.import_structure(service, sign(EntryKind.STRUCTURE, doc, signer).envelope())
        _report([outcome], [str(path)])


@app.command("export-structure")
def export_structure(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(help="File (json) or directory (csv) to write.")],
    election: ElectionOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
) -> None:
    """Write an election's structure as JSON or as the CSV set it can be imported from."""
    if fmt not in ("json", "csv"):
        raise _fail("--format is json or csv", ExitCode.USAGE)
    with _service(ctx) as service:
        write_structure(queries.structure_of(service, election).document(), target, fmt)
    out.print(f"wrote {target}")


def _admin_submit(
    ctx: typer.Context,
    kind: EntryKind,
    body: dict[str, Any],
    admin_key: Path,
    use_case: Callable[[LedgerWriter, object], Outcome],
) -> None:
    signer = _signer(admin_key)
    try:
        check_value(body)  # built from the command line, which may hold any code point
    except InputError as error:
        _report([Outcome(0, str(kind), problems=(error.problem,))], [str(kind)])
        return
    with _service(ctx) as service:
        outcome = use_case(service, sign(kind, body, signer).envelope())
        _report([outcome], [str(kind)])
        if outcome.accepted:
            out.print(f"{kind} {outcome.entry_id} at leaf {outcome.receipt.leaf_index}")  # type: ignore[union-attr]


def _election_id(ctx: typer.Context, election: str | None) -> str:
    with _service(ctx) as service:
        return queries.structure_of(service, election).election.id


@app.command("register-key")
def register_key(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(help="presiding_officer, returning_officer, agent:P, ...")],
    admin_key: AdminKeyOpt,
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help="Private key to register.")
    ] = None,
    public_key: Annotated[str | None, typer.Option(help="Or: its base64 public key.")] = None,
    name: Annotated[str | None, typer.Option(help="Key name, with --public-key.")] = None,
    station: Annotated[list[str] | None, typer.Option(help="A station it may sign for.")] = None,
    contest: Annotated[list[str] | None, typer.Option(help="A contest it may sign for.")] = None,
    election: ElectionOpt = None,
) -> None:
    """Register a submitter's key for a source and stations or contests (admin-signed)."""
    if key_file is not None:
        key = _signer(key_file).public
        name, public_key = key.name, key.b64
    if not (public_key and name):
        raise _fail("give --key-file, or --public-key with --name", ExitCode.USAGE)
    body: dict[str, Any] = {
        "election": _election_id(ctx, election),
        "key": {"name": name, "public_key": public_key},
        "source": source,
        "time": utc_now(),
    }
    if station:
        body["stations"] = station
    if contest:
        body["contests"] = contest
    _admin_submit(ctx, EntryKind.KEY_REGISTRATION, body, admin_key, admin.register_key)


@app.command("revoke-key")
def revoke_key(
    ctx: typer.Context,
    key_id: str,
    reason: Annotated[str, typer.Option(help="Why the key is revoked.")],
    admin_key: AdminKeyOpt,
    election: ElectionOpt = None,
) -> None:
    """Revoke a key: nothing it signs is accepted from now on."""
    body = {
        "election": _election_id(ctx, election),
        "key_id": key_id,
        "reason": reason,
        "time": utc_now(),
    }
    _admin_submit(ctx, EntryKind.KEY_REVOCATION, body, admin_key, admin.revoke_key)


@app.command()
def status(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Contest code, or station id with --station.")],
    new_status: Annotated[
        str, typer.Argument(metavar="STATUS", help="e.g. postponed, re_poll_ordered")
    ],
    admin_key: AdminKeyOpt,
    reason: Annotated[str, typer.Option(help="Why (required to postpone or suspend).")] = "",
    is_station: Annotated[
        bool, typer.Option("--station", help="TARGET is a polling station.")
    ] = False,
    election: ElectionOpt = None,
) -> None:
    """Order a status change: postpone or suspend a contest, suspend a station, order a re-poll."""
    body = {
        "election": _election_id(ctx, election),
        "scope": "station" if is_station else "contest",
        "target": target,
        "status": new_status,
        "reason": reason,
        "time": utc_now(),
    }
    _admin_submit(ctx, EntryKind.STATUS, body, admin_key, admin.order_status)


def _envelopes(path: Path, kind: EntryKind, key: Path | None) -> tuple[list[object], list[str]]:
    """Read documents; sign the unsigned ones with `key` (signed envelopes pass as they are)."""
    signer = _signer(key) if key else None
    envelopes: list[object] = []
    where: list[str] = []
    try:
        for line, doc in read_documents(path):
            where.append(f"{path.name}:{line}")
            if isinstance(doc, dict) and "signature" in doc:
                envelopes.append(doc)
            elif signer is None:
                envelopes.append({str(kind): doc})  # refused as unsigned, with the rule
            else:
                envelopes.append(
                    sign(kind, doc, signer).envelope() if isinstance(doc, dict) else doc
                )
    except (OSError, FileFormatError) as error:
        raise _fail(str(error), ExitCode.NOT_READY) from None
    return envelopes, where


def _keep_receipts(receipts: Path | None, outcomes: Sequence[Outcome]) -> None:
    """Append a committed batch's receipts and sync them to disk before the next batch, so
    a submitter interrupted mid-file still holds the receipt of everything acknowledged."""
    lines = [json.dumps(o.receipt.as_dict()) + "\n" for o in outcomes if o.receipt is not None]
    if receipts is None or not lines:
        return
    with receipts.open("a", encoding="utf-8") as handle:
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())


def _submit_in_batches(
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
            _keep_receipts(receipts, done)
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
    as_json: JsonOpt = False,
) -> None:
    """Submit result forms (Form 45); each is accepted with a receipt or refused with the rule."""
    envelopes, where = _envelopes(path, EntryKind.FORM, key)
    with _service(ctx) as service:
        outcomes = _submit_in_batches(service, envelopes, batch_size, receipts)
        _report(outcomes, where, as_json)


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
    as_json: JsonOpt = False,
) -> None:
    """Record a declared consolidation (Form 47), e.g. the returning officer's."""
    envelopes, where = _envelopes(path, EntryKind.DECLARATION, key)
    with _service(ctx) as service:
        outcomes = submission.submit_declarations(service, envelopes)
        _keep_receipts(receipts, outcomes)
        _report(outcomes, where, as_json)


@app.command()
def results(
    ctx: typer.Context,
    contest: Annotated[str | None, typer.Argument(help="One contest, e.g. NA-122.")] = None,
    election: ElectionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per contest: winner or leader, runner-up, margin, turnout, stations reported, status."""
    with _service(ctx) as service:
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
    with _service(ctx) as service:
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
        raise _fail(
            f"--min-severity must be one of {', '.join(Severity)}", ExitCode.USAGE
        ) from None
    with _service(ctx) as service:
        found = [
            f for f in queries.findings(service, election, contest) if f.severity.rank <= floor
        ]
    if as_json:
        out.print_json(data=[f.as_dict() for f in found])
    else:
        out.print(render.findings_table(found))


@app.command()
def checkpoint(ctx: typer.Context) -> None:
    """Publish a signed checkpoint (C2SP tlog-checkpoint) of the log as it is now."""
    with _service(ctx) as service:
        _raw(service.publish_checkpoint())


@app.command("log-key")
def log_key(ctx: typer.Context) -> None:
    """Print the log's verifier key (what checkpoints and receipts are checked against)."""
    with _service(ctx) as service:
        _raw(service.log_key.vkey + "\n")


@app.command("export-bundle")
def export_bundle_command(
    ctx: typer.Context, directory: Annotated[Path, typer.Argument(help="Where to write it.")]
) -> None:
    """Write the public bundle: ledger, checkpoints, keys, structure and published results."""
    with _service(ctx) as service:
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
        raise _fail(str(error), ExitCode.NOT_READY) from None
    except (ReceiptError, Rejected, InputError) as error:
        raise _fail(f"{receipts}: {error}", ExitCode.REFUSED) from None
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
        raise _fail(f"key.invalid: --log-key: {error}", ExitCode.NOT_READY) from None
    try:
        receipts = [_receipt(line, doc) for line, doc in read_documents(receipt_file)]
        submitted = _submitted(entry) if entry else None
    except FileFormatError as error:
        raise _fail(str(error), ExitCode.NOT_READY) from None
    except EnvelopeError as error:
        raise _fail(f"{error.code}: --entry: {error}", ExitCode.NOT_READY) from None
    except (ReceiptError, Rejected, InputError) as error:
        raise _fail(f"{receipt_file}: {error}", ExitCode.REFUSED) from None
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
) -> None:
    """Import a station-level election from CSV (or a zipped CSV) through the ordinary ingest
    path: structure, an importer's key, one signed form per station. Exits 1 if the rules
    refused any row (the table names each rule and an example row)."""
    try:
        mapping = Mapping.load(mapping_name)
        with err.status(f"reading {mapping.file['path']}"):
            plan, envelopes, rows, read = build_plan(mapping, data)
    except (OSError, MappingError, KeyError) as error:
        raise _fail(f"{mapping_name}: {error}", ExitCode.NOT_READY) from None
    with _service(ctx) as service:
        try:
            with err.status(f"registering {len(rows):,} stations"):
                run_plan(service, plan)
        except RuntimeError as error:
            raise _fail(str(error), ExitCode.REFUSED) from None
        plan.write_keys(ctx.obj.home / "keys")
        outcomes = _submit_in_batches(service, list(envelopes), batch_size, None)
    out.print(render.import_table(mapping, read, rows, outcomes))
    if any(not o.accepted for o in outcomes):
        raise typer.Exit(ExitCode.REFUSED)


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
    as_json: JsonOpt = False,
) -> None:
    """Station-level forensics: integer percentages, the turnout x share fingerprint and
    fraud model, last digits, extreme and impossible stations. Writes figures and index.html."""
    from tallyproof.export.forensics_report import write_report  # numpy, scipy, matplotlib:
    from tallyproof.service import forensics as forensic_service  # loaded only when asked

    done = []
    with _service(ctx) as service:
        structure = queries.structure_of(service, election)
        codes = contest or [c.code for c in structure.contests if structure.stations_of(c.code)]
        for code in codes:
            with err.status(f"{code}: {replicates:,} replicates"):
                analysis, found = forensic_service.analyse_contest(
                    service, structure.election.id, code, replicates=replicates, seed=seed
                )
            done.append((code, analysis, found))
    page = write_report(report_dir, f"{structure.election.name}: forensics", done)
    found_all = [f for _, _, found in done for f in found]
    if as_json:
        out.print_json(data=[f.as_dict() for f in found_all])
    else:
        out.print(render.findings_table(found_all, limit=40))
        out.print(f"report: {page}")


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
        raise _fail(f"{path}: {error}", ExitCode.NOT_READY) from None
    if not text.strip():
        raise _fail(f"input.empty: {path}: the report holds no text", ExitCode.NOT_READY)
    return text


def _read_reports(
    service: LedgerWriter | None, files: list[Path], outlet: str, date: str, election: str | None
) -> list[tuple[Path, claim_service.ReadClaims]]:
    try:
        check_value([outlet, date, election or ""], "--outlet, --date, --election")
    except InputError as error:
        raise _fail(str(error), ExitCode.REFUSED) from None
    if date and not is_published_date(date):
        raise _fail(
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
    as_jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON claim per line.")] = False,
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
        raise _fail(str(error), ExitCode.NOT_READY) from None
    finally:
        if service is not None:
            service.close()
    for path, report in read:
        if as_jsonl:
            for c in report.claims:
                line = {"report": str(path), "outlet": report.outlet, **c.document()}
                _raw(json.dumps(line, ensure_ascii=False) + "\n")
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
    signer = _signer(key)
    with _service(ctx) as service:
        read = _read_reports(service, files, outlet, date, election)
        envelopes, where = [], []
        for path, report in read:
            try:
                docs = claim_service.report_documents(report, election)
            except claim_service.FilingError as error:
                raise _fail(f"{path}: {error}; nothing was filed", ExitCode.NOT_READY) from None
            envelopes += [_claims_envelope(d, signer) for d in docs]
            where += [str(path)] * len(docs)
        outcomes = submission.submit_claim_reports(service, envelopes)
        eid = election or next((c.election for _, r in read for c in r.claims if c.election), None)
        try:
            found = queries.claim_findings(service, eid)
        except queries.UnknownElection:
            found = []  # nothing linked, and several elections: name one to see findings
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
        out.print(f"filed {len(outcomes) - len(refused)} reports; refused {len(refused)}")
        if refused:
            out.print(render.refusals_table(outcomes, where))
        out.print(render.findings_table(found, limit=40))
    if refused:
        raise typer.Exit(ExitCode.REFUSED)


@app.command()
def demo(
    ctx: typer.Context,
    fresh: Annotated[bool, typer.Option(help="Start from an empty home.")] = True,
) -> None:
    """Load the sample elections (2024 general, 2021-22 KP local government) and print
    their results, seats and findings."""
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
        for eid in sample.elections:
            structure = queries.structure_of(service, eid)
            out.print(render.results_table(structure, queries.results(service, eid)))
            out.print(render.standings_table(structure, queries.standings(service, eid)))
            out.print(render.findings_table(queries.findings(service, eid)))
        out.print(f"\nledger: {service.state.size} entries; checkpoint:\n", end="")
        _raw(service.publish_checkpoint())
        out.print(f"\nhome {settings.home} (sample keys in {settings.home / 'keys'})")
    finally:
        service.close()


def main() -> None:
    app()
