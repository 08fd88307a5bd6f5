"""The one source of 'now'. Tests replace it to move time without sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta


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


def as_utc(value: datetime) -> datetime:
    """Stored datetimes come back naive from SQLite; they are UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
