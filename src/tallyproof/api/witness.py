"""A witness's HTTP service (C2SP tlog-witness): `POST /add-checkpoint` answers with the
witness's cosignature or the status the protocol gives each refusal, and
`GET /{origin hash}/checkpoint` serves the newest checkpoint it cosigned for a log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from tallyproof import __version__
from tallyproof.ledger.cosignature import WitnessRefusal
from tallyproof.service.settings import Settings
from tallyproof.service.witness import WitnessService

MAX_BODY = 1 << 16  # a checkpoint, 63 proof lines and a few signatures fit many times over
SIZE_TYPE = "text/x.tlog.size"


def create_witness_app(settings: Settings, *, keep_forks: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.witness = WitnessService.open(settings, keep_forks=keep_forks)
        try:
            yield
        finally:
            app.state.witness.close()

    app = FastAPI(
        title="tallyproof witness",
        version=__version__,
        description="C2SP tlog-witness: cosigns a log's checkpoints that extend the last.",
        lifespan=lifespan,
    )
    app.add_api_route("/add-checkpoint", add_checkpoint, methods=["POST"])
    app.add_api_route("/{origin_hash}/checkpoint", checkpoint, methods=["GET"])
    return app


async def add_checkpoint(request: Request) -> Response:
    """Cosign the checkpoint in the body if it extends the last one cosigned for its log."""
    body = await request.body()
    if len(body) > MAX_BODY:
        return PlainTextResponse("the request is larger than any add-checkpoint\n", 413)
    witness: WitnessService = request.app.state.witness
    try:
        line = await run_in_threadpool(witness.add_checkpoint, body)
    except WitnessRefusal as refusal:
        if refusal.status == 409:
            return Response(f"{refusal.size}\n", 409, media_type=SIZE_TYPE)
        return PlainTextResponse(f"{refusal.code}: {refusal}\n", refusal.status)
    return PlainTextResponse(line)


async def checkpoint(
    request: Request,
    origin_hash: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
) -> Response:
    """The newest checkpoint cosigned for the log whose origin's SHA-256 is `origin_hash`."""
    witness: WitnessService = request.app.state.witness
    note = await run_in_threadpool(witness.checkpoint_of, origin_hash)
    if note is None:
        return PlainTextResponse("no checkpoint of that log was cosigned here\n", 404)
    return PlainTextResponse(note)
