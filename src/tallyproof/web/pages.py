"""The dashboard's routes: the page at `/`, the embeddable widget at `/embed/...` and their
static assets. The pages read only the public API (/v1) from the reader's browser, and
check what it says there (verify.js); the server renders nothing but files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(str(resources.files("tallyproof.web").joinpath("static")))
# scripts, styles and data only from this server; the page may be framed by itself only, the
# widget by anyone (that is what it is for)
_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors {frames}"
)
PAGE_POLICY = _POLICY.format(frames="'self'")
WIDGET_POLICY = _POLICY.format(frames="*")


class _Assets(StaticFiles):
    """Static files revalidated on every load (ETag, 304), so a new release is seen at once."""

    def file_response(self, *args: object, **kwargs: object) -> Response:
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _page(name: str, policy: str) -> FileResponse:
    return FileResponse(
        STATIC / name,
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


async def dashboard(_: Request) -> Response:
    return _page("index.html", PAGE_POLICY)


async def widget(_: Request) -> Response:
    return _page("embed.html", WIDGET_POLICY)


def mount(app: FastAPI) -> None:
    """Add the dashboard's routes; they stay out of the API's OpenAPI description."""
    app.router.routes.extend(
        [
            Route("/", dashboard, methods=["GET", "HEAD"]),
            Route("/embed/{election}/{contest}", widget, methods=["GET", "HEAD"]),
            Mount(
                "/static",
                GZipMiddleware(_Assets(directory=STATIC), minimum_size=1024, compresslevel=6),
                name="static",
            ),
        ]
    )
