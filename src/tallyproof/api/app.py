"""The FastAPI application: its routes, the one place errors become problem details, and
what each worker process opens when it starts (the writer, the read model, the feed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Route

from tallyproof import __version__
from tallyproof.api import delay, events, exports, government, lifecycle, log, reads, writes
from tallyproof.api.events import Broadcaster
from tallyproof.api.limits import RateLimited
from tallyproof.api.problems import from_error, problem_response
from tallyproof.api.runtime import Runtime
from tallyproof.api.settings import ServeSettings
from tallyproof.errors import KNOWN
from tallyproof.service.feed import Feed
from tallyproof.service.queries import UnknownElection
from tallyproof.web import pages

logger = logging.getLogger("tallyproof.api")
DESCRIPTION = """\
Election results from polling-station forms, checked, consolidated, published and provable.

Every write is a document signed by a registered key (docs/formats.md, "Signed envelope");
its answer is a receipt. Every read takes `as_of` (a tree size or an RFC 3339 time) and
answers with the tree size it is true at and the signed checkpoint of that size. Errors are
RFC 9457 problem details naming the rule's code and the field (docs/rules.md)."""


def create_app(settings: ServeSettings) -> FastAPI:
    app = FastAPI(
        title="tallyproof",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan(settings),
    )
    for module in (writes, reads, delay, exports, log, events, government, lifecycle):
        app.include_router(module.router)
    # the hottest route, also served by a plain Starlette route ahead of FastAPI's: the same
    # function (its FastAPI route still describes it in the OpenAPI document), without the
    # dependency resolution it does not use — a tenth of a millisecond a form on election night
    app.router.routes.insert(0, Route("/v1/forms", writes.post_forms, methods=["POST"]))
    app.add_api_route("/v1/health", health, methods=["GET"], tags=["service"])
    pages.mount(app)
    for known in KNOWN:
        app.add_exception_handler(known, _known)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal)
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn's worker processes call: settings come from the environment."""
    return create_app(ServeSettings.from_env())


def _lifespan(settings: ServeSettings) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # the reading and feed threads give the GIL back at every query: by default each
        # waits up to 5 ms to get it again while the loop serves requests, and a read of
        # a few queries took tens of milliseconds during ingest
        sys.setswitchinterval(settings.switch_seconds)
        rt = await Runtime.open(settings)
        broadcaster = Broadcaster(Feed(rt.store), rt)
        app.state.runtime, app.state.broadcaster = rt, broadcaster
        await _warm(rt)  # a worker takes requests once its read model is built
        tasks = [
            asyncio.create_task(broadcaster.run(), name="tallyproof-feed"),
            asyncio.create_task(_keep_warm(rt), name="tallyproof-warm"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await rt.close()

    return lifespan


async def _warm(rt: Runtime) -> None:
    with contextlib.suppress(UnknownElection):  # an empty log has nothing to build
        await rt.read(rt.model.warm, heavy=True)


async def _keep_warm(rt: Runtime) -> None:
    """Keep the read model's tallies up with the log, in a thread, whenever no question has
    done so for a while (while questions come, each brings the tally up itself)."""
    every = rt.settings.warm_seconds
    while True:
        await asyncio.sleep(every)
        if time.monotonic() - rt.last_read >= every:
            await _warm(rt)


async def health(request: Request) -> dict[str, Any]:
    """Whether this worker is up, how far its feed has read, and what its intake did."""
    rt: Runtime = request.app.state.runtime
    broadcaster: Broadcaster = request.app.state.broadcaster
    return {
        "status": "ok",
        "worker": os.getpid(),
        "feed_size": broadcaster.published,
        "readers": len(broadcaster.readers),
        "intake": rt.committer.stats,  # the committer's, as of its last commit
    }


async def _known(request: Request, error: Exception) -> Response:
    response = from_error(error, request)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


async def _invalid(request: Request, error: RequestValidationError) -> Response:
    """A query or path parameter FastAPI could not read, named as the field it is."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "$"
    return problem_response(
        400,
        "query.invalid",
        f"{where}: {first.get('msg', 'invalid')}",
        field=where,
        instance=request.url.path,
    )


async def _http(request: Request, error: HTTPException) -> Response:
    code = {404: "request.not_found", 405: "request.method"}.get(error.status_code, "request")
    return problem_response(
        error.status_code,
        code,
        str(error.detail),
        instance=request.url.path,
        headers=dict(error.headers or {}),
    )


async def _internal(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error on %s", request.url.path)
    return problem_response(
        500,
        "service.internal",
        f"{type(error).__name__}: the request did not complete",
        instance=request.url.path,
    )
