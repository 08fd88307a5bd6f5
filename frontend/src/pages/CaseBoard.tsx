import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import type { Schemas } from "../api/client";
import { keepPreviousData } from "@tanstack/react-query";
import { $api, apiError, POLL_MS } from "../api/queries";
import { useAuth } from "../auth/AuthContext";
import { Countdown } from "../components/Countdown";
import { ErrorText } from "../components/ErrorText";
import { Ident, StateBadge } from "../components/Ident";
import { useReference, stateLabel } from "../journey/JourneyContext";
import type { CaseSummary } from "../journey/api";
import { riskOf, useNow } from "../lib/time";
import { useTitle } from "../lib/useTitle";

const PAGE = 50;
type State = Schemas["State"];

export function CaseBoard() {
  useTitle("Case board");
  const { hasRole } = useAuth();
  const { journey } = useReference();
  const [q, setQ] = useState("");
  const [search, setSearch] = useState("");
  const [state, setState] = useState("");
  const [offset, setOffset] = useState(0);
  const cases = $api.useQuery("get", "/api/cases", {
    params: { query: { q: search || undefined, state: state ? [state as State] : undefined, limit: PAGE, offset } },
  }, { refetchInterval: POLL_MS, placeholderData: keepPreviousData });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setOffset(0);
    setSearch(q.trim());
  };
  const page = cases.data;
  // Clinical staff may also find a patient; the server decides case by case what matches.
  const findsPatients = (["coordinator", "collection_staff", "infusion_staff", "admin"] as const).some((r) => hasRole(r));
  return (
    <section aria-labelledby="board-title">
      <div className="page-head">
        <h1 id="board-title">Case board</h1>
        {hasRole("coordinator") ? <Link className="button primary" to="/cases/new">Enroll a patient</Link> : null}
      </div>
      {/* biome-ignore lint/a11y/useSemanticElements: a form with the search role; <search> is not yet known to every screen reader */}
      <form className="toolbar" role="search" onSubmit={submit}>
        <div className="field">
          <label htmlFor="case-search">{findsPatients ? "Search by COI, unit ID, patient name, MRN or date of birth" : "Search by COI or unit ID"}</label>
          <input id="case-search" value={q} onChange={(e) => setQ(e.target.value)}
            placeholder={findsPatients ? "CHA9999…, a name, an MRN or 1970-01-31" : "CHA9999… or A9999…"} />
        </div>
        <div className="field">
          <label htmlFor="case-state">State</label>
          <select id="case-state" value={state} onChange={(e) => { setOffset(0); setState(e.target.value); }}>
            <option value="">All states</option>
            {(journey?.states ?? []).map((s) => <option key={s} value={s}>{stateLabel(s)}</option>)}
          </select>
        </div>
        <button type="submit">Search</button>
        {search ? <button type="button" onClick={() => { setQ(""); setSearch(""); }}>Clear search</button> : null}
      </form>
      <ErrorText error={apiError(cases.error)} />
      <p className="legend" aria-hidden="true">
        <span className="swatch risk-red" /> due in under 2 h or overdue <span className="swatch risk-amber" /> due in under 24 h
      </p>
      {page ? <CaseTable items={page.items} /> : <p aria-busy="true">Loading cases…</p>}
      {page && page.total > PAGE ? (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
          <span>{offset + 1}–{Math.min(offset + PAGE, page.total)} of {page.total}</span>
          <button type="button" disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)}>Next</button>
        </nav>
      ) : null}
    </section>
  );
}

export function CaseTable({ items, empty = "No cases match." }: { items: CaseSummary[]; empty?: string }) {
  const now = useNow(15_000);
  if (!items.length) return <p>{empty}</p>;
  const withPatients = items.some((c) => c.patient);
  return (
    <table className="cases">
      <caption className="sr-only">Cases, most recently changed first</caption>
      <thead>
        <tr>
          <th scope="col">COI</th>
          {withPatients ? <th scope="col">Patient</th> : null}
          <th scope="col">Product</th>
          <th scope="col">State</th>
          <th scope="col">Sites</th>
          <th scope="col">Next deadline</th>
        </tr>
      </thead>
      <tbody>
        {items.map((c) => {
          const risk = riskOf(c.next_deadline?.due_at, now);
          return (
            <tr key={c.id} className={`risk-row risk-${risk}`} data-risk={risk}>
              <th scope="row"><Link to={`/cases/${c.id}`}><Ident value={c.coi} check={c.coi_check} /></Link></th>
              {withPatients ? (
                <td className="patient">
                  {c.patient ? <>{c.patient.family_name}, {c.patient.given_name} <span className="muted">MRN {c.patient.mrn} · born {c.patient.date_of_birth}</span></> : <span className="muted">—</span>}
                </td>
              ) : null}
              <td>{c.product} <span className="muted">v{c.protocol_version}</span></td>
              <td><StateBadge state={c.state} />{c.held_from ? <span className="muted"> (from {stateLabel(c.held_from).toLowerCase()})</span> : null}</td>
              <td className="sites">{c.collection_site} → {c.manufacturing_site} → {c.treatment_site}</td>
              <td>
                {c.next_deadline ? (
                  <>
                    <span className="deadline-label">{c.next_deadline.label}</span>{" "}
                    <Countdown dueAt={c.next_deadline.due_at} />
                  </>
                ) : <span className="muted">none open</span>}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
