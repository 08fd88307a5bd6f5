"""COI identifiers (ISBT 128 DS 040 shape) and unit identifiers (DIN shape).

COI: ``CH`` + FIN(5) + year(2) + sequence(6), printed with its check character K.
Unit: FIN(5) + year(2) + sequence(6) = the 13-character DIN, plus a 2-digit container
number, printed with K computed over the DIN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cartrack.identity.checkchar import check_character

FIN_RE = re.compile(r"^[A-Z][0-9]{4}$")
SEQUENCE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
COI_RE = re.compile(r"^CH([A-Z][0-9]{4})([0-9]{2})([A-Z0-9]{6})$")
DIN_RE = re.compile(r"^([A-Z][0-9]{4})([0-9]{2})([A-Z0-9]{6})$")
UNIT_RE = re.compile(r"^([A-Z][0-9]{4}[0-9]{2}[A-Z0-9]{6})([0-9]{2})$")
# A unit ID as it may be typed or put in a URL: the 15 characters, or with its check character
# after the container number or (ISBT print order) before it. Whether the check character is
# right is checked after the pattern.
UNIT_REF_PATTERN = (r"^ *[A-Za-z][0-9]{6}[A-Za-z0-9]{6}"
                    r"([0-9]{2}( ?[0-9A-Za-z*])?|( ?[0-9A-Za-z*]) ?[0-9]{2}) *$")


class IdentifierError(ValueError):
    """An identifier is malformed or its check character is wrong."""


def encode_sequence(number: int) -> str:
    """Six base-36 characters; sequence 1 is ``000001``."""
    if not 0 < number < 36**6:
        raise IdentifierError(f"sequence number {number} is outside 1..{36**6 - 1}")
    out = []
    for _ in range(6):
        number, digit = divmod(number, 36)
        out.append(SEQUENCE_ALPHABET[digit])
    return "".join(reversed(out))


def _check_fin(fin: str) -> None:
    if not FIN_RE.match(fin):
        raise IdentifierError(f"facility identification number {fin!r} must be a letter and 4 digits")


def make_coi(fin: str, year: int, sequence: int) -> str:
    _check_fin(fin)
    return f"CH{fin}{year % 100:02d}{encode_sequence(sequence)}"


def make_din(fin: str, year: int, sequence: int) -> str:
    _check_fin(fin)
    return f"{fin}{year % 100:02d}{encode_sequence(sequence)}"


def make_unit_id(din: str, container: int) -> str:
    if not 0 <= container <= 99:
        raise IdentifierError("container number must be 00..99")
    return f"{din}{container:02d}"


@dataclass(frozen=True)
class Printed:
    """An identifier as printed: the value and its boxed check character."""

    value: str
    check: str

    @property
    def text(self) -> str:
        return f"{self.value} {self.check}"


def printed_coi(coi: str) -> Printed:
    return Printed(coi, check_character(coi))


def printed_unit(unit_id: str) -> Printed:
    """The K of a unit is computed over the 13-character DIN, as ISBT 128 prints it."""
    return Printed(unit_id, check_character(unit_id[:13]))


def _normalise(text: str) -> str:
    return re.sub(r"[\s\-\[\]|]", "", text.strip().upper())


def parse_coi(text: str) -> str:
    """Parse a typed COI with its check character; return the bare COI or raise."""
    raw = _normalise(text)
    if len(raw) != 16 or not COI_RE.match(raw[:15]):
        raise IdentifierError(
            "a COI is CH + facility (letter and 4 digits) + 2-digit year + 6 characters, "
            "followed by its check character"
        )
    if check_character(raw[:15]) != raw[15]:
        raise IdentifierError(f"check character {raw[15]!r} does not match COI {raw[:15]}")
    return raw[:15]


def parse_unit_id(text: str) -> str:
    """Parse a typed unit ID (DIN + 2-digit container + K); return the bare unit ID."""
    raw = _normalise(text)
    # Accept both "DIN K CC" (ISBT print order) and "DIN CC K".
    if len(raw) != 16:
        raise IdentifierError(
            "a unit ID is 13 DIN characters, a 2-digit container number and a check character"
        )
    if UNIT_RE.match(raw[:15]):
        unit_id, given = raw[:15], raw[15]
    elif DIN_RE.match(raw[:13]) and raw[14:16].isdigit():
        unit_id, given = raw[:13] + raw[14:16], raw[13]
    else:
        raise IdentifierError("unit ID is not in the DIN shape (facility, year, sequence, container)")
    if check_character(unit_id[:13]) != given:
        raise IdentifierError(f"check character {given!r} does not match unit {unit_id}")
    return unit_id


def validate_printed(text: str) -> tuple[str, str]:
    """Validate an eye-readable identifier with its K: return (kind, bare value)."""
    raw = _normalise(text)
    if raw.startswith("CH"):
        return "coi", parse_coi(raw)
    return "unit", parse_unit_id(raw)
