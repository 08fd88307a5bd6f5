"""A raw scanned string becomes the unit or wristband it names, or the reason it cannot be
trusted; plus the sentences a tired nurse reads, and the custody row every scan leaves."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from cartrack import clock
from cartrack.errors import Invalid
from cartrack.identity.identifiers import IdentifierError, parse_unit_id
from cartrack.journey.models import Case
from cartrack.labels.payload import PayloadError, decode, key_ring
from cartrack.scans.models import CustodyEvent, CustodyKind, ScanReason, Verdict
from cartrack.security import Principal
from cartrack.units.models import Unit, Wristband

MAX_SCAN_BYTES = 1024
MAX_SCAN_CHARS = MAX_SCAN_BYTES // 4  # at most 4 bytes a character in UTF-8: always under 1 KB
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
# What ``clean_scan`` accepts, as the API declares it: spaces, tabs, CR and LF around the text;
# inside it no control character at all, and at least one character that is not a space.
_TEXT = r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]"
SCAN_PATTERN = rf"^[ \t\r\n]*{_TEXT}*[^\x00-\x20\x7f-\x9f\u2028\u2029]{_TEXT}*[ \t\r\n]*$"
_PAYLOAD_KIND = re.compile(r"^CT\d+\.[A-Z0-9]{1,8}\.([UW])\.")

MESSAGES = {
    "malformed": "This is not a cartrack label: scan the QR code again, or type the ID "
                 "printed under it.",
    "forged": "This label's signature does not match: it may be altered or forged. Do not use "
              "this bag.",
    "unknown_unit": "This label is not known to cartrack. Do not use this bag.",
    "unknown_wristband": "This wristband is not known to cartrack; check the patient's "
                         "identity another way.",
    "inactive_wristband": "This wristband has been replaced: use the patient's current "
                          "wristband.",
    "other_patient": "STOP: this bag belongs to another patient.",
    "other_case": "This bag belongs to another therapy case of this patient.",
    "wrong_step": "This bag is not expected at this step.",
    "quarantined": "This bag is quarantined. Do not use it.",
    "expired": "This bag has expired. Do not use it.",
    "missing_unit": "A bag of this shipment was not scanned.",
    "extra_unit": "This bag is not part of this shipment.",
    "duplicate_scan": "This bag was scanned twice.",
    "wristband_first": "Scan the patient's wristband first, then the bag.",
    "wristband_for_bag": "A wristband was scanned where a bag was expected: scan the bag's label.",
    "bedside_other_patient": "STOP: this bag belongs to another patient, not to the patient "
                             "whose wristband you scanned. Do not infuse it.",
    "bedside_other_case": "STOP: this bag belongs to another therapy case of this patient. "
                          "Do not infuse it.",
    "bedside_not_thawed": "STOP: this is not the bag that was thawed for this patient. Do not "
                          "infuse it.",
    "bedside_wristband_other_patient": "STOP: this wristband belongs to another patient, not "
                                       "to the patient of the case on screen. Check who this "
                                       "patient is; do not infuse.",
    "bedside_wristband_other_case": "STOP: this wristband is of another therapy case of this "
                                    "patient, not of the case on screen. Do not infuse.",
    "bedside_bag_other_patient": "STOP: this bag belongs to another patient, not to the "
                                 "patient of the case on screen. Do not infuse it.",
    "bedside_bag_other_case": "STOP: this bag belongs to another therapy case of this patient, "
                              "not to the case on screen. Do not infuse it.",
    "bedside_bad_label": "STOP: this label cannot be trusted, so do not infuse; scan the "
                         "patient's wristband and the thawed bag again.",
}

# Scan problems that may mean another patient's cells, or a label that cannot be trusted:
# graver first.
CRITICAL_REASONS = (ScanReason.other_patient, ScanReason.other_case, ScanReason.forged,
                    ScanReason.unknown_unit, ScanReason.unknown_key, ScanReason.retired_key,
                    ScanReason.unsupported_version)


def clean_scan(raw: str) -> str:
    """Keyboard-wedge scanners end with CR/LF and may add spaces: accepted. Other control
    characters, and anything over 1 KB, are refused (422) before anything is looked up."""
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_SCAN_BYTES:
        raise Invalid("The scanned text is longer than 1 KB; this is not a cartrack label.",
                      code="scan_too_long")
    text = raw.strip(" \t\r\n")
    if _CONTROL.search(text) or "\r" in text or "\n" in text or "\t" in text:
        raise Invalid("The scanned text holds control characters; scan the label again.",
                      code="scan_control_characters")
    if not text:
        raise Invalid("Nothing was scanned.", code="scan_empty")
    return text


@dataclass
class Resolved:
    kind: str  # unit | wristband | unknown
    ident: str
    case: Case | None
    unit: Unit | None = None
    wristband: Wristband | None = None
    reason: ScanReason | None = None  # set when the scan cannot be trusted (forged, unknown...)
    message: str | None = None
    typed: bool = False  # a unit ID typed by hand (with its check character), not a QR payload


def resolve(session: Session, raw: str) -> Resolved:
    """Signed QR payloads and typed unit IDs with their check character are both accepted."""
    text = clean_scan(raw)
    if text.startswith("CT"):
        try:
            decoded = decode(key_ring(), text)
        except PayloadError as exc:
            return Resolved(_claimed_kind(text), "", None, reason=ScanReason(exc.reason),
                            message=exc.message)
        return _lookup(session, decoded.kind, decoded.ident, decoded.coi)
    try:
        unit_id = parse_unit_id(text)
    except IdentifierError as exc:
        return Resolved("unknown", "", None, reason=ScanReason.malformed,
                        message=f"This is not a valid label or unit ID: {exc}.")
    found = _lookup(session, "unit", unit_id, None)
    found.typed = True
    return found


def _claimed_kind(text: str) -> str:
    """What a refused payload says it is (not trusted; used for wording only)."""
    match = _PAYLOAD_KIND.match(text)
    if match is None:
        return "unknown"
    return "unit" if match.group(1) == "U" else "wristband"


# Every scan runs one of these; built once (see scans.service for why).
_UNIT_AND_CASE = (select(Unit, Case).join(Case, col(Case.id) == col(Unit.case_id))
                  .where(col(Unit.unit_id) == bindparam("ident")))
_BAND_AND_CASE = (select(Wristband, Case).join(Case, col(Case.id) == col(Wristband.case_id))
                  .where(col(Wristband.wristband_id) == bindparam("ident")))


def _lookup(session: Session, kind: str, ident: str, coi: str | None) -> Resolved:
    if kind == "wristband":
        pair = session.execute(_BAND_AND_CASE, {"ident": ident}).first()
        band, case = (pair[0], pair[1]) if pair is not None else (None, None)
        if band is None or case is None:
            return Resolved(kind, ident, None, reason=ScanReason.unknown_unit,
                            message=MESSAGES["unknown_wristband"])
        if coi and case.coi != coi:
            return Resolved(kind, ident, case, wristband=band, reason=ScanReason.forged,
                            message="The wristband's COI does not match its case: do not use "
                                    "it; check the patient's identity another way.")
        return Resolved(kind, ident, case, wristband=band)
    found = session.execute(_UNIT_AND_CASE, {"ident": ident}).first()
    unit, case = (found[0], found[1]) if found is not None else (None, None)
    if unit is None or case is None:
        return Resolved(kind, ident, None, reason=ScanReason.unknown_unit,
                        message=MESSAGES["unknown_unit"])
    if coi and case.coi != coi:
        return Resolved(kind, ident, case, unit=unit, reason=ScanReason.forged,
                        message="The label's COI does not match this bag's case. Do not use this "
                                "bag.")
    return Resolved(kind, ident, case, unit=unit)


def severity_rank(reason: ScanReason) -> int:
    """Order of gravity of a scan problem (0 is the gravest), to name the worst of several."""
    if reason in CRITICAL_REASONS:
        return CRITICAL_REASONS.index(reason)
    return len(CRITICAL_REASONS)


def unit_problem(unit: Unit) -> ScanReason | None:
    if unit.quarantined:
        return ScanReason.quarantined
    if unit.expires_at is not None and clock.as_utc(unit.expires_at) <= clock.now():
        return ScanReason.expired
    return None


@dataclass
class CustodyRecord:
    """The values of one custody row (the columns of ``CustodyEvent``), without an ORM object:
    the scan station writes its row with one INSERT and only answers with it."""

    at: datetime
    user_id: int
    holder_name: str
    site_id: int | None
    location: str | None
    unit_pk: int | None
    wristband_pk: int | None
    case_id: int | None
    action: str | None
    verdict: Verdict
    reason: ScanReason | None
    message: str
    kind: CustodyKind
    id: int | None = None  # set once written


def custody_record(actor: Principal, *, site_id: int | None, reason: ScanReason | None,
                   message: str, unit: Unit | None = None, band: Wristband | None = None,
                   case_id: int | None = None, action: str | None = None,
                   location: str | None = None,
                   kind: CustodyKind = CustodyKind.scan) -> CustodyRecord:
    """The custody row of one scan: passed (no reason) or failed."""
    return CustodyRecord(at=clock.now(), user_id=actor.id, holder_name=actor.name,
                         site_id=site_id, location=location, unit_pk=unit.id if unit else None,
                         wristband_pk=band.id if band else None, case_id=case_id, action=action,
                         verdict=Verdict.match if reason is None else Verdict.mismatch,
                         reason=reason, message=message[:500], kind=kind)


def custody_event(record: CustodyRecord) -> CustodyEvent:
    """The same row as an ORM object, for the steps that write it with the event's changes."""
    return CustodyEvent(**vars(record))
