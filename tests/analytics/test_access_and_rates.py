"""Who sees which numbers (the case rules, by site), the rates computed by hand, and the same
fixture giving the same JSON on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cartrack import clock
from cartrack.app import create_app
from cartrack.db import engine_for, new_session
from cartrack.users.models import MembershipIn, UserIn
from cartrack.users.service import create_user
from tests.helpers.analytics import (
    BERLIN,
    NY,
    add_berlin_site,
    collected,
    infused_after,
    lymphodeplete,
    thaw_and_infuse,
)
from tests.helpers.auth import bearer_for
from tests.helpers.constants import ROLES
from tests.helpers.databases import PG_URL, cloned
from tests.helpers.journey import SignedJourney


def _user(username: str, role: str, site: str) -> dict[str, str]:
    with new_session() as s:
        create_user(s, None, UserIn(username=username, full_name=username.title(),
                                    password="a-long-password-1",
                                    memberships=[MembershipIn(role=role, site_code=site)]))
        s.commit()
    return bearer_for(username)


def test_each_user_sees_only_the_cases_of_their_sites(client: Any, auth: Any,
                                                      frozen: Any) -> None:
    add_berlin_site()
    j = SignedJourney(client, auth)
    city = collected(j, "yescarta", "CITY-1")
    berlin = collected(j, "kymriah", "BERLIN-1", site=BERLIN)
    cois = {c["id"]: c["coi"] for c in client.get(
        "/api/cases", headers=auth["coordinator"]).json()["items"]}
    berlin_only = _user("berlin_coord", "coordinator", BERLIN)
    city_only = _user("city_coord", "coordinator", "TC-CITY")

    def seen(headers: dict[str, str]) -> set[int]:
        r = client.get("/api/analytics/cases", params={"metric": "v2v"}, headers=headers)
        assert r.status_code == 200, r.text
        return {c["case_id"] for c in r.json()["items"]}

    assert seen(berlin_only) == {berlin}
    assert seen(city_only) == {city}
    # QA works at the manufacturing facility of both; an admin sees every site's numbers.
    assert seen(auth["qa"]) == seen(auth["admin"]) == {city, berlin}
    groups = client.get("/api/analytics/intervals", params={"group_by": "treatment_site"},
                        headers=berlin_only).json()["groups"]
    assert [(g["group"], g["open"]) for g in groups] == [({"treatment_site": BERLIN}, 1)]
    export = client.get("/api/analytics/export.csv", headers=berlin_only).text
    assert cois[berlin] in export and cois[city] not in export
    rates = client.get("/api/analytics/rates", params={"group_by": "product"},
                       headers=city_only).json()
    assert [g["group"] for g in rates["groups"]] == [{"product": "yescarta"}]
    for role in ("lab_tech", "collection_staff", "infusion_staff"):
        r = client.get("/api/analytics/intervals", headers=auth[role])
        assert r.status_code == 403 and r.json()["code"] == "role_forbidden", role
    assert client.get("/api/analytics/cases").status_code == 401


def _out_of_spec(j: SignedJourney, mrn: str, decision: dict[str, Any]) -> int:
    cid = collected(j, "yescarta", mrn)
    j.to(cid, "qc_pending")
    j.ok("lab_tech", cid, "record_qc_result", {"test": "viability", "value": "55 %",
                                               "passed": False})
    j.ok("qa", cid, "report_out_of_spec", {"reason": "viability below specification"})
    j.ok("qa", cid, "decide_out_of_spec", decision, sign=True)
    return cid


def rates_fixture(j: SignedJourney, frozen: Any) -> dict[str, int]:
    """Five cases: released and infused; out of specification and cancelled; out of
    specification, released by exception and infused; released, not yet infused; in
    manufacturing."""
    cases = {"infused": infused_after(j, frozen, 21, mrn="R-1")}
    cases["oos_cancelled"] = _out_of_spec(j, "R-2", {"decision": "cancel",
                                                     "reason": "not releasable"})
    cid = _out_of_spec(j, "R-3", {"decision": "exceptional_release", "reason": "benefit "
                                  "outweighs risk", "physician_acknowledgement": "Dr. Rao"})
    j.to(cid, "received_at_treatment_center")
    lymphodeplete(j, cid, NY, 0, frozen)
    frozen.advance(days=3)
    thaw_and_infuse(j, cid, frozen)
    cases["oos_infused"] = cid
    cases["released"] = collected(j, "yescarta", "R-4")
    j.to(cases["released"], "released")
    cases["manufacturing"] = collected(j, "yescarta", "R-5")
    j.to(cases["manufacturing"], "manufacturing")
    return cases


def test_rates_computed_by_hand(client: Any, auth: Any, frozen: Any) -> None:
    rates_fixture(SignedJourney(client, auth), frozen)
    body = client.get("/api/analytics/rates", params={"group_by": ""},
                      headers=auth["coordinator"]).json()
    rates = {r["id"]: (r["numerator"], r["denominator"], r["rate"], r["open"])
             for r in body["groups"][0]["rates"]}
    # Four cases reached a QC decision, two of them out of specification; one still making.
    assert rates["manufacturing_failure"] == (2, 4, 0.5, 1)
    assert rates["oos_infused"] == (1, 4, 0.25, 1)
    # Five collected: two infused, one cancelled, two still going.
    assert rates["infusion"] == (2, 3, 0.6667, 2)
    assert rates["on_time_delivery"] == (2, 2, 1.0, 0)
    assert {n["id"] for n in body["not_available"]} == {"slot_utilisation",
                                                        "on_time_delivery_against_plan"}


def _answers(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in ("v2v", "collection_to_mfg_start", "mfg_turnaround", "mfg_duration",
                   "release_to_infusion", "ld_to_infusion", "thaw_to_infusion"):
        out[metric] = client.get("/api/analytics/intervals", headers=headers, params={
            "metric": metric, "group_by": "product,month,treatment_site"}).json()
        out[f"{metric}_cases"] = client.get("/api/analytics/cases", headers=headers,
                                            params={"metric": metric}).json()
    out["rates"] = client.get("/api/analytics/rates", headers=headers,
                              params={"group_by": "product,manufacturing_facility"}).json()
    out["waterfall"] = client.get("/api/analytics/waterfall", headers=headers).json()
    out["csv"] = client.get("/api/analytics/export.csv", headers=headers).text
    return out


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured (set "
                                       "CARTRACK_TEST_POSTGRES_URL)")
def test_the_same_fixture_gives_identical_json_on_sqlite_and_postgresql(
        templates: dict[str, str], tmp_path: Path) -> None:
    answers = {}
    for backend in ("sqlite", "postgres"):
        with cloned(backend, templates[backend], tmp_path):
            # Tokens first, on the real clock (as the fixtures do): they outlive the frozen one.
            auth = {name: bearer_for(name) for name in [*ROLES, "infusion_staff2"]}
            frozen = clock.FrozenClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
            clock.set_clock(frozen)
            try:
                with TestClient(create_app(start_scheduler=False)) as client:
                    j = SignedJourney(client, auth)
                    rates_fixture(j, frozen)
                    for days in (20, 22, 25, 30, 40):
                        infused_after(j, frozen, days, mrn=f"V-{days}")
                    answers[backend] = _answers(client, auth["qa"])
            finally:
                clock.set_clock(None)
                engine_for.cache_clear()
    assert answers["sqlite"]["v2v"]["groups"], "the fixture has intervals"
    assert answers["sqlite"] == answers["postgres"]
