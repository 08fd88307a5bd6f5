import { useState } from "react";
import { Link } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { $api, apiError } from "../api/queries";
import { useAuth } from "../auth/AuthContext";
import { BoxPlots } from "../analytics/BoxPlots";
import { Waterfall } from "../analytics/Waterfall";
import * as A from "../analytics/api";
import { ErrorText } from "../components/ErrorText";
import { Ident } from "../components/Ident";
import { formatDate, isoDateIn } from "../lib/time";
import { useTitle } from "../lib/useTitle";

const PAGE = 25;

export function Analytics() {
  useTitle("Analytics");
  const [period, setPeriod] = useState<A.Period>({ start: isoDateIn(undefined, new Date(), -365), end: isoDateIn(undefined) });
  const protocols = $api.useQuery("get", "/api/protocols");
  const productName = (code: string) => protocols.data?.find((p) => p.product === code && p.current)?.name.split(" (")[0] ?? code;
  const keep = { placeholderData: keepPreviousData };
  const overall = useQuery({ ...A.intervals("v2v", "", period), ...keep });
  const byProduct = useQuery({ ...A.intervals("v2v", "product", { ...period, product: undefined }), ...keep });
  const rates = useQuery({ ...A.rates(period), ...keep });
  const fall = useQuery({ ...A.waterfall(period), ...keep });
  const refs = useQuery(A.references());
  const products = [...new Set((protocols.data ?? []).map((p) => p.product))].sort();
  const error = apiError(overall.error ?? byProduct.error ?? rates.error ?? fall.error ?? refs.error);
  return (
    <section aria-labelledby="analytics-title">
      <div className="page-head">
        <h1 id="analytics-title">Vein-to-vein analytics</h1>
        <a className="button" href={A.exportUrl(period)} download>Export CSV</a>
      </div>
      <form className="toolbar" aria-label="Period and product" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="an-start">From (collection date)</label>
          <input id="an-start" type="date" value={period.start ?? ""} onChange={(e) => setPeriod({ ...period, start: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="an-end">To</label>
          <input id="an-end" type="date" value={period.end ?? ""} onChange={(e) => setPeriod({ ...period, end: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="an-product">Product</label>
          <select id="an-product" value={period.product ?? ""} onChange={(e) => setPeriod({ ...period, product: e.target.value || undefined })}>
            <option value="">All products</option>
            {products.map((p) => <option key={p} value={p}>{productName(p)}</option>)}
          </select>
        </div>
      </form>
      <ErrorText error={error} />
      <KpiTiles overall={overall.data} rates={rates.data} />
      <h2 id="box-title">Vein to vein per product, against published medians</h2>
      {byProduct.data && refs.data ? (
        <BoxPlots groups={byProduct.data.groups} references={refs.data.references} productName={productName} />
      ) : <p className="muted" aria-busy="true">Loading…</p>}
      <p className="muted">{byProduct.data?.quantile_method}</p>
      <h2>Where the days go</h2>
      {fall.data ? <Waterfall data={fall.data} /> : <p className="muted" aria-busy="true">Loading…</p>}
      <DrillDown period={period} productName={productName} />
    </section>
  );
}

function KpiTiles({ overall, rates }: { overall?: A.IntervalsOut; rates?: A.RatesOut }) {
  const v2v = overall?.groups[0];
  const rate = (id: string) => rates?.groups[0]?.rates.find((r) => r.id === id);
  const tiles: Array<{ label: string; value: string; note: string }> = [
    { label: "Median vein to vein", value: A.formatValue(v2v?.value.median, "days"),
      note: v2v ? `IQR ${v2v.value.p25}–${v2v.value.p75} d · n=${v2v.n} · ${v2v.open} open` : "no infusions in the period" },
    ...(["manufacturing_failure", "infusion", "on_time_delivery"] as const).map((id) => {
      const r = rate(id);
      return { label: r?.label ?? id, value: A.percent(r?.rate), note: r ? `${r.numerator} of ${r.denominator}${r.open ? ` · ${r.open} open` : ""}` : "—" };
    }),
  ];
  const missing = rates?.not_available.find((n) => n.id === "slot_utilisation");
  return (
    <ul className="kpis" aria-label="Key figures">
      {tiles.map((t) => (
        <li key={t.label} className="kpi">
          <span className="kpi-label">{t.label}</span>
          <strong className="kpi-value">{t.value}</strong>
          <span className="kpi-note">{t.note}</span>
        </li>
      ))}
      <li className="kpi kpi-missing">
        <span className="kpi-label">Slot utilisation</span>
        <strong className="kpi-value">not yet</strong>
        <span className="kpi-note">{missing?.reason ?? "Not computed yet."}</span>
      </li>
    </ul>
  );
}

function DrillDown({ period, productName }: { period: A.Period; productName: (code: string) => string }) {
  const { hasRole } = useAuth();
  const [metric, setMetric] = useState<A.MetricId>("v2v");
  const [status, setStatus] = useState("");
  const [limit, setLimit] = useState(PAGE);
  const rows = useQuery({ ...A.cases(metric, status, period, limit), placeholderData: keepPreviousData });
  const unit = metric === "thaw_to_infusion" ? "minutes" : "days";
  const linked = hasRole("coordinator", "qa");
  return (
    <>
      <h2 id="drill-title">Cases behind the numbers</h2>
      <div className="toolbar">
        <div className="field">
          <label htmlFor="dd-metric">Interval</label>
          <select id="dd-metric" value={metric} onChange={(e) => { setLimit(PAGE); setMetric(e.target.value as A.MetricId); }}>
            {A.METRICS.map((m) => <option key={m.id} value={m.id}>{m.label}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="dd-status">Cases</label>
          <select id="dd-status" value={status} onChange={(e) => { setLimit(PAGE); setStatus(e.target.value); }}>
            <option value="">All</option>
            <option value="done">Reached the end (in n)</option>
            <option value="open">Open</option>
            <option value="stopped">Ended without it (cancelled)</option>
          </select>
        </div>
      </div>
      <ErrorText error={apiError(rows.error)} />
      <table aria-labelledby="drill-title" data-testid="drilldown">
        <thead>
          <tr><th scope="col">COI</th><th scope="col">Product</th><th scope="col">Sites</th><th scope="col">From</th><th scope="col">To</th><th scope="col">{unit === "days" ? "Days" : "Minutes"}</th><th scope="col">Hours</th><th scope="col">Status</th></tr>
        </thead>
        <tbody>
          {(rows.data?.items ?? []).map((c) => (
            <tr key={c.case_id}>
              <td>{linked ? <Link to={`/cases/${c.case_id}`} aria-label={`Case ${c.coi}`}><Ident value={c.coi} check={c.coi_check} /></Link> : <Ident value={c.coi} check={c.coi_check} />}</td>
              <td>{productName(c.product)}</td>
              <td className="sites">{c.collection_site} → {c.manufacturing_facility} → {c.treatment_site}</td>
              <td>{formatDate(c.start)}</td>
              <td>{c.end ? formatDate(c.end) : "—"}</td>
              <td>{A.formatValue(c.value, unit)}</td>
              <td>{c.hours ?? "—"}</td>
              <td>{c.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.data && rows.data.total > rows.data.items.length ? (
        <div className="pager">
          <span>{rows.data.items.length} of {rows.data.total}</span>
          <button type="button" onClick={() => setLimit(limit + PAGE)}>Show more</button>
        </div>
      ) : rows.data ? <p className="muted">{rows.data.total} cases.</p> : null}
    </>
  );
}
