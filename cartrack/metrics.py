"""Prometheus metrics (prometheus-client), served at /metrics by every API process and, for a
scheduler running on its own, by `cartrack scheduler --metrics-port`.

Each process exposes its own numbers; Prometheus adds them up across replicas. Labels carry
route templates and verdicts only: never an identifier, never a patient detail.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_SECONDS = Histogram(
    "cartrack_http_request_duration_seconds", "Time to answer an HTTP request, per route.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
SCANS = Counter("cartrack_scans_total", "Scans judged and recorded, by verdict.", ["verdict"])
ALERTS_FIRED = Counter("cartrack_alerts_fired_total", "Alerts fired by this scheduler.",
                       ["severity"])
ALERT_LATENESS = Histogram(
    "cartrack_alert_lateness_seconds", "How long after its due time an alert fired.",
    buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0))
SCHEDULER_LAG = Gauge("cartrack_scheduler_lag_seconds",
                      "How late the latest fire tick started after it was due.")
SCHEDULER_LEADER = Gauge("cartrack_scheduler_leader",
                         "1 while this process's scheduler holds the leader lock.")
SCHEDULER_LAST_TICK = Gauge("cartrack_scheduler_last_tick_timestamp_seconds",
                            "Unix time of the latest completed fire tick.")
IDEMPOTENT_REPLAYS = Counter("cartrack_idempotent_replays_total",
                             "Repeated requests answered with their first outcome.")
UNAVAILABLE = Counter("cartrack_database_unavailable_total",
                      "Requests answered 503 because the database was out of reach or full.")


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class RequestTimer:
    """Times every HTTP request and labels it with the route template it matched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUEST_SECONDS.labels(scope.get("method", ""), template, str(status)).observe(
                time.perf_counter() - started)
            if status == 503:
                UNAVAILABLE.inc()
