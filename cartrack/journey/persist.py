"""The engine's own writes, as statements built once: claiming the case, saving what the event
changed on it, and its timeline line.

Every event runs these, so they skip statement construction and the ORM's unit of work: the
case is read, locked and version-bumped in one round trip, and only the columns the event
changed are written back. The writes go through the session's connection: objects a handler
added (units, deadlines) are flushed at commit, in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import make_transient, make_transient_to_detached
from sqlmodel import Session, col

from cartrack.journey.models import Case, CaseEvent

_TABLE = Case.metadata.tables["case"]
# Every column an event may change; the id and the creation time never change.
CASE_COLUMNS = tuple(c.key for c in _TABLE.columns if c.key not in ("id", "created_at"))

_CLAIM = (
    update(Case).where(col(Case.id) == bindparam("case_id"))
    .values(version=col(Case.version) + 1).returning(Case)
    .execution_options(synchronize_session=False, populate_existing=True)
)
_SAVE = update(_TABLE).where(_TABLE.c.id == bindparam("saved_case_id"))
_TIMELINE = insert(CaseEvent.metadata.tables["case_event"])


def claim(session: Session, case_id: int) -> Case | None:
    """The case, its row locked (PostgreSQL; SQLite serialises writers at BEGIN IMMEDIATE) and
    its version bumped; None if there is no such case."""
    return session.scalars(_CLAIM, {"case_id": case_id}).one_or_none()


def snapshot(case: Case) -> dict[str, Any]:
    return {key: getattr(case, key) for key in CASE_COLUMNS}


def save_changes(session: Session, case: Case, before: dict[str, Any]) -> dict[str, Any]:
    """Writes the columns that differ from ``before`` and returns them (old values)."""
    changed = {k: v for k, v in before.items() if getattr(case, k) != v}
    if changed:
        values = {k: getattr(case, k) for k in changed}
        _mark_saved(session, case)
        session.connection().execute(_SAVE, {"saved_case_id": case.id, **values})
    return changed


def _mark_saved(session: Session, case: Case) -> None:
    """Resets the ORM's history of the case, so it neither writes these columns again nor
    walks the case through a flush: re-attached as if just loaded, it stays the one instance
    in the session's identity map."""
    session.expunge(case)
    make_transient(case)
    make_transient_to_detached(case)
    session.add(case)


def add_timeline(session: Session, **row: Any) -> None:
    session.connection().execute(_TIMELINE, row)
