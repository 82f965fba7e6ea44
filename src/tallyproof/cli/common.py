"""What every command shares: the app, the consoles, the options, opening the home,
and reporting outcomes."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from tallyproof import console as render
from tallyproof.errors import KNOWN, ExitCode, classify
from tallyproof.ledger.keys import Signer
from tallyproof.service.outcomes import Outcome
from tallyproof.service.settings import Settings
from tallyproof.service.state import StoreInconsistent
from tallyproof.service.writer import LedgerWriter

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
    read_database_url: Annotated[
        str | None,
        typer.Option(
            envvar="TALLYPROOF_READ_DATABASE_URL",
            help="A streaming replica the HTTP service reads from (default: the store).",
        ),
    ] = None,
) -> None:
    ctx.obj = Settings.at(
        home or Path("var/tallyproof"), database_url, read_database_url=read_database_url
    )


def raw(text: str) -> None:
    """Signed notes and keys go out byte for byte: no wrapping, no markup."""
    sys.stdout.write(text)
    sys.stdout.flush()


def fail(message: str, code: ExitCode) -> typer.Exit:
    err.print(f"[red]error:[/] {message}", soft_wrap=True)  # one line, whatever its length
    return typer.Exit(code)


def fail_on(error: BaseException, where: str = "") -> typer.Exit:
    """Print a known error as its rule code, where it happened and its message; exit with
    the code the error table gives it."""
    known = classify(error)
    message = known.message
    if where:
        message = f"{known.code}: {where}: {message.removeprefix(known.code + ': ')}"
    if isinstance(error, StoreInconsistent):
        message += "; nothing was written"
    return fail(message, known.exit)


@contextmanager
def known_errors(where: str = "") -> Iterator[None]:
    """Turn every error of the table into its message and exit code."""
    try:
        yield
    except KNOWN as error:
        raise fail_on(error, where) from None


@contextmanager
def open_writer(ctx: typer.Context) -> Iterator[LedgerWriter]:
    """Open the home; every known error in the command becomes its message and exit code."""
    with known_errors():
        service = LedgerWriter.open(ctx.obj)
    try:
        with known_errors():
            yield service
    finally:
        service.close()


def read_signer(path: Path) -> Signer:
    with known_errors(str(path)):
        return Signer.from_private_text(path.read_text())


def report_outcomes(
    outcomes: Sequence[Outcome],
    where: Sequence[str],
    as_json: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Print what was accepted and refused; exit 1 if anything was refused. `extra` joins
    each outcome's JSON document (what the command did, e.g. the key it registered)."""
    refused = [o for o in outcomes if not o.accepted]
    if as_json:
        for o in outcomes:
            out.print_json(data={"input": where[o.index], **o.as_dict(), **(extra or {})})
    else:
        new = sum(1 for o in outcomes if o.accepted and not o.duplicate)
        dup = sum(1 for o in outcomes if o.duplicate)
        out.print(f"accepted {new} new, {dup} already in the ledger; refused {len(refused)}")
        if refused:
            out.print(render.refusals_table(outcomes, where))
    if refused:
        raise typer.Exit(ExitCode.REFUSED)
