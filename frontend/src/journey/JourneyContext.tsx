import { createContext, useContext, useMemo, type ReactNode } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { useAuth, type Role } from "../auth/AuthContext";
import { useQuery } from "../lib/useQuery";

export type Transition = Schemas["TransitionOut"];
export type Journey = Schemas["JourneyOut"];
export type Site = Schemas["SiteOut"];

interface Reference {
  journey: Journey | undefined;
  sites: Site[];
  transition: (event: string) => Transition | undefined;
  /** Events of `allowed` the signed-in user's roles may perform. */
  mine: (allowed: readonly string[]) => Transition[];
  siteTz: (code: string | null | undefined) => string | undefined;
}

const RefContext = createContext<Reference | null>(null);

/** The journey table and the sites, loaded once after sign-in. */
export function ReferenceProvider({ children }: { children: ReactNode }) {
  const { me } = useAuth();
  const journey = useQuery(async () => unwrap(await api.GET("/api/journey")), [me?.id]);
  const sites = useQuery(async () => unwrap(await api.GET("/api/sites")), [me?.id]);
  const value = useMemo<Reference>(() => {
    const roles = new Set<Role>(me?.memberships.map((m) => m.role) ?? []);
    const byEvent = new Map((journey.data?.transitions ?? []).map((t) => [t.event, t]));
    const siteList = sites.data ?? [];
    return {
      journey: journey.data,
      sites: siteList,
      transition: (event) => byEvent.get(event),
      mine: (allowed) =>
        allowed.map((e) => byEvent.get(e)).filter((t): t is Transition => !!t && t.roles.some((r) => roles.has(r as Role))),
      siteTz: (code) => siteList.find((s) => s.code === code)?.timezone,
    };
  }, [journey.data, sites.data, me]);
  return <RefContext.Provider value={value}>{children}</RefContext.Provider>;
}

export function useReference(): Reference {
  const ctx = useContext(RefContext);
  if (!ctx) throw new Error("useReference outside ReferenceProvider");
  return ctx;
}

/** Human words for an event name: "record_qc_result" → "Record QC result". */
export function eventLabel(event: string): string {
  const special: Record<string, string> = {
    record_qc_result: "Record QC result",
    report_out_of_spec: "Report out of specification",
    decide_out_of_spec: "Decide on out-of-specification product",
    start_lymphodepletion: "Start lymphodepletion",
    complete_lymphodepletion: "Complete lymphodepletion",
    ship_to_treatment_center: "Ship to treatment center",
    receive_at_treatment_center: "Receive at treatment center",
  };
  if (special[event]) return special[event];
  const s = event.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function stateLabel(state: string): string {
  const s = state.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}
