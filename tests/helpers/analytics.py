"""Cases with known intervals, driven through the API on the frozen clock, and a second site."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from cartrack import clock
from cartrack.db import new_session
from cartrack.users.models import Membership, SiteIn, SiteKind, User
from cartrack.users.service import create_site, site_by_code
from tests.helpers.constants import PASSWORD
from tests.helpers.journey import SignedJourney

NY = ZoneInfo("America/New_York")
BERLIN = "TC-BERLIN"


def add_berlin_site(extra_users: tuple[str, ...] = ("coordinator", "collection_staff",
                                                     "infusion_staff", "infusion_staff2")) -> None:
    """A treatment and collection center in Europe/Berlin; the named demo users also work
    there (in the role they hold at TC-CITY)."""
    with new_session() as s:
        site = create_site(s, None, SiteIn(code=BERLIN, name="Berlin Cell Therapy Center",
                                           timezone="Europe/Berlin",
                                           kinds=[SiteKind.treatment_center,
                                                  SiteKind.collection_center]))
        for username in extra_users:
            user = s.exec(select(User).where(User.username == username)).one()
            role = "infusion_staff" if username.startswith("infusion") else username
            s.add(Membership(user_id=user.id or 0, role=role, site_id=site.id))
        s.commit()


def site_id(code: str) -> int:
    with new_session(read_only=True) as s:
        return site_by_code(s, code).id or 0


def enroll(j: SignedJourney, product: str, mrn: str, site: str = "TC-CITY") -> int:
    r = j.client.post("/api/cases", headers=j.auth["coordinator"], json={
        "patient": {"given_name": "Vector", "family_name": "Case", "date_of_birth": "1960-01-01",
                    "mrn": mrn},
        "product": product, "collection_site": site, "manufacturing_site": "MF-EAST",
        "treatment_site": site})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def collected(j: SignedJourney, product: str, mrn: str, site: str = "TC-CITY") -> int:
    """A case whose apheresis was collected 30 minutes ago (Journey's collection step)."""
    cid = enroll(j, product, mrn, site)
    j.to(cid, "collected")
    return cid


def scan(j: SignedJourney, payload: str, action: str) -> dict[str, Any]:
    r = j.client.post("/api/scans", headers=j.auth["infusion_staff"],
                      json={"payload": payload, "action": action, "location": "Bay 1"})
    assert r.status_code == 200 and r.json()["verdict"] == "match", r.text
    return dict(r.json())


def lymphodeplete(j: SignedJourney, cid: int, tz: ZoneInfo, ends_days_from_now: int,
                  frozen: Any) -> None:
    """Lymphodepletion of 3 days, ending ``ends_days_from_now`` days from the clock's date."""
    frozen.advance(days=ends_days_from_now)
    today = clock.now().astimezone(tz).date()
    j.ok("infusion_staff", cid, "start_lymphodepletion",
         {"start_date": (today - timedelta(days=2)).isoformat()})
    j.ok("infusion_staff", cid, "complete_lymphodepletion", {"end_date": today.isoformat()})


def thaw_and_infuse(j: SignedJourney, cid: int, frozen: Any, thaw_minutes: int = 20) -> None:
    bag = j.typed(cid, "product", "infusion_staff")[0]
    j.ok("infusion_staff", cid, "thaw", {"scan": bag})
    frozen.advance(minutes=thaw_minutes - 2)
    scan(j, j.wristband_payload(cid), "infuse")
    scan(j, bag, "infuse")
    frozen.advance(minutes=2)
    j.ok("infusion_staff", cid, "infuse", {"second_signer": {"username": "infusion_staff2",
                                                             "password": PASSWORD}}, sign=True)


def infused_after(j: SignedJourney, frozen: Any, days: int, mrn: str,
                  product: str = "yescarta") -> int:
    """A yescarta case at TC-CITY infused ``days`` calendar days after its collection (the
    collection 30 minutes before the clock's time, the infusion at the clock's time + days)."""
    cid = collected(j, product, mrn)
    j.to(cid, "received_at_treatment_center")
    lymphodeplete(j, cid, NY, days - 3, frozen)  # yescarta: infusion 3 days after LD ends
    frozen.advance(days=3)
    thaw_and_infuse(j, cid, frozen)
    return cid


def at(frozen: Any, moment: str) -> datetime:
    frozen.current = datetime.fromisoformat(moment)
    return clock.as_utc(frozen.current)
