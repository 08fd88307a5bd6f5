"""Property tests of the scan station: any altered, cut or extended label, a label signed with
another key or a withdrawn one, another patient's bag at the bedside: all refused with the
right reason, each refusal recorded, and the case never moves (its version is unchanged)."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from cartrack.db import new_session
from cartrack.identity.identifiers import UNIT_RE
from cartrack.labels import payload as payload_keys
from cartrack.labels.payload import KeyRing, sign_unit, sign_wristband
from cartrack.scans.models import CustodyEvent
from cartrack.settings import get_settings
from tests.helpers.bedside import infuse, ready_to_infuse
from tests.helpers.journey import SignedJourney

KID = "K7"
SECRET = "property-test-label-secret-0123456789"
# Printable, no whitespace (a keyboard wedge's surrounding whitespace is stripped by design).
ALPHABET = string.ascii_letters + string.digits + ".-/*:+$%_#"
SAME_SHAPE = string.ascii_uppercase + string.digits
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
PAYLOAD = re.compile(r"CT1\.([A-Z0-9]{1,8})\.([UW])\.([A-Z0-9]{1,20})\."
                     r"(CH[A-Z][0-9]{4}[0-9]{2}[A-Z0-9]{6})\.([A-Z2-7]{16})")


def use_keys(monkeypatch: pytest.MonkeyPatch, active: str, retired: str = "") -> None:
    monkeypatch.setenv("CARTRACK_LABEL_KEYS", active)
    monkeypatch.setenv("CARTRACK_RETIRED_LABEL_KEYS", retired)
    get_settings.cache_clear()
    payload_keys._ring.cache_clear()


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, db_url: str) -> Any:
    use_keys(monkeypatch, f"{KID}:{SECRET}")
    yield
    monkeypatch.delenv("CARTRACK_LABEL_KEYS")
    monkeypatch.delenv("CARTRACK_RETIRED_LABEL_KEYS")
    get_settings.cache_clear()
    payload_keys._ring.cache_clear()


def expected_reason(text: str) -> str:
    """What the decoder must say about a scan that is not the original payload, worked out
    from the format's rules alone (version, shape, key id, then signature)."""
    head = text.split(".")[0]
    if not text.startswith("CT"):
        return "malformed"
    if head != "CT1":
        return "unsupported_version" if re.fullmatch(r"CT[1-9][0-9]{0,2}", head) else "malformed"
    match = PAYLOAD.fullmatch(text)
    if match is None or (match.group(2) == "U" and not UNIT_RE.fullmatch(match.group(3))):
        return "malformed"
    return "unknown_key" if match.group(1) != KID else "forged"


class Station:
    """Scans posted as the collection nurse; the case's version read back after each."""

    def __init__(self, j: SignedJourney, case_id: int, role: str = "collection_staff") -> None:
        self.j, self.case_id, self.role = j, case_id, role
        self.version = j.case(case_id)["version"]

    def post(self, payload: str, action: str | None = None, role: str | None = None
             ) -> dict[str, Any]:
        r = self.j.client.post("/api/scans", headers=self.j.auth[role or self.role],
                               json={"payload": payload, "action": action})
        assert r.status_code == 200, r.text
        return dict(r.json())

    def refused(self, payload: str, reason: str, action: str | None = None) -> dict[str, Any]:
        answer = self.post(payload, action)
        assert answer["verdict"] == "mismatch" and answer["reason"] == reason, (payload, answer)
        assert answer["case_id"] is None and answer["state"] is None, "an untrusted label says "\
            "nothing about any case"
        assert answer["message"]
        assert self.j.case(self.case_id)["version"] == self.version
        return answer


@pytest.fixture
def station(client: Any, auth: Any, keyed: Any) -> tuple[Station, str, str]:
    j = SignedJourney(client, auth)
    case = j.enroll()
    j.to(case["id"], "collected")
    unit = j.typed(case["id"], "apheresis", "collection_staff")[0]
    band = j.wristband_payload(case["id"], role="collection_staff")
    assert unit.startswith(f"CT1.{KID}.U.") and band.startswith(f"CT1.{KID}.W.")
    return Station(j, case["id"]), unit, band


def custody_count() -> int:
    with new_session() as s:
        return int(s.exec(select(func.count()).select_from(CustodyEvent)).one())


def test_any_single_character_change_is_refused(station: Any) -> None:
    st_, unit, band = station

    @settings(SETTINGS, max_examples=80)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        original = data.draw(st.sampled_from([unit, band]), label="label")
        i = data.draw(st.integers(0, len(original) - 1), label="position")
        # Half the time a character of the payload's own alphabet, so the shape often holds
        # and only the signature can tell.
        c = data.draw(st.one_of(st.sampled_from(SAME_SHAPE), st.sampled_from(ALPHABET))
                      .filter(lambda ch: ch != original[i]), label="character")
        changed = original[:i] + c + original[i + 1:]
        action = data.draw(st.sampled_from([None, "ship_to_manufacturing"]), label="action")
        before = custody_count()
        st_.refused(changed, expected_reason(changed), action)
        assert custody_count() == before + 1, "every refused scan is recorded"

    check()


def test_any_truncation_or_extension_is_refused(station: Any) -> None:
    st_, unit, band = station

    @SETTINGS
    @given(st.sampled_from([unit, band]), st.booleans(), st.integers(1, 80),
           st.text(ALPHABET, min_size=1, max_size=30))
    def check(original: str, cut: bool, keep: int, extra: str) -> None:
        changed = original[:min(keep, len(original) - 1)] if cut else original + extra
        st_.refused(changed, expected_reason(changed))

    check()


def test_a_label_signed_with_another_key_is_refused(station: Any) -> None:
    st_, unit, band = station
    _, _, unit_id, coi, _ = PAYLOAD.fullmatch(unit).groups()  # type: ignore[union-attr]
    band_id = PAYLOAD.fullmatch(band).group(3)  # type: ignore[union-attr]

    @SETTINGS
    @given(st.sampled_from([KID, "K8", "ZZ", "A1B2C3D4"]),
           st.text(string.ascii_letters + string.digits, min_size=8, max_size=40),
           st.booleans())
    def check(kid: str, secret: str, wristband: bool) -> None:
        ring = KeyRing.from_config(f"{kid}:{secret}", "", "unused")
        forged = sign_wristband(ring, band_id, coi) if wristband else sign_unit(ring, unit_id,
                                                                                 coi)
        if forged in (unit, band):  # the one secret that is not another key
            return
        st_.refused(forged, "forged" if kid == KID else "unknown_key")

    check()


def test_a_label_signed_with_a_retired_key_is_refused(client: Any, auth: Any, keyed: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    use_keys(monkeypatch, "OLD:old-label-secret-0123456789")
    j = SignedJourney(client, auth)
    case = j.enroll()
    j.to(case["id"], "collected")
    old_unit = j.typed(case["id"], "apheresis", "collection_staff")[0]
    old_band = j.wristband_payload(case["id"], role="collection_staff")
    assert old_unit.startswith("CT1.OLD.U.")
    station = Station(j, case["id"])
    assert station.post(old_unit)["verdict"] == "match"
    # Rotate: NEW signs, OLD is withdrawn (with its secret known, then without).
    for retired in ("OLD:old-label-secret-0123456789", "OLD"):
        use_keys(monkeypatch, "NEW:new-label-secret-0123456789", retired)
        for label in (old_unit, old_band):
            answer = station.refused(label, "retired_key")
            assert "withdrawn" in answer["message"]
    # A forgery that names the retired key still reads as forged when its secret is known.
    use_keys(monkeypatch, "NEW:new-label-secret-0123456789", "OLD:old-label-secret-0123456789")
    fake = old_unit[:-1] + ("A" if old_unit[-1] != "A" else "B")
    station.refused(fake, "forged")
    # Labels printed now carry the new key and scan as a match.
    j.payloads.clear()
    fresh = j.typed(case["id"], "apheresis", "collection_staff")[0]
    assert fresh.startswith("CT1.NEW.U.") and station.post(fresh)["verdict"] == "match"


def test_another_patients_bag_at_the_bedside_is_refused(client: Any, auth: Any, frozen: Any,
                                                        keyed: Any) -> None:
    j = SignedJourney(client, auth)
    others: list[tuple[str, str]] = []
    for mrn, state in (("MRN-A", "qc_pending"), ("MRN-B", "collected")):
        other = j.enroll(mrn=mrn)
        j.to(other["id"], state)
        for kind in ("apheresis", "product"):
            others += [(p, "other_patient") for p in j.typed(other["id"], kind, "lab_tech")]
    cid, bag = ready_to_infuse(j, frozen)
    own_apheresis = [u["unit_id"] for u in j.case(cid)["units"] if u["kind"] == "apheresis"]
    others += [(j.unit_payload(u, "infusion_staff"), "wrong_step") for u in own_apheresis]
    band = j.wristband_payload(cid)
    station = Station(j, cid, role="infusion_staff")

    @SETTINGS
    @given(st.sampled_from(others))
    def check(wrong: tuple[str, str]) -> None:
        payload, reason = wrong
        assert station.post(band, "infuse")["verdict"] == "match"
        answer = station.post(payload, "infuse")
        assert answer["verdict"] == "mismatch" and answer["reason"] == reason, answer
        assert answer["context_case_id"] == cid and answer["message"].startswith("STOP")
        assert answer["alert_id"] is not None
        refused = infuse(j, cid)
        assert refused.status_code == 409 and refused.json()["code"] == "bedside_mismatch"
        detail = j.case(cid)
        assert detail["version"] == station.version and detail["state"] == "thawed"

    check()
    assert station.post(band, "infuse")["verdict"] == "match"
    assert station.post(bag, "infuse")["verdict"] == "match"
    assert infuse(j, cid).status_code == 200
