import type { Schemas } from "../api/client";
import { $api } from "../api/queries";

export type IntervalsOut = Schemas["IntervalsOut"];
export type IntervalGroup = Schemas["IntervalGroup"];
export type RatesOut = Schemas["RatesOut"];
export type Rate = Schemas["Rate"];
export type WaterfallOut = Schemas["WaterfallOut"];
export type ReferencesOut = Schemas["ReferencesOut"];
export type Reference = Schemas["Reference"];
export type CaseInterval = Schemas["CaseInterval"];
export type MetricId = Schemas["MetricId"];

export const METRICS: Array<{ id: MetricId; label: string }> = [
  { id: "v2v", label: "Vein to vein" },
  { id: "collection_to_mfg_start", label: "Collection to manufacturing start" },
  { id: "mfg_turnaround", label: "Manufacturing turnaround (collection to release)" },
  { id: "mfg_duration", label: "Manufacturing and QC (start to release)" },
  { id: "release_to_infusion", label: "Release to infusion" },
  { id: "ld_to_infusion", label: "Lymphodepletion to infusion" },
  { id: "thaw_to_infusion", label: "Thaw to infusion (minutes)" },
];

export interface Period {
  start?: string;
  end?: string;
  product?: string;
}

const q = (p: Period) => ({ start: p.start || undefined, end: p.end || undefined, product: p.product || undefined });

// Query options for useQuery (TanStack): the key is the path and its parameters.
export function intervals(metric: MetricId, groupBy: string, p: Period) {
  return $api.queryOptions("get", "/api/analytics/intervals", { params: { query: { metric, group_by: groupBy, ...q(p) } } });
}

export function rates(p: Period) {
  return $api.queryOptions("get", "/api/analytics/rates", { params: { query: { group_by: "", ...q(p) } } });
}

export function waterfall(p: Period) {
  return $api.queryOptions("get", "/api/analytics/waterfall", { params: { query: q(p) } });
}

export function references() {
  return $api.queryOptions("get", "/api/analytics/references");
}

export function cases(metric: MetricId, status: string, p: Period, limit: number) {
  return $api.queryOptions("get", "/api/analytics/cases", {
    params: { query: { metric, status: (status || undefined) as Schemas["Status"] | undefined, limit, ...q(p) } },
  });
}

export function exportUrl(p: Period): string {
  const params = new URLSearchParams();
  Object.entries(q(p)).forEach(([k, v]) => { if (v) params.set(k, v); });
  const query = params.toString();
  return `/api/analytics/export.csv${query ? `?${query}` : ""}`;
}

/** "27 days", "1 day", "18 min". */
export function formatValue(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined) return "—";
  const n = Number.isInteger(value) ? String(value) : value.toFixed(1);
  if (unit === "minutes") return `${n} min`;
  return `${n} day${value === 1 ? "" : "s"}`;
}

export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)} %`;
}
