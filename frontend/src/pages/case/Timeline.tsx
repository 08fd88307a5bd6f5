import { SignatureList, type SignatureRecord } from "../../components/ESignDialog";
import { ErrorText } from "../../components/ErrorText";
import { eventLabel } from "../../journey/JourneyContext";
import type { EventOut } from "../../journey/api";
import { formatDateTime } from "../../lib/time";
import { apiError } from "../../api/queries";

export function Timeline({ events }: { events: { data?: EventOut[]; error?: unknown } }) {
  if (events.error) return <ErrorText error={apiError(events.error)} />;
  if (!events.data) return <p aria-busy="true">Loading…</p>;
  return (
    <ol className="timeline">
      {events.data.map((e) => (
        <li key={e.id}>
          <time dateTime={e.at}>{formatDateTime(e.at)}</time> — <strong>{eventLabel(e.event)}</strong> by {e.actor_name}
          {e.from_state !== e.to_state ? <span className="muted"> ({(e.from_state ?? "—").replace(/_/g, " ")} → {e.to_state.replace(/_/g, " ")})</span> : null}
          {e.reason ? <div>Reason: {e.reason}</div> : null}
          <EventData data={e.data} />
          <SignatureList signatures={(e.signatures ?? []) as SignatureRecord[]} />
        </li>
      ))}
    </ol>
  );
}

function EventData({ data }: { data: Record<string, unknown> }) {
  const entries = Object.entries(data ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
  if (!entries.length) return null;
  return (
    <div className="event-data muted">
      {entries.map(([k, v]) => `${k.replace(/_/g, " ")}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(" · ")}
    </div>
  );
}
