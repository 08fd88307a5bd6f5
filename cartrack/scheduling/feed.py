"""The calendar as an iCalendar feed per user: a secret URL a calendar application polls
without a session. Only the token's SHA-256 is stored; the token itself is shown once, when
the feed is made. Each fetch re-checks the user (still active, still in a calendar role) and
shows what they could see in the calendar now, COIs only."""

from __future__ import annotations

import secrets
from datetime import UTC, timedelta

from icalendar import Calendar, Event
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.errors import NotFound
from cartrack.journey.access import CASE_ROLES
from cartrack.scheduling.calendar import CalendarEntry, calendar
from cartrack.scheduling.models import CalendarFeed, FeedCreated, FeedStatus
from cartrack.security import Principal, load_principal, token_digest
from cartrack.users.models import User

DAYS_BACK, DAYS_AHEAD = 30, 120
HINT_LENGTH = 4
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"
LABELS = {"collection": "collection", "manufacturing_start": "manufacturing start",
          "release": "release", "delivery": "delivery", "ld_start": "lymphodepletion start",
          "infusion": "infusion"}


def url_of(token: str) -> str:
    return f"/api/calendar/feed/{token}.ics"


def _active(session: Session, user_id: int) -> CalendarFeed | None:
    return session.exec(select(CalendarFeed).where(
        CalendarFeed.user_id == user_id, col(CalendarFeed.revoked_at).is_(None))).first()


def _revoke(session: Session, principal: Principal, feed: CalendarFeed, why: str) -> None:
    feed.revoked_at = clock.now()
    session.add(feed)
    audit.record(session, user_id=principal.id, printed_name=principal.name,
                 action="calendar_feed.revoke", entity="calendar_feed", entity_id=feed.id or 0,
                 old={"revoked_at": None}, new={"revoked_at": feed.revoked_at}, reason=why)
    session.flush()


def create(session: Session, principal: Principal) -> FeedCreated:
    """A new feed for the signed-in user; the one they had stops answering."""
    # Two at once queue on the user's row (PostgreSQL; SQLite's write lock already serialises),
    # so each revokes the other's and the one-active index is never hit.
    session.exec(select(User).where(User.id == principal.id).with_for_update()).one()
    old = _active(session, principal.id)
    if old is not None:
        _revoke(session, principal, old, "replaced by a new feed")
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=principal.id, token_hash=token_digest(token),
                        token_hint=token[:HINT_LENGTH], created_at=clock.now())
    session.add(feed)
    session.flush()
    audit.record(session, user_id=principal.id, printed_name=principal.name,
                 action="calendar_feed.create", entity="calendar_feed", entity_id=feed.id or 0,
                 new={"user_id": principal.id, "token_hint": feed.token_hint})
    session.commit()
    return FeedCreated(url=url_of(token), token_hint=feed.token_hint, created_at=feed.created_at)


def status(session: Session, principal: Principal) -> FeedStatus:
    feed = _active(session, principal.id)
    if feed is None:
        return FeedStatus(active=False)
    return FeedStatus(active=True, token_hint=feed.token_hint, created_at=feed.created_at)


def revoke(session: Session, principal: Principal) -> None:
    feed = _active(session, principal.id)
    if feed is None:
        raise NotFound("You have no calendar feed to revoke.", code="feed_not_found")
    _revoke(session, principal, feed, "revoked by its owner")
    session.commit()


def _owner(session: Session, token: str) -> Principal:
    """The principal the token stands for, as of now; 404 for any token that admits no one
    (unknown, revoked, its user disabled or no longer in a calendar role)."""
    gone = NotFound("No calendar feed at this address.", code="feed_not_found")
    feed = session.exec(select(CalendarFeed).where(
        CalendarFeed.token_hash == token_digest(token))).first()
    if feed is None or feed.revoked_at is not None:
        raise gone
    user = session.get(User, feed.user_id)
    if user is None or not user.active or user.must_change_password:
        raise gone
    principal = load_principal(session, user, "calendar_feed")
    if not principal.roles & set(CASE_ROLES):
        raise gone
    return principal


def _event(entry: CalendarEntry, stamp: object) -> Event:
    what = LABELS.get(entry.kind, entry.kind)
    event = Event()
    state = "planned" if entry.planned else "actual"
    event.add("uid", f"{entry.case_id}-{entry.kind}-{state}@cartrack")
    event.add("dtstamp", stamp)
    event.add("dtstart", entry.day)
    event.add("dtend", entry.day + timedelta(days=1))
    event.add("summary", f"{entry.coi} {'planned ' if entry.planned else ''}{what}")
    event.add("location", entry.site)
    details = [f"Product: {entry.product}", f"Site: {entry.site}"]
    if entry.slot_status:
        details.append(f"Slot: {entry.slot_status}")
    event.add("description", "\n".join(details))
    event.add("transp", "TRANSPARENT")
    return event


def ics(session: Session, token: str) -> bytes:
    principal = _owner(session, token)
    now = clock.now()
    today = now.astimezone(UTC).date()
    entries = calendar(session, principal, today - timedelta(days=DAYS_BACK),
                       today + timedelta(days=DAYS_AHEAD), max_days=DAYS_BACK + DAYS_AHEAD + 1)
    cal = Calendar()
    cal.add("prodid", "-//cartrack//calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "cartrack")
    for entry in entries:
        cal.add_component(_event(entry, now.astimezone(UTC)))
    return bytes(cal.to_ical())
