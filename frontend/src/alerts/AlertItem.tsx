import { useState } from "react";
import { Link } from "react-router";
import { asApiError, type ApiError } from "../api/client";
import { Dialog } from "../components/Dialog";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { formatDateTime } from "../lib/time";
import { useAlerts, type Alert } from "./AlertsContext";

export function AlertItem({ alert, onAcked, compact = false }: { alert: Alert; onAcked?: () => void; compact?: boolean }) {
  const [acking, setAcking] = useState(false);
  const acked = alert.status === "acknowledged";
  return (
    <article className={`alert-item sev-${alert.severity} ${acked ? "acked" : ""}`} aria-label={`${alert.severity} alert: ${alert.title}`}>
      <div className="alert-head">
        <span className={`sev sev-${alert.severity}`}>{alert.severity}</span>{" "}
        <strong>{alert.title}</strong>
        {alert.tier > 0 ? <span className="tag danger">escalated</span> : null}
      </div>
      <p>{alert.message}</p>
      <div className="alert-meta muted">
        {formatDateTime(alert.fired_at ?? alert.fire_at)}
        {alert.case_id ? <> · <Link to={`/cases/${alert.case_id}`}>Case {alert.coi ?? alert.case_id}</Link></> : null}
        {acked ? <> · acknowledged by {alert.acked_by_name ?? "someone"} {formatDateTime(alert.acked_at)}{alert.ack_note ? ` — “${alert.ack_note}”` : ""}</> : null}
      </div>
      {!acked && !compact ? (
        <button type="button" onClick={() => setAcking(true)}>Acknowledge<span className="sr-only">: {alert.title}</span></button>
      ) : null}
      {acking ? <AckDialog alert={alert} onClose={() => setAcking(false)} onAcked={() => { setAcking(false); onAcked?.(); }} /> : null}
    </article>
  );
}

export function AckDialog({ alert, onClose, onAcked }: { alert: Alert; onClose: () => void; onAcked: () => void }) {
  const { acknowledge } = useAlerts();
  const [note, setNote] = useState("");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title="Acknowledge alert" onClose={onClose}>
      <form onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        try {
          await acknowledge(alert.id, note);
          onAcked();
        } catch (err) {
          setError(asApiError(err));
          setBusy(false);
        }
      }}>
        <p><strong>{alert.title}</strong></p>
        <p>{alert.message}</p>
        <Field label="Note (what you are doing about it)" error={error?.fieldMessage("note")}>
          <textarea value={note} onChange={(e) => setNote(e.target.value)} rows={3} maxLength={1000} data-autofocus />
        </Field>
        <ErrorText error={error} />
        <div className="buttons">
          <button type="submit" className="primary" disabled={busy}>Acknowledge</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}
