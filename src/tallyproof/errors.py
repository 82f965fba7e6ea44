"""The one table of errors: each exception a command or a request can end in, with its rule
code, the CLI's exit code and the HTTP status. The CLI and the HTTP API both map errors
through it; no call site chooses an exit code or a status for an error by hand."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from tallyproof.api.committer import CommitFailed
from tallyproof.api.limits import (
    BodyTooLarge,
    RateLimited,
    RequestRefused,
    TooManyDocuments,
    UnsupportedMedia,
)
from tallyproof.domain.problems import Rejected
from tallyproof.formats.structure import FileFormatError
from tallyproof.importers.catalogue import DatasetError
from tallyproof.importers.stations import MappingError
from tallyproof.ledger.cosignature import PolicyError, WitnessRefusal
from tallyproof.ledger.entries import EnvelopeError
from tallyproof.ledger.intake import InputError
from tallyproof.ledger.keys import KeyTextError
from tallyproof.ledger.receipts import ReceiptError
from tallyproof.service.claims import FilingError
from tallyproof.service.intake import IntakeClosed
from tallyproof.service.log import NotInLog, QueryError
from tallyproof.service.queries import UnknownElection
from tallyproof.service.state import StoreInconsistent
from tallyproof.service.writer import NotInitialised
from tallyproof.store.faults import StoreRefused


class ExitCode(IntEnum):
    """What the shell sees. Every refusal also prints the rule's code and message."""

    OK = 0
    REFUSED = 1  # some input broke a rule; that input changed nothing
    USAGE = 2  # the command line itself was wrong (Typer's own code)
    NOT_READY = 3  # no initialised home, unknown election or contest, unreadable file or key
    AUDIT_FAILED = 4  # an audit, or the store itself, found the record inconsistent


@dataclass(frozen=True, slots=True)
class ErrorRule:
    code: str  # the rule code when the error carries none of its own
    exit: ExitCode
    http: int


# Most specific first: the first class an error is an instance of decides.
TABLE: tuple[tuple[type[BaseException], ErrorRule], ...] = (
    (StoreInconsistent, ErrorRule("ledger.inconsistent", ExitCode.AUDIT_FAILED, 500)),
    (NotInitialised, ErrorRule("home.not_initialised", ExitCode.NOT_READY, 503)),
    (StoreRefused, ErrorRule("store.full", ExitCode.NOT_READY, 503)),  # or store.read_only
    (IntakeClosed, ErrorRule("service.closing", ExitCode.NOT_READY, 503)),
    (CommitFailed, ErrorRule("service.commit_failed", ExitCode.NOT_READY, 503)),
    (NotInLog, ErrorRule("ledger.no_entry", ExitCode.NOT_READY, 404)),
    (QueryError, ErrorRule("query.invalid", ExitCode.USAGE, 400)),
    (UnknownElection, ErrorRule("form.unknown_election", ExitCode.NOT_READY, 404)),
    (FilingError, ErrorRule("claims.not_filed", ExitCode.NOT_READY, 422)),
    (FileFormatError, ErrorRule("input.unreadable", ExitCode.NOT_READY, 400)),
    (DatasetError, ErrorRule("dataset.invalid", ExitCode.NOT_READY, 400)),
    (MappingError, ErrorRule("mapping.invalid", ExitCode.NOT_READY, 400)),
    (KeyTextError, ErrorRule("key.invalid", ExitCode.NOT_READY, 400)),
    (PolicyError, ErrorRule("witness.policy", ExitCode.NOT_READY, 400)),
    (WitnessRefusal, ErrorRule("witness.refused", ExitCode.REFUSED, 422)),
    (EnvelopeError, ErrorRule("schema.envelope", ExitCode.NOT_READY, 400)),
    (ReceiptError, ErrorRule("receipt.invalid", ExitCode.REFUSED, 422)),
    (InputError, ErrorRule("input.invalid", ExitCode.REFUSED, 400)),
    (BodyTooLarge, ErrorRule("request.too_large", ExitCode.REFUSED, 413)),
    (TooManyDocuments, ErrorRule("request.batch_too_large", ExitCode.REFUSED, 413)),
    (UnsupportedMedia, ErrorRule("request.media_type", ExitCode.REFUSED, 415)),
    (RateLimited, ErrorRule("request.rate_limited", ExitCode.REFUSED, 429)),
    (RequestRefused, ErrorRule("request.invalid", ExitCode.REFUSED, 400)),
    (Rejected, ErrorRule("input.rejected", ExitCode.REFUSED, 422)),
    (OSError, ErrorRule("input.unreadable", ExitCode.NOT_READY, 400)),
)
KNOWN: tuple[type[BaseException], ...] = tuple(kind for kind, _ in TABLE)


@dataclass(frozen=True, slots=True)
class Classified:
    code: str
    message: str  # starts with the code
    exit: ExitCode
    http: int


def classify(error: BaseException) -> Classified:
    """The rule code, message, exit code and HTTP status of a known error."""
    rule = next(r for kind, r in TABLE if isinstance(error, kind))
    code = _code_of(error) or rule.code
    text = _text_of(error)
    message = text if text.startswith(code) else f"{code}: {text}"
    return Classified(code, message, rule.exit, rule.http)


def _code_of(error: BaseException) -> str | None:
    if isinstance(error, InputError):
        return error.problem.code
    if isinstance(error, Rejected):
        return error.problems[0].code
    code = getattr(error, "code", None)
    return code if isinstance(code, str) else None


def _text_of(error: BaseException) -> str:
    if isinstance(error, Rejected):
        return "; ".join(f"{p.code} at {p.field}: {p.message}" for p in error.problems)
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return str(error)
