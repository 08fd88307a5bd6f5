import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { asApiError, type ApiError } from "../api/client";
import { apiError, invalidatePaths } from "../api/queries";
import { useAuth } from "../auth/AuthContext";
import { Dialog } from "../components/Dialog";
import { ESignDialog } from "../components/ESignDialog";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import type { CaseDetail } from "../journey/api";
import { useReference } from "../journey/JourneyContext";
import { formatDate, formatDateTime, isoDateIn } from "../lib/time";
import {
  CONFIRM_MEANING, confirmSlot, getSlot, nextOpenDays, REASONS, releaseSlot, rescheduleSlot, SLOT_STATUS,
  type Plan, type ReasonCode, type Slot,
} from "./api";
import { addDays } from "./dates";

type Where = "collection_site" | "manufacturing_site" | "treatment_site";

/** Each planned date of the slot's plan, the actual moment it pairs with, and where it happens. */
const ROWS: Array<{ key: keyof Plan; label: string; where: Where; actual: (d: CaseDetail) => string | null | undefined; isDate?: boolean }> = [
  { key: "apheresis", label: "Apheresis collection", where: "collection_site", actual: (d) => ms(d).collected_at },
  { key: "receipt", label: "Received at manufacturing", where: "manufacturing_site", actual: (d) => ms(d).received_at_manufacturing_at },
  { key: "manufacturing_start", label: "Manufacturing start", where: "manufacturing_site", actual: (d) => ms(d).manufacturing_started_at },
  { key: "release", label: "Release", where: "manufacturing_site", actual: (d) => ms(d).released_at },
  { key: "delivery", label: "Delivery to the treatment center", where: "treatment_site", actual: (d) => ms(d).received_at_treatment_center_at },
  { key: "ld_start", label: "Lymphodepletion start", where: "treatment_site", actual: (d) => d.ld_started_on, isDate: true },
  { key: "ld_end", label: "Lymphodepletion end", where: "treatment_site", actual: (d) => d.ld_completed_on, isDate: true },
  { key: "infusion", label: "Infusion", where: "treatment_site", actual: (d) => ms(d).infused_at },
];

function ms(d: CaseDetail): Record<string, string | undefined> {
  return (d.milestones ?? {}) as Record<string, string | undefined>;
}

const ACTIVE = new Set(["held", "confirmed"]);

/** The case's manufacturing slot and its derived plan next to the actual dates, with its actions. */
export function CaseSlot({ detail }: { detail: CaseDetail }) {
  const { hasRole } = useAuth();
  const queryClient = useQueryClient();
  // Composed: a missing slot (404 no_slot) is an answer (null), not an error. A change of the
  // case (its path) reads it again.
  const slot = useQuery({ queryKey: ["composed", "/api/cases/{case_id}/slot", detail.id], queryFn: () => getSlot(detail.id) });
  const [shown, setShown] = useState<Slot | null>();
  const [dialog, setDialog] = useState<"confirm" | "reschedule" | "release" | null>(null);
  const [done, setDone] = useState("");
  const current = shown !== undefined && (shown?.id ?? 0) >= (slot.data?.id ?? 0) ? shown : slot.data;
  const coordinator = hasRole("coordinator");
  if (slot.error && current === undefined) return <ErrorText error={apiError(slot.error)} />;
  if (current === undefined) return <p aria-busy="true">Loading the slot…</p>;
  const changed = (s: Slot, words: string) => {
    setShown(s);
    setDialog(null);
    setDone(words);
    void invalidatePaths(queryClient, "/api/cases/{case_id}/slot");
  };
  if (current === null) {
    return (
      <div>
        <p>No manufacturing slot is booked for this case.</p>
        {coordinator ? <Link className="button" to={`/calendar?case=${detail.id}#book`}>Book a slot from the calendar</Link> : null}
      </div>
    );
  }
  const active = ACTIVE.has(current.status);
  return (
    <div className="case-slot" data-testid="case-slot">
      <dl className="facts">
        <dt>Status</dt><dd><span className={`tag slot-${current.status}`}>{SLOT_STATUS[current.status] ?? current.status}</span></dd>
        <dt>Manufacturing start</dt><dd>{formatDate(current.day)} at {current.facility} ({current.product})</dd>
        <dt>Buffer</dt><dd>{current.buffer_days} day{current.buffer_days === 1 ? "" : "s"} between delivery and infusion</dd>
        {current.status === "held" ? <><dt>Hold expires</dt><dd>{formatDateTime(current.hold_expires_at)}</dd></> : null}
        {current.confirmed_by ? <><dt>Confirmed</dt><dd>by {current.confirmed_by} — “{current.signature_meaning}” — {formatDateTime(current.confirmed_at)}</dd></> : null}
        {current.reason_code ? <><dt>Reason</dt><dd>{REASONS.find(([c]) => c === current.reason_code)?.[1] ?? current.reason_code}: {current.reason_text}</dd></> : null}
      </dl>
      {done ? <p className="event-done" role="status">{done}</p> : null}
      {coordinator && active ? (
        <div className="buttons">
          {current.status === "held" ? <button type="button" className="primary" onClick={() => setDialog("confirm")}>Confirm with e-signature</button> : null}
          <button type="button" onClick={() => setDialog("reschedule")}>Reschedule…</button>
          <button type="button" className="danger" onClick={() => setDialog("release")}>Release…</button>
        </div>
      ) : null}
      {coordinator && !active && current.status !== "consumed" ? (
        <Link className="button" to={`/calendar?case=${detail.id}#book`}>Book a new slot from the calendar</Link>
      ) : null}
      <PlanTable detail={detail} plan={current.plan} />
      {dialog === "confirm" ? (
        <ESignDialog meaning={CONFIRM_MEANING} action={`Confirm the manufacturing slot of ${formatDate(current.day)} at ${current.facility} for case ${current.coi}`}
          onSign={async (pw) => changed(await confirmSlot(detail.id, pw), "The slot is confirmed.")} onClose={() => setDialog(null)} />
      ) : null}
      {dialog === "reschedule" || dialog === "release" ? (
        <ReasonDialog slot={current} kind={dialog} onClose={() => setDialog(null)}
          onDone={(s) => changed(s, dialog === "release" ? "The slot is released." : `The slot moved to ${formatDate(s.day)}; the plan is derived again.`)} />
      ) : null}
    </div>
  );
}

/** Planned (from the slot's plan, with its rule version) against actual, per step, late in red. */
export function PlanTable({ detail, plan }: { detail: CaseDetail; plan: Plan }) {
  const { siteTz } = useReference();
  return (
    <table className="plan-table">
      <caption>
        {`Derived plan (${plan.binding === "fresh_bound" ? "fresh apheresis bound to the slot" : "cryopreserved apheresis, decoupled"}; lead-time rules v${plan.rule_version}): ${plan.vein_to_vein_days} days vein to vein planned`}
      </caption>
      <thead>
        <tr><th scope="col">Step</th><th scope="col">Planned</th><th scope="col">Actual</th><th scope="col">Against plan</th></tr>
      </thead>
      <tbody>
        {ROWS.map((r) => {
          const planned = String(plan[r.key]);
          const actual = r.actual(detail);
          const actualDay = actual ? (r.isDate ? actual.slice(0, 10) : isoDateIn(siteTz(detail[r.where]), new Date(actual))) : null;
          const late = actualDay ? dayDiff(planned, actualDay) : null;
          const verdict = late === null ? "" : late > 0 ? `${late} day${late === 1 ? "" : "s"} late` : late < 0 ? `${-late} day${late === -1 ? "" : "s"} early` : "on plan";
          return (
            <tr key={r.key} className={late !== null && late > 0 ? "late" : ""}>
              <th scope="row">{r.label}</th>
              <td>{formatDate(planned)}</td>
              <td>{actual ? (r.isDate ? formatDate(actual) : formatDateTime(actual)) : "—"}</td>
              <td>{verdict}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function dayDiff(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** Reschedule (a new day) or release: both need a reason code and words. */
function ReasonDialog({ slot, kind, onClose, onDone }: { slot: Slot; kind: "reschedule" | "release"; onClose: () => void; onDone: (s: Slot) => void }) {
  const [day, setDay] = useState("");
  const [buffer, setBuffer] = useState(String(slot.buffer_days));
  const [code, setCode] = useState<ReasonCode | "">("");
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const next = error?.body.code === "slot_full" ? nextOpenDays(error.body.context) : [];
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!code) return;
    setBusy(true);
    setError(undefined);
    try {
      onDone(kind === "release"
        ? await releaseSlot(slot.case_id, { reason_code: code, reason_text: text })
        : await rescheduleSlot(slot.case_id, { day, buffer_days: buffer === "" ? null : Number(buffer), reason_code: code, reason_text: text }));
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };
  const title = kind === "release" ? "Release the manufacturing slot" : "Reschedule the manufacturing slot";
  return (
    <Dialog title={title} onClose={onClose}>
      <form onSubmit={submit} aria-label={title}>
        <p>Now: {formatDate(slot.day)} at {slot.facility}, {slot.status}.</p>
        {kind === "reschedule" ? (
          <>
            <Field label="New manufacturing start day" hint="The new hold and the release of the old one happen together, or nothing changes.">
              <input type="date" required value={day} min={addDays(isoDateIn(undefined), 1)} onChange={(e) => setDay(e.target.value)} data-autofocus />
            </Field>
            <Field label="Buffer days (delivery to infusion)">
              <input type="number" min={0} max={60} value={buffer} onChange={(e) => setBuffer(e.target.value)} />
            </Field>
          </>
        ) : null}
        <Field label="Reason code">
          <select required value={code} onChange={(e) => setCode(e.target.value as ReasonCode)}>
            <option value="">Choose a reason</option>
            {REASONS.map(([c, label]) => <option key={c} value={c}>{label}</option>)}
          </select>
        </Field>
        <Field label="Reason" hint="At least 3 characters; kept in the audit trail.">
          <textarea required minLength={3} maxLength={1000} value={text} onChange={(e) => setText(e.target.value)} />
        </Field>
        <ErrorText error={error} />
        {next.length ? (
          <p>Next open days: {next.map((d) => (
            <button key={d} type="button" className="small" onClick={() => { setDay(d); setError(undefined); }}>{formatDate(d)}</button>
          ))}</p>
        ) : null}
        <div className="buttons">
          <button type="submit" className={kind === "release" ? "danger" : "primary"} disabled={busy || !code || text.trim().length < 3 || (kind === "reschedule" && !day)}>
            {busy ? "Saving…" : kind === "release" ? "Release the slot" : "Reschedule"}
          </button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}
