"""What dispatch checks before a tracked shipment leaves: the shipper, the data logger and the
seal. The journey's guards (one per rule, each with its refusal code) ask here.

A shipment is tracked when the ship event names a shipper serial from the catalog; the event
without one (the older form, a shipper type in words) is recorded as an untracked shipment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from sqlmodel import Session

from cartrack.shipments import catalog
from cartrack.shipments.models import (
    DataLogger,
    Direction,
    Shipper,
    ShipperStatus,
    ShippingProfile,
)


class ColdChainFields(Protocol):
    """The cold-chain part of a ship event's data."""

    @property
    def shipping_profile(self) -> str | None: ...
    @property
    def shipper_serial(self) -> str | None: ...
    @property
    def logger_serial(self) -> str | None: ...
    @property
    def seal_id(self) -> str | None: ...


SHIPPED_BY = {"ship_to_manufacturing": Direction.apheresis_to_manufacturing,
              "ship_to_treatment_center": Direction.product_to_treatment_center}
RECEIVED_BY = {"receive_at_manufacturing": Direction.apheresis_to_manufacturing,
               "receive_at_treatment_center": Direction.product_to_treatment_center}


def default_profile_code(direction: Direction, *, apheresis_fresh: bool,
                         apheresis_min_c: float) -> str:
    """Cryopreserved product travels in LN2 vapour; fresh apheresis at 2-8 °C, or at room
    temperature when the product's protocol keeps it at 15 °C or above."""
    if direction == Direction.product_to_treatment_center or not apheresis_fresh:
        return "ln2_vapour"
    return "crt_15_25" if apheresis_min_c >= 15 else "fresh_2_8"


@dataclass
class DispatchCheck:
    session: Session
    data: ColdChainFields
    default_code: str
    today: date

    @property
    def tracked(self) -> bool:
        return self.data.shipper_serial is not None

    @property
    def shipper(self) -> Shipper | None:
        serial = self.data.shipper_serial
        return catalog.shipper_by_serial(self.session, serial) if serial else None

    @property
    def logger(self) -> DataLogger | None:
        serial = self.data.logger_serial
        return catalog.logger_by_serial(self.session, serial) if serial else None

    def profile(self) -> ShippingProfile:
        """The profile named by the event, else the one of the direction and product; the
        shipper must be qualified for it."""
        return catalog.current_profile(self.session,
                                       self.data.shipping_profile or self.default_code)

    # ---- one rule each: the refusal in words, or None -------------------------------------

    def shipper_unknown(self) -> str | None:
        if self.tracked and self.shipper is None:
            return f"shipper {self.data.shipper_serial} is not in the catalog."
        return None

    def shipper_unqualified(self) -> str | None:
        shipper = self.shipper
        if shipper is None:
            return None
        if shipper.status == ShipperStatus.retired:
            return f"shipper {shipper.serial} is retired."
        if shipper.qualified_until < self.today:
            return (f"shipper {shipper.serial} was qualified until {shipper.qualified_until}; "
                    "requalify it before use.")
        profile = self.profile()
        if shipper.profile_code != profile.code:
            return (f"shipper {shipper.serial} is qualified for {shipper.profile_code}, not "
                    f"{profile.code}.")
        return None

    def shipper_quarantined(self) -> str | None:
        shipper = self.shipper
        if shipper is not None and shipper.status == ShipperStatus.quarantine:
            return (f"shipper {shipper.serial} is in quarantine after its last trip; requalify "
                    "it first.")
        return None

    def shipper_in_use(self) -> str | None:
        shipper = self.shipper
        if shipper is not None and shipper.status == ShipperStatus.in_use:
            return f"shipper {shipper.serial} is on another shipment."
        return None

    def logger_missing_or_unknown(self) -> str | None:
        if not self.tracked:
            return None
        if self.data.logger_serial is None:
            return ("a data logger is required for this shipping profile."
                    if self.profile().requires_logger else None)
        if self.logger is None:
            return f"data logger {self.data.logger_serial} is not in the catalog."
        return None

    def logger_not_calibrated(self) -> str | None:
        logger = self.logger
        if self.tracked and logger is not None and logger.calibrated_until < self.today:
            return (f"data logger {logger.serial} was calibrated until "
                    f"{logger.calibrated_until}; use a calibrated logger.")
        return None

    def logger_range(self) -> str | None:
        logger = self.logger
        if not self.tracked or logger is None:
            return None
        profile = self.profile()
        if logger.sensor_min_c > profile.low_c or logger.sensor_max_c < profile.high_c:
            return (f"data logger {logger.serial} reads {logger.sensor_min_c} to "
                    f"{logger.sensor_max_c} °C; the {profile.code} profile needs "
                    f"{profile.low_c} to {profile.high_c} °C.")
        return None

    def seal_missing(self) -> str | None:
        if self.tracked and not self.data.seal_id and self.profile().requires_seal:
            return "a tamper-evident seal is required for this shipping profile; scan its ID."
        return None
