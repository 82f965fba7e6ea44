"""Serving: the HTTP API and live feed (`serve`), under uvicorn, one or many workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from tallyproof.api import children
from tallyproof.api.committer import Address, start_committer, stop_committer
from tallyproof.api.publishing import start_publisher
from tallyproof.api.settings import ENV, Limits, ServeSettings
from tallyproof.api.witnessing import start_collector
from tallyproof.cli.common import app, err, known_errors
from tallyproof.service.witnessing import read_policy
from tallyproof.service.writer import LedgerWriter

WITNESS_TIMEOUT = 5.0  # seconds a witness has to answer before the round goes on without it


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
    per_key_per_minute: Annotated[
        int,
        typer.Option(
            min=0, help="Documents one key may submit a minute, per worker (0: no limit)."
        ),
    ] = Limits.per_key_per_minute,
    batch_documents: Annotated[
        int, typer.Option(min=1, max=100_000, help="Documents in one POST.")
    ] = Limits.batch_documents,
    body_bytes: Annotated[
        int, typer.Option(min=1024, help="Bytes in one request body.")
    ] = Limits.body_bytes,
    publish: Annotated[
        Path | None,
        typer.Option(
            help="Also write the static read side here as checkpoints come (docs/static.md)."
        ),
    ] = None,
    publish_seconds: Annotated[
        float, typer.Option(min=0.5, help="At most one static publication this often.")
    ] = 5.0,
    witness_seconds: Annotated[
        float,
        typer.Option(
            min=0.1, help="Ask the home's witnesses to cosign the newest checkpoint this often."
        ),
    ] = 2.0,
) -> None:
    """Serve the HTTP API (/v1, OpenAPI at /docs) and the live feed (/v1/events) on the
    home's store: WORKERS processes read and verify requests, one committer process logs
    them in group commits. With PostgreSQL, run as many of these (on as many machines) as
    the night needs: they share one log."""
    import uvicorn  # loaded only to serve

    with known_errors():
        LedgerWriter.open(ctx.obj).close()  # an uninitialised home is refused here, plainly
    with known_errors("witnesses.json"):
        witnessed = bool(read_policy(ctx.obj).witnesses)
    limits = Limits(
        body_bytes=body_bytes,
        batch_documents=batch_documents,
        per_key_per_minute=per_key_per_minute,
    )
    address = Address.fresh()
    settings = ServeSettings(
        ctx.obj,
        committer_path=address.path,
        host=host,
        port=port,
        workers=workers,
        limits=limits,
    )
    os.environ[ENV] = settings.to_env()
    err.print(f"serving http://{host}:{port}/ (API under /v1, its description at /docs)")
    committer = start_committer(ctx.obj, address)
    publisher = start_publisher(ctx.obj, publish, publish_seconds) if publish else None
    collector = start_collector(ctx.obj, witness_seconds, WITNESS_TIMEOUT) if witnessed else None
    try:
        uvicorn.run(
            "tallyproof.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
    finally:
        for child in (publisher, collector):
            if child is not None:
                children.stop(child)
        stop_committer(committer, address)
