import { useState } from "react";
import { Link } from "react-router";
import { useAlerts } from "./AlertsContext";
import { AckDialog } from "./AlertItem";

/** Newly fired alerts, shown on whatever page is open (live, without a reload). */
export function AlertToasts() {
  const { live, dismiss } = useAlerts();
  const [acking, setAcking] = useState<number | null>(null);
  const shown = live.slice(0, 3);
  const ackingAlert = acking === null ? undefined : live.find((a) => a.id === acking);
  return (
    <div className="toasts">
      <div aria-live="assertive" role="log" aria-label="New alerts">
        {shown.map((a) => (
          <div key={a.id} className={`toast sev-${a.severity}`} data-testid="alert-toast">
            <strong>{a.severity === "critical" ? "Critical alert: " : "Alert: "}{a.title}</strong>
            <p>{a.message}</p>
            <div className="buttons">
              <button type="button" className="primary" onClick={() => setAcking(a.id)}>Acknowledge</button>
              {a.case_id ? <Link to={`/cases/${a.case_id}`} onClick={() => dismiss(a.id)}>Open case</Link> : null}
              <button type="button" onClick={() => dismiss(a.id)}>Dismiss<span className="sr-only"> alert {a.title}</span></button>
            </div>
          </div>
        ))}
      </div>
      {ackingAlert ? (
        <AckDialog alert={ackingAlert} onClose={() => setAcking(null)} onAcked={() => setAcking(null)} />
      ) : null}
    </div>
  );
}
