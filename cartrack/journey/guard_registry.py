"""The shape of a guard and the registry the table's guard names resolve in.

A state guard reads only the case (so the case page can say in advance why an action is
blocked); a data guard also reads the event's data. Each answers None when it holds, else a
``Failure`` in words. A guard with an ``override`` may be passed with a reason and an
e-signature: the failure then raises the named condition instead of refusing. The guards
themselves live in ``journey.guards`` and ``journey.guards_logistics``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlmodel import Session

from cartrack.journey.context import Ctx, Writer
from cartrack.journey.models import Case
from cartrack.journey.transitions import SiteScope
from cartrack.protocols.models import ProtocolData


class CaseView(Protocol):
    """What a state guard may read: the case as it stands, never the event's data."""

    @property
    def session(self) -> Session: ...
    @property
    def case(self) -> Case: ...
    @property
    def rules(self) -> ProtocolData: ...
    @property
    def now(self) -> datetime: ...
    def tz(self, scope: SiteScope | None = None) -> str: ...


@dataclass
class Failure:
    message: str
    context: dict[str, Any] = field(default_factory=dict)
    timeline: dict[str, Any] = field(default_factory=dict)  # recorded when overridden
    also_record: list[Writer] = field(default_factory=list)


@dataclass(frozen=True)
class Override:
    condition: str  # raised instead of refusing; the table's Sign(when=...) reacts to it
    reason_field: str  # the data field whose presence asks for the override
    how: str  # what the refusal tells the user to do


@dataclass(frozen=True)
class Guard:
    name: str
    text: str
    code: str = "guard_failed"
    override: Override | None = None
    state_check: Callable[[CaseView], Failure | None] | None = None
    data_check: Callable[[Ctx, Any], Failure | None] | None = None

    @property
    def needs_data(self) -> bool:
        return self.data_check is not None


GUARDS: dict[str, Guard] = {}
V = TypeVar("V", bound=CaseView)
D = TypeVar("D")


def state_guard(text: str, *, code: str = "guard_failed", override: Override | None = None
                ) -> Callable[[Callable[[CaseView], Failure | None]],
                              Callable[[CaseView], Failure | None]]:
    def register(fn: Callable[[CaseView], Failure | None]) -> Callable[[CaseView], Failure | None]:
        GUARDS[fn.__name__] = Guard(fn.__name__, text, code, override, state_check=fn)
        return fn
    return register


def data_guard(text: str, *, code: str = "guard_failed", override: Override | None = None
               ) -> Callable[[Callable[[Ctx, D], Failure | None]], Callable[[Ctx, D], Failure | None]]:
    def register(fn: Callable[[Ctx, D], Failure | None]) -> Callable[[Ctx, D], Failure | None]:
        GUARDS[fn.__name__] = Guard(fn.__name__, text, code, override, data_check=fn)
        return fn
    return register
