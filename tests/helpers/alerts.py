"""Helpers of the alert tests: alerts written as journey events write them, a real SMTP server
and a webhook receiver on loopback, the app served on a free port, and an SSE reader."""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from sqlmodel import col, select

from cartrack import clock
from cartrack.alerts.models import Alert, AlertDelivery
from cartrack.alerts.raising import create_alert
from cartrack.app import create_app
from cartrack.db import new_session
from cartrack.settings import get_settings
from cartrack.users.models import Site

SECRET = "test-webhook-secret"


def site_id(code: str) -> int:
    with new_session(read_only=True) as s:
        site = s.exec(select(Site).where(Site.code == code)).one()
        return site.id or 0


def add_alert(case_id: int | None, *, severity: str = "critical", fire_at: datetime | None = None,
              targets: set[tuple[str, str]] | None = None, kind: str = "breach",
              title: str = "Thawed product must be infused: limit reached") -> int:
    """A pending alert written by the same function journey events use."""
    wanted = targets or {("infusion_staff", "TC-CITY"), ("coordinator", "TC-CITY")}
    with new_session() as s:
        alert = create_alert(s, case_id, kind=kind, severity=severity, title=title,
                             message=f"{title}. Act now.",
                             targets={(r, site_id(c)) for r, c in wanted},
                             fire_at=fire_at or clock.now())
        s.commit()
        return alert.id or 0


def add_alerts(case_id: int | None, count: int, fire_at: datetime,
               targets: set[tuple[str, str]] | None = None) -> list[int]:
    wanted = targets or {("infusion_staff", "TC-CITY")}
    resolved = {(r, site_id(c)) for r, c in wanted}
    with new_session() as s:
        ids = [create_alert(s, case_id, kind="breach", severity="warning", title=f"bulk {i}",
                            message=f"bulk alert {i}", targets=resolved,
                            fire_at=fire_at).id or 0 for i in range(count)]
        s.commit()
    return ids


def alert(alert_id: int) -> Alert:
    with new_session(read_only=True) as s:
        row = s.get(Alert, alert_id)
        assert row is not None
        return row


def alerts(ids: list[int]) -> list[Alert]:
    with new_session(read_only=True) as s:
        return list(s.exec(select(Alert).where(col(Alert.id).in_(ids))).all())


def alerts_of_case(case_id: int) -> list[Alert]:
    with new_session(read_only=True) as s:
        return list(s.exec(select(Alert).where(Alert.case_id == case_id)
                           .order_by(col(Alert.fire_at), col(Alert.id))).all())


def deliveries(alert_id: int | None = None) -> list[AlertDelivery]:
    with new_session(read_only=True) as s:
        query = select(AlertDelivery).order_by(col(AlertDelivery.id))
        if alert_id is not None:
            query = query.where(AlertDelivery.alert_id == alert_id)
        return list(s.exec(query).all())


def configure(monkeypatch: Any, **values: Any) -> None:
    for key, value in values.items():
        monkeypatch.setenv(f"CARTRACK_{key.upper()}", str(value))
    get_settings.cache_clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    ends = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > ends:
            return value
        time.sleep(step)


# ---- a real SMTP server on loopback ----------------------------------------------------


@dataclass
class Inbox:
    port: int
    messages: list[Message] = field(default_factory=list)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def to_any(self, addresses: list[str]) -> list[Message]:
        return [m for m in self.messages if m["To"] in addresses]


@contextmanager
def smtp_server() -> Iterator[Inbox]:

    inbox = Inbox(port=free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            inbox.messages.append(message_from_bytes(envelope.content))
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


# ---- a webhook receiver on loopback ----------------------------------------------------


@dataclass
class Receiver:
    url: str
    status: int = 200
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.requests]

    def alert_ids(self) -> list[int]:
        return [int(b["alert"]["alert_id"]) for b in self.bodies()]


@contextmanager
def webhook_receiver(status: int = 200) -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(url=f"http://127.0.0.1:{port}/hook", status=status)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default backlog of 5 resets bursts of connections
        daemon_threads = True

    server = Server(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


# ---- the app on a free port, and an SSE reader -----------------------------------------


@contextmanager
def served_app(app: Any = None) -> Iterator[str]:


    port = free_port()
    config = uvicorn.Config(app or create_app(start_scheduler=False), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_for(lambda: server.started, 10), "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class SseEvent:
    id: str | None
    event: str | None
    data: str
    received_at: float

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.data))


class SseReader:
    """Reads a text/event-stream in a thread; events land on a queue as they arrive."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.request_headers = url, headers
        self.events: queue.Queue[SseEvent] = queue.Queue()
        self.comments: list[str] = []
        self.status: int | None = None
        self.headers: httpx.Headers = httpx.Headers()
        # Set when the server ends the stream (not when this reader stops reading).
        self.ended = threading.Event()
        self._response: httpx.Response | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SseReader:
        self._thread.start()
        assert wait_for(lambda: self.status is not None, 10), "stream did not open"
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._response is not None:
            self._response.close()  # wakes the reader thread up
        self._thread.join(5)

    def _run(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(5, read=None)) as client, \
                    client.stream("GET", self.url, headers=self.request_headers) as response:
                self._response = response
                self.headers = response.headers
                self.status = response.status_code
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    self._line(line, fields)
                self.ended.set()
        except (httpx.HTTPError, httpx.StreamError):
            if not self._stop.is_set():
                raise

    def _line(self, line: str, fields: dict[str, str]) -> None:
        if line.startswith(":"):
            self.comments.append(line[1:].strip())
        elif not line:
            if "data" in fields:
                self.events.put(SseEvent(fields.get("id"), fields.get("event"), fields["data"],
                                         time.monotonic()))
            fields.clear()
        else:
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value

    def next(self, timeout: float) -> SseEvent:
        return self.events.get(timeout=timeout)

    def drain(self, timeout: float) -> list[SseEvent]:
        out: list[SseEvent] = []
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            try:
                out.append(self.events.get(timeout=max(ends - time.monotonic(), 0.01)))
            except queue.Empty:
                break
        return out


def env_for_subprocess(**values: Any) -> dict[str, str]:
    env = dict(os.environ)
    env.update({f"CARTRACK_{k.upper()}": str(v) for k, v in values.items()})
    return env
