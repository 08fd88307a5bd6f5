import { api, unwrap, type Schemas } from "../api/client";

export type CalendarEntry = Schemas["CalendarEntry"];
export type AvailabilityDay = Schemas["AvailabilityDay"];
export type Slot = Schemas["SlotOut"];
export type Plan = Schemas["PlanOut"];
export type ReasonCode = Schemas["ReasonCode"];

/** The case's slot, or null when it has none (404 no_slot). */
export async function getSlot(caseId: number): Promise<Slot | null> {
  const result = await api.GET("/api/cases/{case_id}/slot", { params: { path: { case_id: caseId } } });
  if (result.response.status === 404) return null;
  return unwrap(result);
}

const path = (caseId: number) => ({ params: { path: { case_id: caseId } } });

export async function holdSlot(caseId: number, day: string, bufferDays: number): Promise<Slot> {
  return unwrap(await api.POST("/api/cases/{case_id}/slot", { ...path(caseId), body: { day, buffer_days: bufferDays } }));
}

export async function confirmSlot(caseId: number, password: string): Promise<Slot> {
  return unwrap(await api.POST("/api/cases/{case_id}/slot/confirm", { ...path(caseId), body: { signature: { password } } }));
}

export async function rescheduleSlot(caseId: number, body: { day: string; buffer_days: number | null; reason_code: ReasonCode; reason_text: string }): Promise<Slot> {
  return unwrap(await api.POST("/api/cases/{case_id}/slot/reschedule", { ...path(caseId), body }));
}

export async function releaseSlot(caseId: number, body: { reason_code: ReasonCode; reason_text: string }): Promise<Slot> {
  return unwrap(await api.POST("/api/cases/{case_id}/slot/release", { ...path(caseId), body }));
}

/** The meaning the server binds to the confirming signature. */
export const CONFIRM_MEANING = "Approved: manufacturing slot";

export const REASONS: Array<[ReasonCode, string]> = [
  ["patient_clinical", "Patient: clinical"],
  ["patient_logistics", "Patient: logistics"],
  ["collection_failed", "Collection failed"],
  ["mfg_capacity", "Manufacturing capacity"],
  ["mfg_failure_remanufacture", "Manufacturing failure, remanufacture"],
  ["courier", "Courier"],
  ["payer", "Payer"],
  ["other", "Other"],
];

export const KIND_LABELS: Record<string, string> = {
  collection: "Collection",
  manufacturing_start: "Manufacturing start",
  release: "Release",
  delivery: "Delivery",
  ld_start: "Lymphodepletion",
  infusion: "Infusion",
};

export const SLOT_STATUS: Record<string, string> = {
  held: "Held (not yet confirmed)",
  confirmed: "Confirmed",
  consumed: "Consumed (manufacturing started)",
  expired: "Expired",
  released: "Released",
};

/** The next open days a slot_full refusal lists. */
export function nextOpenDays(context: unknown): string[] {
  const days = (context as { next_open_days?: unknown } | null | undefined)?.next_open_days;
  return Array.isArray(days) ? days.filter((d): d is string => typeof d === "string") : [];
}
