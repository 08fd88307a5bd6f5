import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { Link } from "react-router";
import { $api, apiError, invalidatePaths, POLL_MS } from "../api/queries";
import { ErrorText } from "../components/ErrorText";
import { formatDateTime } from "../lib/time";
import { useTitle } from "../lib/useTitle";
import { DIRECTION, pending, ruleText, coiOf } from "./api";
import { DispositionForm } from "./Disposition";
import { ExcursionTable, SummaryFacts } from "./Parts";
import { ShipmentChart } from "./TemperatureChart";

/** QA's queue: every excursion waiting for a signed disposition, the chart beside the decision. */
export function ExcursionQueue() {
  useTitle("Excursions");
  const queryClient = useQueryClient();
  const list = $api.useQuery("get", "/api/shipments", { params: { query: { limit: 200 } } }, { refetchInterval: POLL_MS });
  const waiting = (list.data ?? []).filter((s) => pending(s).length);
  const [chosen, setChosen] = useState<number>();
  const [done, setDone] = useState("");
  const shipment = waiting.find((s) => s.id === chosen) ?? waiting[0];
  return (
    <section aria-labelledby="exq-title">
      <h1 id="exq-title">Temperature excursions waiting for QA</h1>
      {done ? <p className="event-done" role="status">{done}</p> : null}
      <ErrorText error={apiError(list.error)} />
      {!list.data ? <p aria-busy="true">Loading…</p> : !waiting.length ? <p>No excursion is waiting for a disposition.</p> : (
        <div className="queue-layout">
          <ul className="queue" aria-label="Shipments with excursions waiting">
            {waiting.map((s) => (
              <li key={s.id}>
                <button type="button" aria-pressed={s.id === shipment?.id} onClick={() => { setChosen(s.id); setDone(""); }}>
                  <span>Shipment {s.id} · <span className="ident">{coiOf(s)}</span></span>
                  <span className="hint">{DIRECTION[s.direction]} · {pending(s).map((e) => ruleText(e.rule)).join(", ")}</span>
                </button>
              </li>
            ))}
          </ul>
          {shipment ? (
            <QueueDetail key={shipment.id} id={shipment.id} version={pending(shipment).length}
              onDone={(words) => { setDone(words); void invalidatePaths(queryClient, "/api/shipments"); }} />
          ) : null}
        </div>
      )}
    </section>
  );
}

/**
 * The chosen shipment, read whole (with its summary), its chart, and a form per waiting excursion;
 * read again when the list sees its waiting excursions change (`version`).
 */
function QueueDetail({ id, version, onDone }: { id: number; version: number; onDone: (words: string) => void }) {
  const q = $api.useQuery("get", "/api/shipments/{shipment_id}", { params: { path: { shipment_id: id } } });
  const { refetch } = q;
  const seen = useRef(version);
  useEffect(() => {
    if (seen.current === version) return;
    seen.current = version;
    void refetch();
  }, [version, refetch]);
  const shipment = q.data;
  if (q.error) return <ErrorText error={apiError(q.error)} />;
  if (!shipment) return <p aria-busy="true">Loading shipment {id}…</p>;
  const coi = coiOf(shipment);
  return (
    <div className="queue-detail">
      <h2>Shipment <Link to={`/shipments/${shipment.id}`}>{shipment.id}</Link>, case <Link to={`/cases/${shipment.case_id}`} className="ident">{coi}</Link></h2>
      <p className="muted">{DIRECTION[shipment.direction]} · {shipment.profile} ({shipment.low_c} to {shipment.high_c} °C) · handed over {formatDateTime(shipment.handed_over_at)}</p>
      <ShipmentChart shipment={shipment} />
      <SummaryFacts shipment={shipment} />
      <ExcursionTable excursions={shipment.excursions} caption={`Excursions of shipment ${shipment.id}`} />
      {pending(shipment).map((e) => (
        <div key={e.id}>
          <h3>Excursion {e.id}: {ruleText(e.rule)}, {formatDateTime(e.started_at)}</h3>
          <DispositionForm excursion={e} coi={coi}
            onDone={(out) => onDone(`Excursion ${out.id} dispositioned: ${out.disposition}.`)} />
        </div>
      ))}
    </div>
  );
}
