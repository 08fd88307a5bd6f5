import { useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { $api, apiError, invalidatePaths, POLL_MS } from "../api/queries";
import { useAuth } from "../auth/AuthContext";
import { ErrorText } from "../components/ErrorText";
import { formatDateTime } from "../lib/time";
import { useTitle } from "../lib/useTitle";
import { DIRECTION, coiOf, type Shipment } from "./api";
import { DispositionForm } from "./Disposition";
import { ReceiptCheck, ReceiptRecord } from "./ReceiptCheck";
import { ExcursionTable, SummaryFacts } from "./Parts";
import { ShipmentChart } from "./TemperatureChart";

export function ShipmentPage() {
  const id = Number(useParams().shipmentId);
  const valid = Number.isInteger(id) && id >= 1;
  const queryClient = useQueryClient();
  const q = $api.useQuery("get", "/api/shipments/{shipment_id}", { params: { path: { shipment_id: id } } },
    { enabled: valid, refetchInterval: POLL_MS });
  useTitle(`Shipment ${id}`);
  if (!valid) return <p role="alert">There is no shipment at this address.</p>;
  if (q.error && !q.data) return <ErrorText error={apiError(q.error)} />;
  if (!q.data) return <p aria-busy="true">Loading the shipment…</p>;
  return <ShipmentView shipment={q.data} onChanged={() => void invalidatePaths(queryClient, "/api/shipments")} />;
}

export function ShipmentView({ shipment: s, onChanged }: { shipment: Shipment; onChanged: () => void }) {
  const { hasRole } = useAuth();
  const coi = coiOf(s);
  const waiting = s.excursions.filter((e) => e.disposition === "pending_qa");
  // The server checks the site; this only decides whether to offer the form.
  const receiver = hasRole("qa") || hasRole(s.direction === "apheresis_to_manufacturing" ? "lab_tech" : "infusion_staff");
  return (
    <article aria-labelledby="shipment-title" className="shipment-page">
      <header className="case-head">
        <h1 id="shipment-title">Shipment {s.id}</h1>
        <p>
          <span className={`tag ${s.status === "in_transit" ? "warn" : "done"}`}>{s.status.replace(/_/g, " ")}</span>{" "}
          {DIRECTION[s.direction] ?? s.direction} · case <Link to={`/cases/${s.case_id}`} className="ident">{coi}</Link>
          {" · "}<a href={`/api/shipments/${s.id}/report.pdf`} download>Shipment report (PDF)</a>
        </p>
      </header>
      <section aria-labelledby="h-trip">
        <h2 id="h-trip">Trip</h2>
        <dl className="facts">
          <dt>Profile</dt><dd>{s.profile} v{s.profile_version}: {s.low_c} to {s.high_c} °C, at most {s.max_transit_hours} h</dd>
          <dt>Shipper</dt><dd>{s.shipper_type}{s.shipper_serial ? ` · serial ${s.shipper_serial}` : ""}</dd>
          <dt>Logger</dt><dd>{s.logger_serial ?? "—"}</dd>
          <dt>Seal</dt><dd>{s.seal_id ?? "—"}</dd>
          <dt>Courier</dt><dd>{s.courier ?? "—"}{s.air_waybill ? ` · AWB ${s.air_waybill}` : ""}</dd>
          <dt>Units</dt><dd>{s.units.map((u) => <span key={u} className="ident unit-id">{u}</span>)}</dd>
          <dt>Handed over</dt><dd>{formatDateTime(s.handed_over_at)}</dd>
          <dt>Received</dt><dd>{s.received_at ? `${formatDateTime(s.received_at)} after ${s.transit_hours} h — ${s.within_transit_limit ? "within" : "over"} the transit limit` : "not yet"}</dd>
        </dl>
      </section>
      <section aria-labelledby="h-temp">
        <h2 id="h-temp">Temperature</h2>
        <ShipmentChart shipment={s} />
        <SummaryFacts shipment={s} />
      </section>
      <section aria-labelledby="h-exc">
        <h2 id="h-exc">Excursions</h2>
        <ExcursionTable excursions={s.excursions} caption={`Excursions of shipment ${s.id}`} />
        {hasRole("qa") ? waiting.map((e) => (
          <div key={e.id}>
            <h3>Disposition of excursion {e.id}</h3>
            <DispositionForm excursion={e} coi={coi} onDone={onChanged} />
          </div>
        )) : waiting.length ? <p className="warn">Waiting for QA's signed disposition; until then the next step of the product is blocked.</p> : null}
      </section>
      {s.status === "received" ? (
        <section aria-labelledby="h-receipt">
          <h2 id="h-receipt">Receipt check</h2>
          {s.receipt ? <ReceiptRecord shipment={s} />
            : receiver ? <ReceiptCheck shipment={s} coi={coi} isQa={hasRole("qa")} onDone={onChanged} />
              : <p className="muted">Not yet signed by the receiving site.</p>}
        </section>
      ) : null}
    </article>
  );
}
