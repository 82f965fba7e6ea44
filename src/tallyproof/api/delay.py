"""Results delay routes: each contest's time from the close of poll to its first form, all its
forms and its declaration; the reporting curves; the slowest contests. As of a tree size and
cached like every read (api/reads.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tallyproof.api.caching import answer
from tallyproof.api.reads import AsOf
from tallyproof.api.runtime import Runtime
from tallyproof.api.schemas import ContestDelayAnswer, ElectionDelayAnswer
from tallyproof.domain.delay import SlowestBy, parse_close
from tallyproof.domain.problems import Rejected
from tallyproof.formats.delay import contest_delay_document, delay_document
from tallyproof.service.log import QueryError
from tallyproof.service.reading import contest_of

router = APIRouter(prefix="/v1", tags=["results"])
Close = Annotated[
    str | None,
    Query(
        description="The close of poll, RFC 3339 with its offset; without it 17:00 Pakistan "
        "time (+05:00) on the election's date",
        max_length=64,
    ),
]
MAX_SLOWEST = 1000


def _rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _checked_close(close: str | None) -> str | None:
    """A bad close is the question's fault: 400 naming the field, before any reading."""
    if close is None:
        return None
    try:
        parse_close(close)
    except Rejected as refused:
        problem = refused.problems[0]
        raise QueryError(problem.code, problem.field, problem.message) from None
    return close


@router.get(
    "/elections/{election}/delay",
    summary="Results delay: per contest, from the close of poll to first form, all forms and "
    "declaration; the reporting curves; the slowest contests",
    responses={200: {"model": ElectionDelayAnswer}},
)
async def delay(
    request: Request,
    election: str,
    as_of: AsOf = None,
    close: Close = None,
    slowest: Annotated[
        int, Query(ge=0, le=MAX_SLOWEST, description="how many slowest contests to name")
    ] = 10,
    by: Annotated[
        SlowestBy, Query(description="rank the slowest by time to all forms, or to declared")
    ] = SlowestBy.ALL_FORMS,
) -> Response:
    rt = _rt(request)
    checked = _checked_close(close)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.delay(election, size, checked)
        return a.tree_size, delay_document(a, slowest, by)

    return await answer(request, rt, as_of, compute)


@router.get(
    "/elections/{election}/delay/{code}",
    summary="One contest's results delay",
    responses={200: {"model": ContestDelayAnswer}},
)
async def contest_delay(
    request: Request, election: str, code: str, as_of: AsOf = None, close: Close = None
) -> Response:
    rt = _rt(request)
    checked = _checked_close(close)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.delay(election, size, checked)
        contest_of(rt.model.structure(election, a.tree_size).value, code)
        return a.tree_size, contest_delay_document(a, code)

    return await answer(request, rt, as_of, compute)
