import { formatDateTime } from "../lib/time";
import { KIND, ruleText, type Excursion, type Shipment } from "./api";

function minutes(m: number): string {
  return m >= 90 ? `${(m / 60).toFixed(1)} h` : `${Math.round(m)} min`;
}

/** The readings' summary: points, trip, extremes with their times, mean and MKT. */
export function SummaryFacts({ shipment }: { shipment: Shipment }) {
  const s = shipment.summary;
  if (!s?.points) return <p className="muted">No logger readings yet.</p>;
  return (
    <dl className="facts summary-facts">
      <dt>Readings</dt><dd>{s.points} over {minutes(s.trip_minutes)} ({formatDateTime(s.first_at)} to {formatDateTime(s.last_at)})</dd>
      <dt>Minimum</dt><dd>{s.min_c} °C at {formatDateTime(s.min_at)}</dd>
      <dt>Maximum</dt><dd>{s.max_c} °C at {formatDateTime(s.max_at)}</dd>
      <dt>Mean</dt><dd>{s.mean_c != null ? Math.round(s.mean_c * 100) / 100 : "—"} °C</dd>
      <dt>Mean kinetic temperature</dt><dd>{s.mkt_c != null ? `${s.mkt_c} °C` : "not meaningful for this profile"}</dd>
      {shipment.gaps.length ? <><dt>Data gaps</dt><dd className="warn">{shipment.gaps.map((g) => `${formatDateTime(g.started_at)} – ${formatDateTime(g.ended_at)} (${minutes(g.minutes)})`).join("; ")}</dd></> : null}
    </dl>
  );
}

export const DISPOSITION: Record<string, string> = { pending_qa: "Waiting for QA", acceptable: "Acceptable", reject: "Rejected" };

/** The shipment's excursions with their dispositions. */
export function ExcursionTable({ excursions, caption }: { excursions: Excursion[]; caption: string }) {
  if (!excursions.length) return <p>No excursion.</p>;
  return (
    <table className="excursions">
      <caption className="sr-only">{caption}</caption>
      <thead>
        <tr><th scope="col">Rule</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Duration</th><th scope="col">Extreme</th><th scope="col">Disposition</th></tr>
      </thead>
      <tbody>
        {excursions.map((e) => (
          <tr key={e.id} className={e.disposition === "pending_qa" ? "risk-red" : ""}>
            <th scope="row">{ruleText(e.rule)}<span className="hint">{KIND[e.kind] ?? e.kind}</span></th>
            <td>{formatDateTime(e.started_at)}</td>
            <td>{formatDateTime(e.ended_at)}</td>
            <td>{minutes(e.duration_minutes)}</td>
            <td>{e.extreme_c} °C</td>
            <td>
              <span className={`tag ${e.disposition === "pending_qa" ? "danger" : e.disposition === "reject" ? "danger" : "done"}`}>{DISPOSITION[e.disposition] ?? e.disposition}</span>
              {e.disposition_reason ? <span className="hint">{e.disposition_reason} — {formatDateTime(e.disposition_at)}</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
