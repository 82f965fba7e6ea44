"""Event routes: POST signed events (a concession, a renunciation, a complaint or petition
and its tribunal's moves, a joining) to /v1/contest-events (GET /v1/events is the live
feed), and GET an election's events as of a tree size. A contest's history (GET
.../contests/{code}/history, api/reads.py) shows them among its other changes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from tallyproof.api.caching import answer
from tallyproof.api.reads import AsOf
from tallyproof.api.runtime import Runtime
from tallyproof.api.writes import _submit
from tallyproof.domain.events import EVENT_TYPES, event_detail
from tallyproof.ledger.entries import EntryKind
from tallyproof.service.events import LoggedEvent

router = APIRouter(prefix="/v1", tags=["events"])

_TEXT = {"type": "string"}
EVENT_DOCUMENT: dict[str, Any] = {
    "type": "object",
    "description": "An event in a contest's life (docs/rules.md, 'Events')",
    "required": ["election", "type", "contest", "time"],
    "properties": {
        "election": _TEXT,
        "type": {"type": "string", "enum": sorted(EVENT_TYPES)},
        "contest": _TEXT,
        "time": {"type": "string", "description": "RFC 3339 with its zone"},
        "candidate": _TEXT,
        "statement": _TEXT,
        "url": _TEXT,
        "party": _TEXT,
        "date": {"type": "string", "description": "YYYY-MM-DD (a joining)"},
        "source": {"type": "string", "description": "who files a complaint or petition"},
        "summary": _TEXT,
        "evidence": {
            "type": "array",
            "items": {"oneOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]},
            "description": "cited forms: ids, or leaf indexes",
        },
        "complaint": {"type": "string", "description": "the entry id an update moves"},
        "status": {"type": "string", "enum": ["hearing", "decided", "dismissed", "withdrawn"]},
        "outcome": _TEXT,
    },
}
_SIGNATURE = {
    "type": "object",
    "required": ["key", "value"],
    "properties": {"key": _TEXT, "value": {"type": "string", "description": "base64"}},
}
_ENVELOPE = {
    "type": "object",
    "required": ["event", "signature"],
    "additionalProperties": False,
    "properties": {"event": EVENT_DOCUMENT, "signature": _SIGNATURE},
}
_BODY = {
    "oneOf": [
        _ENVELOPE,
        {
            "type": "object",
            "required": ["events"],
            "properties": {"events": {"type": "array", "minItems": 1, "items": _ENVELOPE}},
        },
    ]
}


def _rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.post(
    "/contest-events",
    summary="Record an event: concession, renunciation, joining and a complaint's moves are "
    "signed by the election's admin key; a complaint or petition by a key covering the contest",
    status_code=201,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _BODY}}}
    },
)
async def post_events(request: Request) -> Response:
    return await _submit(request, EntryKind.EVENT, "events")


@router.get(
    "/elections/{election}/events",
    summary="The election's events (of one contest, with ?contest=), each complaint with its "
    "status and outcome as of the answer's size",
)
async def events(
    request: Request, election: str, contest: str | None = None, as_of: AsOf = None
) -> Response:
    rt = _rt(request)

    def compute(size: int) -> tuple[int, Any]:
        a = rt.model.events(election, contest, size)
        doc = {
            "tree_size": a.tree_size,
            "checkpoint": a.checkpoint,
            "events": [logged_event_dict(e) for e in a.value],
        }
        return a.tree_size, doc

    return await answer(request, rt, as_of, compute)


def logged_event_dict(e: LoggedEvent) -> dict[str, Any]:
    """An event as a reader gets it: where and when it was logged, and what it says."""
    doc = {
        "leaf_index": e.seq,
        "received_at": e.received_at,
        "entry_id": e.entry_id,
        "contest": e.event.contest,
    }
    doc |= event_detail(e.event)
    if e.status:
        doc["status"] = e.status
    if e.outcome:
        doc["outcome"] = e.outcome
    return doc
