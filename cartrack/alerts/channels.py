"""Outbound alert channels: e-mail over SMTP and signed webhooks.

The in-app channel is the alert row itself (listed, counted and streamed by the API). The
channels here send one delivery row's worth: one alert, to one address or one URL. They never
touch the database; the caller records the outcome on the delivery row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from email.message import EmailMessage

import httpx
from sqlmodel import Session, col, select

from cartrack.settings import Settings
from cartrack.users.models import Membership, User

SIGNATURE_HEADER = "X-Cartrack-Signature"
DELIVERY_HEADER = "X-Cartrack-Delivery"
EVENT_HEADER = "X-Cartrack-Event"


class ChannelError(Exception):
    """A send that did not go through; the message is recorded on the delivery row."""


@dataclass(frozen=True)
class Outbound:
    """What one delivery sends, read from the alert row when the delivery is claimed."""

    delivery_id: int
    alert_id: int
    tier: int
    case_id: int | None
    coi: str | None
    kind: str
    severity: str
    title: str
    message: str
    fire_at: str
    fired_at: str | None

    @property
    def event(self) -> str:
        return "alert.escalated" if self.tier > 0 else "alert.fired"

    def payload(self) -> dict[str, object]:
        return {"event": self.event, "delivery_id": self.delivery_id,
                "alert": {k: v for k, v in asdict(self).items() if k != "delivery_id"}}


# ---- webhooks --------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    """The signature header value: HMAC-SHA256 of the raw body, hex, prefixed `sha256=`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str) -> bool:
    return hmac.compare_digest(sign(body, secret), header)


def webhook_body(item: Outbound) -> bytes:
    return json.dumps(item.payload(), sort_keys=True, separators=(",", ":")).encode()


def webhook_urls(settings: Settings) -> list[str]:
    return [u.strip() for u in settings.webhook_urls.split(",") if u.strip()]


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def http_client() -> httpx.Client:
    """One pooled client per process (thread-safe): no TLS set-up and handshake per send."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(limits=httpx.Limits(max_connections=32))
        return _client


def send_webhook(url: str, item: Outbound, settings: Settings) -> None:
    body = webhook_body(item)
    headers = {"Content-Type": "application/json", DELIVERY_HEADER: str(item.delivery_id),
               EVENT_HEADER: item.event}
    if settings.webhook_secret:
        headers[SIGNATURE_HEADER] = sign(body, settings.webhook_secret)
    try:
        response = http_client().post(url, content=body, headers=headers,
                                      timeout=settings.delivery_timeout_seconds)
    except httpx.HTTPError as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise ChannelError(f"HTTP {response.status_code} from {url}")


# ---- e-mail ----------------------------------------------------------------------------


def email_message(address: str, item: Outbound, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    prefix = "ESCALATED " if item.tier > 0 else ""
    msg["Subject"] = f"[cartrack] {prefix}{item.severity.upper()}: {item.title}"
    msg["From"] = settings.smtp_from
    msg["To"] = address
    msg["X-Cartrack-Alert"] = str(item.alert_id)
    msg.set_content(f"{item.message}\n\nAlert {item.alert_id}"
                    + (f", case {item.coi}" if item.coi else "")
                    + ". Acknowledge it in cartrack.\n")
    return msg


def send_email(address: str, item: Outbound, settings: Settings) -> None:
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.delivery_timeout_seconds) as smtp:
            smtp.send_message(email_message(address, item, settings))
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}") from exc


class EmailDirectory:
    """Who gets e-mail for which (role, site): active users with an address. Load once per batch."""

    def __init__(self, session: Session) -> None:
        rows = session.exec(
            select(Membership.role, Membership.site_id, User.email)
            .join(User, col(User.id) == col(Membership.user_id))
            .where(col(User.active).is_(True), col(User.email).is_not(None))
        ).all()
        self.at_site: dict[tuple[str, int], set[str]] = {}
        self.everywhere: dict[str, set[str]] = {}
        for role, site_id, email in rows:
            if not email:
                continue
            if site_id is None:
                self.everywhere.setdefault(role, set()).add(email)
            else:
                self.at_site.setdefault((role, site_id), set()).add(email)

    def recipients(self, targets: Iterable[tuple[str, int]]) -> list[str]:
        out: set[str] = set()
        for role, site_id in targets:
            out |= self.at_site.get((role, site_id), set()) | self.everywhere.get(role, set())
        return sorted(out)


# ---- registry --------------------------------------------------------------------------

Sender = Callable[[str, Outbound, Settings], None]
SENDERS: dict[str, Sender] = {"email": send_email, "webhook": send_webhook}


def enabled(settings: Settings) -> set[str]:
    out = set()
    if settings.smtp_host:
        out.add("email")
    if webhook_urls(settings):
        out.add("webhook")
    return out


def send(channel: str, target: str, item: Outbound, settings: Settings) -> None:
    SENDERS[channel](target, item, settings)
