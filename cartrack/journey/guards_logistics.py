"""Guards of the journey's logistics: manufacturing slots (scheduling) and the cold chain
(shipments). Registered with the others by importing this module from ``journey.guards``."""

from __future__ import annotations

from cartrack import clock
from cartrack.journey.context import Ctx
from cartrack.journey.events import ColdChainIn, RecordCollectionData
from cartrack.journey.guard_registry import CaseView, Failure, Override, data_guard, state_guard
from cartrack.journey.transitions import SiteScope
from cartrack.scheduling import capacity as slot_capacity
from cartrack.scheduling import service as slots
from cartrack.scheduling.models import SlotStatus
from cartrack.shipments import service as shipments
from cartrack.shipments.dispatch import SHIPPED_BY, DispatchCheck, default_profile_code
from cartrack.shipments.models import Direction, Disposition

# ---- manufacturing slots ---------------------------------------------------------------


def _slot_binds(v: CaseView) -> bool:
    """Fresh apheresis at a facility that publishes capacity for the product."""
    return v.rules.apheresis_fresh and slot_capacity.books_by_slot(
        v.session, v.case.manufacturing_site_id, slots.case_product(v.session, v.case))


@state_guard("fresh apheresis is collected for a confirmed manufacturing slot where the "
             "facility books by slot", code="slot_required")
def confirmed_slot_if_fresh_bound(v: CaseView) -> Failure | None:
    if not _slot_binds(v):
        return None
    res = slots.active_of(v.session, v.case.id or 0)
    if res is not None and res.status == SlotStatus.confirmed:
        return None
    state = f"is only {res.status.value}" if res else "is not booked"
    return Failure(f"this product's fresh apheresis is collected for a confirmed manufacturing "
                   f"slot, and the case's slot {state}: book a slot and confirm it with your "
                   "e-signature first.", {"slot_status": res.status if res else None})


@data_guard("fresh apheresis is collected close enough to its slot's manufacturing start",
            code="collection_far_from_slot",
            override=Override("slot_override", "override_reason",
                              "Recording it needs an override with a reason and your "
                              "e-signature; then reschedule the slot."))
def collection_near_slot_start(ctx: Ctx, d: RecordCollectionData) -> Failure | None:
    limit = ctx.rules.max_apheresis_to_start_hours
    if not ctx.rules.apheresis_fresh or limit is None:
        return None
    res = slots.active_of(ctx.session, ctx.case.id or 0)
    if res is None:
        return None
    tz = ctx.tz(SiteScope.manufacturing)
    start = clock.start_of_local_day(res.day, tz)
    hours = (start - d.collection_end).total_seconds() / 3600
    if 0 <= hours <= limit:
        return None
    when = "after" if hours < 0 else f"{hours:.0f} h before"
    return Failure(f"the collection ended {when} the manufacturing slot's start "
                   f"({clock.fmt_local(start, tz)}); this product allows at most {limit} h.",
                   {"slot_day": res.day.isoformat(), "hours": round(hours, 1)},
                   timeline={"slot_day": res.day.isoformat(), "hours_to_slot": round(hours, 1)})


# ---- the cold chain: dispatch and excursions ----------------------------------------------


def dispatch_check(ctx: Ctx, d: ColdChainIn) -> DispatchCheck:
    """The shipper, logger and seal of a ship event, against the profile it travels under."""
    direction = SHIPPED_BY[ctx.t.event]
    default = default_profile_code(direction, apheresis_fresh=ctx.rules.apheresis_fresh,
                                   apheresis_min_c=ctx.rules.apheresis_temp_min_c)
    return DispatchCheck(ctx.session, d, default, clock.local_today(ctx.tz()))


def _found(message: str | None) -> Failure | None:
    return Failure(message) if message else None


@data_guard("a shipper serial is one of the catalog", code="shipper_unknown")
def shipper_in_catalog(ctx: Ctx, d: ColdChainIn) -> Failure | None:
    return _found(dispatch_check(ctx, d).shipper_unknown())


@data_guard("the shipper is qualified today, for this profile", code="shipper_not_qualified")
def shipper_qualified(ctx: Ctx, d: ColdChainIn) -> Failure | None:
    return _found(dispatch_check(ctx, d).shipper_unqualified())


@data_guard("the shipper is not in quarantine", code="shipper_quarantined")
def shipper_not_quarantined(ctx: Ctx, d: ColdChainIn) -> Failure | None:
    return _found(dispatch_check(ctx, d).shipper_quarantined())


@data_guard("the shipper is not on another shipment", code="shipper_in_use")
def shipper_not_in_use(ctx: Ctx, d: ColdChainIn) -> Failure | None:
    return _found(dispatch_check(ctx, d).shipper_in_use())


@data_guard("a tracked shipment has a data logger from the catalog", code="logger_missing")
def logger_given_and_known(ctx: Ctx, d: ColdChainIn) -> Failure | None:
    return _found(dispatch_check(ctx, d).logger_missing_or_unknown())


@data_guard("the data logger is in calibration", code="logger_not_calibrated")
def logger_calibrated(ctx: Ctx, d: ColdChainIn) -> Failure | None:
    return _found(dispatch_check(ctx, d).logger_not_calibrated())


@data_guard("the logger's sensor range covers the profile's limits", code="logger_range")
def logger_range_covers_profile(ctx: Ctx, d: ColdChainIn) -> Failure | None:
    return _found(dispatch_check(ctx, d).logger_range())


@data_guard("a seal is scanned where the profile requires one", code="seal_missing")
def seal_given_where_required(ctx: Ctx, d: ColdChainIn) -> Failure | None:
    return _found(dispatch_check(ctx, d).seal_missing())


def _excursions(v: CaseView, direction: Direction, disposition: Disposition) -> Failure | None:
    found = shipments.blocking_excursions(v.session, v.case.id or 0, direction, disposition)
    if not found:
        return None
    ids = [e.id for e in found]
    what = "apheresis" if direction == Direction.apheresis_to_manufacturing else "product"
    if disposition == Disposition.pending_qa:
        return Failure(f"the {what} shipment has a temperature excursion awaiting QA's "
                       f"disposition (excursion {', '.join(map(str, ids))}).",
                       {"excursions": ids})
    return Failure(f"QA rejected the {what} shipment's temperature excursion (excursion "
                   f"{', '.join(map(str, ids))}); do not use it.", {"excursions": ids})


@state_guard("no excursion of the apheresis shipment awaits QA", code="excursion_open")
def no_apheresis_excursion_open(v: CaseView) -> Failure | None:
    return _excursions(v, Direction.apheresis_to_manufacturing, Disposition.pending_qa)


@state_guard("QA rejected no excursion of the apheresis shipment", code="excursion_rejected")
def no_apheresis_excursion_rejected(v: CaseView) -> Failure | None:
    return _excursions(v, Direction.apheresis_to_manufacturing, Disposition.reject)


@state_guard("no excursion of the product shipment awaits QA", code="excursion_open")
def no_product_excursion_open(v: CaseView) -> Failure | None:
    return _excursions(v, Direction.product_to_treatment_center, Disposition.pending_qa)


@state_guard("QA rejected no excursion of the product shipment", code="excursion_rejected")
def no_product_excursion_rejected(v: CaseView) -> Failure | None:
    return _excursions(v, Direction.product_to_treatment_center, Disposition.reject)
