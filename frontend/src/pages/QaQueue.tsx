import { Link, useParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { $api, apiError, POLL_MS } from "../api/queries";
import { ErrorText } from "../components/ErrorText";
import { Ident, StateBadge } from "../components/Ident";
import { caseQuery, useCaseChanged, useFollowCase } from "../journey/api";
import { useTitle } from "../lib/useTitle";
import type { CaseTable } from "./CaseBoard";
import { CaseActions } from "./case/CaseActions";
import { QcResults } from "./case/Qc";
import { Units } from "./case/Units";
import { Timeline } from "./case/Timeline";

/** QA: the release queue (QC pending) and the out-of-specification cases. */
export function QaQueue() {
  useTitle("Release queue");
  const pending = $api.useQuery("get", "/api/cases", { params: { query: { state: ["qc_pending"], limit: 200 } } }, { refetchInterval: POLL_MS });
  const oos = $api.useQuery("get", "/api/cases", { params: { query: { state: ["out_of_specification"], limit: 200 } } }, { refetchInterval: POLL_MS });
  return (
    <section aria-labelledby="qa-title">
      <h1 id="qa-title">Release queue</h1>
      <p className="muted">Cases waiting for QA release. Open a case to review its QC results against the specification and sign the decision.</p>
      <ErrorText error={apiError(pending.error)} />
      {pending.data ? <QueueTable items={pending.data.items} empty="No case is waiting for release." /> : <p aria-busy="true">Loading…</p>}
      <h2>Out of specification</h2>
      <ErrorText error={apiError(oos.error)} />
      {oos.data ? <QueueTable items={oos.data.items} empty="No case is out of specification." /> : null}
    </section>
  );
}

function QueueTable({ items, empty }: { items: Parameters<typeof CaseTable>[0]["items"]; empty: string }) {
  if (!items.length) return <p>{empty}</p>;
  return (
    <ul className="queue">
      {items.map((c) => (
        <li key={c.id}>
          <Link to={`/qa/${c.id}`} className="queue-link">
            Review <Ident value={c.coi} check={c.coi_check} />
          </Link>{" "}
          <span className="muted">{c.product} v{c.protocol_version} · {c.manufacturing_site}</span>{" "}
          <StateBadge state={c.state} />
        </li>
      ))}
    </ul>
  );
}

/** QA review of one case: QC results vs specification; release or out-of-spec with e-signature. */
export function QaReview() {
  const id = Number(useParams().caseId);
  const query = useQuery(caseQuery(id));
  const onChanged = useCaseChanged();
  const detail = query.data;
  useFollowCase(detail);
  const events = $api.useQuery("get", "/api/cases/{case_id}/events", { params: { path: { case_id: id } } });
  useTitle(detail ? `QA review ${detail.coi}${detail.coi_check}` : "QA review");
  if (query.error && !detail) return <ErrorText error={apiError(query.error)} />;
  if (!detail) return <p aria-busy="true">Loading…</p>;
  const release = events.data?.filter((e) => ["release", "decide_out_of_spec", "report_out_of_spec"].includes(e.event)) ?? [];
  return (
    <article aria-labelledby="qa-review-title">
      <h1 id="qa-review-title">QA review — <Ident value={detail.coi} check={detail.coi_check} /></h1>
      <p><StateBadge state={detail.state} /> · {detail.product} protocol v{detail.protocol_version} · <Link to={`/cases/${detail.id}`}>Full case page</Link></p>
      <section aria-labelledby="h-qc">
        <h2 id="h-qc">QC results against specification</h2>
        <QcResults detail={detail} />
      </section>
      <section aria-labelledby="h-decision">
        <h2 id="h-decision">Decision</h2>
        <CaseActions detail={detail} onChanged={onChanged} only={["release", "report_out_of_spec", "decide_out_of_spec", "hold", "resume"]} />
        {release.length ? (
          <>
            <h3>Decisions signed</h3>
            <Timeline events={{ ...events, data: release }} />
          </>
        ) : null}
      </section>
      <section aria-labelledby="h-bags">
        <h2 id="h-bags">Final product bags</h2>
        <Units detail={detail} />
      </section>
    </article>
  );
}
