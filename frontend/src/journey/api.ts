import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef } from "react";
import { $api, invalidatePaths, refreshPaths } from "../api/queries";
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

/** The query options of a case's detail (its key is where a write puts the case it answered). */
export function caseQuery(caseId: number) {
  return $api.queryOptions("get", "/api/cases/{case_id}", { params: { path: { case_id: caseId } } });
}

/**
 * The paths a journey event changes: cases (board, detail, timeline, audit, slot), bags' custody,
 * alerts, and the shipments a ship or receive event opens or closes.
 */
export const CASE_PATHS = ["/api/cases", "/api/units", "/api/alerts", "/api/shipments"];

/**
 * After a write answered with the case: show that case at once, and read again what it changed.
 */
export function useCaseChanged(): (detail: CaseDetail) => void {
  const queryClient = useQueryClient();
  return useCallback((detail: CaseDetail) => {
    queryClient.setQueryData(caseQuery(detail.id).queryKey, detail);
    void invalidatePaths(queryClient, ...CASE_PATHS);
  }, [queryClient]);
}

/**
 * When the case's version moves (a poll saw someone else's change), reads again what hangs off
 * the case on screen: its timeline and audit, its slot, its bags' custody, its alerts, its shipments.
 */
export function useFollowCase(detail: CaseDetail | undefined): void {
  const queryClient = useQueryClient();
  const seen = useRef<{ id: number; version: number } | null>(null);
  const id = detail?.id;
  const version = detail?.version;
  useEffect(() => {
    if (id === undefined || version === undefined) return;
    const last = seen.current;
    seen.current = { id, version };
    if (last && last.id === id && last.version !== version) {
      void refreshPaths(queryClient, "/api/cases/{case_id}/", "/api/units", "/api/alerts", "/api/shipments");
    }
  }, [queryClient, id, version]);
}
