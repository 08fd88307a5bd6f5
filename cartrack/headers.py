"""Security headers on every answer, and no caching of the API's.

One pure ASGI middleware (it leaves streamed bodies such as the alert stream alone and only
adds headers to the start of each response):

- ``Content-Security-Policy``: the built UI loads everything from its own origin, runs no
  inline script or style, embeds no plugin, and may not be framed. API answers carry the same
  policy, so an SVG label or a JSON body opened as a document runs nothing either.
- ``X-Frame-Options: DENY`` for browsers older than ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``: a download is what its media type says.
- ``Referrer-Policy: no-referrer``: addresses carry case ids; no other site learns them.
- ``Cross-Origin-Opener-Policy`` and ``Cross-Origin-Resource-Policy``: other sites neither
  hold a handle on our windows nor embed our labels and reports.
- ``Permissions-Policy``: the camera for the scan station, and nothing else.
- ``Cache-Control: no-store`` on everything under ``/api/``: answers hold patient names,
  dates of birth and MRNs, and ``/api/auth/me`` the CSRF token; downloads too.
- ``Strict-Transport-Security`` in production.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# FastAPI's /docs and /redoc pages load their scripts and styles from a CDN and start them
# with an inline script; they are served outside production only (see app.py).
DOCS_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "font-src https://fonts.gstatic.com",
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly",
    "worker-src blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=63072000; includeSubDomains"
COMMON = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(), geolocation=()",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, production: bool, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.production = production
        self.docs_paths = docs_paths

    def headers_for(self, path: str) -> dict[str, str]:
        out = dict(COMMON)
        docs = path in self.docs_paths
        out["Content-Security-Policy"] = DOCS_POLICY if docs else CONTENT_SECURITY_POLICY
        if path.startswith("/api/") or path == "/api":
            out["Cache-Control"] = "no-store"
        if self.production:
            out["Strict-Transport-Security"] = HSTS
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
