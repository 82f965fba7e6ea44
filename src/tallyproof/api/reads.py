"""Read routes: elections, contests, stations, standings, findings and history, each as of
a tree size (`as_of`: a size or an RFC 3339 time) and answered with the size it is true at
and the checkpoint of that size. Each route asks the read model and shapes the answer."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tallyproof.api.caching import answer
from tallyproof.api.runtime import Runtime
from tallyproof.domain.findings import Severity
from tallyproof.formats.answers import (
    answer_record,
    contest_document,
    contests_document,
    election_record,
    elections_document,
    form_dict,
    history_document,
    lives_document,
    proven_dict,
    standings_document,
    station_document,
    station_record,
    stored_claim_dict,
)
from tallyproof.ledger.intake import MAX_SAFE_INTEGER
from tallyproof.service.ballots import account_dict
from tallyproof.service.log import QueryError
from tallyproof.service.queries import UnknownElection
from tallyproof.service.reading import REPORTING_PER, Answer, FindingLife

router = APIRouter(prefix="/v1", tags=["results"])
AsOf = Annotated[
    str | None,
    Query(
        description="A tree size, or an RFC 3339 time: the answer as the log stood then. "
        "Without it, the newest checkpoint.",
        max_length=64,
    ),
]
Election = Annotated[str, "the election's id, e.g. pk-ge-2024"]
MAX_PAGE = 5000


def _rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("/elections", summary="Every election in the log")
async def elections(request: Request, as_of: AsOf = None) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.elections(size)
        return a.tree_size, elections_document(a)

    return await answer(request, rt, as_of, compute)


@router.get("/elections/{election}", summary="One election: its assemblies, parties, size")
async def election(request: Request, election: str, as_of: AsOf = None) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.structure(election, size)
        return a.tree_size, answer_record(a, "election", election_record(a.value))

    return await answer(request, rt, as_of, compute)


@router.get(
    "/elections/{election}/structure",
    summary="The election's structure as its admin signed it (docs/formats.md)",
)
async def structure(request: Request, election: str, as_of: AsOf = None) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.structure(election, size)
        return a.tree_size, answer_record(a, "structure", a.value.document())

    return await answer(request, rt, as_of, compute, heavy=True)


@router.get(
    "/elections/{election}/contests",
    summary="Every contest: status, stations reported x/y, declared v computed",
)
async def contests(
    request: Request,
    election: str,
    as_of: AsOf = None,
    assembly: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.results(election, size)
        if assembly is not None:
            a = replace(a, value=[v for v in a.value if v.computed.assembly == assembly])
        return a.tree_size, contests_document(a)

    return await answer(request, rt, as_of, compute)


@router.get(
    "/elections/{election}/contests/{code}",
    summary="One contest: declared beside computed, and every station's forms from every source",
)
async def contest(request: Request, election: str, code: str, as_of: AsOf = None) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.contest_page(election, code, size)
        page = a.value
        view = Answer(page.view, a.tree_size, a.checkpoint)
        return a.tree_size, contest_document(view, page.forms, page.structure)

    return await answer(request, rt, as_of, compute)


@router.get(
    "/elections/{election}/contests/{code}/history",
    summary="Every change to the contest, with the entry that made it and when",
)
async def history(request: Request, election: str, code: str, as_of: AsOf = None) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.history(election, code, size)
        return a.tree_size, history_document(a.value, a.tree_size, a.checkpoint)

    return await answer(request, rt, as_of, compute)


@router.get("/elections/{election}/stations", summary="Polling stations, page by page")
async def stations(
    request: Request,
    election: str,
    as_of: AsOf = None,
    contest: Annotated[str | None, Query(max_length=64)] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_SAFE_INTEGER)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1000,
) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.structure(election, size)
        s = a.value
        if contest is not None and s.contest(contest) is None:
            raise UnknownElection("form.unknown_contest", f"no contest {contest!r} in {election}")
        chosen = s.stations if contest is None else [s.station(i) for i in s.stations_of(contest)]
        page = [station_record(st) for st in chosen[offset : offset + limit] if st is not None]
        doc = answer_record(a, "stations", page) | {"total": len(chosen), "offset": offset}
        return a.tree_size, doc

    return await answer(request, rt, as_of, compute)


@router.get(
    "/elections/{election}/stations/{station}",
    summary="A station and every form of it, from every source, superseded ones too",
)
async def station(request: Request, election: str, station: str, as_of: AsOf = None) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.forms(election, station=station, as_of=size)
        structure = rt.model.structure(election, a.tree_size).value
        forms = [form_dict(e) for e in a.value]
        return a.tree_size, station_document(structure, station, forms, a.tree_size, a.checkpoint)

    return await answer(request, rt, as_of, compute)


@router.get(
    "/elections/{election}/stations/{station}/ballot-accounts",
    summary="A station's ballot paper accounts (Form 46), corrected ones too",
)
async def ballot_accounts(
    request: Request, election: str, station: str, as_of: AsOf = None
) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.ballot_accounts(election, station, as_of=size)
        return a.tree_size, answer_record(a, "ballot_accounts", [account_dict(e) for e in a.value])

    return await answer(request, rt, as_of, compute)


@router.get(
    "/elections/{election}/standings",
    summary="Seats per assembly: declared winners, else the forms' leaders; beside them the "
    "forms alone",
)
async def standings(
    request: Request,
    election: str,
    as_of: AsOf = None,
    assembly: Annotated[str | None, Query(max_length=64)] = None,
    after_joining: bool = False,
) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.standings(election, size, after_joining=after_joining)
        if (
            assembly is not None
            and rt.model.structure(election, size).value.assembly(assembly) is None
        ):
            raise UnknownElection("form.unknown_assembly", f"no assembly {assembly!r}")
        return a.tree_size, standings_document(a, assembly)

    return await answer(request, rt, as_of, compute)


STATES = ("open", "resolved", "all")


@router.get(
    "/elections/{election}/findings",
    summary="Findings with their life (opened and resolved at a size, by an entry)",
)
async def findings(
    request: Request,
    election: str,
    as_of: AsOf = None,
    contest: Annotated[str | None, Query(max_length=64)] = None,
    code: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[
        str, Query(description="The least severe to include: critical, high, medium, low, info")
    ] = "info",
    state: Annotated[str, Query(description="open, resolved or all")] = "open",
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_PAGE, description="At most this many, the most severe")
    ] = None,
) -> Response:
    rt = _rt(request)
    floor = _severity(severity)
    if state not in STATES:
        raise QueryError("query.choice", "state", f"must be one of {', '.join(STATES)}")

    def keep(life: FindingLife) -> bool:
        f = life.finding
        wanted = state == "all" or (state == "open") == life.open
        return wanted and f.severity.rank <= floor and (code is None or f.code == code)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.findings(election, contest, size)
        kept = [x for x in a.value if keep(x)]
        doc = lives_document(kept[:limit], a.tree_size, a.checkpoint, len(kept))
        return a.tree_size, doc

    # a whole election's: a first answer replays every contest (seconds, nationally), and
    # so does one at a size behind the kept one; later ones advance what is kept
    return await answer(request, rt, as_of, compute, heavy=contest is None)


def _severity(text: str) -> int:
    try:
        return Severity(text).rank
    except ValueError:
        raise QueryError(
            "query.choice", "severity", f"must be one of {', '.join(Severity)}"
        ) from None


@router.get(
    "/elections/{election}/contests/{code}/evidence",
    summary="The signed forms behind a contest's numbers, with their inclusion proofs",
)
async def evidence(request: Request, election: str, code: str, as_of: AsOf = None) -> Response:
    """Every current official form of the contest and its declaration, as logged (the
    leaves' bytes), each with its RFC 9162 inclusion proof in the tree the checkpoint of the
    answer's size signed: a reader re-adds the numbers and checks the proofs itself."""
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        page = rt.model.contest_page(election, code, size)
        official = [e.record for e in page.value.forms if e.record.official and e.current]
        declared = page.value.view.declared
        seqs = [r.seq for r in official] + ([declared.seq] if declared else [])
        proven = {p.leaf_index: p for p in rt.log.evidence(seqs, page.tree_size).leaves}
        computed = page.value.view.computed
        doc = {
            "tree_size": page.tree_size,
            "checkpoint": page.checkpoint,
            "election": page.value.structure.election.id,
            "contest": code,
            "forms": [
                {"station": r.station, "source": r.source} | proven_dict(proven[r.seq])
                for r in official
            ],
            "totals": dict(computed.votes),
            "rejected": computed.rejected,
            "polled": computed.polled,
            "declaration": proven_dict(proven[declared.seq]) if declared else None,
        }
        return page.tree_size, doc

    return await answer(request, rt, as_of, compute, heavy=True)


@router.get(
    "/elections/{election}/claims",
    summary="News claims filed in the log, each with the sentence it was read from",
)
async def claims(
    request: Request,
    election: str,
    as_of: AsOf = None,
    contest: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.claims(election, contest, size)
        doc = answer_record(a, "claims", [stored_claim_dict(c) for c in a.value])
        return a.tree_size, doc

    return await answer(request, rt, as_of, compute)


@router.get(
    "/elections/{election}/reporting",
    summary="Stations reported over time: how many first reported in each minute (or second)",
)
async def reporting(
    request: Request,
    election: str,
    as_of: AsOf = None,
    per: Annotated[
        str, Query(description="minute (`minutes`: [{minute, stations}]) or second (`seconds`)")
    ] = "minute",
) -> Response:
    rt = _rt(request)
    if per not in REPORTING_PER:
        raise QueryError("query.choice", "per", f"must be one of {', '.join(REPORTING_PER)}")

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.reporting(election, size, per)
        times = [{per: t, "stations": n} for t, n in a.value.times]
        doc = answer_record(a, per + "s", times) | {"per": per, "stations": a.value.stations}
        return a.tree_size, doc

    return await answer(request, rt, as_of, compute, heavy=True)
