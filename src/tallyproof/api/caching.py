"""Answers as HTTP responses: every answer names its tree size; one at a size the log has
grown past can never change, so it is sent immutable with a strong ETag; a current answer
carries its ETag too, and a client holding it is told 304 Not Modified."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tallyproof.api.runtime import Rendered, Runtime, render
from tallyproof.service.log import QueryError
from tallyproof.service.reading import AsOf, parse_as_of

IMMUTABLE = "public, max-age=31536000, immutable"
CURRENT = "no-cache"  # may be stored, but asked again (If-None-Match) before each use
SIZE_HEADER = "Tallyproof-Tree-Size"


def as_of_param(text: str | None) -> AsOf:
    try:
        return parse_as_of(text)
    except ValueError as error:
        raise QueryError("query.as_of", "as_of", str(error)) from None


async def answer(
    request: Request,
    rt: Runtime,
    as_of: str | None,
    compute: Callable[[int], tuple[int, Any]],
    *,
    heavy: bool = False,
) -> Response:
    """Resolve `as_of` to a checkpointed size, reuse the rendered answer of this question
    at that size or compute it (`compute(size)` returns the size it answered at and the
    document), and send it with its caching headers."""
    at = as_of_param(as_of)
    key = (request.url.path, _query_without_as_of(request))

    def run() -> tuple[Rendered, bool]:
        size, settled = rt.model.resolve(at)
        found = rt.rendered(key, size)
        if found is None:
            answered, doc = compute(size)
            found = rt.keep(key, render(doc, answered))
        return found, settled

    rendered, settled = await rt.read(run, heavy=heavy)
    return respond(request, rendered, settled)


def respond(request: Request, rendered: Rendered, settled: bool) -> Response:
    headers = {
        "ETag": rendered.etag,
        "Cache-Control": IMMUTABLE if settled else CURRENT,
        SIZE_HEADER: str(rendered.tree_size),
    }
    if rendered.gzipped is not None:
        headers["Vary"] = "Accept-Encoding"
    gzipped = rendered.gzipped is not None and takes_gzip(request.headers.get("accept-encoding"))
    if gzipped:
        headers["ETag"] = gzip_etag(rendered.etag)  # other bytes: another strong ETag
    held = request.headers.get("if-none-match")
    if matches(held, rendered.etag) or matches(held, gzip_etag(rendered.etag)):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        return Response(rendered.gzipped, media_type="application/json", headers=headers)
    return Response(rendered.body, media_type="application/json", headers=headers)


def gzip_etag(etag: str) -> str:
    return etag[:-1] + '.gz"'


def takes_gzip(header: str | None) -> bool:
    """Whether Accept-Encoding admits gzip (RFC 9110 12.5.3): named, or `*`, without q=0."""
    for part in (header or "").lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.replace(" ", "").removeprefix("q=")
            return not (params and q in ("0", "0.0", "0.00", "0.000"))
    return False


def matches(header: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _query_without_as_of(request: Request) -> tuple[tuple[str, str], ...]:
    """The question's parameters, in a fixed order; `as_of` only picks the size."""
    return tuple(sorted((k, v) for k, v in request.query_params.multi_items() if k != "as_of"))
