"""After an out-of-specification product is discarded and the patient recollected, releasing
the new product must not bring the discarded bag back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cartrack import clock
from tests.helpers.journey import Journey


def test_release_after_a_recollection_leaves_the_discarded_bag_discarded(
        client: Any, auth: Any, frozen: Any) -> None:
    j = Journey(client, auth)
    cid = j.enroll()["id"]
    j.to(cid, "qc_pending")
    first = next(u["unit_id"] for u in j.case(cid)["units"] if u["kind"] == "product")
    j.ok("lab_tech", cid, "record_qc_result", {"test": "viability", "value": "50 %",
                                               "passed": False})
    j.ok("qa", cid, "report_out_of_spec", {"reason": "viability below specification"})
    tomorrow = (clock.now() + timedelta(days=1)).date().isoformat()
    j.ok("qa", cid, "decide_out_of_spec", {"decision": "recollect", "reason": "second try",
                                           "collection_date": tomorrow}, sign=True)
    frozen.advance(days=1)
    j.to(cid, "released")
    bags = {u["unit_id"]: u for u in j.case(cid)["units"] if u["kind"] == "product"}
    assert len(bags) == 2
    assert bags[first]["status"] == "discarded" and bags[first]["quarantined"]
    [second] = [b for b in bags.values() if b["unit_id"] != first]
    assert second["status"] == "released" and not second["quarantined"]
    # Shipping asks for the released bag only; the discarded one is refused as not shipped.
    shipped = j.to(cid, "shipped_to_treatment_center")
    assert {u["unit_id"]: u["status"] for u in shipped["units"] if u["kind"] == "product"} == {
        first: "discarded", second["unit_id"]: "in_transit"}
