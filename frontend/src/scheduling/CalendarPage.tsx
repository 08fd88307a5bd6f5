import { keepPreviousData, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { $api, apiError, invalidatePaths, POLL_MS } from "../api/queries";
import { useAuth } from "../auth/AuthContext";
import { ErrorText } from "../components/ErrorText";
import { useReference } from "../journey/JourneyContext";
import { isoDateIn } from "../lib/time";
import { useTitle } from "../lib/useTitle";
import { KIND_LABELS } from "./api";
import { CalendarFeed } from "./CalendarFeed";
import { CalendarGrid } from "./CalendarGrid";
import { addDays, addMonths, rangeLabel, viewRange, type View } from "./dates";
import { SlotBooking } from "./SlotBooking";

/** The products of the protocol catalog (their keys), for filters and bookings. */
export function useProducts(): string[] {
  const protocols = $api.useQuery("get", "/api/protocols");
  return useMemo(() => [...new Set((protocols.data ?? []).map((p) => p.product))].sort(), [protocols.data]);
}

export function CalendarPage() {
  useTitle("Calendar");
  const { me, hasRole } = useAuth();
  const { sites } = useReference();
  const coordinator = hasRole("coordinator");
  // Infusion-center staff start at their center: what arrives and who is infused there.
  const ownCenter = coordinator ? "" : (me?.memberships.find((m) => m.role === "infusion_staff")?.site_code ?? "");
  const today = isoDateIn(undefined);
  const [view, setView] = useState<View>("week");
  const [anchor, setAnchor] = useState(today);
  const [site, setSite] = useState(ownCenter);
  const [product, setProduct] = useState("");
  const products = useProducts();
  const range = viewRange(view, anchor);
  const queryClient = useQueryClient();
  const entries = $api.useQuery("get", "/api/calendar", {
    params: { query: { start: range.start, end: range.end, site: site || undefined, product: product || undefined } },
  }, { refetchInterval: POLL_MS, placeholderData: keepPreviousData });
  const step = (n: number) => setAnchor(view === "week" ? addDays(anchor, 7 * n) : addMonths(anchor, n));
  const label = rangeLabel(view, anchor);
  const data = entries.data ?? [];
  return (
    <section aria-labelledby="cal-title">
      <div className="page-head">
        <h1 id="cal-title">Calendar</h1>
        {coordinator ? <a className="button" href="#book">Book a manufacturing slot</a> : null}
      </div>
      <form className="toolbar" aria-label="Calendar filters" onSubmit={(e) => e.preventDefault()}>
        <fieldset className="segmented">
          <legend className="sr-only">View</legend>
          <button type="button" aria-pressed={view === "week"} onClick={() => setView("week")}>Week</button>
          <button type="button" aria-pressed={view === "month"} onClick={() => setView("month")}>Month</button>
        </fieldset>
        <div className="cal-nav">
          <button type="button" onClick={() => step(-1)} aria-label={`Previous ${view}`}>←</button>
          <button type="button" onClick={() => setAnchor(today)}>Today</button>
          <button type="button" onClick={() => step(1)} aria-label={`Next ${view}`}>→</button>
          <strong aria-live="polite" className="cal-range">{label}</strong>
        </div>
        <div className="field">
          <label htmlFor="cal-product">Product</label>
          <select id="cal-product" value={product} onChange={(e) => setProduct(e.target.value)}>
            <option value="">All products</option>
            {products.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="cal-site">Site</label>
          <select id="cal-site" value={site} onChange={(e) => setSite(e.target.value)}>
            <option value="">All my sites</option>
            {sites.map((s) => <option key={s.code} value={s.code}>{s.code} — {s.name}</option>)}
          </select>
        </div>
      </form>
      <p className="legend">
        <span className="swatch cal-planned" aria-hidden="true" /> planned
        <span className="swatch cal-actual" aria-hidden="true" /> done
        <span className="muted"> · {Object.values(KIND_LABELS).join(", ")} · cases by COI</span>
      </p>
      <ErrorText error={apiError(entries.error)} />
      {entries.data || !entries.isPending ? (
        <>
          <p className="muted" aria-live="polite">{data.length} entr{data.length === 1 ? "y" : "ies"} in {label}.</p>
          <CalendarGrid start={range.start} end={range.end} month={range.month} today={today} entries={data}
            caption={`Planned and actual milestones, ${label}`} />
        </>
      ) : <p aria-busy="true">Loading the calendar…</p>}
      {coordinator ? (
        <section id="book" aria-labelledby="book-title" className="card">
          <h2 id="book-title">Book a manufacturing slot</h2>
          <SlotBooking products={products} onChanged={() => void invalidatePaths(queryClient, "/api/calendar")} />
        </section>
      ) : null}
      <CalendarFeed />
    </section>
  );
}
