import { api, unwrap, type Schemas } from "../api/client";

export type Shipment = Schemas["ShipmentOut"];
export type Excursion = Schemas["ExcursionOut"];
export type ReadingsSummary = Schemas["TemperatureSummaryOut"];
export type Reading = Schemas["ReadingOut"];

export async function listShipments(query: { status?: "in_transit" | "received"; case_id?: number; limit?: number } = {}): Promise<Shipment[]> {
  return unwrap(await api.GET("/api/shipments", { params: { query: { limit: 200, ...query } } }));
}

export async function getShipment(id: number): Promise<Shipment> {
  return unwrap(await api.GET("/api/shipments/{shipment_id}", { params: { path: { shipment_id: id } } }));
}

/** The readings to chart: every n-th of the logger's, the extremes kept (at most 2,000). */
export async function chartReadings(id: number): Promise<Reading[]> {
  return unwrap(await api.GET("/api/shipments/{shipment_id}/report", { params: { path: { shipment_id: id } } })).readings;
}

export async function dispose(excursionId: number, decision: "acceptable" | "reject", reason: string, password: string): Promise<Excursion> {
  return unwrap(await api.POST("/api/excursions/{excursion_id}/disposition", {
    params: { path: { excursion_id: excursionId } },
    body: { decision, reason, signature: { password } },
  }));
}

/** The meaning the server binds to a disposition's signature. */
export const DISPOSITION_MEANING = {
  acceptable: "Approval: temperature excursion acceptable",
  reject: "Rejection: temperature excursion, product not to be used",
} as const;

export const DIRECTION: Record<string, string> = {
  apheresis_to_manufacturing: "Apheresis → manufacturing",
  product_to_treatment_center: "Product → treatment center",
};

export const KIND: Record<string, string> = {
  instant: "Instant (any reading past the limit)",
  consecutive: "Consecutive minutes past the limit",
  accumulative: "Accumulated minutes past the limit",
};

/** "consecutive:high:8.0" → its parts. */
export function parseRule(rule: string): { kind: string; side: string; threshold: number | null } {
  const [kind = "", side = "", t] = rule.split(":");
  const threshold = t === undefined ? null : Number(t);
  return { kind, side, threshold: Number.isFinite(threshold) ? threshold : null };
}

export function ruleText(rule: string): string {
  const { kind, side, threshold } = parseRule(rule);
  const past = side === "low" ? "below" : "above";
  return `${kind} ${past} ${threshold ?? "?"} °C`;
}

export function pending(s: Shipment): Excursion[] {
  return s.excursions.filter((e) => e.disposition === "pending_qa");
}

/** The shipment's COI as printed: with its check character. */
export function coiOf(s: Shipment): string {
  return `${s.coi}${s.coi_check}`;
}

export function hoursSince(iso: string, now: number): number {
  return (now - Date.parse(iso)) / 3_600_000;
}
