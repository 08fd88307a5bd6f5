import { keepPreviousData } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { $api, apiError, POLL_MS } from "../api/queries";
import { ErrorText } from "../components/ErrorText";
import { formatDateTime, useNow } from "../lib/time";
import { useTitle } from "../lib/useTitle";
import { DIRECTION, hoursSince, pending, coiOf, type Shipment } from "./api";

type Status = "in_transit" | "received" | "";

/** Shipments on the way (or all): elapsed time against the profile's transit limit, open excursions. */
export function ShipmentBoard() {
  useTitle("Shipments");
  const [status, setStatus] = useState<Status>("in_transit");
  const list = $api.useQuery("get", "/api/shipments", { params: { query: { limit: 200, status: status || undefined } } },
    { refetchInterval: POLL_MS, placeholderData: keepPreviousData });
  const now = useNow(60_000);
  return (
    <section aria-labelledby="ship-title">
      <div className="page-head"><h1 id="ship-title">Shipments</h1></div>
      <div className="toolbar">
        <div className="field">
          <label htmlFor="ship-status">Show</label>
          <select id="ship-status" value={status} onChange={(e) => setStatus(e.target.value as Status)}>
            <option value="in_transit">In transit</option>
            <option value="received">Received</option>
            <option value="">All</option>
          </select>
        </div>
      </div>
      <ErrorText error={apiError(list.error)} />
      {list.data ? (
        list.data.length ? (
          <table className="shipments" data-testid="shipment-board">
            <caption className="sr-only">Shipments, newest first</caption>
            <thead>
              <tr><th scope="col">Shipment</th><th scope="col">Case</th><th scope="col">Direction</th><th scope="col">Profile</th><th scope="col">Courier</th><th scope="col">Handed over</th><th scope="col">Transit</th><th scope="col">Excursions</th></tr>
            </thead>
            <tbody>
              {list.data.map((s) => <Row key={s.id} s={s} coi={coiOf(s)} now={now} />)}
            </tbody>
          </table>
        ) : <p>No shipment {status === "in_transit" ? "is in transit" : "to show"}.</p>
      ) : <p aria-busy="true">Loading shipments…</p>}
    </section>
  );
}

function Row({ s, coi, now }: { s: Shipment; coi?: string; now: number }) {
  const hours = s.transit_hours ?? hoursSince(s.handed_over_at, now);
  const share = hours / s.max_transit_hours;
  const risk = share > 1 ? "overdue" : share > 0.8 ? "amber" : "ok";
  const open = pending(s);
  return (
    <tr className={open.length || risk === "overdue" ? "risk-red" : risk === "amber" ? "risk-amber" : ""}>
      <th scope="row"><Link to={`/shipments/${s.id}`}>Shipment {s.id}</Link></th>
      <td>{coi ? <Link to={`/cases/${s.case_id}`} className="ident">{coi}</Link> : `case ${s.case_id}`}</td>
      <td>{DIRECTION[s.direction] ?? s.direction}</td>
      <td>{s.profile} <span className="muted">({s.low_c} to {s.high_c} °C)</span></td>
      <td>{s.courier ?? "—"}{s.air_waybill ? <span className="hint">AWB {s.air_waybill}</span> : null}</td>
      <td>{formatDateTime(s.handed_over_at)}</td>
      <td>
        {hours.toFixed(1)} of {s.max_transit_hours} h{s.status === "received" ? " (received)" : ""}
        {risk === "overdue" ? <span className="tag danger">over the limit</span> : risk === "amber" ? <span className="tag warn">over 80 %</span> : null}
      </td>
      <td>{open.length ? <span className="tag danger">{open.length} waiting for QA</span> : s.excursions.length ? `${s.excursions.length} dispositioned` : "none"}</td>
    </tr>
  );
}
