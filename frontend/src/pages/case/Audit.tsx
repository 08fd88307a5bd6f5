import { useState } from "react";
import { keepPreviousData } from "@tanstack/react-query";
import { $api, apiError } from "../../api/queries";
import { ErrorText } from "../../components/ErrorText";
import { formatDateTime } from "../../lib/time";

const PAGE = 100;

/** The Part 11 audit trail of the case: who, when, what, old and new values, reason. */
export function AuditTrail({ caseId }: { caseId: number }) {
  const [offset, setOffset] = useState(0);
  const audit = $api.useQuery("get", "/api/cases/{case_id}/audit", {
    params: { path: { case_id: caseId }, query: { limit: PAGE, offset } },
  }, { placeholderData: keepPreviousData });
  if (audit.error) return <ErrorText error={apiError(audit.error)} />;
  const page = audit.data;
  if (!page) return <p aria-busy="true">Loading…</p>;
  return (
    <div className="audit">
      <table>
        <caption className="sr-only">Audit trail</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Record</th><th scope="col">Old</th><th scope="col">New</th><th scope="col">Reason</th></tr></thead>
        <tbody>
          {page.items.map((a) => (
            <tr key={a.id}>
              <td>{formatDateTime(a.at)}</td>
              <td>{a.printed_name}</td>
              <td>{a.action}</td>
              <td>{a.entity} {a.entity_id}</td>
              <td><Json value={a.old} /></td>
              <td><Json value={a.new} /></td>
              <td>{a.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.total > PAGE ? (
        <nav className="pager" aria-label="Audit pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
          <span>{offset + 1}–{Math.min(offset + PAGE, page.total)} of {page.total}</span>
          <button type="button" disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)}>Next</button>
        </nav>
      ) : null}
    </div>
  );
}

function Json({ value }: { value: unknown }) {
  if (value === null || value === undefined) return null;
  const text = JSON.stringify(value);
  return <code className="json">{text.length > 300 ? `${text.slice(0, 300)}…` : text}</code>;
}
