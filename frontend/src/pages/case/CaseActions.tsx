import { useState } from "react";
import { EventAction, type IncomingScan } from "../../journey/EventAction";
import { eventLabel, useReference, type Transition } from "../../journey/JourneyContext";
import type { CaseDetail } from "../../journey/api";
import { isoDateIn } from "../../lib/time";
import type { FieldOverride, FormObject } from "../../journey/SchemaForm";
import { LabelLinks } from "./Units";
import { PrintLink } from "../../components/PrintLink";

/** The journey's allowed next events for this case that the signed-in user's roles may perform. */
export function CaseActions({ detail, onChanged, only, exclude = [] }: {
  detail: CaseDetail;
  onChanged: (d: CaseDetail) => void;
  only?: string[];
  exclude?: string[];
}) {
  const { mine } = useReference();
  // The opened action keeps its transition: after it is done the case moves on, but its receipt
  // (what was recorded, who signed) stays until another action is opened.
  const [open, setOpen] = useState<{ t: Transition; n: number } | null>(null);
  const events = mine(detail.allowed_events).filter((t) => (!only || only.includes(t.event)) && !exclude.includes(t.event) && !settled(detail, t.event));
  return (
    <div className="case-actions">
      {events.length ? (
        <div className="action-buttons" role="group" aria-label="Actions">
          {events.map((t) => (
            <button key={t.event} type="button" aria-expanded={open?.t.event === t.event}
              className={t.event === "cancel" ? "danger" : ""}
              onClick={() => setOpen(open?.t.event === t.event ? null : { t, n: (open?.n ?? 0) + 1 })}>
              {eventLabel(t.event)}{t.signature ? " (e-signature)" : ""}
            </button>
          ))}
        </div>
      ) : <p className="muted">Nothing for your role to do on this case now.</p>}
      {open ? (
        <ActionForm key={`${open.t.event}-${open.n}`} detail={detail} transition={open.t}
          onDone={(d) => onChanged(d)} onCancel={() => setOpen(null)} />
      ) : null}
    </div>
  );
}

/** Milestone events the table allows by state but the case has already done. */
export function settled(detail: CaseDetail, event: string): boolean {
  if (event === "start_lymphodepletion") return !!detail.ld_started_on;
  if (event === "complete_lymphodepletion") return !detail.ld_started_on || !!detail.ld_completed_on;
  return false;
}

export function ActionForm({ detail, transition, onDone, onCancel, initial: given, incomingScan }: {
  detail: CaseDetail;
  transition: Transition;
  onDone: (d: CaseDetail, event: string) => void;
  onCancel?: () => void;
  initial?: FormObject;
  incomingScan?: IncomingScan;
}) {
  const { siteTz } = useReference();
  const tzFor = (event: string) => {
    if (["schedule_collection", "record_collection", "ship_to_manufacturing"].includes(event)) return siteTz(detail.collection_site);
    if (["start_lymphodepletion", "complete_lymphodepletion", "thaw", "infuse", "record_monitoring_check"].includes(event)) return siteTz(detail.treatment_site);
    return siteTz(detail.manufacturing_site);
  };
  const today = isoDateIn(tzFor(transition.event));
  const overrides = useOverrides(detail, transition.event);
  const initial = { ...(initialFor(detail, transition.event) ?? {}), ...(given ?? {}) };
  const [finished, setFinished] = useState<CaseDetail | null>(null);
  const [round, setRound] = useState(0);
  const again = REPEATABLE[transition.event];
  return (
    <div className="action-panel">
      <EventAction key={round} caseId={detail.id}
        again={again ? { label: again, onClick: () => { setFinished(null); setRound(round + 1); } } : undefined} version={detail.version} transition={transition} today={today}
        overrides={overrides} initial={initial} onCancel={onCancel} incomingScan={incomingScan}
        onDone={(d) => { setFinished(d); onDone(d, transition.event); }}>
        {finished && ["record_collection", "complete_manufacturing"].includes(transition.event) ? (
          <div className="print-now">
            <p><strong>Print the labels now</strong> and put them on the bags before they leave the room.</p>
            <ul className="print-links">
              {finished.units.filter((u) => u.kind === (transition.event === "record_collection" ? "apheresis" : "product") && ["collected", "cryopreserved", "labeled"].includes(u.status)).map((u) => (
                <li key={u.unit_id}><PrintLink className="button primary" target={{ unit: u.unit_id, format: "pdf" }}>Print label {u.unit_id}</PrintLink></li>
              ))}
            </ul>
            <LabelLinks caseId={detail.id} />
          </div>
        ) : null}
      </EventAction>
    </div>
  );
}

function useOverrides(detail: CaseDetail, event: string): Record<string, FieldOverride> {
  if (event === "record_qc_result") {
    const tests = detail.qc_required as Array<{ code: string; name: string; spec: string }>;
    return {
      test: {
        render: (value, set, id) => (
          <select id={id} value={String(value || tests[0]?.code || "")} onChange={(e) => set(e.target.value)} aria-label="QC test">
            {tests.map((t) => <option key={t.code} value={t.code}>{t.name} — specification {t.spec}</option>)}
          </select>
        ),
      },
    };
  }
  return {};
}

const REPEATABLE: Record<string, string> = {
  record_qc_result: "Record another QC result",
  record_process_step: "Record the next process step",
  record_monitoring_check: "Record another monitoring check",
};

const STEPS = ["activation", "transduction", "expansion", "harvest", "formulation"];

function initialFor(detail: CaseDetail, event: string): Record<string, string> | undefined {
  const m = (detail.milestones ?? {}) as Record<string, unknown>;
  if (event === "record_process_step") {
    const next = STEPS.find((s) => !m[`step_${s}_at`]);
    return next ? { step: next } : undefined;
  }
  if (event === "record_qc_result") {
    const tests = detail.qc_required as Array<{ code: string; latest: boolean | null }>;
    const next = tests.find((t) => t.latest === null) ?? tests[0];
    return next ? { test: next.code } : undefined;
  }
  if (event === "record_monitoring_check") {
    const checks = detail.monitoring as Array<{ day: number }>;
    const day = checks.length ? Math.max(...checks.map((c) => c.day)) + 1 : 1;
    return { day: String(day), crs_grade: "0", icans_grade: "0" };
  }
  return undefined;
}
