import { Countdown } from "../../components/Countdown";
import type { CaseDetail } from "../../journey/api";
import { formatDateTime } from "../../lib/time";

export function Deadlines({ detail }: { detail: CaseDetail }) {
  const open = detail.deadlines.filter((d) => d.status === "open");
  const closed = detail.deadlines.filter((d) => d.status !== "open");
  return (
    <div>
      {open.length ? (
        <ul className="deadlines">
          {open.map((d) => (
            <li key={d.id}>
              <strong>{d.label}</strong>: due {formatDateTime(d.due_at)}
              {d.earliest_at ? <> (not before {formatDateTime(d.earliest_at)})</> : null} — <Countdown dueAt={d.due_at} />
            </li>
          ))}
        </ul>
      ) : <p>No deadline is open.</p>}
      {closed.length ? (
        <details>
          <summary>Closed deadlines ({closed.length})</summary>
          <ul>
            {closed.map((d) => (
              <li key={d.id}>{d.label}: {d.status.replace(/_/g, " ")} {d.closed_at ? `at ${formatDateTime(d.closed_at)}` : ""} (due {formatDateTime(d.due_at)})</li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}
