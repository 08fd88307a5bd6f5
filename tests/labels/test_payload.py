"""Signed QR payloads: round trip, tamper refusal, key rotation, no PHI."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrack.identity.identifiers import IdentifierError, make_coi, make_din, make_unit_id
from cartrack.labels.payload import (
    DecodedPayload,
    KeyRing,
    PayloadError,
    decode,
    derive_label_key,
    looks_like_payload,
    sign_unit,
    sign_wristband,
)
from cartrack.settings import Settings

COI = make_coi("A9999", 2025, 1)
UNIT = make_unit_id(make_din("A9999", 2025, 42), 1)
WRISTBAND = "WB000123"
PATIENT_NAME = "JANE DOE"
FEW = settings(max_examples=300, deadline=None)


def ring_from(label_keys: str = "", retired: str = "", secret: str = "s" * 40) -> KeyRing:
    return KeyRing.from_settings(
        Settings(
            environment="test",
            label_keys=label_keys,
            retired_label_keys=retired,
            secret_key=secret,
        )
    )


RETIRED_KEY = "K5:retired-label-secret-0123456789"
ACTIVE_KEY = "K7:first-label-secret-0123456789"
RING = ring_from(ACTIVE_KEY + ",K6:older-label-secret-0123456789")
UNIT_PAYLOAD = sign_unit(RING, UNIT, COI)
WRIST_PAYLOAD = sign_wristband(RING, WRISTBAND, COI)
PAYLOADS = st.sampled_from([UNIT_PAYLOAD, WRIST_PAYLOAD])
# Every character a scanner could plausibly produce, whitespace excepted.
NOISE = string.ascii_letters + string.digits + string.punctuation + "\x1d\u00e9"

unit_ids = st.from_regex(r"[A-Z][0-9]{4}[0-9]{2}[A-Z0-9]{6}[0-9]{2}", fullmatch=True)
cois = st.from_regex(r"CH[A-Z][0-9]{4}[0-9]{2}[A-Z0-9]{6}", fullmatch=True)
wristband_ids = st.from_regex(r"[A-Z0-9]{1,20}", fullmatch=True)


def reason(ring: KeyRing, raw: str) -> str:
    with pytest.raises(PayloadError) as info:
        decode(ring, raw)
    return info.value.reason


# --- round trip -------------------------------------------------------------------------


def test_unit_round_trip() -> None:
    assert decode(RING, UNIT_PAYLOAD) == DecodedPayload(1, "K7", "unit", UNIT, COI)


def test_wristband_round_trip() -> None:
    assert decode(RING, WRIST_PAYLOAD) == DecodedPayload(1, "K7", "wristband", WRISTBAND, COI)


@FEW
@given(unit_id=unit_ids, coi=cois)
def test_any_unit_round_trips(unit_id: str, coi: str) -> None:
    decoded = decode(RING, sign_unit(RING, unit_id, coi))
    assert (decoded.kind, decoded.ident, decoded.coi) == ("unit", unit_id, coi)


@FEW
@given(wristband_id=wristband_ids, coi=cois)
def test_any_wristband_round_trips(wristband_id: str, coi: str) -> None:
    decoded = decode(RING, sign_wristband(RING, wristband_id, coi))
    assert (decoded.kind, decoded.ident, decoded.coi) == ("wristband", wristband_id, coi)


def test_format_is_exact() -> None:
    parts = UNIT_PAYLOAD.split(".")
    assert parts[:5] == ["CT1", "K7", "U", UNIT, COI]
    assert len(parts[5]) == 16 and set(parts[5]) <= set(string.ascii_uppercase + "234567")
    assert UNIT_PAYLOAD.upper() == UNIT_PAYLOAD


@pytest.mark.parametrize("suffix", ["\r\n", "\n", "\r", "  ", "\t", " \r\n"])
def test_scanner_whitespace_is_accepted(suffix: str) -> None:
    assert decode(RING, UNIT_PAYLOAD + suffix).ident == UNIT
    assert decode(RING, "  " + UNIT_PAYLOAD + suffix).ident == UNIT


def test_lower_case_is_refused() -> None:
    assert reason(RING, UNIT_PAYLOAD.lower()) == "malformed"


def test_looks_like_payload() -> None:
    assert looks_like_payload(UNIT_PAYLOAD + "\r\n")
    assert not looks_like_payload(COI + "G")
    assert not looks_like_payload(UNIT)


# --- tampering --------------------------------------------------------------------------


@FEW
@given(payload=PAYLOADS, data=st.data())
def test_every_single_character_change_is_refused(payload: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(payload) - 1), label="index")
    ch = data.draw(st.sampled_from(NOISE).filter(lambda c: c != payload[i]), label="char")
    with pytest.raises(PayloadError):
        decode(RING, payload[:i] + ch + payload[i + 1 :])


@FEW
@given(payload=PAYLOADS, data=st.data())
def test_every_deletion_and_truncation_is_refused(payload: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(payload) - 1))
    with pytest.raises(PayloadError):
        decode(RING, payload[:i] + payload[i + 1 :])
    with pytest.raises(PayloadError):
        decode(RING, payload[:i])
    with pytest.raises(PayloadError):
        decode(RING, payload[i + 1 :])


@FEW
@given(
    payload=PAYLOADS,
    extra=st.text(alphabet=NOISE, min_size=1, max_size=20),
    front=st.booleans(),
)
def test_every_extension_is_refused(payload: str, extra: str, front: bool) -> None:
    with pytest.raises(PayloadError):
        decode(RING, extra + payload if front else payload + extra)


def test_all_single_substitutions_exhaustively() -> None:
    alphabet = string.ascii_uppercase + string.digits + "."
    for i, original in enumerate(UNIT_PAYLOAD):
        for ch in alphabet.replace(original, ""):
            with pytest.raises(PayloadError):
                decode(RING, UNIT_PAYLOAD[:i] + ch + UNIT_PAYLOAD[i + 1 :])


def test_other_secret_same_kid_is_forged() -> None:
    other = ring_from("K7:somebody-elses-secret-0123456789")
    forged = sign_unit(other, UNIT, COI)
    with pytest.raises(PayloadError) as info:
        decode(RING, forged)
    assert info.value.reason == "forged"
    assert info.value.message == (
        "This label's signature does not match: it may be altered or forged. Do not use this bag."
    )


def test_forged_wristband_says_wristband() -> None:
    forged = sign_wristband(ring_from("K7:somebody-elses-secret-0123456789"), WRISTBAND, COI)
    with pytest.raises(PayloadError) as info:
        decode(RING, forged)
    assert info.value.reason == "forged"
    assert "wristband" in info.value.message


def test_swapped_coi_is_forged() -> None:
    other_coi = make_coi("A9999", 2025, 2)
    assert reason(RING, UNIT_PAYLOAD.replace(COI, other_coi)) == "forged"


def test_unknown_kid() -> None:
    stranger = sign_unit(ring_from("ZZ9:another-site-secret-0123456789"), UNIT, COI)
    assert reason(RING, stranger) == "unknown_key"


def test_unsupported_version() -> None:
    assert reason(RING, "CT2" + UNIT_PAYLOAD[3:]) == "unsupported_version"
    assert reason(RING, "CT10.K7.X.Y") == "unsupported_version"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   \r\n",
        "hello",
        COI + "G",
        "CT1",
        "CT1.K7.U." + UNIT,
        "CT1.K7.X." + UNIT + "." + COI + ".AAAAAAAAAAAAAAAA",
        "CT1.K7.U." + UNIT + "." + COI + ".AAAAAAAAAAAAAAA1",
        "CT1..U." + UNIT + "." + COI + ".AAAAAAAAAAAAAAAA",
        "CT1.K7.W." + "A" * 21 + "." + COI + ".AAAAAAAAAAAAAAAA",
        "CT01" + UNIT_PAYLOAD[3:],
        UNIT_PAYLOAD + "." + UNIT_PAYLOAD,
        "X" * 10_000,
    ],
)
def test_malformed(raw: str) -> None:
    assert reason(RING, raw) == "malformed"


def test_messages_are_plain_sentences() -> None:
    for raw in ["nonsense", "CT9.A.B.C.D.E"]:
        with pytest.raises(PayloadError) as info:
            decode(RING, raw)
        message = info.value.message
        assert message[0].isupper() and message.endswith(".")
        assert str(info.value) == message
        assert isinstance(info.value, ValueError)


# --- keys -------------------------------------------------------------------------------


def test_first_key_signs_and_older_keys_still_verify() -> None:
    old_ring = ring_from("K6:older-label-secret-0123456789")
    old_payload = sign_unit(old_ring, UNIT, COI)
    assert decode(RING, old_payload).kid == "K6"
    assert decode(RING, UNIT_PAYLOAD).kid == "K7"


def test_retired_key_is_refused() -> None:
    old = sign_unit(ring_from(RETIRED_KEY), UNIT, COI)
    ring = ring_from(ACTIVE_KEY, retired=RETIRED_KEY)
    assert reason(ring, old) == "retired_key"


def test_retired_kid_with_a_bad_signature_is_forged() -> None:
    fake = sign_unit(ring_from("K5:not-the-retired-secret-0123456789"), UNIT, COI)
    ring = ring_from(ACTIVE_KEY, retired=RETIRED_KEY)
    assert reason(ring, fake) == "forged"


def test_retired_kid_without_secret_is_refused() -> None:
    old = sign_unit(ring_from(RETIRED_KEY), UNIT, COI)
    assert reason(ring_from(ACTIVE_KEY, retired="K5"), old) == "retired_key"


def test_derived_key_when_no_label_keys() -> None:
    ring = ring_from(secret="a-server-secret-of-at-least-32-chars!")
    assert ring.active_kid == "K1"
    assert ring.keys["K1"] == derive_label_key("a-server-secret-of-at-least-32-chars!")
    payload = sign_unit(ring, UNIT, COI)
    assert payload.startswith("CT1.K1.U.")
    assert decode(ring, payload).coi == COI
    other = ring_from(secret="another-server-secret-of-32-chars-or-more")
    assert reason(other, payload) == "forged"


def test_derived_key_is_not_the_secret_itself() -> None:
    secret = "a-server-secret-of-at-least-32-chars!"
    assert derive_label_key(secret) != secret.encode()
    assert len(derive_label_key(secret)) == 32


@pytest.mark.parametrize(
    ("label_keys", "retired"),
    [
        ("K1:a,K1:b", ""),
        ("TOOLONGKID:a", ""),
        ("K-1:a", ""),
        ("K1", ""),
        ("K1:", ""),
        ("K1:a", "K1:a"),
        ("K1:a", "K2:a,K2:b"),
    ],
)
def test_bad_key_configuration_is_refused(label_keys: str, retired: str) -> None:
    with pytest.raises(ValueError):
        ring_from(label_keys, retired)


def test_key_configuration_tolerates_spaces_and_lower_case_kids() -> None:
    ring = ring_from(" k2 : second-secret , K3:third-secret ")
    assert ring.active_kid == "K2"
    assert set(ring.keys) == {"K2", "K3"}
    assert ring.keys["K2"] == b"second-secret"


# --- signing input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit_id", "coi"),
    [
        (UNIT[:13], COI),
        (UNIT, COI[:-1]),
        (UNIT.lower(), COI),
        (UNIT, COI + "G"),
        (UNIT, "X" + COI[1:]),
    ],
)
def test_signing_a_bad_identifier_raises(unit_id: str, coi: str) -> None:
    with pytest.raises(IdentifierError):
        sign_unit(RING, unit_id, coi)


@pytest.mark.parametrize("wristband_id", ["", "A" * 21, "wb1", "WB-1", "WB.1"])
def test_signing_a_bad_wristband_id_raises(wristband_id: str) -> None:
    with pytest.raises(IdentifierError):
        sign_wristband(RING, wristband_id, COI)


# --- no PHI -----------------------------------------------------------------------------


def test_payload_holds_no_phi() -> None:
    for payload, ident, type_code in [(UNIT_PAYLOAD, UNIT, "U"), (WRIST_PAYLOAD, WRISTBAND, "W")]:
        version, kid, kind, got_ident, coi, sig = payload.split(".")
        assert (version, kid, kind, got_ident, coi) == ("CT1", "K7", type_code, ident, COI)
        assert len(sig) == 16
        assert PATIENT_NAME not in payload
        assert "DOE" not in payload
        assert set(payload) <= set(string.ascii_uppercase + string.digits + ".")
