"""Scan resolution: a raw scanned string becomes a unit or wristband of a case, or a refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlmodel import Session, select

from cartrack import clock
from cartrack.errors import Invalid
from cartrack.identity.identifiers import IdentifierError, parse_unit_id
from cartrack.journey.models import Case
from cartrack.labels.payload import KeyRing, PayloadError, decode
from cartrack.scans.models import CustodyEvent
from cartrack.security import Principal
from cartrack.settings import get_settings
from cartrack.units.models import Unit, Wristband

MAX_SCAN_BYTES = 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

MESSAGES = {
    "forged": "This label's signature does not match: it may be altered or forged. Do not use "
              "this bag.",
    "unknown_unit": "This label is not known to cartrack. Do not use this bag.",
    "other_patient": "STOP: this bag belongs to another patient.",
    "other_case": "This bag belongs to another therapy case of this patient.",
    "wrong_step": "This bag is not expected at this step.",
    "quarantined": "This bag is quarantined. Do not use it.",
    "expired": "This bag has expired. Do not use it.",
    "missing_unit": "A bag of this shipment was not scanned.",
    "extra_unit": "This bag is not part of this shipment.",
    "duplicate_scan": "This bag was scanned twice.",
}


@lru_cache(maxsize=4)
def _ring(label_keys: str, retired: str, secret: str) -> KeyRing:
    return KeyRing.from_settings(get_settings())


def key_ring() -> KeyRing:
    s = get_settings()
    return _ring(s.label_keys, s.retired_label_keys, s.secret_key)


def clean_scan(raw: str) -> str:
    """Keyboard-wedge scanners end with CR/LF and may add spaces; other control chars are refused."""
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
    kind: str  # unit | wristband
    ident: str
    case: Case | None
    unit: Unit | None = None
    wristband: Wristband | None = None
    reason: str | None = None  # set when the scan cannot be trusted (forged, unknown)
    message: str | None = None


def resolve(session: Session, raw: str) -> Resolved:
    """Signed QR payloads and typed unit IDs with their check character are both accepted."""
    text = clean_scan(raw)
    if text.startswith("CT"):
        try:
            decoded = decode(key_ring(), text)
        except PayloadError as exc:
            return Resolved("unknown", "", None, reason=exc.reason if exc.reason != "malformed"
                            else "forged", message=exc.message)
        return _lookup(session, decoded.kind, decoded.ident, decoded.coi)
    try:
        unit_id = parse_unit_id(text)
    except IdentifierError as exc:
        return Resolved("unknown", "", None, reason="forged",
                        message=f"This is not a valid label or unit ID: {exc}.")
    return _lookup(session, "unit", unit_id, None)


def _lookup(session: Session, kind: str, ident: str, coi: str | None) -> Resolved:
    if kind == "wristband":
        band = session.exec(select(Wristband).where(Wristband.wristband_id == ident)).first()
        case = session.get(Case, band.case_id) if band else None
        if band is None or case is None or (coi and case.coi != coi):
            return Resolved(kind, ident, None, reason="unknown_unit",
                            message="This wristband is not known to cartrack.")
        return Resolved(kind, ident, case, wristband=band)
    unit = session.exec(select(Unit).where(Unit.unit_id == ident)).first()
    case = session.get(Case, unit.case_id) if unit else None
    if unit is None or case is None:
        return Resolved(kind, ident, None, reason="unknown_unit", message=MESSAGES["unknown_unit"])
    if coi and case.coi != coi:
        return Resolved(kind, ident, case, unit=unit, reason="forged",
                        message="The label's COI does not match this bag's case. Do not use this "
                                "bag.")
    return Resolved(kind, ident, case, unit=unit)


def unit_problem(unit: Unit) -> str | None:
    if unit.quarantined:
        return "quarantined"
    if unit.expires_at is not None and clock.as_utc(unit.expires_at) <= clock.now():
        return "expired"
    return None


def custody(actor: Principal, *, site_id: int | None, verdict: str, message: str,
            reason: str | None = None, unit: Unit | None = None, band: Wristband | None = None,
            case_id: int | None = None, action: str | None = None, location: str | None = None,
            kind: str = "scan") -> CustodyEvent:
    return CustodyEvent(at=clock.now(), user_id=actor.id, holder_name=actor.name, site_id=site_id,
                        location=location, unit_pk=unit.id if unit else None,
                        wristband_pk=band.id if band else None, case_id=case_id, action=action,
                        verdict=verdict, reason=reason, message=message, kind=kind)
