"""Errors as RFC 9457 problem details (`application/problem+json`): the rule's code and the
field it names, from the one error table (errors.py) or from a document's refusals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tallyproof.domain.problems import Problem
from tallyproof.errors import classify

MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    403: "Not a signer this document may have",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Refused by a rule",
    429: "Too many documents",
    500: "Server error",
    503: "Not ready",
}


def problem_type(code: str) -> str:
    """A stable URI per rule code; docs/rules.md lists every one."""
    return f"urn:tallyproof:rule:{code}"


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    field: str | None = None,
    problems: Sequence[Problem] = (),
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    doc: dict[str, Any] = {
        "type": problem_type(code),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if field is not None:
        doc["field"] = field
    if problems:
        doc["problems"] = [p.as_dict() for p in problems]
    if instance is not None:
        doc["instance"] = instance
    doc.update(extra or {})
    return Response(orjson.dumps(doc), status, headers=headers, media_type=MEDIA_TYPE)


def refused(problems: Sequence[Problem], request: Request, status: int = 422) -> Response:
    """A document refused by its rules: the first rule names code and field; all are listed."""
    first = problems[0]
    detail = "; ".join(str(p) for p in problems)
    return problem_response(
        status,
        first.code,
        detail,
        field=first.field,
        problems=problems,
        instance=request.url.path,
    )


def from_error(error: BaseException, request: Request) -> Response:
    """A known error of the table, as its status with its rule code (and field, if any)."""
    known = classify(error)
    field = getattr(error, "field", None)
    problem = getattr(error, "problem", None)
    problems: Sequence[Problem] = getattr(error, "problems", ())
    if isinstance(problem, Problem):
        field, problems = problem.field, (problem,)
    elif problems:
        field = problems[0].field
    return problem_response(
        known.http,
        known.code,
        known.message,
        field=field if isinstance(field, str) else None,
        problems=problems,
        instance=request.url.path,
    )
