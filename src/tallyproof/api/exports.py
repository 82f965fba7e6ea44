"""Export routes: the long CSV of every form, the results CSV and the NIST SP 1500-100
Election Results CDF, each true at one tree size (named in a header) and streamed as it is
written, so a national export never sits whole in memory."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from tallyproof import __version__
from tallyproof.api.caching import CURRENT, IMMUTABLE, SIZE_HEADER, as_of_param, matches
from tallyproof.api.reads import AsOf
from tallyproof.api.runtime import Runtime
from tallyproof.export.nist_cdf import election_report_json
from tallyproof.export.results_csv import csv_chunks, results_table, stations_table
from tallyproof.service.reading import Answer

router = APIRouter(prefix="/v1", tags=["exports"])
CSV = "text/csv; charset=utf-8"


def _rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _stream(
    request: Request,
    answer: Answer[Any],
    chunks: Iterator[Any],
    media: str,
    name: str,
    settled: bool,
) -> Response:
    """The export's bytes are a function of the question and the size alone, so the pair
    (with the software's version) is its strong ETag."""
    tag = f"{__version__} {request.url.path}?{request.url.query} @{answer.tree_size}"
    etag = '"' + hashlib.sha256(tag.encode()).hexdigest()[:32] + '"'
    headers = {
        SIZE_HEADER: str(answer.tree_size),
        "ETag": etag,
        "Cache-Control": IMMUTABLE if settled else CURRENT,
        "Content-Disposition": f'attachment; filename="{name}"',
    }
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return StreamingResponse(chunks, media_type=media, headers=headers)


@router.get(
    "/elections/{election}/exports/stations.csv",
    summary="Every form as CSV: a row per station, contest, candidate and source",
    response_class=StreamingResponse,
)
async def stations_csv(
    request: Request,
    election: str,
    as_of: AsOf = None,
    contest: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    rt, at = _rt(request), as_of_param(as_of)

    def ask() -> tuple[Answer[Any], bool]:
        return stations_table(rt.model, election, at, contest=contest), rt.model.resolve(at)[1]

    answer, settled = await rt.read(ask, heavy=True)
    name = f"{election}-stations-{answer.tree_size}.csv"
    return _stream(request, answer, csv_chunks(answer.value), CSV, name, settled)


@router.get(
    "/elections/{election}/exports/results.csv",
    summary="Every contest's result as CSV: declared beside computed, candidate by candidate",
    response_class=StreamingResponse,
)
async def results_csv(request: Request, election: str, as_of: AsOf = None) -> Response:
    rt, at = _rt(request), as_of_param(as_of)

    def ask() -> tuple[Answer[Any], bool]:
        return results_table(rt.model, election, at), rt.model.resolve(at)[1]

    answer, settled = await rt.read(ask, heavy=True)
    name = f"{election}-results-{answer.tree_size}.csv"
    return _stream(request, answer, csv_chunks(answer.value), CSV, name, settled)


@router.get(
    "/elections/{election}/exports/cdf.json",
    summary="The election as a NIST SP 1500-100 Election Results CDF document",
    response_class=StreamingResponse,
)
async def cdf(
    request: Request,
    election: str,
    as_of: AsOf = None,
    stations: Annotated[bool, Query(description="Each station's counts too")] = False,
) -> Response:
    rt, at = _rt(request), as_of_param(as_of)

    def ask() -> tuple[Answer[Any], bool]:
        report = election_report_json(rt.model, election, at, stations=stations)
        return report, rt.model.resolve(at)[1]

    answer, settled = await rt.read(ask, heavy=True)
    name = f"{election}-cdf-{answer.tree_size}.json"
    return _stream(request, answer, answer.value, "application/json", name, settled)
