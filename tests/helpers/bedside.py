"""At the treatment center: a case brought to the bedside, scans at the scan station, and the
two-person infusion, all through the API with real labels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cartrack import clock
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import SignedJourney

NY = ZoneInfo("America/New_York")  # TC-CITY's time zone


def scan(j: SignedJourney, role: str, payload: str, action: str | None = None
         ) -> dict[str, Any]:
    r = j.client.post("/api/scans", headers=j.auth[role],
                      json={"payload": payload + "\r\n", "action": action,
                            "location": "Bay 3"})
    assert r.status_code == 200, r.text
    return dict(r.json())


def ready_to_infuse(j: SignedJourney, frozen: Any, product: str = "yescarta",
                    mrn: str = "MRN-1") -> tuple[int, str]:
    """A case thawed inside its infusion window; returns (case id, thawed bag's payload)."""
    case = j.enroll(product, mrn=mrn)
    cid = case["id"]
    j.to(cid, "received_at_treatment_center")
    today = clock.now().astimezone(NY).date()
    j.ok("infusion_staff", cid, "start_lymphodepletion",
         {"start_date": (today - timedelta(days=2)).isoformat()})
    j.ok("infusion_staff", cid, "complete_lymphodepletion", {"end_date": today.isoformat()})
    frozen.advance(days=3)  # yescarta: infusion on day 3 after the end of LD
    bag = j.typed(cid, "product", "infusion_staff")[0]
    before = scan(j, "infusion_staff", bag, "thaw")
    assert before["verdict"] == "match", before
    assert "thaw" in before["allowed_actions"]
    thawed = j.ok("infusion_staff", cid, "thaw", {"scan": bag})
    assert thawed["state"] == "thawed"
    again = scan(j, "infusion_staff", bag, "thaw")
    assert again["verdict"] == "mismatch" and again["reason"] == "wrong_step", again
    assert again["allowed_actions"] == ["infuse"] and "thawed" in again["message"]
    return cid, bag


def infuse(j: SignedJourney, cid: int) -> Any:
    return j.event("infusion_staff", cid, "infuse",
                   {"second_signer": {"username": "infusion_staff2", "password": PASSWORD}},
                   sign=True)
