import { api, unwrap } from "../api/client";
import { ErrorText } from "../components/ErrorText";
import { useQuery } from "../lib/useQuery";
import { AlertItem } from "./AlertItem";
import { useAlerts } from "./AlertsContext";

export function CaseAlerts({ caseId }: { caseId: number }) {
  const { version } = useAlerts();
  const alerts = useQuery(async () => unwrap(await api.GET("/api/alerts", { params: { query: { case_id: caseId, limit: 50 } } })), [caseId, version]);
  if (alerts.error) return <ErrorText error={alerts.error} />;
  if (!alerts.data) return <p aria-busy="true">Loading…</p>;
  if (!alerts.data.items.length) return <p>No alerts for this case.</p>;
  return <div className="alert-list">{alerts.data.items.map((a) => <AlertItem key={a.id} alert={a} onAcked={() => void alerts.reload()} />)}</div>;
}
