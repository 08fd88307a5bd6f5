"""What an operator reads: Prometheus metrics (request latency per route, scans by verdict,
alerts fired, their lateness, the scheduler's lag and leadership) and JSON log lines that
carry the request id a client was given."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from cartrack import clock
from cartrack.alerts.leader import Always
from cartrack.alerts.scheduler import AlertScheduler
from tests.helpers.alerts import add_alert, alert, env_for_subprocess, free_port, wait_for

SCAN = {"payload": "NOT-A-CARTRACK-LABEL", "action": None, "location": "bench 1"}


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_scans_by_verdict_and_time_requests_by_route(
        client: TestClient, auth: Any) -> None:
    scans = _value("cartrack_scans_total", verdict="mismatch")
    timed = _value("cartrack_http_request_duration_seconds_count", method="POST",
                   route="/api/scans", status="200")
    assert client.post("/api/scans", headers=auth["lab_tech"], json=SCAN).status_code == 200
    r = client.get("/metrics")  # no sign-in: Prometheus scrapes it; the proxy keeps it inside
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert _value("cartrack_scans_total", verdict="mismatch") == scans + 1
    assert _value("cartrack_http_request_duration_seconds_count", method="POST",
                  route="/api/scans", status="200") == timed + 1
    assert 'cartrack_scans_total{verdict="mismatch"}' in r.text
    assert 'route="/api/scans"' in r.text
    assert "NOT-A-CARTRACK-LABEL" not in r.text


def test_the_scheduler_reports_fired_alerts_their_lateness_and_its_leadership(
        db_url: str) -> None:
    fired = _value("cartrack_alerts_fired_total", severity="critical")
    late = _value("cartrack_alert_lateness_seconds_count")
    alert_id = add_alert(None, fire_at=clock.now() - timedelta(seconds=3))
    scheduler = AlertScheduler(poll_seconds=0.1, lock=Always())
    scheduler.start()
    try:
        assert wait_for(lambda: alert(alert_id).status == "fired", 10)
        assert wait_for(lambda: _value("cartrack_alerts_fired_total", severity="critical")
                        == fired + 1, 5)
        assert _value("cartrack_alert_lateness_seconds_count") == late + 1
        assert _value("cartrack_alert_lateness_seconds_bucket", le="2.0") <= late  # 3 s late
        assert _value("cartrack_scheduler_leader") == 1
        assert wait_for(lambda: _value("cartrack_scheduler_last_tick_timestamp_seconds") > 0, 5)
        assert REGISTRY.get_sample_value("cartrack_scheduler_lag_seconds") is not None
    finally:
        scheduler.stop()
    assert _value("cartrack_scheduler_leader") == 0


@pytest.mark.realtime
def test_json_logs_carry_the_request_id_the_client_got(db_url: str, tmp_path: Path,
                                                       auth: Any) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = env_for_subprocess(log_format="json", scheduler_enabled="false")
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "cartrack.cli", "serve", "--no-migrate",
                                 "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(lambda: _up(base), 120, step=0.2), log.read_text()
        r = httpx.post(f"{base}/api/scans", headers=auth["lab_tech"], json=SCAN, timeout=10)
        assert r.status_code == 200
        rid = r.headers["x-request-id"]
        assert wait_for(lambda: rid in log.read_text(), 5)
    finally:
        proc.terminate()
        proc.wait(10)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert lines and all({"time", "level", "logger", "message", "request_id"} <= set(x)
                         for x in lines)
    access = [x for x in lines if x["request_id"] == rid]
    assert any(x["logger"] == "uvicorn.access" and "/api/scans" in x["message"] for x in access)
    assert not any("Test" in x["message"] and "Patient" in x["message"] for x in lines)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
