"""The FastAPI application: routers, one error shape, body limits, security headers, the built
UI."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cartrack import __version__, contract, failures, idempotency, metrics
from cartrack.alerts.routes import router as alerts_router
from cartrack.alerts.scheduler import startup_hook as start_alert_scheduler
from cartrack.analytics.routes import router as analytics_router
from cartrack.errors import DomainError, ErrorBody, FieldProblem
from cartrack.fhir.routes import router as fhir_router
from cartrack.headers import SecurityHeaders
from cartrack.health import router as health_router
from cartrack.journey.routes import router as journey_router
from cartrack.labels.routes import router as labels_router
from cartrack.protocols.routes import router as protocols_router
from cartrack.scans.routes import router as scans_router
from cartrack.scheduling.routes import router as scheduling_router
from cartrack.security import PUBLIC, warm_up
from cartrack.settings import get_settings
from cartrack.shipments.routes import router as shipments_router
from cartrack.units.routes import router as units_router
from cartrack.users.routes import router as users_router

log = logging.getLogger("cartrack")

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "model": ErrorBody}
    for code, text in [(401, "Not signed in"), (403, "Role or site may not"), (404, "Not found"),
                       (409, "Refused by the journey's rules"), (413, "Body too large"),
                       (422, "Invalid input")]
}


STREAMED = re.compile(r"^/api/shipments/[0-9]+/readings$")


class BodyLimit:
    """413 for bodies over the limit, whether announced by Content-Length or streamed; 422 for
    NUL characters, which no field of cartrack accepts (and PostgreSQL text cannot store)."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int = 0) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        # A logger file streams through to its route, which reads it line by line under its
        # own limit and refuses a NUL character with the line it is on.
        streamed = scope["method"] == "POST" and STREAMED.match(scope.get("path", "")) is not None
        limit = self.upload_limit if streamed else self.limit
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _too_large(limit)(scope, receive, send)
            return
        if streamed:
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if _has_nul(query) or b"%00" in query:
            await _nul_refused()(scope, receive, send)
            return
        form = headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded")
        # Bodies are small (the limit is the guard), so read them whole before the app does:
        # a refusal here is then a clean 413/422, never a half-parsed request.
        body, more = b"", scope["method"] not in ("GET", "HEAD")
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await _too_large(self.limit)(scope, receive, send)
                return
        if _has_nul(body) or (form and b"%00" in body):
            await _nul_refused()(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _has_nul(raw: bytes) -> bool:
    return b"\x00" in raw or b"\\u0000" in raw


def _nul_refused() -> JSONResponse:
    return JSONResponse({"detail": "Text may not contain NUL characters.",
                         "code": "nul_character"}, status_code=422)


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse({"detail": f"The request body is larger than {limit} bytes.",
                         "code": "body_too_large"}, status_code=413)


def _field_errors(exc: RequestValidationError) -> list[FieldProblem]:
    out: list[FieldProblem] = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        out.append({"field": ".".join(loc), "message": err.get("msg", "invalid"),
                    "type": err.get("type", "")})
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code,
                            headers={"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _field_errors(exc)
        first = fields[0] if fields else FieldProblem(field="", message="invalid")
        where = f" ({first['field']})" if first["field"] else ""
        return JSONResponse({"detail": f"Invalid input{where}: {first['message']}.",
                             "code": "invalid_input", "fields": fields}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        detail = exc.detail if isinstance(exc.detail, str) else "Request refused."
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names only the methods of the first route of the path it tried.
            allowed = (contract.allowed_methods(app.openapi(), request.url.path)
                       or [m.strip() for m in (headers or {}).get("Allow", "GET").split(",")])
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
            detail = f"{request.method} is not allowed here; use " + " or ".join(allowed) + "."
        if exc.status_code == 400:
            # Starlette's "error parsing the body": undecodable JSON is invalid input, like the rest.
            return JSONResponse({"detail": "The request body is not valid JSON text.",
                                 "code": "invalid_input", "fields": []}, status_code=422)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "There is nothing at this address."
        return JSONResponse({"detail": detail, "code": codes.get(exc.status_code, "http_error")},
                            status_code=exc.status_code, headers=headers)

    @app.exception_handler(DataError)
    async def data_error(_: Request, exc: DataError) -> JSONResponse:
        # Input the database cannot store; the transaction was rolled back whole.
        return JSONResponse({"detail": "A value cannot be stored as given; check the text for "
                             "unusual characters or out-of-range numbers.",
                             "code": "invalid_input", "fields": []}, status_code=422)

    failures.install(app)
    idempotency.install(app)


SPA_ROUTE = "spa"


class CartrackAPI(FastAPI):
    """FastAPI whose OpenAPI document also states the server's text rules (see ``contract``)."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = contract.declare_request_shapes(super().openapi())
        return self.openapi_schema


def _frontend_dir() -> Path | None:
    configured = get_settings().frontend_dir
    candidates = [Path(configured)] if configured else []
    here = Path(__file__).resolve().parent
    # A checkout serves frontend/dist; an installed wheel serves the UI built into it.
    candidates += [here.parent / "frontend" / "dist", here / "static"]
    return next((p for p in candidates if (p / "index.html").is_file()), None)


def _mount_frontend(app: FastAPI) -> None:
    dist = _frontend_dir()

    @app.get("/{path:path}", include_in_schema=False, dependencies=[Depends(PUBLIC)],
             name=SPA_ROUTE)
    def spa(path: str) -> Response:
        if path.startswith("api/") or dist is None:
            return JSONResponse({"detail": "There is nothing at this address.",
                                 "code": "not_found"}, status_code=404)
        file = (dist / path).resolve()
        if path and file.is_file() and dist.resolve() in file.parents:
            return FileResponse(file)
        return FileResponse(dist / "index.html", headers={"Cache-Control": "no-store"})


def create_app(*, start_scheduler: bool | None = None) -> FastAPI:
    settings = get_settings()
    run_scheduler = settings.scheduler_enabled if start_scheduler is None else start_scheduler

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up()
        stop_scheduler = start_alert_scheduler(app, run_scheduler)
        yield
        if stop_scheduler is not None:
            stop_scheduler()

    # In production the API's documentation pages and spec are not served at all: their
    # pages need a CDN and inline scripts the CSP refuses. `cartrack openapi` writes the spec.
    no_docs: dict[str, Any] = {"docs_url": None, "redoc_url": None, "openapi_url": None} \
        if settings.is_production else {}
    app = CartrackAPI(title="cartrack", version=__version__, lifespan=lifespan,
                  description="Chain-of-identity and chain-of-custody tracking for autologous "
                              "CAR-T cell therapy.", responses=ERROR_RESPONSES,
                  **no_docs)
    install_error_handlers(app)
    # Routes are matched in order: the scan station's, the most frequent request, first.
    for router in (scans_router, users_router, protocols_router, journey_router, units_router,
                   labels_router, alerts_router, health_router, analytics_router, fhir_router,
                   scheduling_router, shipments_router):
        app.include_router(router)

    _mount_frontend(app)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       upload_limit=settings.max_upload_bytes)
    app.add_middleware(metrics.RequestTimer)
    app.add_middleware(failures.RequestIds)  # every answer carries the request id, 500s too
    # Added last, so it is the outer one: refusals of the body limit and the 500s of
    # RequestIds carry the security headers too.
    docs_pages = frozenset() if settings.is_production else frozenset({"/docs", "/redoc"})
    app.add_middleware(SecurityHeaders, production=settings.is_production,
                       docs_paths=docs_pages)
    return app
