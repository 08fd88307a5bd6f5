"""Alert delivery and escalation (the read side and acknowledgement are in ``alerts.inbox``).

Rows are the truth. Journey events write pending alerts with their `fire_at`; this module only
moves them on, each step a conditional UPDATE so that any number of scheduler processes can
run at once without losing or doubling an alert:

- fire:      pending -> fired (WHERE status='pending'); whoever updates the row owns it. The
             same transaction appends the on-hold note, enqueues the outbound delivery rows
             and gives the alert its feed position (`fire_seq`).
- escalate:  a critical alert still unacknowledged after CARTRACK_ESCALATION_MINUTES goes up
             one tier (WHERE tier=:tier AND status='fired'), with new targets and deliveries.
- send:      delivery rows are claimed the same way, sent after the claim has committed (never
             inside it), and their outcome recorded; failures retry with exponential backoff.
- ack:       fired -> acknowledged (WHERE status='fired'): a second acknowledgement is a 409.

Lock order on PostgreSQL, to stay free of deadlocks: alert rows first (ascending id, or
SKIP LOCKED), then anything else (the audit chain's lock), the `alert_fire_seq` counter row
last, with nothing waited for after it. Holding the counter until commit also makes
`fire_seq` increase in commit order, which is what lets a live-feed reader resume from a
position without missing anything.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    String,
    any_,
    func,
    insert,
    literal,
    literal_column,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.alerts import channels
from cartrack.alerts.models import Alert, AlertDelivery, AlertTarget
from cartrack.db import new_session
from cartrack.identity.models import SequenceCounter
from cartrack.journey.models import Case
from cartrack.journey.transitions import State
from cartrack.settings import Settings, get_settings
from cartrack.users.models import Role

if TYPE_CHECKING:  # the scheduler process never needs the web stack
    pass

log = logging.getLogger("cartrack.alerts")

FIRE_SEQ = "alert_fire_seq"
ON_HOLD_SUFFIX = " (case is on hold)"
MESSAGE_MAX = 1000
VISIBLE = ("fired", "acknowledged")
MAX_BACKOFF_SECONDS = 300.0
SEND_WORKERS = 8
SEND_BATCH = 2 * SEND_WORKERS

# Who is added at each escalation tier: (role, which site of the case).
ESCALATION: dict[int, tuple[tuple[Role, str], ...]] = {
    1: ((Role.coordinator, "collection"), (Role.coordinator, "manufacturing"),
        (Role.coordinator, "treatment"), (Role.qa, "manufacturing")),
}
MAX_TIER = max(ESCALATION)

Memberships = Sequence[tuple[str, int | None]]


def new_instance_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


DEFAULT_INSTANCE = new_instance_id()


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def rowcount(result: Any) -> int:
    return int(result.rowcount)


def _id_in(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """`column IN ids` as one bound parameter (an array on PostgreSQL, a JSON list read with
    json_each on SQLite) instead of one per id: batches of hundreds stay cheap to build."""
    if _is_pg(session):
        return column == any_(literal(list(ids), ARRAY(Integer)))
    values: Any = sa_select(literal_column("value")).select_from(
        func.json_each(literal(json.dumps(list(ids)))))
    return column.in_(values)


# ---- the feed sequence -----------------------------------------------------------------


def allocate_seq(session: Session, count: int) -> int:
    """The first of `count` consecutive feed positions. The counter row stays locked (row lock
    on PostgreSQL, write lock on SQLite) until the caller commits."""
    ins = pg_insert if _is_pg(session) else sqlite_insert
    session.execute(ins(SequenceCounter).values(name=FIRE_SEQ, value=0)
                    .on_conflict_do_nothing(index_elements=["name"]))
    last = session.execute(
        update(SequenceCounter).where(col(SequenceCounter.name) == FIRE_SEQ)
        .values(value=col(SequenceCounter.value) + count).returning(col(SequenceCounter.value))
    ).scalar_one()
    return int(last) - count + 1


def assign_seq(session: Session, alert_ids: list[int]) -> None:
    """New feed positions for these alerts, in firing order, in one UPDATE ... FROM."""
    if not alert_ids:
        return
    first = allocate_seq(session, len(alert_ids))
    rank = func.row_number().over(order_by=(col(Alert.fire_at), col(Alert.id)))
    ranked = (sa_select(col(Alert.id).label("alert_id"), (rank - 1 + first).label("seq"))
              .where(_id_in(session, col(Alert.id), alert_ids)).subquery())
    session.execute(update(Alert).where(col(Alert.id) == ranked.c.alert_id)
                    .values(fire_seq=ranked.c.seq)
                    .execution_options(synchronize_session=False))


# ---- firing ----------------------------------------------------------------------------


def _due_query(now: datetime, limit: int) -> Any:
    return (sa_select(col(Alert.id)).where(col(Alert.status) == "pending",
                                           col(Alert.fire_at) <= now)
            .order_by(col(Alert.fire_at), col(Alert.id)).limit(limit))


def any_due(now: datetime) -> bool:
    """A read-only look first, so an idle tick never takes SQLite's write lock."""
    with new_session(read_only=True) as session:
        return session.execute(_due_query(now, 1)).first() is not None


def claim_batch(session: Session, now: datetime, instance: str, limit: int) -> list[int]:
    """Fire up to `limit` due alerts in the caller's transaction; returns the ids this caller
    now owns, in firing order."""
    query = _due_query(now, limit)
    if _is_pg(session):
        query = query.with_for_update(skip_locked=True)
    ids = list(session.execute(query).scalars())
    if not ids:
        return []
    # `status || ''`: the same test, but SQLite then finds the rows by primary key instead of
    # walking the (status, fire_at) index over every pending alert of every open deadline.
    still_pending = (col(Alert.status) + "") == "pending"
    won = set(session.execute(
        update(Alert).where(_id_in(session, col(Alert.id), ids), still_pending)
        .values(status="fired", fired_at=now, claimed_by=instance).returning(col(Alert.id))
        .execution_options(synchronize_session=False)
    ).scalars())
    claimed = [a for a in ids if a in won]
    _note_on_hold(session, claimed)
    _enqueue(session, {a: 0 for a in claimed}, now, get_settings())
    assign_seq(session, claimed)
    return claimed


def _note_on_hold(session: Session, alert_ids: list[int]) -> None:
    """Append the on-hold note to alerts of held cases (`case_id + 0`: by primary key, see
    `still_pending`)."""
    if not alert_ids:
        return
    held = sa_select(col(Case.id)).where(col(Case.state) == State.on_hold.value)
    room = MESSAGE_MAX - len(ON_HOLD_SUFFIX)
    session.execute(
        update(Alert).where(_id_in(session, col(Alert.id), alert_ids),
                            (col(Alert.case_id) + 0).in_(held),
                            ~col(Alert.message).endswith(ON_HOLD_SUFFIX))
        .values(message=func.substr(col(Alert.message), 1, room, type_=String)
                + ON_HOLD_SUFFIX)
        .execution_options(synchronize_session=False)
    )


def fire_due(now: datetime | None = None, *, instance: str = DEFAULT_INSTANCE,
             limit: int | None = None) -> list[int]:
    """Fire every alert due, one committed transaction per batch. Without an explicit `now`,
    each batch reads the clock again, so `fired_at` is when that batch fired."""
    limit = limit or get_settings().scheduler_batch_size
    fired: list[int] = []
    if not any_due(now or clock.now()):
        return fired
    while True:
        with new_session() as session:
            batch = claim_batch(session, now or clock.now(), instance, limit)
            session.commit()
        fired += batch
        if len(batch) < limit:
            return fired


# ---- outbound deliveries: enqueue ------------------------------------------------------


def targets_of(session: Session, alert_ids: Sequence[int]) -> dict[int, list[tuple[str, int]]]:
    out: dict[int, list[tuple[str, int]]] = {a: [] for a in alert_ids}
    if not alert_ids:
        return out
    rows = session.execute(
        sa_select(col(AlertTarget.alert_id), col(AlertTarget.role), col(AlertTarget.site_id))
        .where(_id_in(session, col(AlertTarget.alert_id), alert_ids))
        .order_by(col(AlertTarget.id))
    ).all()
    for alert_id, role, site_id in rows:
        out[alert_id].append((role, site_id))
    return out


def _enqueue(session: Session, tiers: dict[int, int], now: datetime, settings: Settings) -> int:
    """One pending delivery row per alert, channel and target, in the firing transaction."""
    kinds = channels.enabled(settings)
    if not tiers or not kinds:
        return 0
    rows: list[dict[str, Any]] = []
    if "webhook" in kinds:
        urls = channels.webhook_urls(settings)
        rows += [{"alert_id": a, "channel": "webhook", "target": u} for a in tiers for u in urls]
    if "email" in kinds:
        directory = channels.EmailDirectory(session)
        for alert_id, targets in targets_of(session, list(tiers)).items():
            rows += [{"alert_id": alert_id, "channel": "email", "target": address}
                     for address in directory.recipients(targets)]
    if rows:
        session.execute(insert(AlertDelivery), [
            {**r, "tier": tiers[r["alert_id"]], "status": "pending", "attempts": 0,
             "next_attempt_at": now, "created_at": now} for r in rows])
    return len(rows)


# ---- escalation ------------------------------------------------------------------------


def _escalation_candidates(now: datetime, minutes: int, limit: int) -> list[tuple[int, int]]:
    cutoff = now - timedelta(minutes=minutes)
    since = func.coalesce(col(Alert.escalated_at), col(Alert.fired_at))
    with new_session(read_only=True) as session:
        rows = session.execute(
            sa_select(col(Alert.id), col(Alert.tier))
            .where(col(Alert.status) == "fired", col(Alert.severity) == "critical",
                   col(Alert.tier) < MAX_TIER, since <= cutoff)
            .order_by(col(Alert.id)).limit(limit)
        ).all()
    return [(int(a), int(t)) for a, t in rows]


def escalation_note(minutes: int) -> str:
    return f"ESCALATED: not acknowledged in {minutes} min. "


def _raise_tier(session: Session, alert_id: int, tier: int, now: datetime, minutes: int) -> bool:
    note = escalation_note(minutes)
    result = session.execute(
        update(Alert).where(col(Alert.id) == alert_id, col(Alert.status) == "fired",
                            col(Alert.tier) == tier)
        .values(tier=tier + 1, escalated_at=now,
                message=literal(note, String)
                + func.substr(col(Alert.message), 1, MESSAGE_MAX - len(note), type_=String))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def _add_tier_targets(session: Session, tiers: dict[int, int]) -> None:
    existing = targets_of(session, list(tiers))
    alerts = {a.id: a for a in session.exec(select(Alert).where(col(Alert.id).in_(list(tiers))))}
    case_ids = {a.case_id for a in alerts.values() if a.case_id is not None}
    cases = {c.id: c for c in session.exec(select(Case).where(col(Case.id).in_(case_ids)))}
    for alert_id, tier in tiers.items():
        case = cases.get(alerts[alert_id].case_id)
        if case is None:
            continue
        wanted = {(role.value, int(getattr(case, f"{which}_site_id")))
                  for role, which in ESCALATION[tier]}
        for role, site_id in sorted(wanted - set(existing[alert_id])):
            session.add(AlertTarget(alert_id=alert_id, role=role, site_id=site_id))
    session.flush()


def escalate_due(now: datetime | None = None, *, limit: int | None = None) -> list[int]:
    """Escalate each critical alert unacknowledged for too long, exactly once per tier: any
    process may try, the conditional update decides which one does."""
    now = now or clock.now()
    settings = get_settings()
    candidates = _escalation_candidates(now, settings.escalation_minutes,
                                        limit or settings.scheduler_batch_size)
    if not candidates:
        return []
    with new_session() as session:
        tiers = {a: t + 1 for a, t in candidates
                 if _raise_tier(session, a, t, now, settings.escalation_minutes)}
        if tiers:
            _add_tier_targets(session, tiers)
            _note_on_hold(session, list(tiers))
            _enqueue(session, tiers, now, settings)
            assign_seq(session, list(tiers))
        session.commit()
    if tiers:
        log.warning("escalated %d alert(s): %s", len(tiers), sorted(tiers))
    return sorted(tiers)


# ---- outbound deliveries: send ---------------------------------------------------------


@dataclass
class SendStats:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    def count(self, statuses: list[str]) -> None:
        self.delivered += statuses.count("delivered")
        self.retrying += statuses.count("pending")
        self.failed += statuses.count("failed")

    @property
    def total(self) -> int:
        return self.delivered + self.retrying + self.failed


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    target: str
    attempts: int
    item: channels.Outbound


def _deliveries_due(now: datetime, limit: int) -> Any:
    return (sa_select(col(AlertDelivery.id))
            .where(col(AlertDelivery.status).in_(("pending", "sending")),
                   col(AlertDelivery.next_attempt_at) <= now)
            .order_by(col(AlertDelivery.next_attempt_at), col(AlertDelivery.id)).limit(limit))


def _outbound(delivery: AlertDelivery, alert: Alert, coi: str | None) -> channels.Outbound:
    return channels.Outbound(
        delivery_id=delivery.id or 0, alert_id=alert.id or 0, tier=delivery.tier,
        case_id=alert.case_id, coi=coi, kind=alert.kind, severity=alert.severity,
        title=alert.title, message=alert.message, fire_at=clock.as_utc(alert.fire_at).isoformat(),
        fired_at=clock.as_utc(alert.fired_at).isoformat() if alert.fired_at else None)


def claim_deliveries(now: datetime, instance: str, limit: int) -> list[Claimed]:
    """Claim due delivery rows (and lapsed claims of a crashed sender) in a short transaction."""
    with new_session(read_only=True) as probe:
        if probe.execute(_deliveries_due(now, 1)).first() is None:
            return []
    with new_session() as session:
        query = _deliveries_due(now, limit)
        if _is_pg(session):
            query = query.with_for_update(skip_locked=True)
        ids = list(session.execute(query).scalars())
        won = list(session.execute(
            update(AlertDelivery)
            .where(col(AlertDelivery.id).in_(ids),
                   col(AlertDelivery.status).in_(("pending", "sending")),
                   col(AlertDelivery.next_attempt_at) <= now)
            .values(status="sending", attempts=col(AlertDelivery.attempts) + 1,
                    claimed_by=instance, next_attempt_at=now + lease(get_settings()))
            .returning(col(AlertDelivery.id)).execution_options(synchronize_session=False)
        ).scalars()) if ids else []
        rows = session.exec(
            select(AlertDelivery, Alert, Case.coi)
            .join(Alert, col(Alert.id) == col(AlertDelivery.alert_id))
            .outerjoin(Case, col(Case.id) == col(Alert.case_id))
            .where(col(AlertDelivery.id).in_(won)).order_by(col(AlertDelivery.id))
        ).all() if won else []
        session.commit()
    return [Claimed(d.id or 0, d.channel, d.target, d.attempts, _outbound(d, a, coi))
            for d, a, coi in rows]


def lease(settings: Settings) -> timedelta:
    """How long a claim on a delivery holds: a claimed delivery not recorded by then (its
    sender died) is sent again. Far longer than a batch can take: each worker sends at most
    two of a batch, each bounded by the timeout per network operation (a few per SMTP send)."""
    return timedelta(seconds=max(60.0, 20 * settings.delivery_timeout_seconds))


def backoff(attempts: int, settings: Settings) -> timedelta:
    seconds = settings.delivery_backoff_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def _outcome(claimed: Claimed, error: str | None, settings: Settings) -> dict[str, Any]:
    now = clock.now()
    if error is None:
        return {"status": "delivered", "delivered_at": now, "next_attempt_at": None,
                "last_error": None}
    if claimed.attempts >= settings.delivery_max_attempts:
        return {"status": "failed", "next_attempt_at": None, "last_error": error[:1000]}
    return {"status": "pending", "next_attempt_at": now + backoff(claimed.attempts, settings),
            "last_error": error[:1000]}


def _record(results: list[tuple[Claimed, str | None]], instance: str,
            settings: Settings) -> list[str]:
    """Record outcomes in one short transaction; only while this sender's claim still holds."""
    statuses = []
    with new_session() as session:
        for claimed, error in results:
            values = _outcome(claimed, error, settings)
            session.execute(
                update(AlertDelivery).where(col(AlertDelivery.id) == claimed.id,
                                            col(AlertDelivery.claimed_by) == instance,
                                            col(AlertDelivery.status) == "sending")
                .values(**values).execution_options(synchronize_session=False))
            statuses.append(str(values["status"]))
        session.commit()
    return statuses


def _send_one(claimed: Claimed, settings: Settings) -> str | None:
    """Send one delivery (on a worker thread); the error text, or None when it went out."""
    try:
        channels.send(claimed.channel, claimed.target, claimed.item, settings)
    except channels.ChannelError as exc:
        error = str(exc) or type(exc).__name__
    except Exception as exc:  # a bug in one channel must not stop the others
        log.exception("alert delivery %s crashed", claimed.id)
        error = f"{type(exc).__name__}: {exc}"
    else:
        return None
    log.warning("alert delivery %s (%s to %s, attempt %d) failed: %s", claimed.id,
                claimed.channel, claimed.target, claimed.attempts, error)
    return error


def send_due(now: datetime | None = None, *, instance: str = DEFAULT_INSTANCE,
             limit: int = SEND_BATCH) -> SendStats:
    """Send every due delivery, each on its own; record delivered, retry later, or failed.

    Sends run in parallel on worker threads; this thread records outcomes as soon as they are
    known, together when several finish at once (one writer per process, few transactions)."""
    settings = get_settings()
    stats = SendStats()
    while True:
        batch = claim_deliveries(now or clock.now(), instance, limit)
        if not batch:
            return stats
        with ThreadPoolExecutor(max_workers=min(SEND_WORKERS, len(batch))) as pool:
            waiting = {pool.submit(_send_one, c, settings): c for c in batch}
            while waiting:
                done, _ = wait(waiting, return_when=FIRST_COMPLETED)
                results = [(waiting.pop(f), f.result()) for f in done]
                stats.count(_record(results, instance, settings))
        if len(batch) < limit:
            return stats


# ---- one tick --------------------------------------------------------------------------


@dataclass
class TickResult:
    fired: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    sent: SendStats = field(default_factory=SendStats)


def deliver_due(now: datetime | None = None, *, instance: str = DEFAULT_INSTANCE) -> TickResult:
    """One scheduler tick, callable from tests: fire, escalate, then send (after commit)."""
    fired = fire_due(now, instance=instance)
    escalated = escalate_due(now)
    return TickResult(fired, escalated, send_due(now, instance=instance))
