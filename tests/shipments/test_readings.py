"""Logger data into a shipment: JSON or CSV, deduplicated, another logger's rows rejected, a
malformed file refused whole with its line number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.helpers.journey import Journey
from tests.helpers.shipments import (
    add_logger,
    add_shipper,
    csv_of,
    post_csv,
    ship_product,
    shipments_of,
)

START = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)


def shipped(j: Journey) -> int:
    cid = j.enroll()["id"]
    j.to(cid, "released")
    add_shipper(j, "DS-1")
    add_logger(j, "LG-1")
    assert ship_product(j, cid).status_code == 200
    return int(shipments_of(j, cid)[0]["id"])


def test_a_csv_import_twice_inserts_nothing_the_second_time(client: Any, auth: Any,
                                                           frozen: Any) -> None:
    j = Journey(client, auth)
    sid = shipped(j)
    text = csv_of("LG-1", START, [-185.0, -184.0, -183.5, -186.0])
    first = post_csv(j, sid, text)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["inserted"], body["duplicates"], body["rejected"]) == (4, 0, 0)
    s = body["summary"]
    assert (s["points"], s["min_c"], s["max_c"], s["trip_minutes"]) == (4, -186.0, -183.5, 45)
    assert s["max_at"] == "2026-06-01T14:30:00Z" and s["mkt_c"] is None
    assert body["excursions"] == []
    again = post_csv(j, sid, text).json()
    assert (again["inserted"], again["duplicates"], again["rejected"]) == (0, 4, 0)
    assert again["summary"]["points"] == 4


def test_rows_of_another_logger_are_rejected_and_counted(client: Any, auth: Any,
                                                        frozen: Any) -> None:
    j = Journey(client, auth)
    sid = shipped(j)
    text = csv_of("LG-1", START, [-185.0, -184.0]) + f"LG-OTHER,{START.isoformat()},-20\n"
    body = post_csv(j, sid, text).json()
    assert (body["inserted"], body["duplicates"], body["rejected"]) == (2, 0, 1)


def test_a_malformed_line_refuses_the_whole_file_with_its_line_number(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    sid = shipped(j)
    good = csv_of("LG-1", START, [-185.0] * 5)
    for broken, line, words in [
        (good + "LG-1,2026-06-01T16:00:00Z,cold\n", 7, "not a temperature"),
        (good + "LG-1,yesterday,-180\n", 7, "ISO 8601"),
        (good.replace("LG-1,2026-06-01T14:15:00Z,-185.0", "LG-1,2026-06-01T14:15:00Z"), 3,
         "3 columns"),
        (good + "LG-1,2026-06-01T16:00:00,-180\n", 7, "UTC offset"),
        (good + "LG-1,2026-06-01T16:00:00Z,-180\x00\n", 7, "NUL"),
        ("serial;time;temp\n", 1, "header")]:
        r = post_csv(j, sid, broken)
        assert r.status_code == 422, r.text
        assert r.json()["context"]["line"] == line and words in r.json()["detail"], r.json()
    detail = client.get(f"/api/shipments/{sid}", headers=auth["qa"]).json()
    assert detail["summary"]["points"] == 0


def test_date_time_temperature_files_are_read_in_the_given_time_zone(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    sid = shipped(j)
    text = "Date,Time,Temperature(°C)\n2026-06-01,10:00:00,-181.5\n2026-06-01,10:15,-180\n"
    missing = post_csv(j, sid, text)
    assert missing.status_code == 422 and missing.json()["code"] == "time_zone_required"
    body = post_csv(j, sid, text, tz="America/New_York").json()
    assert body["inserted"] == 2
    assert body["summary"]["first_at"] == "2026-06-01T14:00:00Z"  # 10:00 EDT
    bad_zone = post_csv(j, sid, text, tz="Mars/Olympus")
    assert bad_zone.status_code == 422 and bad_zone.json()["code"] == "invalid_time_zone"


def test_json_readings_count_duplicates_within_and_across_posts(client: Any, auth: Any,
                                                               frozen: Any) -> None:
    j = Journey(client, auth)
    sid = shipped(j)
    rows = [{"at": (START + timedelta(minutes=15 * i)).isoformat(), "temp_c": -180 + i}
            for i in range(3)]
    r = client.post(f"/api/shipments/{sid}/readings", headers=auth["infusion_staff"],
                    json=rows + rows[:1])
    assert r.status_code == 200, r.text
    assert (r.json()["inserted"], r.json()["duplicates"]) == (3, 1)
    bad = client.post(f"/api/shipments/{sid}/readings", headers=auth["infusion_staff"],
                      json=[{"at": "2026-06-01T14:00:00", "temp_c": -180}])
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
    other_site = client.post("/api/shipments/999/readings", headers=auth["lab_tech"], json=[])
    assert other_site.status_code == 404
