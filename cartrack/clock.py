"""The one source of 'now'. Tests replace it to move time without sleeping."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def now() -> datetime:
    """Aware UTC datetime."""
    return _now()


def set_clock(fn: Callable[[], datetime] | None) -> None:
    global _now
    _now = fn or _system_now


@contextmanager
def using(fn: Callable[[], datetime]) -> Iterator[None]:
    """Replace the clock inside the block, then put back the one that was in use."""
    previous = _now
    set_clock(fn)
    try:
        yield
    finally:
        set_clock(previous)


class FrozenClock:
    """A test clock: starts at a moment and moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current

    def set(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("the clock is set to an aware datetime")
        self.current = moment.astimezone(UTC)
        return self.current


def as_utc(value: datetime) -> datetime:
    """Stored datetimes come back naive from SQLite; they are UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# ---- site-local calendars ----------------------------------------------------------------
# Time is stored in UTC; a site's calendar day is read in the site's own time zone.


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def local_today(tz: str) -> date:
    return local_date(now(), tz)


def start_of_local_day(day: date, tz: str) -> datetime:
    return as_utc(datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)))


def end_of_local_day(day: date, tz: str) -> datetime:
    """The instant a site-local calendar day ends (the next local midnight), in UTC."""
    return start_of_local_day(day + timedelta(days=1), tz)


def fmt_local(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later, clamped to the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month,
                          day=min(moment.day, calendar.monthrange(year, month)[1]))
