"""At the treatment center: receipt, lymphodepletion, thaw, the bedside infusion, monitoring."""

from __future__ import annotations

from datetime import timedelta

from cartrack import clock
from cartrack.alerts.raising import create_alert
from cartrack.journey.context import Ctx
from cartrack.journey.due import ld_end
from cartrack.journey.events import (
    CompleteLdData,
    InfuseData,
    MonitoringData,
    ReceiveTreatmentData,
    StartLdData,
    ThawData,
)
from cartrack.journey.guards import second_signer
from cartrack.journey.handlers import shipping
from cartrack.journey.handlers.registry import handles
from cartrack.journey.models import MonitoringCheck
from cartrack.journey.transitions import SiteScope
from cartrack.scheduling import slips
from cartrack.security import Principal
from cartrack.units import service as units
from cartrack.units.models import UnitStatus
from cartrack.users.models import Role


@handles("receive_at_treatment_center")
def receive_at_treatment_center(ctx: Ctx, d: ReceiveTreatmentData) -> None:
    units.set_status(ctx.session, ctx.actor, ctx.units, UnitStatus.stored,
                     site_id=ctx.site(SiteScope.treatment).id, location=d.storage_location)
    ctx.timeline.update(shipper_temperature_c=d.shipper_temperature_c,
                        storage_location=d.storage_location)
    shipping.receive(ctx)
    ctx.milestone("received_at_treatment_center_at", ctx.now)
    slips.check(ctx.session, ctx.case, "delivery",
                clock.local_date(ctx.now, ctx.tz(SiteScope.treatment)))


def _note_infusion_window(ctx: Ctx) -> None:
    end = ld_end(ctx.case, ctx.rules)
    if end is not None:
        ctx.timeline.update(
            infusion_window_first_day=end + timedelta(days=ctx.rules.infusion_min_days_after_ld),
            infusion_window_last_day=end + timedelta(days=ctx.rules.infusion_max_days_after_ld))


@handles("start_lymphodepletion")
def start_lymphodepletion(ctx: Ctx, d: StartLdData) -> None:
    ctx.case.ld_started_on = d.start_date
    ctx.case.ld_regimen = d.regimen or ctx.rules.ld_regimen
    ctx.timeline.update(start_date=d.start_date, regimen=ctx.case.ld_regimen,
                        planned_days=ctx.rules.ld_days)
    ctx.milestone("ld_started_on", d.start_date)
    _note_infusion_window(ctx)


@handles("complete_lymphodepletion")
def complete_lymphodepletion(ctx: Ctx, d: CompleteLdData) -> None:
    ctx.case.ld_completed_on = d.end_date
    ctx.timeline["end_date"] = d.end_date
    ctx.milestone("ld_completed_on", d.end_date)
    _note_infusion_window(ctx)


@handles("thaw")
def thaw(ctx: Ctx, d: ThawData) -> None:
    bag = ctx.units[0]
    units.set_status(ctx.session, ctx.actor, [bag], UnitStatus.thawed)
    ctx.timeline["unit"] = bag.unit_id
    ctx.milestone("thawed_at", ctx.now)
    ctx.milestone("thawed_unit", bag.unit_id)


@handles("infuse")
def infuse(ctx: Ctx, d: InfuseData) -> None:
    units.set_status(ctx.session, ctx.actor, ctx.units, UnitStatus.infused)
    second = second_signer(ctx, d)
    ctx.timeline.update(unit=ctx.units[0].unit_id,
                        second_signer=second.name if isinstance(second, Principal) else None)
    ctx.milestone("infused_at", ctx.now)


@handles("record_monitoring_check")
def record_monitoring_check(ctx: Ctx, d: MonitoringData) -> None:
    ctx.session.add(MonitoringCheck(case_id=ctx.case.id or 0, day=d.day, crs_grade=d.crs_grade,
                                    icans_grade=d.icans_grade, notes=d.notes,
                                    recorded_by=ctx.actor.id, recorded_at=ctx.now))
    ctx.timeline.update(day=d.day, crs_grade=d.crs_grade, icans_grade=d.icans_grade)
    grade = max(d.crs_grade, d.icans_grade)
    if grade >= 2:
        case = ctx.case
        create_alert(
            ctx.session, case.id, kind="clinical", severity="critical",
            title=f"CRS {d.crs_grade} / ICANS {d.icans_grade} on day {d.day}",
            message=f"Case {case.coi}: grade {grade} toxicity recorded on day {d.day} "
                    f"(CRS {d.crs_grade}, ICANS {d.icans_grade}). Treating team to assess now.",
            targets={(Role.infusion_staff.value, case.treatment_site_id),
                     (Role.coordinator.value, case.treatment_site_id)})
