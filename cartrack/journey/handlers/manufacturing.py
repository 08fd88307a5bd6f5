"""Manufacturing, QC, release and out-of-specification decisions, and the trip back."""

from __future__ import annotations

from cartrack import clock
from cartrack.journey.context import Ctx
from cartrack.journey.events import (
    CompleteManufacturingData,
    EmptyData,
    OutOfSpecDecisionData,
    ProcessStepData,
    QcResultData,
    ReasonData,
    ShipToTreatmentData,
    UnitScanData,
)
from cartrack.journey.guards import latest_qc
from cartrack.journey.handlers import shipping
from cartrack.journey.handlers.registry import handles
from cartrack.journey.models import QcResult
from cartrack.journey.transitions import SiteScope
from cartrack.protocols.service import product_expiry
from cartrack.scheduling import service as slots
from cartrack.scheduling import slips
from cartrack.units import service as units
from cartrack.units.models import Unit, UnitKind, UnitStatus


@handles("start_manufacturing")
def start_manufacturing(ctx: Ctx, d: UnitScanData) -> None:
    units.set_status(ctx.session, ctx.actor, ctx.units, UnitStatus.in_process)
    ctx.case.next_process_step = 0
    ctx.timeline["unit"] = ctx.units[0].unit_id
    ctx.milestone("manufacturing_started_at", ctx.now)
    used = slots.consume(ctx.session, ctx.case, ctx.actor)
    slips.check(ctx.session, ctx.case, "manufacturing_start",
                clock.local_date(ctx.now, ctx.tz(SiteScope.manufacturing)))
    if used is not None:
        ctx.timeline["slot"] = {"day": used.day, "rule_version": used.rule_version}


@handles("record_process_step")
def record_process_step(ctx: Ctx, d: ProcessStepData) -> None:
    ctx.case.next_process_step += 1
    ctx.timeline.update(step=d.step, unit=ctx.units[0].unit_id, notes=d.notes)
    ctx.milestone(f"step_{d.step}_at", ctx.now)


@handles("complete_manufacturing")
def complete_manufacturing(ctx: Ctx, d: CompleteManufacturingData) -> None:
    parent = ctx.units[0]
    expires = product_expiry(ctx.rules, d.cryopreserved_at)
    bags = units.create_units(ctx.session, ctx.actor, ctx.case, ctx.site(SiteScope.manufacturing),
                              UnitKind.product, d.bags, parent=parent,
                              collected_at=parent.collected_at,
                              cryopreserved_at=d.cryopreserved_at, expires_at=expires)
    units.set_status(ctx.session, ctx.actor, bags, UnitStatus.cryopreserved)
    units.set_status(ctx.session, ctx.actor, [parent], UnitStatus.consumed)
    ctx.timeline.update(bags=[b.unit_id for b in bags], parent=parent.unit_id,
                        cryopreserved_at=d.cryopreserved_at)
    ctx.milestone("cryopreserved_at", d.cryopreserved_at)
    ctx.milestone("manufactured_at", ctx.now)


@handles("record_qc_result")
def record_qc_result(ctx: Ctx, d: QcResultData) -> None:
    spec = next(t.spec for t in ctx.rules.qc_tests if t.code == d.test)
    ctx.session.add(QcResult(case_id=ctx.case.id or 0, test=d.test, value=d.value, spec=spec,
                             passed=d.passed, recorded_by=ctx.actor.id, recorded_at=ctx.now))
    ctx.timeline.update(test=d.test, value=d.value, spec=spec, passed=d.passed)


def _product_bags(ctx: Ctx) -> list[Unit]:
    """The bags of the current manufacturing: never one discarded after an earlier
    out-of-specification decision (releasing it again would send it to the bedside)."""
    return [u for u in units.units_of(ctx.session, ctx.case.id or 0, UnitKind.product)
            if u.status != UnitStatus.discarded]


def _release_bags(ctx: Ctx) -> None:
    bags = _product_bags(ctx)
    for bag in bags:
        bag.quarantined = False
    units.set_status(ctx.session, ctx.actor, bags, UnitStatus.released)
    ctx.timeline["qc"] = {k: v.passed for k, v in latest_qc(ctx.session, ctx.case.id or 0).items()}
    ctx.milestone("released_at", ctx.now)
    slips.check(ctx.session, ctx.case, "release",
                clock.local_date(ctx.now, ctx.tz(SiteScope.manufacturing)))


@handles("release")
def release(ctx: Ctx, d: EmptyData) -> None:
    _release_bags(ctx)


@handles("report_out_of_spec")
def report_out_of_spec(ctx: Ctx, d: ReasonData) -> None:
    failing = [k for k, v in latest_qc(ctx.session, ctx.case.id or 0).items() if not v.passed]
    bags = _product_bags(ctx)
    for bag in bags:
        bag.quarantined = True
        ctx.session.add(bag)
    ctx.timeline.update(failing=failing, quarantined=[b.unit_id for b in bags])


def _discard_everything(ctx: Ctx) -> None:
    bags = units.units_of(ctx.session, ctx.case.id or 0)
    for bag in bags:
        bag.quarantined = True
    units.set_status(ctx.session, ctx.actor, bags, UnitStatus.discarded)


@handles("decide_out_of_spec")
def decide_out_of_spec(ctx: Ctx, d: OutOfSpecDecisionData) -> None:
    ctx.timeline["decision"] = d.decision
    if d.decision == "exceptional_release":
        ctx.timeline["physician_acknowledgement"] = d.physician_acknowledgement
        _release_bags(ctx)
        return
    _discard_everything(ctx)
    if d.decision == "recollect":
        ctx.case.next_process_step = 0
        ctx.case.collection_date = d.collection_date
        ctx.timeline["collection_date"] = d.collection_date


@handles("ship_to_treatment_center")
def ship_to_treatment_center(ctx: Ctx, d: ShipToTreatmentData) -> None:
    units.set_status(ctx.session, ctx.actor, ctx.units, UnitStatus.in_transit)
    ctx.timeline.update(shipper_type=d.shipper_type, courier=d.courier,
                        tracking_number=d.tracking_number)
    shipping.dispatch(ctx, d)
    ctx.milestone("shipped_to_treatment_center_at", ctx.now)
