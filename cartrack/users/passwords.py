"""The password rules, and the temporary passwords of an admin's reset.

The rules follow NIST SP 800-63B and OWASP ASVS: a length of 12 to 64 characters in any script,
no composition rules, a check against common and breached-style passwords, and nothing of the
holder's own names. The guessability check is zxcvbn (the maintained Python port of Dropbox's
estimator): it runs offline on the lists it ships (passwords from public breaches, English
words, names, TV and film words) and also sees through the patterns people use to stretch a
weak password to length: repeats, sequences, keyboard walks, dates and l33t spellings.
"""

from __future__ import annotations

import secrets
import unicodedata
from typing import Any

from zxcvbn import zxcvbn

from cartrack.errors import Conflict

MIN_LENGTH = 12
MAX_LENGTH = 64
# zxcvbn's 0..4 score; 3 means more than 10^8 guesses, beyond online guessing with lockout.
MIN_SCORE = 3
# Words an attacker of this service tries first (NIST: "context-specific words").
SERVICE_WORDS = ("cartrack", "cart", "cell", "therapy")
# Temporary passwords: 4 groups of 5 from 31 characters that read unambiguously (~99 bits).
TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


class PasswordRefused(Conflict):
    """A new password that breaks a rule (a well-formed request refused by a rule: 409); the
    message names the rule."""

    def __init__(self, detail: str, *, code: str, field: str, rule: dict[str, Any]) -> None:
        super().__init__(detail, code=code, context={"rule": rule},
                         fields=[{"field": field, "message": detail, "type": code}])


def check_new_password(password: str, *, username: str, full_name: str,
                       field: str = "password") -> None:
    """Refuse a password that breaks a rule, naming the rule; return quietly otherwise."""
    length = len(unicodedata.normalize("NFC", password))
    if length < MIN_LENGTH:
        raise PasswordRefused(
            f"Passwords need at least {MIN_LENGTH} characters; this one has {length}.",
            code="password_too_short", field=field, rule={"name": "min_length", "min": MIN_LENGTH})
    if length > MAX_LENGTH:
        raise PasswordRefused(
            f"Passwords may have at most {MAX_LENGTH} characters; this one has {length}.",
            code="password_too_long", field=field, rule={"name": "max_length", "max": MAX_LENGTH})
    if _holds_own_name(password, username, full_name):
        raise PasswordRefused(
            "A password may not contain your username or your printed name.",
            code="password_personal", field=field, rule={"name": "not_personal"})
    verdict = zxcvbn(password, user_inputs=[username, *full_name.split(), *SERVICE_WORDS])
    if verdict["score"] < MIN_SCORE:
        why = verdict["feedback"].get("warning") or "It is too close to a common password."
        raise PasswordRefused(
            "This password is too easy to guess: it matches common or breached passwords, words "
            f"or patterns. {why} A few unrelated words or a longer phrase work well.",
            code="password_too_common", field=field,
            rule={"name": "not_common", "min_score": MIN_SCORE, "score": verdict["score"]})


def _folded(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def _holds_own_name(password: str, username: str, full_name: str) -> bool:
    folded = _folded(password)
    user, name = _folded(username), _folded(full_name)
    # A short username (two letters such as "qa") would refuse random passwords by chance.
    return (len(user) >= 3 and user in folded) or folded == user or (bool(name) and name in folded)


def temporary_password() -> str:
    groups = ("".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(5)) for _ in range(4))
    return "-".join(groups)
