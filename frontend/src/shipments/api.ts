import { api, unwrap, type Schemas } from "../api/client";
import { getCase } from "../journey/api";
import { useQuery } from "../lib/useQuery";

export type Shipment = Schemas["ShipmentOut"];
export type Excursion = Schemas["ExcursionOut"];
export type ReadingsSummary = Schemas["cartrack__shipments__report__SummaryOut"];
export type Reading = { at: string; temp_c: number };

export async function listShipments(query: { status?: "in_transit" | "received"; case_id?: number; limit?: number } = {}): Promise<Shipment[]> {
  return unwrap(await api.GET("/api/shipments", { params: { query: { limit: 200, ...query } } }));
}

export async function getShipment(id: number): Promise<Shipment> {
  return unwrap(await api.GET("/api/shipments/{shipment_id}", { params: { path: { shipment_id: id } } }));
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

/** COIs of the shipments' cases (the shipment answer carries only the case id). */
export function useCois(caseIds: number[]): Map<number, string> {
  const ids = [...new Set(caseIds)].sort((a, b) => a - b);
  const q = useQuery(async () => {
    const pairs = await Promise.all(ids.map(async (id) => {
      try {
        const c = await getCase(id);
        return [id, `${c.coi}${c.coi_check}`] as const;
      } catch {
        return [id, `case ${id}`] as const;
      }
    }));
    return new Map<number, string>(pairs);
  }, [ids.join(",")]);
  return q.data ?? new Map();
}

export function hoursSince(iso: string, now: number): number {
  return (now - Date.parse(iso)) / 3_600_000;
}
