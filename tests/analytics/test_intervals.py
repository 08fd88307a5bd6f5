"""Intervals computed by hand: a five-case vector with its quartiles, an open case counted apart,
calendar days across a daylight-saving change, the drill-down and the CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any
from zoneinfo import ZoneInfo

from tests.helpers.analytics import (
    BERLIN,
    add_berlin_site,
    at,
    collected,
    infused_after,
    lymphodeplete,
    thaw_and_infuse,
)
from tests.helpers.journey import SignedJourney

V2V = [20, 22, 25, 30, 40]


def five_and_one_open(j: SignedJourney, frozen: Any) -> tuple[list[int], int]:
    done = [infused_after(j, frozen, days, mrn=f"V-{days}") for days in V2V]
    return done, collected(j, "yescarta", "V-OPEN")


def test_five_cases_give_the_median_and_type_7_quartiles(client: Any, auth: Any,
                                                         frozen: Any) -> None:
    j = SignedJourney(client, auth)
    _, open_case = five_and_one_open(j, frozen)
    r = client.get("/api/analytics/intervals", params={"metric": "v2v", "group_by": "product"},
                   headers=auth["coordinator"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert "type 7" in body["quantile_method"] and body["unit"] == "days"
    [group] = body["groups"]
    assert group["group"] == {"product": "yescarta"}
    assert group["n"] == 5 and group["open"] == 1 and group["stopped"] == 0
    assert group["value"] == {"n": 5, "median": 25.0, "p25": 22.0, "p75": 30.0, "min": 20.0,
                              "max": 40.0}
    # Collected 30 minutes before the clock's time, infused 20 minutes after it, N days later.
    assert group["hours"]["median"] == round(25 * 24 + 50 / 60, 2)
    cases = client.get("/api/analytics/cases", params={"metric": "v2v"},
                       headers=auth["coordinator"]).json()
    assert cases["total"] == 6
    by_status = {c["case_id"]: c for c in cases["items"]}
    assert by_status[open_case]["status"] == "open" and by_status[open_case]["value"] is None
    assert sorted(c["value"] for c in cases["items"] if c["status"] == "done") == V2V
    opened = client.get("/api/analytics/cases", params={"metric": "v2v", "status": "open"},
                        headers=auth["coordinator"]).json()
    assert [c["case_id"] for c in opened["items"]] == [open_case]


def test_stages_and_rates_of_the_same_cases(client: Any, auth: Any, frozen: Any) -> None:
    j = SignedJourney(client, auth)
    five_and_one_open(j, frozen)
    thaw = client.get("/api/analytics/intervals", params={"metric": "thaw_to_infusion"},
                      headers=auth["qa"]).json()
    assert thaw["unit"] == "minutes" and thaw["groups"][0]["value"]["median"] == 20.0
    assert thaw["groups"][0]["hours"] is None
    ld = client.get("/api/analytics/intervals", params={"metric": "ld_to_infusion"},
                    headers=auth["qa"]).json()
    # Lymphodepletion days -5, -4, -3, infusion on day 0: five calendar days, no hours.
    assert ld["groups"][0]["value"]["median"] == 5.0 and ld["groups"][0]["hours"] is None
    fall = client.get("/api/analytics/waterfall", headers=auth["qa"]).json()
    assert fall["n"] == 5
    total = sum(s["mean_days"] for s in fall["stages"])
    assert abs(total - fall["total_mean_days"]) <= 0.02
    assert abs(fall["total_mean_days"] - (sum(V2V) / 5 + 50 / 60 / 24)) <= 0.01
    rates = {r["id"]: r for r in client.get("/api/analytics/rates", params={"group_by": ""},
                                            headers=auth["qa"]).json()["groups"][0]["rates"]}
    assert rates["infusion"] | {"definition": ""} == {
        "id": "infusion", "label": rates["infusion"]["label"], "numerator": 5, "denominator": 5,
        "rate": 1.0, "open": 1, "definition": ""}
    assert rates["manufacturing_failure"]["numerator"] == 0
    assert rates["manufacturing_failure"]["denominator"] == 5
    assert rates["on_time_delivery"]["rate"] == 1.0


def test_calendar_days_across_a_daylight_saving_change(client: Any, auth: Any,
                                                       frozen: Any) -> None:
    """Europe/Berlin left summer time on 2026-10-25. Collected on 20 October at 23:15 local
    (21:15 UTC), infused on 27 October at 00:30 local (23:30 UTC on the 26th): seven calendar
    days at the site (UTC dates would say six), and exactly 146.25 hours (the wall clocks
    differ by 145.25)."""
    add_berlin_site()
    j = SignedJourney(client, auth)
    at(frozen, "2026-10-20T23:45:00+02:00")
    cid = collected(j, "yescarta", "DST-1", site=BERLIN)
    # Journey's collection step records the end 30 minutes before the clock: 23:15 local.
    at(frozen, "2026-10-20T23:45:00+02:00")
    j.to(cid, "received_at_treatment_center")
    lymphodeplete(j, cid, ZoneInfo("Europe/Berlin"), 4, frozen)
    at(frozen, "2026-10-27T00:10:00+01:00")
    thaw_and_infuse(j, cid, frozen, thaw_minutes=20)
    r = client.get("/api/analytics/intervals", params={"metric": "v2v",
                                                       "group_by": "treatment_site"},
                   headers=auth["coordinator"]).json()
    [group] = r["groups"]
    assert group["group"] == {"treatment_site": BERLIN}
    assert group["value"]["median"] == 7.0
    # 23:15 CEST (21:15 UTC) to 00:30 CET (23:30 UTC) six days later: 6 x 24 + 2.25 hours.
    assert group["hours"]["median"] == 146.25
    month = client.get("/api/analytics/intervals", params={"metric": "v2v", "group_by": "month"},
                       headers=auth["coordinator"]).json()
    assert [g["group"] for g in month["groups"]] == [{"month": "2026-10"}]


def test_filters_and_the_csv_export(client: Any, auth: Any, frozen: Any) -> None:
    j = SignedJourney(client, auth)
    done, open_case = five_and_one_open(j, frozen)
    everything = client.get("/api/analytics/cases", params={"metric": "v2v"},
                            headers=auth["coordinator"]).json()["items"]
    first_day = min(c["start"] for c in everything)[:10]
    only_first = client.get("/api/analytics/intervals", params={
        "metric": "v2v", "group_by": "", "start": first_day, "end": first_day},
        headers=auth["coordinator"]).json()
    assert only_first["groups"][0]["n"] == 1 and only_first["groups"][0]["group"] == {}
    none = client.get("/api/analytics/intervals", params={"metric": "v2v", "product": "abecma"},
                      headers=auth["coordinator"]).json()
    assert none["groups"] == []
    bad = client.get("/api/analytics/intervals", params={"group_by": "colour"},
                     headers=auth["coordinator"])
    assert bad.status_code == 422 and bad.json()["code"] == "bad_group_by"
    assert "colour" in bad.json()["detail"]
    backwards = client.get("/api/analytics/rates", params={"start": "2026-07-01",
                                                           "end": "2026-06-01"},
                           headers=auth["coordinator"])
    assert backwards.status_code == 422 and backwards.json()["code"] == "bad_date_range"
    r = client.get("/api/analytics/export.csv", headers=auth["coordinator"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(row["case_id"]) for row in rows] == sorted([*done, open_case])
    assert sorted(int(row["v2v_days"]) for row in rows if row["v2v_status"] == "done") == V2V
    assert [row["v2v_status"] for row in rows if int(row["case_id"]) == open_case] == ["open"]
    # Patient details never leave in the export.
    assert "Vector" not in r.text and "V-20" not in r.text
