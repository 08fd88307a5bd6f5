"""Honest answers when things fail, with the connection left usable.

- The database cannot be reached, is shutting down, is busy or is out of disk: 503 with
  Retry-After, and words saying that nothing was saved.
- The COMMIT itself was cut off: nobody knows whether it was saved. 503 says exactly that,
  and, for a request sent with an Idempotency-Key, that repeating it is safe.
- A bug: 500 with the request id, which the log line of the traceback carries too.

Starlette runs handlers registered for `Exception` in its outermost middleware and re-raises
afterwards, so the server drops the keep-alive connection. Here the catch-all is an ordinary
middleware that answers and does not re-raise; the database errors have handlers of their own.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cartrack.db import CommitUncertain
from cartrack.logs import request_id_var

log = logging.getLogger("cartrack")

RETRY_AFTER_SECONDS = 5
RETRY_AFTER_FULL_SECONDS = 60
REQUEST_ID_HEADER = "X-Request-ID"
# An id a proxy in front may pass on; anything else is replaced by our own.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def _is_disk_full(exc: BaseException) -> bool:
    original = getattr(exc, "orig", exc)
    if isinstance(original, psycopg.errors.DiskFull):
        return True
    return "database or disk is full" in str(original)  # SQLite's SQLITE_FULL


def _unavailable(status: int, code: str, detail: str, retry_after: int) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code, "context": {"retry_after": retry_after}},
                        status_code=status, headers={"Retry-After": str(retry_after)})


def database_unavailable_response(exc: BaseException) -> JSONResponse:
    if _is_disk_full(exc):
        log.error("database out of disk space: %s", type(exc).__name__)
        return _unavailable(503, "storage_full",
                            "The database has no room left, so nothing was saved. Tell your "
                            "administrator; try again later.", RETRY_AFTER_FULL_SECONDS)
    log.warning("database unavailable: %s", _first_line(exc))
    return _unavailable(503, "database_unavailable",
                        "The database cannot be reached right now, so nothing was saved. Try "
                        "again in a few seconds.", RETRY_AFTER_SECONDS)


def outcome_unknown_response(request: Request, exc: CommitUncertain) -> JSONResponse:
    log.error("commit cut off, outcome unknown: %s", _first_line(exc.__cause__ or exc))
    if request.headers.get("idempotency-key"):
        detail = ("The connection to the database was lost while this was being saved, so it "
                  "is not known whether it was saved. Try the same action again: cartrack "
                  "recognises the repeat and will not record it twice.")
    else:
        detail = ("The connection to the database was lost while this was being saved, so it "
                  "is not known whether it was saved. Check before doing it again.")
    return _unavailable(503, "outcome_unknown", detail, RETRY_AFTER_SECONDS)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def is_database_unavailable(exc: BaseException) -> bool:
    """Errors that say the database is out of reach (or full), not that the request is wrong."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | psycopg.OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def install(app: FastAPI) -> None:
    async def db_error(request: Request, exc: Exception) -> JSONResponse:
        if is_database_unavailable(exc):
            return database_unavailable_response(exc)
        raise exc  # a DBAPIError that is a bug: the catch-all answers 500

    async def uncertain(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, CommitUncertain)
        return outcome_unknown_response(request, exc)

    for kind in (OperationalError, InterfaceError, PoolTimeout, psycopg.OperationalError):
        app.add_exception_handler(kind, db_error)
    app.add_exception_handler(CommitUncertain, uncertain)


class RequestIds:
    """Outermost middleware: a request id for every request (the proxy's, or a new one), in
    the logs and the X-Request-ID header; a 500 with that id for any exception not handled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = request_id_var.set(rid)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []),
                                      (REQUEST_ID_HEADER.lower().encode(), rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                raise  # a stream that broke midway: nothing left to answer with
            log.exception("unexpected error in %s %s (request %s)", scope.get("method"),
                          scope.get("path"), rid, exc_info=exc)
            response = _internal_error(rid) if not is_database_unavailable(exc) \
                else database_unavailable_response(exc)
            await response(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers") or []:
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _SAFE_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _internal_error(rid: str) -> JSONResponse:
    body: dict[str, Any] = {
        "detail": f"cartrack hit an unexpected error; nothing was saved. Quote request {rid} "
                  "when you report it.",
        "code": "internal_error", "context": {"request_id": rid}}
    return JSONResponse(body, status_code=500)
