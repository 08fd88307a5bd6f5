import { formatLeft, riskOf, spokenLeft, useNow } from "../lib/time";

/** A live countdown to `dueAt`, coloured by risk (red < 2 h or overdue, amber < 24 h). */
export function Countdown({ dueAt, big = false, label }: { dueAt: string; big?: boolean; label?: string }) {
  const now = useNow(1000);
  const left = Date.parse(dueAt) - now;
  const risk = riskOf(dueAt, now);
  return (
    <span className={`countdown risk-${risk} ${big ? "big" : ""}`} title={new Date(dueAt).toLocaleString("en-GB")}>
      {label ? <span className="countdown-label">{label} </span> : null}
      <span aria-hidden="true">{formatLeft(left)}</span>
      <span className="sr-only">{spokenLeft(left)}</span>
    </span>
  );
}
