"""ISO/IEC 7064 mod 37-2 check characters, as ISBT 128 prints them (the boxed "K")."""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


class InvalidCharacterError(ValueError):
    """The text holds a character outside 0-9, A-Z and *."""


def check_character(text: str) -> str:
    """Return the mod 37-2 check character of ``text`` (upper-cased first)."""
    p = 0
    for ch in text.upper():
        value = _VALUE.get(ch)
        if value is None:
            raise InvalidCharacterError(
                f"character {ch!r} is not allowed: only 0-9, A-Z and * carry a check value"
            )
        p = ((p + value) * 2) % 37
    return ALPHABET[(38 - p) % 37]
