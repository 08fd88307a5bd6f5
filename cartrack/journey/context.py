"""What the engine, guards and handlers share while one event is applied: the case, the actor,
the table row, the validated data, and what the event has gathered so far."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from cartrack.audit import service as audit
from cartrack.audit.models import Signature
from cartrack.errors import Conflict
from cartrack.journey.access import case_sites, site_of
from cartrack.journey.events import SignatureIn
from cartrack.journey.models import Case, State
from cartrack.journey.transitions import Outcome, SiteScope, Transition, allowed_events
from cartrack.protocols.models import ProtocolData
from cartrack.scans.models import CustodyEvent
from cartrack.security import Principal
from cartrack.units.models import Unit
from cartrack.users.models import Site

Writer = Callable[[Session], None]


@dataclass
class Ctx:
    session: Session
    actor: Principal
    case: Case
    t: Transition
    data: BaseModel
    signature: SignatureIn | None
    rules: ProtocolData
    now: datetime
    outcome: Outcome
    from_state: State
    target: State
    timeline: dict[str, Any] = field(default_factory=dict)
    custody: list[CustodyEvent] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)  # the bags the event's scans resolved to
    conditions: set[str] = field(default_factory=set)  # e.g. "override": raised by guards
    reason: str | None = None
    _sites: dict[int, Site] | None = None

    def site(self, scope: SiteScope) -> Site:
        if self._sites is None:
            self._sites = case_sites(self.session, self.case)
        return self._sites[site_of(self.case, scope)]

    def tz(self, scope: SiteScope | None = None) -> str:
        """The time zone of the site whose calendar the row names (or of ``scope``)."""
        return self.site(scope or self.t.calendar).timezone

    @property
    def event_site_id(self) -> int:
        """Where the event happened: the site the row's role is held at."""
        return site_of(self.case, self.t.site)

    def refuse(self, guard: str, detail: str, *, code: str = "guard_failed",
               also_record: list[Writer] | None = None, **context: Any) -> Conflict:
        err = Conflict(
            f"Refused: {detail}", code=code,
            context={"state": self.case.state, "event": self.t.event, "guard": guard,
                     "allowed_events": allowed_events(self.case.state), **context},
        )
        for writer in also_record or []:
            err.also_record(writer)
        return err

    def milestone(self, key: str, value: Any) -> None:
        self.case.milestones = {**self.case.milestones, key: audit.jsonable(value)}
