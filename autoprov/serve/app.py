"""The Starlette application: GET routes over the read-only index, the token check, and errors as 4xx.

Every route is a GET (Starlette answers any other method with 405): there is no write endpoint.
A request's parameters are checked before any query (400 with the reason), an id the index does
not hold is a 404, a query that reaches its time bound is a 503 saying so, and anything unexpected
is a 500 saying only that (the traceback goes to the server's log, never to the client).  Handlers
are plain functions, run in Starlette's thread pool, because the index is read through SQLAlchemy's
blocking engine; the pool of connections is the engine's.
"""

from __future__ import annotations

import hmac
import json
import sys
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import AutoprovError, IndexDatabaseError, StoreError, UsageError
from . import documents, pages, provsap
from .access import Index, QueryTimeout

COOKIE = "autoprov_token"
PAGE_RUNS = 500  # runs one page lists (the newest); the filters narrow a larger index
HEADERS = {
    # The pages load nothing from anywhere else; the run reports have inline scripts and styles.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#24476b"/>'
        '<path d="M4 12V4h5a3 3 0 0 1 0 6H4" stroke="#fff" stroke-width="2" fill="none"/></svg>')
STATUS = {provsap.BadRequest: 400, UsageError: 400, provsap.NotFound: 404, StoreError: 404, IndexDatabaseError: 503, QueryTimeout: 503}


def create_app(index: Index, token: str | None = None) -> Starlette:
    """The service over ``index``; with ``token``, every request must carry it."""

    def runs(request: Request) -> Response:
        from ..index.query import find_runs, parse_time

        filters = {name: value.strip() for name, value in request.query_params.items() if value.strip()}
        unknown = set(filters) - {"status", "since", "until", "script", "param", "used", "generated", "token"}
        if unknown:
            raise provsap.BadRequest(f"unknown filter {sorted(unknown)[0]!r}: use status, since, until, script, param, used, generated")
        with index.read() as connection:
            found = find_runs(
                connection, status=filters["status"].split(",") if "status" in filters else None,
                since=parse_time(filters["since"]) if "since" in filters else None,
                until=parse_time(filters["until"]) if "until" in filters else None, script=filters.get("script"),
                params=[filters["param"]] if "param" in filters else None,
                used=[Path(filters["used"])] if "used" in filters else None,
                generated=[Path(filters["generated"])] if "generated" in filters else None)
        return HTMLResponse(pages.runs_page(found[-PAGE_RUNS:], len(found), filters, index.display()))

    def run(request: Request) -> Response:
        from sqlalchemy import select

        from ..index import schema
        from ..index.query import resolve_run, run_info

        with index.read() as connection:
            info = resolve_run(connection, request.path_params["run_id"], "run")
            inputs = provsap.files_of(connection, info.run_id, "run:session", "BACK")
            outputs = provsap.files_of(connection, info.run_id, "run:session", "FORWARD")
            newest = select(schema.run).order_by(schema.run.c.start_time.desc()).limit(PAGE_RUNS)
            others = [run_info(row) for row in connection.execute(newest)]
        return HTMLResponse(pages.run_page(info, inputs, outputs, others, _report(info) is not None, index.display()))

    def report(request: Request) -> Response:
        from ..index.query import resolve_run

        with index.read() as connection:
            info = resolve_run(connection, request.path_params["run_id"], "run")
        path = _report(info)
        if path is None:
            raise provsap.NotFound(f"run {info.run_id}: no HTML report in its folder on this machine (autoprov report {info.run_id} writes one)")
        return FileResponse(path, media_type="text/html")

    def file(request: Request) -> Response:
        digest, path = _content(request)
        return HTMLResponse(pages.file_page(path, digest, index.display()))

    def steps(request: Request) -> Response:
        digest, path = _content(request)
        direction = request.query_params.get("direction", "BACK").upper()
        if direction not in ("BACK", "FORWARD"):
            raise provsap.BadRequest(f"direction={direction!r}: give BACK or FORWARD")
        query = provsap.Query(digest, index.bounds.depth, direction)
        with index.read() as connection:
            graph = provsap.answer(connection, query, index.bounds)
        ordered = sorted(graph.steps.values(), key=lambda step: (str(step.time), step.run_id))
        return HTMLResponse(pages.steps_page(path, direction, ordered, index.display()))

    def diff(request: Request) -> Response:
        from ..index.diff import diff_runs
        from ..index.query import resolve_run

        a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
        if not a or not b:
            raise provsap.BadRequest("diff needs two runs: /diff?a=RUN&b=RUN")
        with index.read() as connection:
            result = diff_runs(connection, resolve_run(connection, a, "a"), resolve_run(connection, b, "b"))
        return HTMLResponse(pages.diff_page(result, index.display()))

    def provsap_endpoint(request: Request) -> Response:
        query = provsap.parse(request.query_params, index.bounds)
        with index.read() as connection:
            graph = provsap.answer(connection, query, index.bounds)
            document = documents.prov_json(connection, graph, query) if query.format in ("PROV-JSON", "PROV-XML") else None
        headers = {"X-ProvSAP-Bound": graph.bound} if graph.bound else {}
        media = provsap.FORMATS[query.format]
        if query.format == "PROV-JSON":
            return Response(json.dumps(document, indent=1), media_type=media, headers=headers)
        if query.format == "PROV-XML":
            return Response(documents.prov_xml(document), media_type=media, headers=headers)
        from ..export.renderers.images import RenderError

        try:
            content = documents.image(graph, query, "svg" if query.format == "PROV-SVG" else "png", index.bounds.seconds)
        except RenderError as error:
            return PlainTextResponse(f"cannot draw the answer: {error}", status_code=503)
        return Response(content, media_type=media, headers=headers)

    def _content(request: Request) -> tuple[str, str]:
        asked = request.query_params.get("digest") or request.query_params.get("path")
        if not asked:
            raise provsap.BadRequest("give digest=<algorithm>:<hex> or path=/absolute/path")
        with index.read() as connection:
            kind, value = provsap.resolve(connection, asked)
        if kind != "content":
            raise provsap.BadRequest(f"{asked!r} is a run or an activity, not a file")
        digests, recorded = value
        return digests[0], request.query_params.get("path") or recorded

    def icon(request: Request) -> Response:  # browsers ask for it on every page, the served reports' too
        return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})

    routes = [
        Route("/favicon.ico", icon), Route("/", runs), Route("/runs/{run_id}", run), Route("/runs/{run_id}/report", report), Route("/files", file),
        Route("/steps", steps), Route("/diff", diff), Route("/provsap", provsap_endpoint),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: _failure(index), 404: _not_found(index)})
    return _Guard(app, token) if token else _Headers(app)


def _report(info: Any) -> Path | None:
    from ..store.location import this_host
    from ..store.layout import RunFolder

    if info.host not in (None, this_host()):
        return None
    path = RunFolder(Path(info.folder)).report
    return path if path.is_file() else None


def _failure(index: Index) -> Any:
    def handle(request: Request, error: Exception) -> Response:
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 500)
        if isinstance(error, QueryTimeout):
            message = f"the query reached this service's time bound of {index.bounds.seconds:g} s: ask for a smaller DEPTH"
        elif status == 500:
            print(f"autoprov serve: {request.url.path}: {type(error).__name__}: {error}", file=sys.stderr)
            message = "internal error (the server's log says more)"
        else:
            message = str(error)
        if isinstance(error, AutoprovError):
            message = f"{message} [{error.code}]"
        return _error(request, status, message, index)

    return handle


def _not_found(index: Index) -> Any:
    def handle(request: Request, error: Exception) -> Response:
        return _error(request, 404, f"no page {request.url.path}: see / for the runs, /provsap for ProvSAP", index)

    return handle


def _error(request: Request, status: int, message: str, index: Index) -> Response:
    if request.url.path.startswith("/provsap"):
        return PlainTextResponse(f"error: {message}\n", status_code=status)
    return HTMLResponse(pages.error_page(status, message, index.display()), status_code=status)


class _Headers:
    """Adds :data:`HEADERS` to every response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *((k.lower().encode(), v.encode()) for k, v in HEADERS.items())]
            await send(message)

        await self.app(scope, receive, sending)


class _Guard(_Headers):
    """Every request carries the token: ``Authorization: Bearer T``, the cookie, or ``?token=T`` once
    (which sets the cookie, so that links and the pages' own requests carry it from then on)."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token.encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        request = Request(scope)
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or request.cookies.get(COOKIE, "")
        from_query = request.query_params.get("token", "")
        if self._valid(from_query):
            response: Response = RedirectResponse(_without_token(request), status_code=303)
            response.set_cookie(COOKIE, from_query, httponly=True, samesite="strict")
            return await response(scope, receive, send)
        if not self._valid(given):
            response = PlainTextResponse("error: this service needs its token: Authorization: Bearer <token>, or ?token=<token> "
                                         "once in the browser [AP001]\n", status_code=401)
            return await response(scope, receive, send)
        await super().__call__(scope, receive, send)

    def _valid(self, given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.token)


def _without_token(request: Request) -> str:
    from urllib.parse import urlencode

    rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    return request.url.path + ("?" + urlencode(rest) if rest else "")
