"""Setting up: a home, keys, an election's structure, key registrations and status orders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from tallyproof.cli.common import (
    AdminKeyOpt,
    ElectionOpt,
    ExitCode,
    JsonOpt,
    app,
    fail,
    fail_on,
    open_writer,
    out,
    read_signer,
    report_outcomes,
)
from tallyproof.domain.problems import Rejected
from tallyproof.formats.places import locate_outcomes
from tallyproof.formats.structure import (
    FileFormatError,
    read_structure_places,
    write_structure,
)
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.intake import (
    InputError,
    check_value,
)
from tallyproof.ledger.keys import KeyTextError, PublicKey, Signer
from tallyproof.service import admin, queries
from tallyproof.service.outcomes import Outcome
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter, utc_now

AdminElectionOpt = Annotated[
    str | None,
    typer.Option(
        "--election",
        "-e",
        help="Election id (default: the only one, or the one whose admin key --admin-key is).",
    ),
]


def _facts(facts: dict[str, str], as_json: bool) -> None:
    """Print named values: one JSON object, or `name value` lines (unwrapped, no markup)."""
    if as_json:
        out.print_json(data=facts)
        return
    for name, value in facts.items():
        out.print(f"{name.replace('_', ' ')} {value}", markup=False, soft_wrap=True)


@app.command()
def init(
    ctx: typer.Context,
    origin: Annotated[
        str, typer.Option(help="The log's name on its checkpoints.")
    ] = "tallyproof.local/log",
    as_json: JsonOpt = False,
) -> None:
    """Create the data directory, the log's signing key and the database schema."""
    settings: Settings = ctx.obj
    settings = Settings(settings.home, settings.database_url, log_origin=origin)
    try:
        service = LedgerWriter.initialise(settings)
    except KeyTextError as error:
        raise typer.BadParameter(str(error), param_hint="--origin") from None
    _facts({"home": str(settings.home), "log_key": service.log_key.vkey}, as_json)
    service.close()


@app.command()
def keygen(
    name: Annotated[str, typer.Argument(help="Key name, e.g. pk-ge-2024/po/LHR-001.")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the private key.")],
    as_json: JsonOpt = False,
) -> None:
    """Generate an Ed25519 key; prints its key id (the one id receipts, keys.json, the
    audit and every refusal name it by) and its public key, for registration."""
    if out_file.exists():
        raise typer.BadParameter(
            f"{out_file} exists; keys are never overwritten", param_hint="--out"
        )
    try:
        signer = Signer.generate(name)
    except KeyTextError as error:
        raise typer.BadParameter(str(error), param_hint="NAME") from None
    out_file.write_text(signer.private_text() + "\n")
    out_file.chmod(0o600)
    key = signer.public
    facts = {"key_id": key.key_id, "public_key": key.b64}
    if as_json:
        # `vkey` stays for scripts written against it; a signer key needs none (a vkey is how
        # a log's or witness's key is given to verifiers), so the text output leaves it out:
        # its middle part is the signed-note key hash, which would read as a second id.
        facts["vkey"] = key.vkey
    _facts(facts, as_json)


@app.command("import-structure")
def import_structure(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="Structure JSON file, or a directory of the CSV set.")
    ],
    admin_key: AdminKeyOpt,
    as_json: JsonOpt = False,
) -> None:
    """Register an election (structure signed by its admin key, which it names)."""
    signer = read_signer(admin_key)
    try:
        doc, places = read_structure_places(path)
    except FileFormatError as error:
        raise fail_on(error) from None
    except Rejected as error:
        report_outcomes(
            [Outcome(0, str(EntryKind.STRUCTURE), problems=error.problems)], [str(path)], as_json
        )
        return
    doc.setdefault("admin_key", signer.public.b64)
    with open_writer(ctx) as service:
        outcome = admin.import_structure(service, sign(EntryKind.STRUCTURE, doc, signer).envelope())
        # a CSV set's problems named by their cells (candidates.csv line 3, column party)
        report_outcomes(locate_outcomes([outcome], [places]), [str(path)], as_json)


@app.command("export-structure")
def export_structure(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(help="File (json) or directory (csv) to write.")],
    election: ElectionOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv")] = "json",
    as_json: JsonOpt = False,
) -> None:
    """Write an election's structure as JSON or as the CSV set it can be imported from."""
    if fmt not in ("json", "csv"):
        raise fail("--format is json or csv", ExitCode.USAGE)
    with open_writer(ctx) as service:
        structure = queries.structure_of(service, election)
        write_structure(structure.document(), target, fmt)
    if as_json:
        out.print_json(data={"election": structure.election.id, "path": str(target), "format": fmt})
    else:
        out.print(f"wrote {target}", markup=False, soft_wrap=True)


def _admin_submit(
    ctx: typer.Context,
    kind: EntryKind,
    body: dict[str, Any],
    signer: Signer,
    use_case: Callable[[LedgerWriter, object], Outcome],
    as_json: bool,
    extra: dict[str, Any] | None = None,
    done: str = "",
) -> None:
    """Sign an admin document, submit it and report its outcome; `extra` joins its JSON
    document, `done` is printed once it is accepted."""
    try:
        check_value(body)  # built from the command line, which may hold any code point
    except InputError as error:
        outcome = Outcome(0, str(kind), problems=(error.problem,))
        report_outcomes([outcome], [str(kind)], as_json, extra)
        return
    with open_writer(ctx) as service:
        outcome = use_case(service, sign(kind, body, signer).envelope())
        report_outcomes([outcome], [str(kind)], as_json, extra)
        if outcome.accepted and not as_json:
            out.print(f"{kind} {outcome.entry_id} at leaf {outcome.receipt.leaf_index}")  # type: ignore[union-attr]
            if done:
                out.print(done, markup=False, soft_wrap=True)


def _election_id(ctx: typer.Context, election: str | None, admin_public: PublicKey) -> str:
    """The named election, the only one, or the one `admin_public` is the admin key of."""
    with open_writer(ctx) as service:
        return admin.election_for_admin(service, election, admin_public)


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
    election: AdminElectionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a submitter's key for a source and stations or contests (admin-signed)."""
    if key_file is not None:
        key = read_signer(key_file).public
        name, public_key = key.name, key.b64
    if not (public_key and name):
        raise fail("give --key-file, or --public-key with --name", ExitCode.USAGE)
    signer = read_signer(admin_key)
    body: dict[str, Any] = {
        "election": _election_id(ctx, election, signer.public),
        "key": {"name": name, "public_key": public_key},
        "source": source,
        "time": utc_now(),
    }
    if station:
        body["stations"] = station
    if contest:
        body["contests"] = contest
    registered = _registered(name, public_key, body)
    _admin_submit(
        ctx,
        EntryKind.KEY_REGISTRATION,
        body,
        signer,
        admin.register_key,
        as_json,
        {"key": registered},
        _registered_line(registered),
    )


def _registered(name: str, public_key: str, body: dict[str, Any]) -> dict[str, Any]:
    """What a registration registers: the key id (None for a public key that cannot be
    read, which the registration is refused for), the source and the scope."""
    try:
        key_id: str | None = PublicKey.from_b64(name, public_key).key_id
    except KeyTextError:
        key_id = None
    return {
        "key_id": key_id,
        "name": name,
        "election": body["election"],
        "source": body["source"],
        "stations": body.get("stations"),
        "contests": body.get("contests"),
    }


def _registered_line(key: dict[str, Any]) -> str:
    """`registered key 1ad7e518d784372e (po/S1) for presiding_officer: stations S1`."""
    scope = []
    if key["stations"]:
        scope.append("stations " + ", ".join(key["stations"]))
    if key["contests"]:
        scope.append("contests " + ", ".join(key["contests"]))
    where = "; ".join(scope) or f"every station and contest of {key['election']}"
    return f"registered key {key['key_id']} ({key['name']}) for {key['source']}: {where}"


@app.command("revoke-key")
def revoke_key(
    ctx: typer.Context,
    key_id: str,
    reason: Annotated[str, typer.Option(help="Why the key is revoked.")],
    admin_key: AdminKeyOpt,
    election: AdminElectionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke a key: nothing it signs is accepted from now on."""
    signer = read_signer(admin_key)
    body = {
        "election": _election_id(ctx, election, signer.public),
        "key_id": key_id,
        "reason": reason,
        "time": utc_now(),
    }
    _admin_submit(ctx, EntryKind.KEY_REVOCATION, body, signer, admin.revoke_key, as_json)


@app.command()
def status(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="Contest code, or station id with --station.")],
    new_status: Annotated[
        str, typer.Argument(metavar="STATUS", help="e.g. final, postponed, re_poll_ordered")
    ],
    admin_key: AdminKeyOpt,
    reason: Annotated[str, typer.Option(help="Why (required to postpone or suspend).")] = "",
    is_station: Annotated[
        bool, typer.Option("--station", help="TARGET is a polling station.")
    ] = False,
    election: AdminElectionOpt = None,
    re_poll_date: Annotated[
        str | None,
        typer.Option(help="The re-poll's day (YYYY-MM-DD), for a station's re-poll order."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Order a status change: postpone or suspend a contest, suspend a station, order a
    re-poll, or declare a contest's result final. A move the status state machine does not
    allow (docs/rules.md) is refused as status.illegal_transition."""
    signer = read_signer(admin_key)
    body = {
        "election": _election_id(ctx, election, signer.public),
        "scope": "station" if is_station else "contest",
        "target": target,
        "status": new_status,
        "reason": reason,
        "time": utc_now(),
    }
    if re_poll_date is not None:
        body["re_poll_date"] = re_poll_date
    _admin_submit(ctx, EntryKind.STATUS, body, signer, admin.order_status, as_json)
