import { createContext, useContext, useMemo, type ReactNode } from "react";
import type { Schemas } from "../api/client";
import { $api } from "../api/queries";

export type Transition = Schemas["TransitionOut"];
export type Journey = Schemas["JourneyOut"];
export type Site = Schemas["SiteOut"];
/** One thing the signed-in user may do to a case now, or would but for the guard named. */
export type Action = Schemas["ActionOut"];
export type EventName = Schemas["EventName"];
export type State = Schemas["State"];

interface Reference {
  journey: Journey | undefined;
  sites: Site[];
  transition: (event: string) => Transition | undefined;
  siteTz: (code: string | null | undefined) => string | undefined;
}

const RefContext = createContext<Reference | null>(null);

/** The journey table and the sites, loaded once after sign-in (the cache is cleared at sign-out). */
export function ReferenceProvider({ children }: { children: ReactNode }) {
  const journey = $api.useQuery("get", "/api/journey", undefined, { staleTime: Number.POSITIVE_INFINITY });
  const sites = $api.useQuery("get", "/api/sites");
  const value = useMemo<Reference>(() => {
    const byEvent = new Map<string, Transition>((journey.data?.transitions ?? []).map((t) => [t.event, t]));
    const siteList = sites.data ?? [];
    return {
      journey: journey.data,
      sites: siteList,
      transition: (event) => byEvent.get(event),
      siteTz: (code) => siteList.find((s) => s.code === code)?.timezone,
    };
  }, [journey.data, sites.data]);
  return <RefContext.Provider value={value}>{children}</RefContext.Provider>;
}

export function useReference(): Reference {
  const ctx = useContext(RefContext);
  if (!ctx) throw new Error("useReference outside ReferenceProvider");
  return ctx;
}

/** The journey table's row for an event, when the reference is loaded (undefined outside it). */
export function useTransition(event: string): Transition | undefined {
  return useContext(RefContext)?.transition(event);
}

/** The case's action for an event: available or blocked, or undefined when not the user's to do. */
export function actionOf(actions: readonly Action[], event: string): Action | undefined {
  return actions.find((a) => a.event === event);
}

/** The case's action for an event when it is available now. */
export function availableAction(actions: readonly Action[], event: string): Action | undefined {
  const a = actionOf(actions, event);
  return a?.available ? a : undefined;
}

/** The e-signature the signer gives for this action and data (the second signer signs apart). */
export function signatureMeaning(action: Action, data: Record<string, unknown>): string | null {
  const own = action.signatures.filter((s) => !s.second_signer && (s.decision == null || s.decision === data.decision));
  return own[0]?.meaning ?? null;
}

/** The action takes an e-signature (whatever the decision). */
export function isSigned(action: Action): boolean {
  return action.signatures.length > 0;
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
