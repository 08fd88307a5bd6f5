import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { apiError } from "../api/queries";
import { ErrorText } from "../components/ErrorText";
import { formatDateTime, useNow } from "../lib/time";
import { getShipment, hoursSince, listShipments, pending } from "./api";
import { ExcursionTable, SummaryFacts } from "./Parts";
import { ShipmentChart } from "./TemperatureChart";

export const RECEIVED_BY: Record<string, "apheresis_to_manufacturing" | "product_to_treatment_center"> = {
  receive_at_manufacturing: "apheresis_to_manufacturing",
  receive_at_treatment_center: "product_to_treatment_center",
};

/**
 * Receiving at the scan station: the shipment on its way to this case, what to compare against
 * the package in hand (shipper, logger, seal, units), the time in transit against the profile's
 * limit, and the logger's temperatures with the limit band.
 */
export function ReceivingPanel({ caseId, event }: { caseId: number; event: string }) {
  const direction = RECEIVED_BY[event];
  const now = useNow(60_000);
  // Composed: the case's shipment in transit this way, then that shipment read whole.
  const q = useQuery({
    queryKey: ["composed", "/api/shipments", caseId, direction],
    queryFn: async () => {
      const list = await listShipments({ case_id: caseId, status: "in_transit" });
      const mine = list.find((s) => s.direction === direction);
      return mine ? getShipment(mine.id) : null;
    },
  });
  if (q.error) return <ErrorText error={apiError(q.error)} />;
  if (q.data === undefined) return <p aria-busy="true">Loading the shipment…</p>;
  const s = q.data;
  if (!s) return <p className="muted">No tracked shipment is on its way for this step; check the package by its labels.</p>;
  const hours = hoursSince(s.handed_over_at, now);
  const over = hours > s.max_transit_hours;
  const waiting = pending(s);
  return (
    <div className="action-panel receiving" data-testid="receiving">
      <h3>Receiving shipment <Link to={`/shipments/${s.id}`}>{s.id}</Link></h3>
      <p>Compare with the package in hand:</p>
      <dl className="facts">
        <dt>Shipper</dt><dd>{s.shipper_serial ? <span className="ident">{s.shipper_serial}</span> : "untracked"} — {s.shipper_type}</dd>
        <dt>Data logger</dt><dd>{s.logger_serial ? <span className="ident">{s.logger_serial}</span> : "—"} (stop it before reading it out)</dd>
        <dt>Seal</dt><dd>{s.seal_id ? <span className="ident">{s.seal_id}</span> : "—"}</dd>
        <dt>Units expected</dt><dd>{s.units.length}: {s.units.map((u) => <span key={u} className="ident unit-id">{u}</span>)}</dd>
        <dt>In transit</dt>
        <dd className={over ? "field-error" : undefined}>
          {hours.toFixed(1)} h since hand-over at {formatDateTime(s.handed_over_at)}; the {s.profile} limit is {s.max_transit_hours} h{over ? " — over the limit" : ""}
        </dd>
      </dl>
      <ShipmentChart shipment={s} now={now} />
      <SummaryFacts shipment={s} />
      {s.excursions.length ? <ExcursionTable excursions={s.excursions} caption={`Excursions of shipment ${s.id}`} /> : null}
      {waiting.length ? (
        <p className="error" role="note">{waiting.length} excursion{waiting.length === 1 ? "" : "s"} waiting for QA's signed disposition: the product may be received and stored, but its next step stays blocked until then.</p>
      ) : null}
    </div>
  );
}
