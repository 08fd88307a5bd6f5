"""Scheduling, collection and the trip to manufacturing."""

from __future__ import annotations

from cartrack import clock
from cartrack.alerts.raising import create_alert
from cartrack.journey.context import Ctx
from cartrack.journey.events import (
    ReceiveData,
    RecordCollectionData,
    ScheduleCollectionData,
    ShipData,
)
from cartrack.journey.handlers import shipping
from cartrack.journey.handlers.registry import handles
from cartrack.journey.transitions import SiteScope
from cartrack.scheduling import service as slots
from cartrack.scheduling import slips
from cartrack.units import service as units
from cartrack.units.models import UnitKind, UnitStatus
from cartrack.users.models import Role


@handles("schedule_collection")
def schedule_collection(ctx: Ctx, d: ScheduleCollectionData) -> None:
    """The slot text and planned infusion, when not given, come from the confirmed slot."""
    planned = slots.collection_defaults(ctx.session, ctx.case.id or 0)
    day = d.collection_date
    slot = d.manufacturing_slot or planned.get("manufacturing_slot")
    infusion = d.planned_infusion_date or planned.get("planned_infusion_date")
    ctx.case.collection_date = day
    ctx.case.manufacturing_slot = slot
    if infusion:
        ctx.case.planned_infusion_date = infusion
    ctx.timeline.update(collection_date=day, manufacturing_slot=slot,
                        planned_infusion_date=infusion)


@handles("record_collection")
def record_collection(ctx: Ctx, d: RecordCollectionData) -> None:
    site = ctx.site(SiteScope.collection)
    made = units.create_units(ctx.session, ctx.actor, ctx.case, site, UnitKind.apheresis,
                              d.units, collected_at=d.collection_end)
    units.set_status(ctx.session, ctx.actor, made, UnitStatus.collected, site_id=site.id)
    ctx.milestone("collected_at", d.collection_end)
    slips.check(ctx.session, ctx.case, "collection",
                clock.local_date(d.collection_end, ctx.tz(SiteScope.collection)))
    ctx.timeline.update(collection_end=d.collection_end, units=[u.unit_id for u in made])


@handles("ship_to_manufacturing")
def ship_to_manufacturing(ctx: Ctx, d: ShipData) -> None:
    units.set_status(ctx.session, ctx.actor, ctx.units, UnitStatus.in_transit)
    ctx.timeline.update(shipper_type=d.shipper_type, courier=d.courier,
                        tracking_number=d.tracking_number)
    shipping.dispatch(ctx, d)
    ctx.milestone("shipped_to_manufacturing_at", ctx.now)


@handles("receive_at_manufacturing")
def receive_at_manufacturing(ctx: Ctx, d: ReceiveData) -> None:
    """A shipper out of range does not refuse fresh apheresis: it records a deviation for QA."""
    low, high = ctx.rules.apheresis_temp_min_c, ctx.rules.apheresis_temp_max_c
    in_range = low <= d.shipper_temperature_c <= high
    ctx.timeline.update(shipper_temperature_c=d.shipper_temperature_c, temperature_in_range=in_range)
    if not in_range:
        ctx.timeline["deviation"] = d.deviation_note or (
            f"shipper temperature {d.shipper_temperature_c} °C outside {low}..{high} °C")
        case = ctx.case
        create_alert(ctx.session, case.id, kind="deviation", severity="warning",
                     title="Temperature deviation on receipt",
                     message=f"Case {case.coi}: apheresis arrived at {d.shipper_temperature_c} °C "
                             f"(expected {low}..{high} °C). A deviation is recorded; QA to review.",
                     targets={(Role.qa.value, case.manufacturing_site_id),
                              (Role.lab_tech.value, case.manufacturing_site_id),
                              (Role.coordinator.value, case.treatment_site_id)})
    units.set_status(ctx.session, ctx.actor, ctx.units, UnitStatus.received,
                     site_id=ctx.site(SiteScope.manufacturing).id, location=d.storage_location)
    shipping.receive(ctx)
    ctx.milestone("received_at_manufacturing_at", ctx.now)

