"""What the API answers about a shipment: its header and custody times, the profile it left
under, the summary of its readings, its excursions and data gaps (the JSON report)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.identity.identifiers import printed_coi
from cartrack.journey.models import Case
from cartrack.shipments import service
from cartrack.shipments.excursions import Analysis, Reading, Summary
from cartrack.shipments.models import Excursion, Shipment
from cartrack.users.models import Site, User


class TemperatureSummaryOut(BaseModel):
    points: int
    first_at: datetime | None
    last_at: datetime | None
    trip_minutes: float
    min_c: float | None
    min_at: datetime | None
    max_c: float | None
    max_at: datetime | None
    mean_c: float | None
    mkt_c: float | None

    @classmethod
    def of(cls, s: Summary) -> TemperatureSummaryOut:
        return cls(points=s.points, first_at=s.first_at, last_at=s.last_at,
                   trip_minutes=s.trip_minutes, min_c=s.min_c, min_at=s.min_at, max_c=s.max_c,
                   max_at=s.max_at, mean_c=s.mean_c, mkt_c=s.mkt_c)


class ExcursionOut(BaseModel):
    id: int
    shipment_id: int
    rule: str
    kind: str
    started_at: datetime
    ended_at: datetime
    triggered_at: datetime | None
    duration_minutes: float
    extreme_c: float
    events: int
    disposition: str
    disposition_reason: str | None
    disposition_at: datetime | None
    signature_id: int | None

    @classmethod
    def of(cls, e: Excursion) -> ExcursionOut:
        assert e.id is not None
        return cls(id=e.id, shipment_id=e.shipment_id, rule=e.rule_key, kind=e.kind,
                   started_at=clock.as_utc(e.started_at), ended_at=clock.as_utc(e.ended_at),
                   triggered_at=clock.as_utc(e.triggered_at) if e.triggered_at else None,
                   duration_minutes=e.duration_minutes, extreme_c=e.extreme_c, events=e.events,
                   disposition=e.disposition.value, disposition_reason=e.disposition_reason,
                   disposition_at=clock.as_utc(e.disposition_at) if e.disposition_at else None,
                   signature_id=e.signature_id)


class GapOut(BaseModel):
    started_at: datetime
    ended_at: datetime
    minutes: float


class ShipmentOut(BaseModel):
    id: int
    case_id: int
    coi: str
    coi_check: str
    direction: str
    status: str
    profile: str
    profile_version: int
    low_c: float
    high_c: float
    max_transit_hours: float
    shipper_type: str
    shipper_serial: str | None
    logger_serial: str | None
    seal_id: str | None
    courier: str | None
    air_waybill: str | None
    units: list[str]
    handed_over_at: datetime
    received_at: datetime | None
    transit_hours: float | None
    within_transit_limit: bool | None
    receipt: str | None
    receipt_checklist: dict[str, Any] | None
    summary: TemperatureSummaryOut | None
    excursions: list[ExcursionOut]
    gaps: list[GapOut]


class ImportOut(BaseModel):
    inserted: int
    duplicates: int
    rejected: int
    summary: TemperatureSummaryOut | None
    excursions: list[ExcursionOut]
    gaps: list[GapOut]


def shipment_out(session: Session, s: Shipment, *, analysed: bool = True,
                 analysis: Analysis | None = None) -> ShipmentOut:
    assert s.id is not None
    profile = service.profile_of(session, s)
    if analysed and analysis is None:
        analysis = service.analysis_of(session, s)
    handed = clock.as_utc(s.handed_over_at)
    received = service.received_at_or_none(s)
    hours = (received - handed).total_seconds() / 3600 if received else None
    case = session.get(Case, s.case_id)
    return ShipmentOut(
        id=s.id, case_id=s.case_id, coi=case.coi if case else "",
        coi_check=printed_coi(case.coi).check if case else "", direction=s.direction.value,
        status=s.status.value,
        profile=profile.code, profile_version=profile.version, low_c=profile.low_c,
        high_c=profile.high_c, max_transit_hours=profile.max_transit_hours,
        shipper_type=s.shipper_type, shipper_serial=s.shipper_serial,
        logger_serial=s.logger_serial, seal_id=s.seal_id, courier=s.courier,
        air_waybill=s.air_waybill, units=list(s.units), handed_over_at=handed,
        received_at=received, transit_hours=round(hours, 2) if hours is not None else None,
        within_transit_limit=None if hours is None else hours <= profile.max_transit_hours,
        receipt=s.receipt.value if s.receipt else None, receipt_checklist=s.receipt_checklist,
        summary=TemperatureSummaryOut.of(analysis.summary) if analysis else None,
        excursions=[ExcursionOut.of(e) for e in service.excursions_of(session, s.id)],
        gaps=[GapOut(started_at=g.started_at, ended_at=g.ended_at, minutes=g.minutes)
              for g in (analysis.gaps if analysis else [])])


# ---- the shipment report (JSON) ---------------------------------------------------------------

CHART_POINTS = 2000


class CustodyPoint(BaseModel):
    at: datetime
    what: str
    by: str | None


class ReadingOut(BaseModel):
    at: datetime
    temp_c: float


class ReportOut(BaseModel):
    """World Courier-style: the header, custody points, profile, summary, excursions, and the
    readings for a chart with the limit band (at most 2,000 points; the extremes kept)."""

    coi: str
    collection_site: str
    manufacturing_site: str
    treatment_site: str
    shipment: ShipmentOut
    profile_source: str
    alarm_rules: list[dict[str, Any]]
    custody: list[CustodyPoint]
    readings: list[ReadingOut]
    readings_total: int


def chart(readings: list[Reading]) -> list[ReadingOut]:
    """Every n-th reading, and the first reading at the minimum and at the maximum."""
    step = max(1, -(-len(readings) // CHART_POINTS))
    keep = set(range(0, len(readings), step))
    if readings:
        temps = [r.temp_c for r in readings]
        keep |= {temps.index(min(temps)), temps.index(max(temps))}
    return [ReadingOut(at=readings[i].at, temp_c=readings[i].temp_c) for i in sorted(keep)]


def build_report(session: Session, s: Shipment) -> ReportOut:
    case = session.get(Case, s.case_id)
    assert case is not None
    sites = {site.id: site.code for site in session.exec(select(Site)).all()}
    names = {u.id: u.full_name for u in session.exec(select(User).where(
        col(User.id).in_([i for i in (s.packed_by, s.received_by) if i]))).all()}
    readings = service.readings_of(session, s)
    analysis = service.analysis_of(session, s, readings)
    profile = service.profile_of(session, s)
    custody = [CustodyPoint(at=clock.as_utc(s.handed_over_at), what="packed, sealed and "
                            f"handed to {s.courier or 'the courier'}", by=names.get(s.packed_by))]
    if s.received_at:
        custody.append(CustodyPoint(at=clock.as_utc(s.received_at), what="received",
                                    by=names.get(s.received_by or 0)))
    return ReportOut(
        coi=case.coi, collection_site=sites[case.collection_site_id],
        manufacturing_site=sites[case.manufacturing_site_id],
        treatment_site=sites[case.treatment_site_id],
        shipment=shipment_out(session, s, analysis=analysis), profile_source=profile.source,
        alarm_rules=list(profile.alarm_rules), custody=custody, readings=chart(readings),
        readings_total=len(readings))
