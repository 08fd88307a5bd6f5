import { Link } from "react-router";
import { $api, apiError } from "../api/queries";
import { ErrorText } from "../components/ErrorText";
import { formatDateTime } from "../lib/time";
import { DIRECTION, pending } from "./api";

/**
 * The case's shipments: direction, profile, custody times and excursions, each opening its page.
 * A change of the case (a journey event, or a poll that saw one) reads them again (CASE_PATHS).
 */
export function CaseShipments({ caseId }: { caseId: number }) {
  const q = $api.useQuery("get", "/api/shipments", { params: { query: { limit: 200, case_id: caseId } } });
  if (q.error) return <ErrorText error={apiError(q.error)} />;
  if (!q.data) return <p aria-busy="true">Loading…</p>;
  if (!q.data.length) return <p>No shipment yet.</p>;
  return (
    <table className="case-shipments">
      <caption className="sr-only">Shipments of the case</caption>
      <thead>
        <tr><th scope="col">Shipment</th><th scope="col">Direction</th><th scope="col">Profile</th><th scope="col">Handed over</th><th scope="col">Received</th><th scope="col">Excursions</th></tr>
      </thead>
      <tbody>
        {q.data.map((s) => {
          const open = pending(s).length;
          return (
            <tr key={s.id} className={open ? "risk-red" : ""}>
              <th scope="row"><Link to={`/shipments/${s.id}`}>Shipment {s.id}</Link></th>
              <td>{DIRECTION[s.direction] ?? s.direction}</td>
              <td>{s.profile} <span className="muted">({s.low_c} to {s.high_c} °C)</span></td>
              <td>{formatDateTime(s.handed_over_at)}</td>
              <td>{s.received_at ? `${formatDateTime(s.received_at)} (${s.transit_hours} h${s.within_transit_limit ? "" : ", over the limit"})` : "in transit"}</td>
              <td>{open ? <span className="tag danger">{open} waiting for QA</span> : s.excursions.length ? `${s.excursions.length} dispositioned` : "none"}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
