"""Signed, versioned QR payloads for unit and wristband labels.

Format (upper case, QR alphanumeric mode): ``CT1.<KID>.<TYPE>.<ID>.<COI>.<SIG>``

- ``KID``: key id, 1-8 characters A-Z 0-9, so keys can rotate;
- ``TYPE``: ``U`` (ID is the 15-character unit id: 13-character DIN + 2-digit container)
  or ``W`` (ID is a patient wristband id, 1-20 characters A-Z 0-9);
- ``COI``: the bare 15-character COI identifier;
- ``SIG``: RFC 4648 base32 (no padding) of the first 10 bytes of
  HMAC-SHA256(key, everything before the last dot).

Nothing else goes in: no name, birth date or record number (21 CFR 1271.290).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from cartrack.identity.identifiers import COI_RE, UNIT_RE, IdentifierError
from cartrack.settings import Settings, get_settings

VERSION = 1
PREFIX = f"CT{VERSION}"
DERIVED_KID = "K1"
DERIVATION_LABEL = b"cartrack-label-key-v1"
SIGNATURE_BYTES = 10
# 10 bytes are exactly 16 base32 characters: no padding, no spare bits, so every
# signature has one spelling only.
SIGNATURE_CHARS = 16
# Far above any valid payload (at most 78 characters); refuse huge input early.
MAX_RAW_LENGTH = 256

Kind = Literal["unit", "wristband"]
Reason = Literal["malformed", "unsupported_version", "unknown_key", "retired_key", "forged"]

KID_RE = re.compile(r"[A-Z0-9]{1,8}")
WRISTBAND_RE = re.compile(r"[A-Z0-9]{1,20}")
SIG_RE = re.compile(rf"[A-Z2-7]{{{SIGNATURE_CHARS}}}")
OTHER_VERSION_RE = re.compile(r"CT[1-9][0-9]{0,2}")
_TYPE_TO_KIND: dict[str, Kind] = {"U": "unit", "W": "wristband"}
_KIND_TO_TYPE: dict[Kind, str] = {"unit": "U", "wristband": "W"}
_ID_RE: dict[str, re.Pattern[str]] = {"U": UNIT_RE, "W": WRISTBAND_RE}
# Keyboard-wedge scanners type the payload followed by CR/LF (sometimes a tab).
_SURROUNDING = " \t\r\n"

MESSAGES: dict[Reason, str] = {
    "malformed": (
        "This code is not a cartrack label: scan the QR code on the label again, "
        "or type the ID printed under it."
    ),
    "unsupported_version": (
        "This label was printed in a format this system cannot read, "
        "so do not use the item until the label has been checked."
    ),
    "unknown_key": (
        "This label was signed with a key this system does not know, "
        "so do not use the item until the label has been checked."
    ),
    "retired_key": (
        "This label was signed with a key that has been withdrawn, "
        "so do not use the item until a new label has been printed and checked."
    ),
    "forged": (
        "This label's signature does not match: it may be altered or forged. Do not use this bag."
    ),
}
_FORGED_WRISTBAND = (
    "This wristband's signature does not match: it may be altered or forged. "
    "Do not use this wristband; check the patient's identity another way."
)


class PayloadError(ValueError):
    """A scanned payload was refused; ``reason`` is a stable code, ``message`` plain words."""

    def __init__(self, reason: Reason, message: str | None = None) -> None:
        self.reason: Reason = reason
        self.message: str = message if message is not None else MESSAGES[reason]
        super().__init__(self.message)


@dataclass(frozen=True)
class DecodedPayload:
    version: int
    kid: str
    kind: Kind
    ident: str
    coi: str


@dataclass(frozen=True)
class KeyRing:
    """Label keys by key id. The active key signs; retired keys are known but refused."""

    active_kid: str
    keys: Mapping[str, bytes]
    retired: Mapping[str, bytes | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.active_kid not in self.keys:
            raise ValueError(f"active label key {self.active_kid!r} is not in the key ring")
        overlap = set(self.keys) & set(self.retired)
        if overlap:
            raise ValueError(f"label keys {sorted(overlap)} are both active and retired")

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        return cls.from_config(
            settings.label_keys, settings.retired_label_keys, settings.secret_key
        )

    @classmethod
    def from_config(cls, label_keys: str, retired_label_keys: str, secret_key: str) -> KeyRing:
        keys: dict[str, bytes] = {}
        for kid, secret in _parse_keys(label_keys, "CARTRACK_LABEL_KEYS"):
            if not secret:
                raise ValueError(f"CARTRACK_LABEL_KEYS: key {kid!r} has no secret (use kid:secret)")
            keys[kid] = secret.encode("utf-8")
        if not keys:
            keys = {DERIVED_KID: derive_label_key(secret_key)}
        retired = {
            kid: secret.encode("utf-8") if secret else None
            for kid, secret in _parse_keys(retired_label_keys, "CARTRACK_RETIRED_LABEL_KEYS")
        }
        return cls(active_kid=next(iter(keys)), keys=keys, retired=retired)

    def signing_key(self) -> tuple[str, bytes]:
        return self.active_kid, self.keys[self.active_kid]


def derive_label_key(secret_key: str) -> bytes:
    """The label key used when no explicit label keys are configured."""
    return hmac.new(secret_key.encode("utf-8"), DERIVATION_LABEL, hashlib.sha256).digest()


def _parse_keys(text: str, setting: str) -> list[tuple[str, str]]:
    """Parse "kid:secret,kid:secret" into (KID, secret) pairs; the secret may be empty."""
    pairs: list[tuple[str, str]] = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        kid, _, secret = (s.strip() for s in entry.partition(":"))
        kid = kid.upper()
        if not KID_RE.fullmatch(kid):
            raise ValueError(f"{setting}: key id {kid!r} must be 1-8 characters A-Z or 0-9")
        if any(kid == seen for seen, _ in pairs):
            raise ValueError(f"{setting}: key id {kid!r} is listed twice")
        pairs.append((kid, secret))
    return pairs


def _signature(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest[:SIGNATURE_BYTES]).decode("ascii")


def _sign(ring: KeyRing, kind: Kind, ident: str, coi: str) -> str:
    type_code = _KIND_TO_TYPE[kind]
    if not _ID_RE[type_code].fullmatch(ident):
        raise IdentifierError(f"{kind} id {ident!r} cannot go into a label payload")
    if not COI_RE.fullmatch(coi):
        raise IdentifierError(f"COI {coi!r} is not a bare 15-character COI")
    kid, key = ring.signing_key()
    body = f"{PREFIX}.{kid}.{type_code}.{ident}.{coi}"
    return f"{body}.{_signature(key, body)}"


def sign_unit(ring: KeyRing, unit_id: str, coi: str) -> str:
    """Payload for a bag label: unit id (DIN + container) and the case's COI."""
    return _sign(ring, "unit", unit_id, coi)


def sign_wristband(ring: KeyRing, wristband_id: str, coi: str) -> str:
    """Payload for a patient wristband."""
    return _sign(ring, "wristband", wristband_id, coi)


def looks_like_payload(raw: str) -> bool:
    """True when a scan is meant as a label payload rather than a typed identifier."""
    return raw.strip(_SURROUNDING).startswith("CT")


def decode(ring: KeyRing, raw: str) -> DecodedPayload:
    """Check a scanned payload and return what it names, or raise PayloadError."""
    text = raw.strip(_SURROUNDING)
    if len(text) > MAX_RAW_LENGTH:
        raise PayloadError("malformed")
    parts = text.split(".")
    _check_version(parts[0])
    if len(parts) != 6:
        raise PayloadError("malformed")
    _, kid, type_code, ident, coi, sig = parts
    _check_shapes(kid, type_code, ident, coi, sig)
    key = _verification_key(ring, kid)
    body = text.rpartition(".")[0]
    if not hmac.compare_digest(_signature(key, body), sig):
        forged = MESSAGES["forged"] if type_code == "U" else _FORGED_WRISTBAND
        raise PayloadError("forged", forged)
    if kid in ring.retired:
        raise PayloadError("retired_key")
    return DecodedPayload(VERSION, kid, _TYPE_TO_KIND[type_code], ident, coi)


def _check_version(prefix: str) -> None:
    if prefix == PREFIX:
        return
    if OTHER_VERSION_RE.fullmatch(prefix):
        raise PayloadError("unsupported_version")
    raise PayloadError("malformed")


def _check_shapes(kid: str, type_code: str, ident: str, coi: str, sig: str) -> None:
    id_re = _ID_RE.get(type_code)
    if (
        id_re is None
        or not KID_RE.fullmatch(kid)
        or not id_re.fullmatch(ident)
        or not COI_RE.fullmatch(coi)
        or not SIG_RE.fullmatch(sig)
    ):
        raise PayloadError("malformed")


def _verification_key(ring: KeyRing, kid: str) -> bytes:
    """The key to check the signature with; a retired key without a secret is refused now."""
    if kid in ring.keys:
        return ring.keys[kid]
    if kid in ring.retired:
        retired = ring.retired[kid]
        if retired is None:
            raise PayloadError("retired_key")
        # Checked before refusing, so a forgery naming a retired key reads "forged".
        return retired
    raise PayloadError("unknown_key")


@lru_cache(maxsize=4)
def _ring(label_keys: str, retired: str, secret: str) -> KeyRing:
    return KeyRing.from_config(label_keys, retired, secret)


def key_ring() -> KeyRing:
    """The label keys of the current settings (the first signs; the others still verify)."""
    s = get_settings()
    return _ring(s.label_keys, s.retired_label_keys, s.secret_key)
