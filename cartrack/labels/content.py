"""What one bag's or wristband's label shows, read from the case, the bag and the product's
catalog entry, formatted for print; and the label in each output format.

Times print in the time zone of the site where they happened (collection at the collection
site, cryopreservation and expiry at the manufacturing facility), with the zone's name. The
expiry printed is the bag's ``expires_at``, the same value as its storage-expiry deadline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from cartrack import clock
from cartrack.errors import Conflict, Invalid
from cartrack.identity.identifiers import printed_unit
from cartrack.journey.models import Case, Patient
from cartrack.labels.layout import Face, LabelOverflow, as_label_kind
from cartrack.labels.models import LabelTemplate
from cartrack.labels.payload import KeyRing, sign_unit, sign_wristband
from cartrack.labels.render import label_png, label_svg, labels_pdf
from cartrack.labels.templates import LabelValues, compose
from cartrack.labels.zpl import label_zpl, with_copies
from cartrack.protocols.models import Protocol, ProtocolData
from cartrack.units.models import Unit, Wristband
from cartrack.users.models import Site

MEDIA_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml",
                               "pdf": "application/pdf", "zpl": "application/zpl"}
MOMENT = "%Y-%m-%d %H:%M %Z"


@dataclass(frozen=True)
class Printable:
    """One bag or one wristband of a case."""

    case: Case
    unit: Unit | None = None
    band: Wristband | None = None

    @property
    def label_id(self) -> str:
        if self.unit is not None:
            return self.unit.unit_id
        assert self.band is not None
        return self.band.wristband_id

    @property
    def kind(self) -> str:
        return self.unit.kind if self.unit is not None else "wristband"

    @property
    def noun(self) -> str:
        if self.unit is None:
            return f"wristband {self.label_id}"
        return f"bag {printed_unit(self.label_id).text}"


# ---- formatting ------------------------------------------------------------------------


def local_moment(moment: datetime | None, site: Site | None) -> str | None:
    if moment is None:
        return None
    tz = ZoneInfo(site.timezone if site is not None else "UTC")
    return clock.as_utc(moment).astimezone(tz).strftime(MOMENT)


def facility(site: Site | None) -> str | None:
    return f"{site.name} (FIN {site.fin})" if site is not None else None


def volume(ml: float | None) -> str | None:
    return f"{ml:g} mL" if ml is not None else None


def cell_dose(cells: float | None) -> str | None:
    """2.0e8 as "2.0 x 10^8 CAR+ viable T cells" (plain characters every printer has)."""
    if cells is None:
        return None
    exponent = math.floor(math.log10(cells))
    mantissa = cells / 10**exponent
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f} x 10^{exponent} CAR+ viable T cells"


def manufacturer(rules: ProtocolData) -> str | None:
    if not rules.manufacturer:
        return None
    return rules.manufacturer + (f" ({rules.manufacturer_id})" if rules.manufacturer_id else "")


# ---- a label's values --------------------------------------------------------------------


def label_values(session: Session, ring: KeyRing, item: Printable, template: LabelTemplate,
                 with_patient: bool) -> LabelValues:
    case = item.case
    protocol = session.get(Protocol, case.protocol_id)
    rules = protocol.rules() if protocol is not None else None
    fields: dict[str, str | tuple[str, ...] | None] = {
        "product": protocol.name if protocol is not None else None,
        "template": f"{template.kind} v{template.version}",
    }
    if with_patient:
        fields.update(_patient(session, case))
    unit = item.unit
    if unit is None:
        return LabelValues("wristband", sign_wristband(ring, item.label_id, case.coi), case.coi,
                           item.label_id, fields)
    if unit.kind == "product":
        fields.update(_product(session, case, unit, rules))
    else:
        fields.update(_apheresis(session, case, unit, rules))
    return LabelValues(as_label_kind(unit.kind), sign_unit(ring, unit.unit_id, case.coi),
                       case.coi, unit.unit_id, fields)


def _patient(session: Session, case: Case) -> dict[str, str | None]:
    patient = session.get(Patient, case.patient_id)
    if patient is None:
        return {}
    return {"patient_name": f"{patient.family_name.upper()}, {patient.given_name}",
            "date_of_birth": patient.date_of_birth.isoformat()}


def _apheresis(session: Session, case: Case, unit: Unit, rules: ProtocolData | None
               ) -> dict[str, str | tuple[str, ...] | None]:
    site = session.get(Site, case.collection_site_id)
    return {"collected": local_moment(unit.collected_at, site),
            "collection_facility": facility(site), "volume": volume(unit.volume_ml),
            "anticoagulant": unit.anticoagulant,
            "transport": rules.apheresis_transport if rules else None}


def _product(session: Session, case: Case, unit: Unit, rules: ProtocolData | None
             ) -> dict[str, str | tuple[str, ...] | None]:
    if unit.expires_at is None:
        raise Conflict(f"Bag {printed_unit(unit.unit_id).text} has no expiry date, so its label "
                       "cannot be printed: a product bag gets its expiry when manufacturing is "
                       "completed.", code="no_expiry")
    site = session.get(Site, case.manufacturing_site_id)
    return {"manufactured": local_moment(unit.cryopreserved_at, site),
            "expires": local_moment(unit.expires_at, site),
            "storage": rules.storage_condition if rules else None,
            "volume": volume(unit.volume_ml), "dose": cell_dose(unit.cell_dose),
            "facility": facility(site), "manufacturer": manufacturer(rules) if rules else None,
            "warnings": tuple(rules.warnings) if rules else ()}


# ---- rendering ---------------------------------------------------------------------------


def faces_of(template: LabelTemplate, values: LabelValues, size: str) -> list[Face]:
    return compose(template.rules(), values, size)


def render(labels: list[list[Face]], fmt: str, size: str, copies: int, title: str) -> bytes:
    """Each label (its faces: the label, then its tag) ``copies`` times, in order."""
    try:
        return _render(labels, fmt, size, copies, title)
    except LabelOverflow as exc:
        raise Conflict(f"This label does not fit {size} stock ({exc}); print it on larger "
                       "stock.", code="label_overflow") from exc


def _render(labels: list[list[Face]], fmt: str, size: str, copies: int, title: str) -> bytes:
    if fmt == "pdf":
        return labels_pdf([f for faces in labels for _ in range(copies) for f in faces], size,
                          title)
    if fmt == "zpl":
        return "".join(_zpl(faces, size, copies) for faces in labels).encode()
    if len(labels) != 1:
        raise Conflict(f"A {fmt.upper()} holds one label; use PDF or ZPL for several.",
                      code="one_label_per_image")
    if len(labels[0]) != 1:
        raise Conflict(f"On {size} stock this label comes with a tag holding the rest of its "
                      f"content; print both as PDF or ZPL, not {fmt.upper()}.",
                      code="label_has_tag")
    if fmt == "png":
        return label_png(labels[0][0], size)
    if fmt == "svg":
        return label_svg(labels[0][0], size)
    raise Invalid(f"Label format {fmt!r} is not offered; use png, svg, pdf or zpl.",
                  code="unknown_label_format")


def _zpl(faces: list[Face], size: str, copies: int) -> str:
    blocks = "".join(label_zpl(face, size) for face in faces)
    if blocks.count("^XA") == 1:
        return with_copies(blocks, copies)
    return blocks * copies  # a label and its tag stay together, copy after copy
