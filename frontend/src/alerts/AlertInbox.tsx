import { useState } from "react";
import { keepPreviousData } from "@tanstack/react-query";
import { $api, apiError } from "../api/queries";
import type { paths } from "../api/schema";
import { ErrorText } from "../components/ErrorText";
import { useTitle } from "../lib/useTitle";
import { AlertItem } from "./AlertItem";
import { useAlerts } from "./AlertsContext";

type AlertQuery = NonNullable<paths["/api/alerts"]["get"]["parameters"]["query"]>;
const PAGE = 50;

export function AlertInbox() {
  useTitle("Alerts");
  const { connected, notifications, enableNotifications, summary } = useAlerts();
  const [unacked, setUnacked] = useState(true);
  const [severity, setSeverity] = useState<AlertQuery["severity"] | "">("");
  const [offset, setOffset] = useState(0);
  const alerts = $api.useQuery("get", "/api/alerts", {
    params: { query: { unacknowledged: unacked, severity: severity || undefined, limit: PAGE, offset } },
  }, { placeholderData: keepPreviousData });
  const page = alerts.data;
  return (
    <section aria-labelledby="alerts-title" className="alerts-page">
      <div className="page-head">
        <h1 id="alerts-title">Alerts</h1>
        <span className={`live-dot ${connected ? "on" : "off"}`}>{connected ? "Live" : "Connecting…"}</span>
      </div>
      {summary ? <p>{summary.unacknowledged} unacknowledged, {summary.unacknowledged_critical} of them critical.</p> : null}
      {notifications === "default" ? (
        <p className="notice">
          Get a browser notification when an alert fires, even in another tab.{" "}
          <button type="button" onClick={() => void enableNotifications()}>Turn on browser notifications</button>
        </p>
      ) : notifications === "denied" ? <p className="muted">Browser notifications are blocked for this site; alerts still appear here.</p> : null}
      <div className="toolbar">
        <div className="field checkbox">
          <input id="only-unacked" type="checkbox" checked={unacked} onChange={(e) => { setOffset(0); setUnacked(e.target.checked); }} />
          <label htmlFor="only-unacked">Unacknowledged only</label>
        </div>
        <div className="field">
          <label htmlFor="alert-severity">Severity</label>
          <select id="alert-severity" value={severity ?? ""} onChange={(e) => { setOffset(0); setSeverity(e.target.value as AlertQuery["severity"] | ""); }}>
            <option value="">All</option>
            <option value="critical">Critical</option>
            <option value="warning">Warning</option>
            <option value="info">Info</option>
          </select>
        </div>
      </div>
      <ErrorText error={apiError(alerts.error)} />
      {page ? (
        page.items.length ? (
          <div className="alert-list">{page.items.map((a) => <AlertItem key={a.id} alert={a} />)}</div>
        ) : <p>No alerts{unacked ? " waiting for acknowledgement" : ""}.</p>
      ) : <p aria-busy="true">Loading alerts…</p>}
      {page && page.total > PAGE ? (
        <nav className="pager" aria-label="Alert pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
          <span>{offset + 1}–{Math.min(offset + PAGE, page.total)} of {page.total}</span>
          <button type="button" disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)}>Next</button>
        </nav>
      ) : null}
    </section>
  );
}
