"""The field client's commands (`tallyproof field ...`): set up a device's outbox, sign forms
into it offline, send them when the network returns, and show or hand over what it holds."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tallyproof.cli.common import (
    ExitCode,
    JsonOpt,
    app,
    err,
    fail,
    fail_on,
    known_errors,
    out,
    raw,
    read_signer,
)
from tallyproof.cli.proofs import log_key_from, policy_from
from tallyproof.cli.submitting import write_synced
from tallyproof.client.outbox import (
    UNSETTLED,
    Kept,
    Outbox,
    OutboxError,
    State,
    iso,
    signed_form,
)
from tallyproof.client.sync import (
    LogCheck,
    Missed,
    ProgressHook,
    RetryPolicy,
    Sync,
    SyncOptions,
    SyncReport,
    check_log,
    http_client,
    server_policy,
    witnessed_receipts,
)
from tallyproof.domain.problems import Rejected
from tallyproof.errors import classify
from tallyproof.formats.documents import read_placed_documents, where_read
from tallyproof.formats.structure import FileFormatError
from tallyproof.ledger.entries import Signed
from tallyproof.ledger.keys import Signer

field_app = typer.Typer(
    help="The offline field client: sign forms into a durable outbox while the network is "
    "down, send them when it returns, keep every verified receipt (docs/field.md).",
    no_args_is_help=True,
)
app.add_typer(field_app, name="field")

DirOpt = Annotated[
    Path,
    typer.Option(
        "--dir", envvar="TALLYPROOF_FIELD_DIR", help="The device's directory (field init)."
    ),
]
DEFAULT_DIR = Path("var/field")
SHOWN = 20  # forms listed by name in the text of `status` and `sync`


@contextmanager
def _outbox(directory: Path) -> Iterator[Outbox]:
    with known_errors():
        outbox = Outbox.open(directory)
    try:
        with known_errors():
            yield outbox
    finally:
        outbox.close()


@field_app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="Where the device keeps its outbox.")],
    server: Annotated[str, typer.Option(help="The log's address, e.g. https://results.example")],
    log_key_text: Annotated[
        str,
        typer.Option("--log-key", help="The log's vkey as the commission published it, or a file."),
    ],
    key: Annotated[Path, typer.Option("--key", help="This device's private key file.")],
) -> None:
    """Set up a device: its outbox, the log's key (what every receipt is checked against,
    never taken from the server) and the device's own signing key."""
    address = _server_address(server)
    log_key = log_key_from(log_key_text)
    signer = read_signer(key)
    with known_errors():
        Outbox.create(directory, address, log_key, signer, key.resolve()).close()
    out.print(
        escape(
            f"outbox {directory}: device key {signer.name} ({signer.public.key_id}), "
            f"log {log_key.name}, server {address}"
        ),
        soft_wrap=True,
    )


def _server_address(server: str) -> str:
    try:
        url = httpx.URL(server)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise typer.BadParameter("give an http:// or https:// address", param_hint="--server")
    return server.rstrip("/")


@field_app.command("sign")
def sign_forms(
    path: Annotated[Path, typer.Argument(help="Forms: .json, .jsonl or .csv (docs/formats.md).")],
    directory: DirOpt = DEFAULT_DIR,
    key: Annotated[
        Path | None, typer.Option("--key", help="The device's key file (default: as at init).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sign forms with the device's key into the outbox, on disk before this returns; no
    network needed. A file with a malformed form adds nothing (exit 1, every line named)."""
    with _outbox(directory) as outbox:
        signer = _device_signer(outbox, key)
        places, forms = _read_forms(path, signer)
        added = outbox.add(forms, time.time())
        left = sum(outbox.counts()[s] for s in UNSETTLED)
    if as_json:
        rows = [_signed_row(w, s, new) for w, s, new in zip(places, forms, added, strict=True)]
        out.print_json(data={"signed": rows, "to_send": left})
        return
    new = sum(added)
    out.print(
        f"signed {new} forms into the outbox ({len(forms) - new} were there already); "
        f"{left} to send"
    )


def _device_signer(outbox: Outbox, key: Path | None) -> Signer:
    """The device's key; another key would mix devices in one outbox."""
    device = outbox.device()
    signer = read_signer(key or Path(device.key_file))
    if signer.public != device.key:
        error = OutboxError(
            f"key {signer.public.key_id} is not this device's ({device.key.key_id})", "outbox.key"
        )
        raise fail_on(error)
    return signer


def _read_forms(path: Path, signer: Signer) -> tuple[list[str], list[Signed]]:
    """Every document of the file, read and signed; every one refused is printed, and then
    nothing is kept."""
    places: list[str] = []
    forms: list[Signed] = []
    refused = 0
    try:
        for line, doc, row in read_placed_documents(path):
            place = where_read(path, line)
            try:
                forms.append(signed_form(doc, signer))
                places.append(place)
            except Rejected as error:  # a CSV's problems named by their cells
                refused += 1
                problems = row.locate_all(error.problems) if row else error.problems
                message = classify(Rejected(problems)).message
                err.print(f"[red]refused[/]: {escape(place)}: {escape(message)}", soft_wrap=True)
    except (OSError, FileFormatError) as error:
        raise fail_on(error) from None
    if refused:
        err.print(f"{refused} forms refused; nothing was added to the outbox")
        raise typer.Exit(ExitCode.REFUSED)
    return places, forms


def _signed_row(place: str, signed: Signed, new: bool) -> dict[str, Any]:
    body = signed.body
    return {
        "input": place,
        "id": signed.body_id,
        "station": body.get("station"),
        "contest": body.get("contest"),
        "new": new,
    }


@field_app.command("sync")
def sync(
    directory: DirOpt = DEFAULT_DIR,
    once: Annotated[
        bool,
        typer.Option(
            "--once/--until-empty",
            help="One pass over the forms due, stopping at the first miss; or keep going "
            "(backing off) until every form is settled.",
        ),
    ] = False,
    max_wait: Annotated[
        float | None, typer.Option(min=0, help="Give up after this many seconds.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=2000, help="Forms a request.")] = 500,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds a request may take.")] = 60.0,
    retry_base: Annotated[
        float, typer.Option(min=0, help="Backoff: the first wait's ceiling, seconds.")
    ] = 1.0,
    retry_cap: Annotated[float, typer.Option(min=0, help="Backoff: the longest wait.")] = 120.0,
    now: Annotated[
        bool, typer.Option("--now", help="Ignore waits kept from earlier runs: send at once.")
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Then ask the log to prove its newest tree extends every receipt's.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send the outbox: accepted forms keep their verified receipts, refused ones their
    rules; the rest wait for the next try. Exit 0 all settled; 1 a form refused or a receipt
    or proof that does not check out; 3 forms still to send."""
    policy = RetryPolicy(retry_base, retry_cap)
    options = SyncOptions(batch_size, once, max_wait, timeout, policy)
    with _outbox(directory) as outbox:
        if now:
            outbox.retry_now()
        before = {k.entry_id for k in outbox.forms(State.REFUSED)}
        with http_client(outbox.device().server, timeout) as http:
            report = _run(outbox, http, options)
            log = check_log(outbox, http) if check else None
        refused = [k for k in outbox.forms(State.REFUSED) if k.entry_id not in before]
        left = outbox.forms(*UNSETTLED)
    _show_sync(report, refused, left, log, as_json)
    raise typer.Exit(_sync_exit(report, log))


def _run(outbox: Outbox, http: httpx.Client, options: SyncOptions) -> SyncReport:
    """One run, with progress on stderr; Ctrl-C stops it safely (a form in flight is sent
    again next time, and the log answers with its original receipt)."""
    total = sum(outbox.counts()[s] for s in UNSETTLED)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as progress:
        task = progress.add_task("forms", total=total)
        run = Sync(outbox, http, options, progress=_advance(progress, task))
        try:
            return run.run()
        except KeyboardInterrupt:
            run.report.stopped = "stopped by the operator"
            run.report.remaining = sum(outbox.counts()[s] for s in UNSETTLED)
            return run.report


def _advance(progress: Progress, task: Any) -> ProgressHook:
    def show(report: SyncReport, message: str) -> None:
        progress.update(task, completed=report.settled, description=escape(message))

    return show


def _sync_exit(report: SyncReport, log: LogCheck | None) -> ExitCode:
    if report.refused or report.unverified or (log is not None and log.problems):
        return ExitCode.REFUSED
    if report.remaining or report.stopped or (log is not None and log.unreachable):
        return ExitCode.NOT_READY
    return ExitCode.OK


def _show_sync(
    report: SyncReport,
    refused: Sequence[Kept],
    left: Sequence[Kept],
    log: LogCheck | None,
    as_json: bool,
) -> None:
    if as_json:
        doc: dict[str, Any] = {**asdict(report), "refused_forms": [_form_row(k) for k in refused]}
        doc["unverified"] = [{"id": i, "error": e} for i, e in report.unverified]
        if log is not None:
            doc["check"] = _check_doc(log)
        out.print_json(data=doc)
        return
    out.print(
        f"accepted {report.accepted} new, {report.duplicates} already in the log (their "
        f"original receipts); refused {report.refused}; {report.remaining} still to send "
        f"({report.requests} requests, {report.misses} unanswered)",
        soft_wrap=True,
    )
    for entry_id, error in report.unverified:
        out.print(f"[red]FAILED[/]: receipt of {entry_id}: {escape(error)}", soft_wrap=True)
    _show_refused(refused)
    _show_waiting(left)
    if report.stopped:
        out.print(f"stopped: {escape(report.stopped)}", soft_wrap=True)
    if log is not None:
        _show_check(log)


def _show_check(log: LogCheck) -> None:
    if log.unreachable:
        out.print(f"log not checked: {escape(log.unreachable)}", soft_wrap=True)
    for code, message in log.problems:
        out.print(f"[red]FAILED[/]: {code}: {escape(message)}", soft_wrap=True)
    if log.latest is not None and not log.problems and not log.unreachable:
        out.print(
            f"ok: {log.receipts} receipts ({log.sizes} tree sizes) are in the log's newest "
            f"tree, of size {log.latest.size}"
        )


def _check_doc(log: LogCheck) -> dict[str, Any]:
    return {
        "latest_size": log.latest.size if log.latest else None,
        "receipts": log.receipts,
        "sizes": log.sizes,
        "problems": [{"code": c, "message": m} for c, m in log.problems],
        "unreachable": log.unreachable or None,
    }


@field_app.command("status")
def status(directory: DirOpt = DEFAULT_DIR, as_json: JsonOpt = False) -> None:
    """What the outbox holds: counts by state, every refused form with the rule it broke,
    the forms still to send with their last error, and when the next try is."""
    with _outbox(directory) as outbox:
        device = outbox.device()
        counts = outbox.counts()
        forms = outbox.forms()
    waiting = iso(device.retry_at) if device.retry_at > time.time() else None
    if as_json:
        doc = {
            "directory": str(directory),
            "server": device.server,
            "log": device.log_key.name,
            "device_key": {"name": device.key.name, "key_id": device.key.key_id},
            "counts": {str(s): n for s, n in counts.items()},
            "misses": device.failures,
            "next_try": waiting,
            "forms": [_form_row(k) for k in forms],
        }
        out.print_json(data=doc)
        return
    out.print(
        escape(
            f"outbox {directory}: device key {device.key.name} ({device.key.key_id}); "
            f"log {device.log_key.name} at {device.server}"
        ),
        soft_wrap=True,
    )
    out.print(" · ".join(f"{s} {counts[s]}" for s in State))
    _show_refused([k for k in forms if k.state is State.REFUSED], limit=None)
    _show_waiting([k for k in forms if k.state in UNSETTLED])
    if waiting:
        out.print(f"the log missed {device.failures} requests in a row; next try at {waiting}")


def _show_refused(forms: Sequence[Kept], limit: int | None = SHOWN) -> None:
    """Each refused form with the rules it broke: what the officer must correct."""
    if not forms:
        return
    out.print("refused:")
    for kept in forms[:limit]:
        rules = "; ".join(str(p) for p in kept.problems)
        line = f"  {kept.station} {kept.contest} {kept.entry_id}: {rules}"
        out.print(escape(line), soft_wrap=True)
    if limit is not None and len(forms) > limit:
        out.print(f"  ... and {len(forms) - limit} more (--json lists every one)")


def _show_waiting(forms: Sequence[Kept]) -> None:
    """The forms still to send, counted by their last error (they mostly share one)."""
    if not forms:
        return
    out.print(f"still to send: {len(forms)}")
    errors = Counter(k.last_error or "not sent yet" for k in forms)
    for error, count in errors.most_common():
        out.print(f"  {count}: {escape(error)}", soft_wrap=True)


def _form_row(kept: Kept) -> dict[str, Any]:
    return {
        "id": kept.entry_id,
        "station": kept.station,
        "contest": kept.contest,
        "supersedes": kept.supersedes,
        "state": str(kept.state),
        "added_at": kept.added_at,
        "attempts": kept.attempts,
        "last_attempt_at": kept.last_attempt_at,
        "last_error": kept.last_error,
        "leaf_index": kept.receipt["leaf_index"] if kept.receipt else None,
        "duplicate": kept.duplicate,
        "note": kept.note,
        "problems": [p.as_dict() for p in kept.problems],
        "settled_at": kept.settled_at,
    }


@field_app.command("receipts")
def receipts(
    directory: DirOpt = DEFAULT_DIR,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write them here (default: standard output).")
    ] = None,
    signed: Annotated[
        Path | None,
        typer.Option(help="Also write the signed forms here (for verify-receipt --entry)."),
    ] = None,
    witnessed: Annotated[
        bool, typer.Option("--witnessed", help="Ask the log for witnessed receipts.")
    ] = False,
    witnesses: Annotated[
        Path | None,
        typer.Option(help="The device's witness policy (default: the witnesses the log names)."),
    ] = None,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for the log.")] = 30,
) -> None:
    """The verified receipts, one JSON line each, as `tallyproof verify-receipt` reads them;
    with --witnessed, asked again of the log against the newest checkpoint its witnesses'
    quorum cosigned, each verified (exit 1 if one does not check out)."""
    if witnessed:
        _witnessed_receipts(directory, out_file, witnesses, timeout)
        return
    with _outbox(directory) as outbox:
        kept = outbox.forms(State.ACCEPTED)
    lines = [json.dumps(k.receipt, separators=(",", ":")) + "\n" for k in kept]
    if signed is not None:
        write_synced(signed, [k.envelope.decode() + "\n" for k in kept], "w")
    if out_file is None:
        raw("".join(lines))
        return
    write_synced(out_file, lines, "w")
    err.print(escape(f"{len(lines)} receipts written to {out_file}"), soft_wrap=True)


def _witnessed_receipts(
    directory: Path, out_file: Path | None, witnesses: Path | None, timeout: float
) -> None:
    """Fetch, verify and write the witnessed receipts; say how many are not witnessed yet."""
    policy = policy_from(witnesses)
    with _outbox(directory) as outbox, http_client(outbox.device().server, timeout) as http:
        try:
            found = witnessed_receipts(outbox, http, policy or server_policy(http))
        except Missed as error:
            raise fail(f"the log is unreachable: {error}", ExitCode.NOT_READY) from None
    lines = [json.dumps(r.as_dict(), separators=(",", ":")) + "\n" for r in found.receipts]
    if out_file is None:
        raw("".join(lines))
    else:
        write_synced(out_file, lines, "w")
    sizes = sorted({w.size for w in found.witnessed})
    said = f"{len(lines)} witnessed receipts" + (f" at size {sizes[-1]:,}" if sizes else "")
    if found.witnessed:
        said += f", {found.witnessed[-1].summary()}"
    err.print(escape(f"{said}; {found.not_yet} not witnessed yet"), soft_wrap=True)
    for code, message in found.problems:
        err.print(f"[red]FAILED[/]: {escape(f'{code}: {message}')}", soft_wrap=True)
    if found.problems:
        raise typer.Exit(ExitCode.REFUSED)
