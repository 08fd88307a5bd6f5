"""Printing labels: who may print which label, what prints, and a record of every print.

A label's QR carries the signed payload (no PHI); the eye-readable text is laid out by the
label template in effect for its kind (``labels.versions``): the COI and unit ID with their
boxed check characters, the product, dates, storage and warnings and, when configured and
the user may see patient details, the patient's name and date of birth. Every print is a
``label_print`` row (with the template version) and an audit entry; printing the same label
again needs a reason. Wristbands are printed only by clinical staff at the case's collection
or treatment site.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from sqlmodel import Session, col, or_, select

from cartrack import clock
from cartrack.audit import service as audit
from cartrack.errors import Conflict, Forbidden, Invalid, NotFound
from cartrack.identity.identifiers import UNIT_RE, IdentifierError, parse_coi, parse_unit_id
from cartrack.journey.access import can_print_wristband, can_see_phi, case_site_ids
from cartrack.journey.models import Case
from cartrack.labels import versions
from cartrack.labels.content import MEDIA_TYPES, Printable, faces_of, label_values, render
from cartrack.labels.layout import DEFAULT_SIZE, LABEL_SIZES
from cartrack.labels.models import LabelPrint, LabelTemplate
from cartrack.labels.payload import VERSION, key_ring
from cartrack.security import Principal
from cartrack.settings import get_settings
from cartrack.units.models import Unit, Wristband
from cartrack.users.models import Role

PRINT_ROLES = (Role.coordinator, Role.collection_staff, Role.lab_tech, Role.infusion_staff)
MAX_COPIES = 20
# Bags that no longer exist as such get no label on the case sheet.
INACTIVE_STATUSES = frozenset({"discarded", "consumed", "infused"})


@dataclass(frozen=True)
class Printer:
    """Who prints: a signed-in user, or an operator at the command line (no user)."""

    principal: Principal | None
    cli_name: str = ""

    @property
    def user_id(self) -> int | None:
        return self.principal.id if self.principal else None

    @property
    def name(self) -> str:
        return self.principal.name if self.principal else self.cli_name

    def may_print(self, case: Case) -> bool:
        if self.principal is None:
            return True
        sites = self.principal.site_ids(*PRINT_ROLES)
        return None in sites or bool(sites & case_site_ids(case))

    def may_print_wristband(self, case: Case) -> bool:
        return self.principal is None or can_print_wristband(self.principal, case)

    def may_see_patient(self, case: Case) -> bool:
        return self.principal is None or can_see_phi(self.principal, case)


def cli_printer() -> Printer:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Printer(None, f"command line ({who})")


@dataclass(frozen=True)
class Rendered:
    content: bytes
    media_type: str
    filename: str
    prints: list[LabelPrint]


@dataclass(frozen=True)
class PrintOptions:
    size: str = DEFAULT_SIZE
    copies: int = 1
    reprint_reason: str | None = None

    def check(self) -> PrintOptions:
        if self.size not in LABEL_SIZES:
            raise Invalid(f"Label size {self.size!r} is not offered; use one of "
                          + ", ".join(LABEL_SIZES) + ".", code="unknown_label_size")
        if not 1 <= self.copies <= MAX_COPIES:
            raise Invalid(f"Copies must be 1 to {MAX_COPIES}.", code="copies_out_of_range")
        reason = " ".join((self.reprint_reason or "").split())
        if self.reprint_reason is not None and len(reason) < 3:
            raise Invalid("A reprint reason needs at least 3 characters.",
                          code="reprint_reason_too_short")
        return PrintOptions(self.size, self.copies, reason or None)


# ---- finding what to print -------------------------------------------------------------


def parse_unit_ref(text: str) -> str:
    """A unit ID as in a URL: the bare 15 characters, or typed with its check character. A
    check character that does not match names no unit: 404, never a guess."""
    raw = text.strip().upper().replace(" ", "")
    if len(raw) == 15 and UNIT_RE.match(raw):
        return raw
    try:
        return parse_unit_id(raw)
    except IdentifierError as exc:
        if "check character" in str(exc):
            raise NotFound(f"No unit answers to {text.strip()!r}: its check character does not "
                           "match. Retype the ID.", code="bad_check_character") from exc
        raise Invalid(f"{text!r} is not a unit ID: {exc}.", code="invalid_unit_id") from exc


def find_unit(session: Session, printer: Printer, text: str) -> Printable:
    unit_id = parse_unit_ref(text)
    unit = session.exec(select(Unit).where(Unit.unit_id == unit_id)).first()
    case = session.get(Case, unit.case_id) if unit is not None else None
    if unit is None or case is None or not printer.may_print(case):
        raise NotFound(f"No unit {unit_id}.", code="unit_not_found")
    return Printable(case, unit=unit)


def find_case(session: Session, printer: Printer, ref: str | int) -> Case:
    """A case by number or COI (with or without its check character), if the printer may."""
    case: Case | None = None
    if isinstance(ref, int) or str(ref).isdigit():
        case = session.get(Case, int(ref))
    else:
        text = str(ref).strip().upper().replace(" ", "")
        try:
            coi = text if len(text) == 15 else parse_coi(text)
        except IdentifierError as exc:
            raise Invalid(f"{ref!r} is not a case number or COI: {exc}.",
                          code="invalid_case_ref") from exc
        case = session.exec(select(Case).where(Case.coi == coi)).first()
    if case is None or not printer.may_print(case):
        raise NotFound(f"No case {ref}.", code="case_not_found")
    return case


def wristband_of(session: Session, printer: Printer, case: Case) -> Printable:
    if not printer.may_print_wristband(case):
        raise Forbidden("A wristband is printed by clinical staff (coordinator, collection or "
                        "infusion staff) at the case's collection or treatment site.",
                        code="wristband_forbidden")
    band = session.exec(select(Wristband).where(Wristband.case_id == case.id,
                                                col(Wristband.active).is_(True))
                        .order_by(col(Wristband.id).desc())).first()
    if band is None:
        raise NotFound(f"Case {case.coi} has no active wristband.", code="wristband_not_found")
    return Printable(case, band=band)


def case_printables(session: Session, printer: Printer, case: Case) -> list[Printable]:
    """Every active label of a case the printer may print: the wristband, then the bags in the
    order made."""
    bags = session.exec(select(Unit).where(Unit.case_id == case.id).order_by(col(Unit.id))).all()
    items = [Printable(case, unit=u) for u in bags if u.status not in INACTIVE_STATUSES]
    if printer.may_print_wristband(case):
        items.insert(0, wristband_of(session, printer, case))
    if not items:
        raise Conflict(f"Case {case.coi} has no labels you may print yet.",
                       code="nothing_to_print")
    return items


def shows_patient(printer: Printer, case: Case) -> bool:
    return get_settings().show_patient_name_on_label and printer.may_see_patient(case)


# ---- printing and its record -----------------------------------------------------------


def print_labels(session: Session, printer: Printer, items: list[Printable], fmt: str,
                 options: PrintOptions, filename: str) -> Rendered:
    """Render with the templates in effect, then record each label printed (refusing an
    unexplained reprint)."""
    options = options.check()
    if fmt not in MEDIA_TYPES:
        raise Invalid(f"Label format {fmt!r} is not offered; use png, svg, pdf or zpl.",
                      code="unknown_label_format")
    earlier = _earlier_prints(session, items)
    if earlier and options.reprint_reason is None:
        raise _reprint_refusal(items, earlier)
    ring = key_ring()
    templates = {kind: versions.in_effect(session, kind) for kind in {i.kind for i in items}}
    values = [label_values(session, ring, item, templates[item.kind],
                           shows_patient(printer, item.case)) for item in items]
    faces = [faces_of(templates[item.kind], v, options.size)
             for item, v in zip(items, values, strict=True)]
    content = render(faces, fmt, options.size, options.copies,
                     f"cartrack labels {items[0].case.coi}")
    prints = [_record(session, printer, item, fmt, options, _key(item) in earlier,
                      "patient_name" in v.fields, templates[item.kind])
              for item, v in zip(items, values, strict=True)]
    return Rendered(content, MEDIA_TYPES[fmt], filename, prints)


def _key(item: Printable) -> tuple[str, int]:
    if item.unit is not None:
        return "unit", item.unit.id or 0
    assert item.band is not None
    return "wristband", item.band.id or 0


def _earlier_prints(session: Session, items: list[Printable]) -> dict[tuple[str, int], LabelPrint]:
    unit_pks = [item.unit.id for item in items if item.unit is not None]
    band_pks = [item.band.id for item in items if item.band is not None]
    rows = session.exec(
        select(LabelPrint).where(or_(col(LabelPrint.unit_pk).in_(unit_pks),
                                     col(LabelPrint.wristband_pk).in_(band_pks)))
        .order_by(col(LabelPrint.id))
    ).all()
    out: dict[tuple[str, int], LabelPrint] = {}
    for row in rows:
        key = ("unit", row.unit_pk) if row.unit_pk is not None else ("wristband",
                                                                      row.wristband_pk or 0)
        out.setdefault(key, row)  # the first print of each label
    return out


def _reprint_refusal(items: list[Printable], earlier: dict[tuple[str, int], LabelPrint]
                     ) -> Conflict:
    again = [item for item in items if _key(item) in earlier]
    first = earlier[_key(again[0])]
    when = clock.as_utc(first.printed_at).strftime("%Y-%m-%d %H:%M UTC")
    more = f" and {len(again) - 1} more" if len(again) > 1 else ""
    return Conflict(
        f"The label of {again[0].noun}{more} was printed before (first on {when} by "
        f"{first.printed_name}): give a reprint reason (reprint_reason) to print it again.",
        code="reprint_reason_required",
        context={"printed_before": [
            {"label_id": item.label_id, "kind": item.kind,
             "first_printed_at": clock.as_utc(earlier[_key(item)].printed_at).isoformat(),
             "first_printed_by": earlier[_key(item)].printed_name} for item in again]},
    )


def _record(session: Session, printer: Printer, item: Printable, fmt: str,
            options: PrintOptions, reprint: bool, with_patient: bool,
            template: LabelTemplate) -> LabelPrint:
    kid = key_ring().active_kid
    row = LabelPrint(printed_at=clock.now(), user_id=printer.user_id, printed_name=printer.name,
                     case_id=item.case.id or 0, unit_pk=item.unit.id if item.unit else None,
                     wristband_pk=item.band.id if item.band else None, label_id=item.label_id,
                     label_kind=item.kind, format=fmt, size=options.size, copies=options.copies,
                     reprint=reprint, reason=options.reprint_reason, key_id=kid,
                     payload_version=VERSION, with_patient=with_patient,
                     template_id=template.id, template_version=template.version)
    session.add(row)
    session.flush()
    audit.record(session, user_id=printer.user_id, printed_name=printer.name,
                 action="label_reprint" if reprint else "label_print",
                 entity="unit" if item.unit is not None else "wristband",
                 entity_id=item.label_id, case_id=item.case.id,
                 new={"label_print_id": row.id, "format": fmt, "size": options.size,
                      "copies": options.copies, "reprint": reprint, "key_id": kid,
                      "payload_version": VERSION, "with_patient": with_patient,
                      "template": f"{template.kind} v{template.version}"},
                 reason=options.reprint_reason)
    return row


# ---- the three print requests ----------------------------------------------------------


def print_unit(session: Session, printer: Printer, unit_ref: str, fmt: str,
               options: PrintOptions) -> Rendered:
    item = find_unit(session, printer, unit_ref)
    return print_labels(session, printer, [item], fmt, options,
                        f"label-{item.label_id}-{options.size}.{fmt}")


def print_wristband(session: Session, printer: Printer, case_ref: str | int, fmt: str,
                    options: PrintOptions) -> Rendered:
    case = find_case(session, printer, case_ref)
    item = wristband_of(session, printer, case)
    return print_labels(session, printer, [item], fmt, options,
                        f"wristband-{case.coi}-{options.size}.{fmt}")


def print_case(session: Session, printer: Printer, case_ref: str | int, fmt: str,
               options: PrintOptions) -> Rendered:
    case = find_case(session, printer, case_ref)
    return print_labels(session, printer, case_printables(session, printer, case), fmt, options,
                        f"labels-{case.coi}-{options.size}.{fmt}")
