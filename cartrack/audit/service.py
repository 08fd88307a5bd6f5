"""The Part 11 audit trail (append-only, hash-chained) and e-signatures."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import func, insert, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.audit.models import AuditEntry, AuditOut, Signature
from cartrack.pagination import Page

GENESIS = "0" * 64
_ADVISORY_LOCK_KEY = 74_712_001
# Built once: every write of the trail runs these two, so they skip statement construction
# and the ORM's unit of work (the rows are never read back within the transaction as objects).
_HEAD = sa_select(col(AuditEntry.hash)).order_by(col(AuditEntry.id).desc()).limit(1)
_INSERT = insert(AuditEntry.metadata.tables["audit_entry"])
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


def jsonable(value: Any) -> Any:
    """Plain JSON values, so what is stored is exactly what was hashed."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _canonical(row: dict[str, Any]) -> bytes:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode()


def entry_hash(prev_hash: str, at: datetime, user_id: int | None, printed_name: str, action: str,
               entity: str, entity_id: str, old: Any, new: Any, reason: str | None) -> str:
    content = {
        "prev": prev_hash, "at": clock.as_utc(at).isoformat(), "user_id": user_id,
        "printed_name": printed_name, "action": action, "entity": entity,
        "entity_id": entity_id, "old": old, "new": new, "reason": reason,
    }
    return hashlib.sha256(_canonical(content)).hexdigest()


def _last_hash(session: Session) -> str:
    """The chain's head, read once per transaction under a lock that orders writers."""
    tx = session.get_transaction()
    cached = session.info.get("audit_head")
    if cached and cached[0] is tx:
        return str(cached[1])
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # The lock orders writers of the chain. The head is read in a second statement: under
        # READ COMMITTED only a statement begun after the lock sees the previous holder's row.
        conn.execute(_LOCK, {"k": _ADVISORY_LOCK_KEY})
    last = conn.execute(_HEAD).scalar()
    return last or GENESIS


def record(session: Session, *, user_id: int | None, printed_name: str, action: str, entity: str,
           entity_id: str | int, old: dict[str, Any] | None = None,
           new: dict[str, Any] | None = None, reason: str | None = None,
           case_id: int | None = None) -> str:
    """Append one row to the chain, written now, so rows keep the order they were recorded
    in; returns its hash."""
    prev = _last_hash(session)
    at = clock.now()
    old_j, new_j = jsonable(old), jsonable(new)
    digest = entry_hash(prev, at, user_id, printed_name, action, entity, str(entity_id), old_j,
                        new_j, reason)
    # Through the connection: no ORM object waits to be flushed before an audit row.
    session.connection().execute(_INSERT, {
        "at": at, "user_id": user_id, "printed_name": printed_name, "action": action,
        "entity": entity, "entity_id": str(entity_id), "case_id": case_id, "old": old_j,
        "new": new_j, "reason": reason, "prev_hash": prev, "hash": digest})
    session.info["audit_head"] = (session.get_transaction(), digest)
    return digest


@dataclass
class VerifyResult:
    ok: bool
    rows: int
    broken_id: int | None = None
    problem: str | None = None


def _audit_rows(session: Session, batch: int = 5000) -> Iterator[Any]:
    cols = [col(c) for c in (AuditEntry.id, AuditEntry.at, AuditEntry.user_id,
                             AuditEntry.printed_name, AuditEntry.action, AuditEntry.entity,
                             AuditEntry.entity_id, AuditEntry.old, AuditEntry.new,
                             AuditEntry.reason, AuditEntry.prev_hash, AuditEntry.hash)]
    result = session.execute(
        sa_select(*cols).order_by(col(AuditEntry.id)).execution_options(yield_per=batch)
    )
    yield from result


def verify_chain(session: Session) -> VerifyResult:
    prev = GENESIS
    count = 0
    for row in _audit_rows(session):
        (row_id, at, user_id, name, action, entity, entity_id, old, new, reason, prev_hash,
         digest) = row
        if prev_hash != prev:
            return VerifyResult(False, count, row_id, "its previous-hash link does not match "
                                "the row before it (a row was removed or inserted)")
        expected = entry_hash(prev, at, user_id, name, action, entity, entity_id, old, new, reason)
        if expected != digest:
            return VerifyResult(False, count, row_id, "its content does not match its hash "
                                "(the row was altered)")
        prev = digest
        count += 1
    return VerifyResult(True, count)


def signature_hash(record_type: str, record_ref: str, content: dict[str, Any]) -> str:
    payload = {"type": record_type, "ref": record_ref, "content": jsonable(content)}
    return hashlib.sha256(_canonical(payload)).hexdigest()


def add_signature(session: Session, *, user_id: int, printed_name: str, meaning: str,
                  record_type: str, record_ref: str, content: dict[str, Any],
                  case_id: int | None = None) -> Signature:
    """Store a signature bound to the hash of the signed content; the caller checked the password."""
    sig = Signature(user_id=user_id, printed_name=printed_name, meaning=meaning,
                    signed_at=clock.now(), record_type=record_type, record_ref=record_ref,
                    record_hash=signature_hash(record_type, record_ref, content), case_id=case_id)
    session.add(sig)
    session.flush()
    record(session, user_id=user_id, printed_name=printed_name, action="sign",
           entity="signature", entity_id=sig.id or 0, case_id=case_id,
           new={"meaning": meaning, "record_type": record_type, "record_ref": record_ref,
                "record_hash": sig.record_hash})
    return sig


PHI_ENTITIES = frozenset({"patient"})


def page_for_case(session: Session, case_id: int, limit: int, offset: int, *,
                  include_phi: bool) -> Page[AuditOut]:
    where = col(AuditEntry.case_id) == case_id
    total = session.exec(select(func.count()).select_from(AuditEntry).where(where)).one()
    rows = session.exec(select(AuditEntry).where(where).order_by(col(AuditEntry.id))
                        .limit(limit).offset(offset)).all()
    items = []
    for r in rows:
        hidden = r.entity in PHI_ENTITIES and not include_phi
        items.append(AuditOut(id=r.id or 0, at=r.at, user_id=r.user_id, printed_name=r.printed_name,
                              action=r.action, entity=r.entity, entity_id=r.entity_id,
                              old=None if hidden else r.old,
                              new={"hidden": "patient details"} if hidden else r.new,
                              reason=r.reason))
    return Page[AuditOut](items=items, total=int(total), limit=limit, offset=offset)
