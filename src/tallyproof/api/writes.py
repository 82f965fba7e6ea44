"""Write routes: signed documents in, receipts out. Authentication is the signature — each
document is signed by a key registered for what it says (admin documents by the election's
admin key) — so a route reads the body within its limits, hands the envelopes to the group
commit and answers with each one's receipt or the rules it broke."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from tallyproof.api import schemas
from tallyproof.api.limits import RequestRefused, TooManyDocuments, read_body
from tallyproof.api.problems import refused
from tallyproof.api.runtime import Runtime
from tallyproof.domain.structure import ElectionStructure
from tallyproof.ledger.entries import EntryKind
from tallyproof.ledger.intake import InputError, load_json
from tallyproof.service.claims import FilingError, claims_in, report_documents
from tallyproof.service.outcomes import Outcome
from tallyproof.service.queries import UnknownElection

router = APIRouter(prefix="/v1", tags=["submissions"])


def _rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _envelopes(doc: object, kind: EntryKind, plural: str, limit: int) -> tuple[list[Any], bool]:
    """One envelope ({"<kind>": ..., "signature": ...}) or a batch ({"<plural>": [...]})."""
    if isinstance(doc, dict) and str(kind) in doc:
        return [doc], True
    if isinstance(doc, dict) and set(doc) == {plural}:
        batch = doc[plural]
        if not isinstance(batch, list) or not batch:
            raise RequestRefused(f"{plural} must be a non-empty list of signed envelopes", plural)
        if len(batch) > limit:
            raise TooManyDocuments(f"{len(batch):,} documents; the limit is {limit:,}", plural)
        return batch, False
    raise RequestRefused(
        f'send one signed envelope {{"{kind}": ..., "signature": ...}} or {{"{plural}": [...]}}',
        "$",
    )


async def _submit(
    request: Request, kind: EntryKind, plural: str, *, max_bytes: int | None = None
) -> Response:
    rt = _rt(request)
    limit = max_bytes or rt.limits.body_bytes
    body = await read_body(request, limit)
    doc = load_json(body, max_bytes=limit)
    envelopes, single = _envelopes(doc, kind, plural, rt.limits.batch_documents)
    outcomes = await rt.submit(kind, envelopes)
    return _single(outcomes[0], request) if single else _batch(outcomes)


def _single(outcome: Outcome, request: Request) -> Response:
    """201 with the receipt for a new entry; 200 with the original receipt for one already
    logged; else the rules it broke (403 for who may sign it, 422 for the rest)."""
    if not outcome.accepted:
        status = 403 if outcome.problems[0].code.startswith("signature.") else 422
        return refused(outcome.problems, request, status)
    doc = outcome.as_dict()
    headers = {}
    if outcome.receipt is not None:
        headers["Location"] = f"/v1/ledger/entries/{outcome.receipt.leaf_index}"
    status = 200 if outcome.duplicate else 201
    return Response(orjson.dumps(doc), status, headers, media_type="application/json")


def _batch(outcomes: Sequence[Outcome]) -> Response:
    """Each document accepted or refused on its own: the counts, then one outcome each."""
    doc = {
        "accepted": sum(1 for o in outcomes if o.accepted and not o.duplicate),
        "duplicates": sum(1 for o in outcomes if o.duplicate),
        "refused": sum(1 for o in outcomes if not o.accepted),
        "outcomes": [o.as_dict() for o in outcomes],
    }
    return Response(orjson.dumps(doc), 200, media_type="application/json")


@router.post(
    "/forms",
    summary="Submit result forms (Form 45): one signed envelope, or a batch",
    status_code=201,
    openapi_extra=schemas.submission("form", "forms"),
)
async def post_forms(request: Request) -> Response:
    return await _submit(request, EntryKind.FORM, "forms")


@router.post(
    "/declarations",
    summary="Submit declared results (Form 47): one signed envelope, or a batch",
    status_code=201,
    openapi_extra=schemas.submission("declaration", "declarations"),
)
async def post_declarations(request: Request) -> Response:
    return await _submit(request, EntryKind.DECLARATION, "declarations")


@router.post(
    "/ballot-accounts",
    summary="Submit ballot paper accounts (Form 46): one signed envelope, or a batch",
    status_code=201,
    openapi_extra=schemas.submission("ballot_account", "ballot_accounts"),
)
async def post_ballot_accounts(request: Request) -> Response:
    return await _submit(request, EntryKind.BALLOT_ACCOUNT, "ballot_accounts")


@router.post(
    "/claims",
    summary="A news report's text: its claims read out (nothing written); or signed claim "
    "reports to file",
    openapi_extra=schemas.claims(),
)
async def post_claims(request: Request) -> Response:
    rt = _rt(request)
    body = await read_body(request, rt.limits.body_bytes)
    doc = load_json(body, max_bytes=rt.limits.body_bytes)
    if isinstance(doc, dict) and "text" in doc:
        return await _extract(rt, doc)
    envelopes, single = _envelopes(doc, EntryKind.CLAIM, "claims", rt.limits.batch_documents)
    outcomes = await rt.submit(EntryKind.CLAIM, envelopes)
    return _single(outcomes[0], request) if single else _batch(outcomes)


_EXTRACT_FIELDS = {"text", "outlet", "published", "election"}


async def _extract(rt: Runtime, doc: dict[str, Any]) -> Response:
    """The claims in a report, linked to the elections in the log, and the documents that,
    signed by the outlet's key, would file them."""
    for name in sorted(set(doc) - _EXTRACT_FIELDS):
        raise InputError("schema.unknown_field", name, "not a field of a report to read")
    for name in _EXTRACT_FIELDS & set(doc):
        if not isinstance(doc[name], str):
            raise InputError("schema.type", name, "must be a string")
    text: str = doc["text"]
    if len(text.encode()) > rt.limits.report_bytes:
        raise InputError(
            "input.too_large", "text", f"a report is at most {rt.limits.report_bytes:,} bytes"
        )
    structures = await rt.read(lambda: _structures(rt))
    read = claims_in(
        text, structures, outlet=doc.get("outlet", ""), published=doc.get("published", "")
    )
    answer: dict[str, Any] = {
        "outlet": read.outlet,
        "published": read.published,
        "title": read.title,
        "text_sha256": read.text_sha256,
        "claims": [c.document() for c in read.claims],
        "set_aside": [{"offset": at, "why": why, "text": t} for at, why, t in read.set_aside],
    }
    try:
        answer["documents"] = report_documents(read, doc.get("election"))
    except FilingError as error:
        answer["documents"] = []
        answer["not_fileable"] = {"code": error.code, "message": str(error)}
    return Response(orjson.dumps(answer), 200, media_type="application/json")


def _structures(rt: Runtime) -> list[ElectionStructure]:
    """The elections claims can be linked to: none while the log is empty."""
    try:
        return rt.model.elections().value
    except UnknownElection:
        return []


@router.post(
    "/elections",
    summary="Register an election: its structure, signed by the admin key it names",
    status_code=201,
    openapi_extra=schemas.admin("structure"),
)
async def post_structure(request: Request) -> Response:
    limit = _rt(request).limits.structure_bytes
    return await _submit(request, EntryKind.STRUCTURE, "structures", max_bytes=limit)


@router.post(
    "/keys",
    summary="Register submitters' keys (signed by the election's admin key)",
    status_code=201,
    openapi_extra=schemas.admin("key_registration", "key_registrations"),
)
async def post_keys(request: Request) -> Response:
    return await _submit(request, EntryKind.KEY_REGISTRATION, "key_registrations")


@router.post(
    "/keys/revocations",
    summary="Revoke a key (signed by the election's admin key)",
    status_code=201,
    openapi_extra=schemas.admin("key_revocation", "key_revocations"),
)
async def post_revocations(request: Request) -> Response:
    return await _submit(request, EntryKind.KEY_REVOCATION, "key_revocations")


@router.post(
    "/status-orders",
    summary="Order a contest's or a station's status (signed by the election's admin key)",
    status_code=201,
    openapi_extra=schemas.admin("status", "status_orders"),
)
async def post_status(request: Request) -> Response:
    return await _submit(request, EntryKind.STATUS, "status_orders")
