import type { CaseDetail } from "../../journey/api";
import { formatDateTime } from "../../lib/time";

/** QC results against the protocol's specification: every required test and its latest result. */
export function QcResults({ detail }: { detail: CaseDetail }) {
  const required = detail.qc_required as Array<{ code: string; name: string; spec: string; latest: boolean | null }>;
  const results = detail.qc_results as Array<{ test: string; value: string; spec: string; passed: boolean; recorded_at: string }>;
  const latest = (code: string) => [...results].reverse().find((r) => r.test === code);
  const missing = required.filter((t) => t.latest === null).length;
  const failing = required.filter((t) => t.latest === false).length;
  return (
    <div>
      <p className={`qc-summary ${failing ? "bad" : missing ? "warn" : "good"}`}>
        {failing ? `${failing} test${failing > 1 ? "s" : ""} out of specification. ` : ""}
        {missing ? `${missing} of ${required.length} required tests without a result.` : ""}
        {!failing && !missing ? `All ${required.length} required tests present and within specification.` : ""}
      </p>
      <table className="qc">
        <caption className="sr-only">QC results against specification</caption>
        <thead>
          <tr><th scope="col">Test</th><th scope="col">Specification</th><th scope="col">Result</th><th scope="col">Verdict</th><th scope="col">Recorded</th></tr>
        </thead>
        <tbody>
          {required.map((t) => {
            const r = latest(t.code);
            const verdict = t.latest === null ? "missing" : t.latest ? "pass" : "fail";
            return (
              <tr key={t.code} className={`qc-${verdict}`}>
                <th scope="row">{t.name}</th>
                <td>{t.spec}</td>
                <td>{r?.value ?? "—"}</td>
                <td><span className={`verdict-tag ${verdict}`}>{verdict === "pass" ? "Pass" : verdict === "fail" ? "FAIL" : "Missing"}</span></td>
                <td>{r ? formatDateTime(r.recorded_at) : ""}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {results.length > required.filter((t) => t.latest !== null).length ? (
        <details>
          <summary>Every result recorded ({results.length})</summary>
          <ul>{results.map((r) => <li key={`${r.test}-${r.recorded_at}`}>{formatDateTime(r.recorded_at)} — {r.test}: {r.value} ({r.passed ? "pass" : "fail"}; spec {r.spec})</li>)}</ul>
        </details>
      ) : null}
    </div>
  );
}

export function Monitoring({ detail }: { detail: CaseDetail }) {
  const checks = detail.monitoring as Array<{ day: number; crs_grade: number; icans_grade: number; notes: string | null; recorded_at: string }>;
  if (!checks.length) return <p>No monitoring check recorded.</p>;
  return (
    <table>
      <caption className="sr-only">Monitoring checks</caption>
      <thead><tr><th scope="col">Day</th><th scope="col">CRS</th><th scope="col">ICANS</th><th scope="col">Notes</th><th scope="col">Recorded</th></tr></thead>
      <tbody>
        {checks.map((c) => (
          <tr key={c.day} className={Math.max(c.crs_grade, c.icans_grade) >= 2 ? "grade-high" : ""}>
            <th scope="row">{c.day}</th><td>{c.crs_grade}</td><td>{c.icans_grade}</td><td>{c.notes ?? ""}</td><td>{formatDateTime(c.recorded_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
