"""The app's route table as tests walk it: every APIRoute and its access rule."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from cartrack.security import Access, Public


def access_rule(route: APIRoute) -> Access | Public | None:
    """The Access or Public dependency of a route, wherever it sits in its dependency tree."""
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, Access | Public):
            return dep.call
        stack.extend(dep.dependencies)
    return None


def api_routes(app: Any) -> list[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI nests them)."""
    found: list[APIRoute] = []
    pending = list(app.routes)
    while pending:
        route = pending.pop(0)
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            pending.extend(route.original_router.routes)
    return found
