import type { CaseDetail } from "../journey/api";
import type { Action } from "../journey/JourneyContext";

/** A case action as the server answers it: available, unsigned and without data unless told. */
export function action(over: Partial<Action> & Pick<Action, "event">): Action {
  return {
    summary: "", available: true, blocked_by: null, override: null, expects: null, signatures: [], needs_reason: false,
    decisions: [], calendar_site: "treatment", calendar_timezone: "Europe/Berlin", data_schema: { type: "object", properties: {} },
    defaults: { step: null, day: null },
    ...over,
  };
}

export const REASON_SCHEMA = {
  type: "object", required: ["reason"],
  properties: { reason: { type: "string", minLength: 3, maxLength: 1000, title: "Reason" } },
};

/** A case in QC, as a QA user reads it; `actions` as given. */
export function caseDetail(actions: Action[], over: Partial<CaseDetail> = {}): CaseDetail {
  return {
    id: 7, coi: "CHA999926000001", coi_check: "K", state: "qc_pending", held_from: null, version: 4, product: "yescarta", protocol_version: 1,
    collection_site: "TC-CITY", manufacturing_site: "MF-EAST", treatment_site: "TC-CITY", next_deadline: null, updated_at: "2026-01-05T10:00:00Z",
    patient: null, collection_date: "2026-01-01", manufacturing_slot: "slot 1", planned_infusion_date: null, ld_started_on: null,
    ld_completed_on: null, ld_regimen: null, milestones: {}, deadlines: [], units: [], qc_results: [], qc_required: [], monitoring: [],
    actions, ...over,
  };
}
