import { useState } from "react";
import { EventAction, type IncomingScan } from "../../journey/EventAction";
import { actionOf, eventLabel, isSigned, type Action } from "../../journey/JourneyContext";
import type { CaseDetail } from "../../journey/api";
import type { FieldOverride, FormObject } from "../../journey/SchemaForm";
import { LabelLinks } from "./Units";
import { PrintLink } from "../../components/PrintLink";

/**
 * The case's actions for the signed-in user, from the case itself: the available ones as buttons
 * that open their form, the blocked ones disabled with the rule that stops them now.
 */
export function CaseActions({ detail, onChanged, only, exclude = [] }: {
  detail: CaseDetail;
  onChanged: (d: CaseDetail) => void;
  only?: string[];
  exclude?: string[];
}) {
  // The opened action keeps its row: after it is done the case moves on, but its receipt (what
  // was recorded, who signed) stays until another action is opened.
  const [open, setOpen] = useState<{ action: Action; n: number } | null>(null);
  const actions = detail.actions.filter((a) => (!only || only.includes(a.event)) && !exclude.includes(a.event));
  const current = open ? (actionOf(detail.actions, open.action.event) ?? open.action) : null;
  return (
    <div className="case-actions">
      {actions.length ? (
        <ActionButtons actions={actions} open={open?.action.event ?? null}
          onPick={(a) => setOpen(open?.action.event === a.event ? null : { action: a, n: (open?.n ?? 0) + 1 })} />
      ) : <p className="muted">Nothing for your role to do on this case now.</p>}
      {open && current ? (
        <ActionForm key={`${open.action.event}-${open.n}`} detail={detail} action={current}
          onDone={(d) => onChanged(d)} onCancel={() => setOpen(null)} />
      ) : null}
    </div>
  );
}

/** A button per action: available ones open their form; blocked ones are disabled, with the reason. */
export function ActionButtons({ actions, open, onPick, label = "Actions" }: {
  actions: readonly Action[];
  open: string | null;
  onPick: (action: Action) => void;
  label?: string;
}) {
  const available = actions.filter((a) => a.available);
  const blocked = actions.filter((a) => !a.available);
  return (
    <>
      {available.length ? (
        <fieldset className="action-buttons" aria-label={label}>
          {available.map((a) => (
            <button key={a.event} type="button" aria-expanded={open === a.event}
              className={a.event === "cancel" ? "danger" : ""} onClick={() => onPick(a)}>
              {eventLabel(a.event)}{isSigned(a) ? " (e-signature)" : ""}
            </button>
          ))}
        </fieldset>
      ) : null}
      {blocked.length ? (
        <ul className="blocked-actions" aria-label="Not possible now">
          {blocked.map((a) => (
            <li key={a.event}>
              <button type="button" disabled aria-describedby={`blocked-${a.event}`}>{eventLabel(a.event)}</button>{" "}
              <span id={`blocked-${a.event}`} className="blocked-reason">
                {a.blocked_by?.text}{a.blocked_by?.message ? <span className="muted"> — {a.blocked_by.message}</span> : null}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

export function ActionForm({ detail, action, onDone, onCancel, initial: given, incomingScan }: {
  detail: CaseDetail;
  action: Action;
  onDone: (d: CaseDetail, event: string) => void;
  onCancel?: () => void;
  initial?: FormObject;
  incomingScan?: IncomingScan;
}) {
  const event = action.event;
  const overrides = useOverrides(detail, event);
  const initial = { ...(initialFor(detail, action) ?? {}), ...(given ?? {}) };
  const [finished, setFinished] = useState<CaseDetail | null>(null);
  const [round, setRound] = useState(0);
  // Offered again only while the case still allows it (e.g. not after the last process step).
  const again = REPEATABLE[event] && action.available ? REPEATABLE[event] : undefined;
  return (
    <div className="action-panel">
      <EventAction key={round} caseId={detail.id}
        again={again ? { label: again, onClick: () => { setFinished(null); setRound(round + 1); } } : undefined} version={detail.version} action={action}
        overrides={overrides} initial={initial} onCancel={onCancel} incomingScan={incomingScan}
        onDone={(d) => { setFinished(d); onDone(d, event); }}>
        {finished && ["record_collection", "complete_manufacturing"].includes(event) ? (
          <div className="print-now">
            <p><strong>Print the labels now</strong> and put them on the bags before they leave the room.</p>
            <ul className="print-links">
              {finished.units.filter((u) => u.kind === (event === "record_collection" ? "apheresis" : "product") && ["collected", "cryopreserved", "labeled"].includes(u.status)).map((u) => (
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
    const tests = detail.qc_required;
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

function initialFor(detail: CaseDetail, action: Action): Record<string, string> | undefined {
  if (action.event === "record_process_step") {
    return action.defaults.step ? { step: action.defaults.step } : undefined;
  }
  if (action.event === "record_qc_result") {
    const next = detail.qc_required.find((t) => t.latest === null) ?? detail.qc_required[0];
    return next ? { test: next.code } : undefined;
  }
  if (action.event === "record_monitoring_check") {
    return { ...(action.defaults.day ? { day: String(action.defaults.day) } : {}), crs_grade: "0", icans_grade: "0" };
  }
  return undefined;
}
