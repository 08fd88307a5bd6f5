import { $api, apiError } from "../api/queries";
import { ErrorText } from "../components/ErrorText";
import { AlertItem } from "./AlertItem";

export function CaseAlerts({ caseId }: { caseId: number }) {
  // Read again when an alert arrives or is acknowledged (AlertsProvider invalidates /api/alerts).
  const alerts = $api.useQuery("get", "/api/alerts", { params: { query: { case_id: caseId, limit: 50 } } });
  if (alerts.error) return <ErrorText error={apiError(alerts.error)} />;
  if (!alerts.data) return <p aria-busy="true">Loading…</p>;
  if (!alerts.data.items.length) return <p>No alerts for this case.</p>;
  return <div className="alert-list">{alerts.data.items.map((a) => <AlertItem key={a.id} alert={a} />)}</div>;
}
