"""GET /v1/elections/{election}/government: the National Assembly's seats per party before
and after independents join, the reserved seats, the total of 336 and the majority line, as
of a tree size, under a reader's scenario (what-if joinings, eligibility)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tallyproof.api.caching import answer
from tallyproof.api.reads import AsOf
from tallyproof.api.runtime import Runtime
from tallyproof.api.schemas import GOVERNMENT
from tallyproof.domain.government import Scenario
from tallyproof.formats.government import government_document
from tallyproof.service.government import (
    government_answer,
    parse_parties,
    parse_provinces,
    parse_what_if,
)

router = APIRouter(prefix="/v1", tags=["results"])


def _rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get(
    "/elections/{election}/government",
    summary="National Assembly: seats per party before and after joinings, reserved seats "
    "for women and non-Muslims, total of 336 and the majority line",
    responses={200: {"content": {"application/json": {"schema": GOVERNMENT}}}},
)
async def government(
    request: Request,
    election: str,
    as_of: AsOf = None,
    what_if: Annotated[
        list[str],
        Query(
            max_length=512,
            description="CANDIDATE=PARTY, or backed:PARTY=PARTY for every independent that "
            "party backed: a hypothetical joining (repeatable)",
        ),
    ] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    exclude: Annotated[
        list[str], Query(max_length=64, description="a party denied reserved seats")
    ] = [],  # noqa: B006
    min_general_seats: Annotated[
        int,
        Query(ge=0, le=1000, description="general seats a party must win under its own ticket"),
    ] = 0,
    notified: Annotated[
        str | None,
        Query(
            pattern=r"^\d{4}-\d{2}-\d{2}$",
            description="the date returned candidates were notified (YYYY-MM-DD): a joining "
            "more than 3 days later gets no reserved seats",
        ),
    ] = None,
    province: Annotated[
        list[str],
        Query(
            max_length=512,
            description="CONTEST=PROVINCE where a seat's province is not the 2024 numbering's "
            "(repeatable)",
        ),
    ] = [],  # noqa: B006
) -> Response:
    rt = _rt(request)
    pairs = parse_what_if(what_if)
    scenario = Scenario(
        exclude=parse_parties(exclude),
        min_general_seats=min_general_seats,
        notified=notified,
        provinces=parse_provinces(province),
    )

    def compute(size: int) -> tuple[int, Any]:
        a = government_answer(rt.model, election, size, pairs, scenario)
        return a.tree_size, government_document(a)

    return await answer(request, rt, as_of, compute)
