import { useAlerts } from "./AlertsContext";

/** The count of unacknowledged critical alerts (hidden when none). */
export function AlertBadge() {
  const { summary } = useAlerts();
  const critical = summary?.unacknowledged_critical ?? 0;
  const all = summary?.unacknowledged ?? 0;
  if (!all) return null;
  return (
    <>
      {critical ? (
        <span className="badge critical" data-testid="critical-badge">
          {critical}<span className="sr-only"> unacknowledged critical</span>
        </span>
      ) : null}
      {all - critical > 0 ? (
        <span className="badge other">
          {all - critical}<span className="sr-only"> other unacknowledged</span>
        </span>
      ) : null}
    </>
  );
}
