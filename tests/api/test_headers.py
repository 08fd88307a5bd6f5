"""Security headers on every route family (API, UI, downloads, the live stream), no caching of
anything under /api/, HSTS in production only, and no API docs in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from cartrack.app import create_app
from cartrack.settings import get_settings
from tests.helpers.alerts import SseReader, configure, served_app
from tests.helpers.journey import Journey

CSP_DIRECTIVES = {"default-src 'self'", "object-src 'none'", "base-uri 'none'",
                  "frame-ancestors 'none'"}
PRODUCTION = {"environment": "production", "secret_key": "s" * 40,
              "password_hash_profile": "standard"}


def directives(policy: str) -> set[str]:
    return {d.strip() for d in policy.split(";") if d.strip()}


def assert_protected(response: Any, *, cached_ok: bool = False) -> None:
    """The headers every answer carries; `cached_ok` for the UI's static files only."""
    h = response.headers
    what = f"{response.request.method} {response.request.url.path}"
    policy = directives(h.get("content-security-policy", ""))
    assert policy >= CSP_DIRECTIVES, (what, policy)
    assert not any("unsafe" in d for d in policy), (what, policy)
    assert h.get("x-content-type-options") == "nosniff", what
    assert h.get("referrer-policy") == "no-referrer", what
    assert h.get("x-frame-options") == "DENY", what
    if not cached_ok:
        assert h.get("cache-control") == "no-store", what


@pytest.fixture
def built_ui(tmp_path: Path, monkeypatch: Any) -> Path:
    """A built UI as Vite lays it out: index.html and a hashed asset."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<!doctype html><script type="module" '
                                     'src="/assets/index-abc123.js"></script>')
    (dist / "assets" / "index-abc123.js").write_text("console.log('cartrack')")
    configure(monkeypatch, frontend_dir=dist)
    return dist


def test_api_answers_with_patient_data_are_never_stored(client: Any, auth: Any) -> None:
    case = Journey(client, auth).enroll()
    coordinator = auth["coordinator"]
    for path in (f"/api/cases/{case['id']}", f"/api/cases/{case['id']}/audit",
                 "/api/auth/me", "/api/cases", "/api/health"):
        r = client.get(path, headers=coordinator)
        assert r.status_code == 200, (path, r.text)
        assert_protected(r)
    assert "Patient" in client.get(f"/api/cases/{case['id']}", headers=coordinator).text
    login = client.post("/api/auth/login", json={"username": "coordinator",
                                                  "password": "not-the-password"})
    assert login.status_code == 401
    assert_protected(login)  # refusals too
    assert_protected(client.get("/api/nothing-here"))
    too_big = client.post("/api/cases", headers={**coordinator, "content-type": "application/json"},
                          content=b"{" + b" " * 1_100_000 + b"}")
    assert too_big.status_code == 413
    assert_protected(too_big)  # refused by the body limit, before the app


def test_downloads_with_patient_data_are_never_stored(client: Any, auth: Any) -> None:
    case = Journey(client, auth).enroll()
    for fmt in ("csv", "pdf"):
        r = client.get(f"/api/cases/{case['id']}/custody.{fmt}", headers=auth["coordinator"])
        assert r.status_code == 200, r.text
        assert_protected(r)


def test_the_built_ui_is_served_under_the_strict_policy(built_ui: Path, db_url: str) -> None:
    with TestClient(create_app(start_scheduler=False)) as client:
        for path in ("/", "/cases/12", "/admin/users"):
            page = client.get(path)
            assert page.status_code == 200 and "<script" in page.text, path
            assert_protected(page)  # the page itself: never cached either
        asset = client.get("/assets/index-abc123.js")
        assert asset.status_code == 200
        assert_protected(asset, cached_ok=True)
        assert "cache-control" not in asset.headers  # hashed file names: caching is safe


def test_no_strict_transport_security_outside_production(client: Any) -> None:
    assert "strict-transport-security" not in client.get("/api/health").headers


def test_production_adds_strict_transport_security_everywhere(built_ui: Path, db_url: str,
                                                              monkeypatch: Any) -> None:
    configure(monkeypatch, **PRODUCTION)
    with TestClient(create_app(start_scheduler=False)) as client:
        for path in ("/api/health", "/", "/assets/index-abc123.js", "/api/cases"):
            hsts = client.get(path).headers.get("strict-transport-security", "")
            assert hsts.startswith("max-age=63072000") and "includeSubDomains" in hsts, path


def test_api_docs_are_not_served_in_production(db_url: str, monkeypatch: Any) -> None:
    with TestClient(create_app(start_scheduler=False)) as client:
        assert client.get("/docs").status_code == 200
        assert client.get("/openapi.json").json()["info"]["title"] == "cartrack"
    configure(monkeypatch, **PRODUCTION)
    assert get_settings().is_production
    with TestClient(create_app(start_scheduler=False)) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            r = client.get(path)
            assert "swagger" not in r.text.lower() and "redoc" not in r.text.lower(), path
            assert '"openapi"' not in r.text, path
            assert_protected(r, cached_ok=True)


@pytest.mark.realtime
def test_the_live_stream_carries_the_headers(db_url: str, auth: Any) -> None:
    with served_app() as base, SseReader(f"{base}/api/alerts/stream",
                                         auth["infusion_staff"]) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert_protected(httpx.Response(200, headers=stream.headers,
                                        request=httpx.Request("GET", f"{base}/api/alerts/stream")))
