"""Routes about the log itself: its key, signed checkpoints, inclusion and consistency
proofs, and the entries' bytes — what anyone needs to check a published number rather than
trust it. Answers at a signed size never change and are sent immutable."""

from __future__ import annotations

import base64
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from tallyproof.api.caching import respond
from tallyproof.api.runtime import Runtime, render
from tallyproof.ledger.intake import MAX_SAFE_INTEGER
from tallyproof.service.log import (
    MAX_ENTRIES,
    Consistency,
    EntryBytes,
    Inclusion,
    NotInLog,
    QueryError,
)
from tallyproof.service.witnessing import WitnessedCheckpoint
from tallyproof.store.records import CheckpointRow

router = APIRouter(prefix="/v1", tags=["log"])
Size = Annotated[
    int, Path(ge=0, le=MAX_SAFE_INTEGER, description="A tree size at which a checkpoint was signed")
]
Index = Annotated[int, Query(ge=0, le=MAX_SAFE_INTEGER)]


def _rt(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@router.get("/log-key", summary="The log's verifier key (C2SP signed-note vkey)")
async def log_key(request: Request) -> Response:
    rt = _rt(request)
    key = rt.log_key
    doc = {"origin": rt.origin, "vkey": key.vkey, "key_id": key.key_id}
    return Response(orjson.dumps(doc), media_type="application/json")


@router.get("/checkpoints/latest", summary="The newest signed checkpoint")
async def latest_checkpoint(request: Request) -> Response:
    rt = _rt(request)
    row = await rt.read(rt.log.checkpoint)
    return _send(request, _checkpoint(row), row.tree_size, settled=False)


@router.get(
    "/checkpoints/witnessed",
    summary="The newest checkpoint the witnesses' quorum cosigned, with their cosignatures",
)
async def witnessed_checkpoint(request: Request) -> Response:
    """404 `witness.none` until the quorum (GET /v1/witnesses) has cosigned a checkpoint."""
    rt = _rt(request)
    found = await rt.read(rt.witnessing.newest_witnessed)
    return _send(request, _witnessed(found), found.tree_size, settled=False)


@router.get(
    "/checkpoints/{size}/cosignatures",
    summary="The witnesses' cosignatures collected so far on the checkpoint of this size",
)
async def cosignatures(request: Request, size: Size) -> Response:
    rt = _rt(request)
    found = await rt.read(lambda: rt.witnessing.checkpoint(size))
    return _send(request, _witnessed(found), size, settled=False)


@router.get("/witnesses", summary="The witnesses this log asks, its quorum, what they cosigned")
async def witnesses(request: Request) -> Response:
    """Each witness's name, cosignature vkey and address; the quorum; the newest size each
    cosigned, and the newest the quorum did (`witnessed`). A reader may trust other
    witnesses: this is the log's configuration, not a reader's policy."""
    rt = _rt(request)
    doc = await rt.read(rt.witnessing.state)
    return Response(orjson.dumps(doc), media_type="application/json")


@router.get(
    "/receipts/{kind}/{entry_id}",
    summary="An entry's receipt against the newest checkpoint the witnesses' quorum cosigned",
)
async def witnessed_receipt(
    request: Request,
    kind: Annotated[str, Path(max_length=32)],
    entry_id: Annotated[str, Path(max_length=64)],
) -> Response:
    """The receipt of the submission answer was against the checkpoint of its commit, which
    witnesses cosign later, if ever (they are asked about the newest); this one proves the
    entry in a tree the quorum cosigned, its checkpoint carrying their lines."""
    rt = _rt(request)
    receipt = await rt.read(lambda: rt.witnessing.receipt(kind, entry_id), heavy=True)
    return _send(request, receipt.as_dict(), receipt.tree_size, settled=False)


@router.get("/checkpoints/{size}", summary="The checkpoint signed at exactly this size")
async def checkpoint_at(request: Request, size: Size) -> Response:
    rt = _rt(request)
    row = await rt.read(lambda: rt.log.checkpoint(size))
    return _send(request, _checkpoint(row), size, settled=True)


@router.get(
    "/proofs/inclusion",
    summary="That an entry is in the tree a checkpoint signed (RFC 9162 inclusion proof)",
)
async def inclusion(
    request: Request,
    leaf_index: Index | None = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    entry_id: Annotated[str | None, Query(max_length=64, alias="id")] = None,
    tree_size: Index | None = None,
) -> Response:
    """Name the entry by `leaf_index`, or by `kind` and `id` (as a receipt does); the tree
    by `tree_size` (a signed size), else the newest checkpoint."""
    rt = _rt(request)
    if (leaf_index is None) == (kind is None or entry_id is None):
        raise QueryError("query.entry", "leaf_index", "give leaf_index, or kind and id")

    def run() -> Inclusion:
        if leaf_index is not None:
            return rt.log.inclusion(leaf_index, tree_size)
        assert kind is not None and entry_id is not None
        return rt.log.inclusion_of(kind, entry_id, tree_size)

    proof = await rt.read(run, heavy=True)  # the first proof reads every leaf hash
    return _send(request, _inclusion(proof), proof.tree_size, settled=tree_size is not None)


@router.get(
    "/proofs/consistency",
    summary="That the tree signed at `second` extends the one signed at `first` (RFC 9162)",
)
async def consistency(
    request: Request,
    first: Index,
    second: Index | None = None,
) -> Response:
    rt = _rt(request)
    proof = await rt.read(lambda: rt.log.consistency(first, second), heavy=True)
    size = proof.second.tree_size
    return _send(request, _consistency(proof), size, settled=second is not None)


@router.get("/ledger/entries", summary="The log's entries [start, end), as logged")
async def entries(
    request: Request,
    start: Index = 0,
    end: Index | None = None,
) -> Response:
    """At most 1,000 at a time; `next` names where the following page starts."""
    rt = _rt(request)
    rows = await rt.read(lambda: rt.log.entries(start, end), heavy=True)
    doc: dict[str, Any] = {"start": start, "entries": [_entry(r) for r in rows]}
    doc["next"] = rows[-1].leaf_index + 1 if len(rows) == MAX_ENTRIES else None
    settled = bool(rows) and end is not None and rows[-1].leaf_index + 1 == end
    last = rows[-1].tree_size if rows else 0
    return _send(request, doc, last, settled=settled)


@router.get("/ledger/entries/{leaf_index}", summary="One entry of the log, as logged")
async def entry(
    request: Request, leaf_index: Annotated[int, Path(ge=0, le=MAX_SAFE_INTEGER)]
) -> Response:
    rt = _rt(request)
    rows = await rt.read(lambda: rt.log.entries(leaf_index, leaf_index + 1), heavy=True)
    if not rows:
        raise NotInLog("ledger.no_entry", f"no entry at leaf index {leaf_index}")
    row = rows[0]
    return _send(request, _entry(row), row.tree_size, settled=True)


def _send(request: Request, doc: Any, size: int, *, settled: bool) -> Response:
    """A proof or entries are cheap to render and rarely asked twice: not kept."""
    return respond(request, render(doc, size), settled)


def _checkpoint(row: CheckpointRow) -> dict[str, Any]:
    return {"tree_size": row.tree_size, "checkpoint": row.note, "published_at": row.published_at}


def _witnessed(found: WitnessedCheckpoint) -> dict[str, Any]:
    return {
        "tree_size": found.tree_size,
        "checkpoint": found.note,
        "cosigned": found.cosigned,
        "published_at": found.published_at,
        **found.witnessed.as_dict(),
    }


def _inclusion(p: Inclusion) -> dict[str, Any]:
    return {
        "leaf_index": p.leaf_index,
        "kind": p.kind,
        "entry_id": p.entry_id,
        "leaf_hash": _b64(p.leaf_hash),
        "tree_size": p.tree_size,
        "inclusion_proof": [_b64(h) for h in p.proof],
        "checkpoint": p.checkpoint,
    }


def _consistency(p: Consistency) -> dict[str, Any]:
    return {
        "first": _checkpoint(p.first),
        "second": _checkpoint(p.second),
        "consistency_proof": [_b64(h) for h in p.proof],
    }


def _entry(r: EntryBytes) -> dict[str, Any]:
    """The leaf's bytes (base64, exactly as hashed) and what they are."""
    return {
        "leaf_index": r.leaf_index,
        "kind": r.kind,
        "entry_id": r.entry_id,
        "election": r.election,
        "received_at": r.received_at,
        "tree_size": r.tree_size,
        "leaf": _b64(r.leaf_data),
    }
