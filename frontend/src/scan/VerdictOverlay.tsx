import { useEffect, useId, useRef } from "react";
import type { ApiError } from "../api/client";
import { ScanInput } from "./ScanInput";
import type { ScanResult } from "./api";

export interface Verdict {
  ok: boolean;
  result?: ScanResult;
  error?: ApiError;
  payload: string;
}

/**
 * Full-screen green or red verdict with the message in words. The scan field stays live inside it
 * (a scanner can go on scanning); Continue or Escape closes it; a match closes by itself.
 */
export function VerdictOverlay({ verdict, onClose, onScan, autoCloseMs = 2500 }: {
  verdict: Verdict;
  onClose: () => void;
  onScan: (payload: string) => void;
  autoCloseMs?: number;
}) {
  const titleId = useId();
  const msgId = useId();
  const before = useRef<HTMLElement | null>(document.activeElement as HTMLElement | null);
  useEffect(() => {
    const restore = before.current;
    return () => restore?.focus?.();
  }, []);
  useEffect(() => {
    if (!verdict.ok || !autoCloseMs) return;
    const t = window.setTimeout(onClose, autoCloseMs);
    return () => window.clearTimeout(t);
  }, [verdict, onClose, autoCloseMs]);
  const r = verdict.result;
  const message = verdict.error ? verdict.error.body.detail : r?.message ?? "";
  return (
    <div className={`verdict ${verdict.ok ? "verdict-match" : "verdict-mismatch"}`} role="alertdialog" aria-modal="true"
      aria-labelledby={titleId} aria-describedby={msgId} data-testid="verdict"
      onKeyDown={(e) => { if (e.key === "Escape") onClose(); }}>
      <div className="verdict-body">
        <div className="verdict-icon" aria-hidden="true">{verdict.ok ? "✓" : "✗"}</div>
        <h2 id={titleId}>{verdict.ok ? "Match" : "Mismatch — stop"}</h2>
        <p id={msgId} className="verdict-message">{message}</p>
        {r ? (
          <p className="verdict-facts">
            {[
              r.unit_id ? `Unit ${r.unit_id}${r.unit_id_check ?? ""}` : r.wristband_id ? `Wristband ${r.wristband_id}` : "",
              r.coi ? `COI ${r.coi}${r.coi_check ?? ""}` : "",
              r.state ? `case ${String(r.state).replace(/_/g, " ")}` : "",
              !verdict.ok && r.reason ? `reason: ${String(r.reason).replace(/_/g, " ")}` : "",
            ].filter(Boolean).join(" · ")}
          </p>
        ) : null}
        <div className="verdict-actions">
          <ScanInput onScan={onScan} id="verdict-scan" label="Scan the next label" />
          <button type="button" className="big" onClick={onClose}>Continue</button>
        </div>
      </div>
    </div>
  );
}
