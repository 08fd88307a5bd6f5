import { api, unwrap, type Schemas } from "../../api/client";
import { ErrorText } from "../../components/ErrorText";
import type { CaseDetail } from "../../journey/api";
import { formatDateTime } from "../../lib/time";
import { useQuery } from "@tanstack/react-query";
import { apiError } from "../../api/queries";

type Row = Schemas["CustodyEventOut"] & { unit_id: string };

/**
 * The chain of custody: every scan and handoff of the case's bags — who, where, when, verdict.
 * The full report (wristband scans, label prints, signatures) is the CSV / PDF.
 */
export function Custody({ detail }: { detail: CaseDetail }) {
  const ids = detail.units.map((u) => u.unit_id);
  // One read per bag, composed: the key names the custody path, so a case change invalidates it.
  const custody = useQuery({ queryKey: ["composed", "/api/units/{unit_id}/custody", ids], enabled: ids.length > 0, queryFn: async () => {
    const all = await Promise.all(ids.map(async (unitId) => {
      const out = unwrap(await api.GET("/api/units/{unit_id}/custody", { params: { path: { unit_id: unitId } } }));
      return out.events.map((e): Row => ({ ...e, unit_id: unitId }));
    }));
    return all.flat().sort((a, b) => a.at.localeCompare(b.at) || a.id - b.id);
  } });
  const rows = custody.data;
  return (
    <div>
      <p className="print-links">
        <a href={`/api/cases/${detail.id}/custody.csv`} download>Download the full custody chain (CSV)</a>{" · "}
        <a href={`/api/cases/${detail.id}/custody.pdf`} download>Custody report (PDF)</a>
      </p>
      <ErrorText error={apiError(custody.error)} />
      {!ids.length ? <p>No bag yet.</p> : rows ? (
        rows.length ? (
          <table className="custody">
            <caption className="sr-only">Custody events of the bags</caption>
            <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Where</th><th scope="col">Bag</th><th scope="col">Step</th><th scope="col">Verdict</th><th scope="col">Message</th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.unit_id}-${r.id}`} className={r.verdict === "mismatch" ? "mismatch" : ""}>
                  <td>{formatDateTime(r.at)}</td>
                  <td>{r.holder}</td>
                  <td>{[r.site, r.location].filter(Boolean).join(", ")}</td>
                  <td><code>{r.unit_id}</code></td>
                  <td>{(r.action ?? r.kind).replace(/_/g, " ")}</td>
                  <td><span className={`verdict-tag ${r.verdict === "match" ? "pass" : "fail"}`}>{r.verdict}</span></td>
                  <td>{r.message}{r.for_this_case ? "" : " (scanned for another case)"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : <p>No custody event yet.</p>
      ) : custody.error ? null : <p aria-busy="true">Loading…</p>}
    </div>
  );
}
