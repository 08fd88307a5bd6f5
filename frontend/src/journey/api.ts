import { api, sendOnce, unwrap, wasReplayed, type Schemas } from "../api/client";
import type { paths } from "../api/schema";

export type CaseDetail = Schemas["CaseDetail"];
export type CaseSummary = Schemas["CaseSummary"];
export type EventOut = Schemas["EventOut"];
export type EventBody = paths["/api/cases/{case_id}/events"]["post"]["requestBody"]["content"]["application/json"];

export async function getCase(caseId: number): Promise<CaseDetail> {
  return unwrap(await api.GET("/api/cases/{case_id}", { params: { path: { case_id: caseId } } }));
}

export async function applyEvent(caseId: number, body: { event: string; data: unknown; expected_version?: number; signature?: { password: string } }): Promise<CaseDetail> {
  const path = `/api/cases/${caseId}/events`;
  const result = await sendOnce(`POST ${path} ${JSON.stringify(body)}`, (key) =>
    api.POST("/api/cases/{case_id}/events", {
      params: { path: { case_id: caseId }, header: { "Idempotency-Key": key } },
      // The form builds the data from the event's own JSON schema; the server validates it.
      body: body as EventBody,
    }));
  const detail = unwrap(result);
  // A repeat is answered with the stored outcome, which keeps no patient details: read the case.
  return wasReplayed(result.response) ? getCase(caseId) : detail;
}

export async function getTimeline(caseId: number): Promise<EventOut[]> {
  return unwrap(await api.GET("/api/cases/{case_id}/events", { params: { path: { case_id: caseId } } }));
}
