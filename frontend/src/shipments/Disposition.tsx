import { useState } from "react";
import { ESignDialog } from "../components/ESignDialog";
import { Field } from "../components/Field";
import { formatDateTime } from "../lib/time";
import { DISPOSITION_MEANING, dispose, ruleText, type Excursion } from "./api";

/** QA's signed disposition of one excursion: acceptable or reject, with a reason. */
export function DispositionForm({ excursion, coi, onDone }: { excursion: Excursion; coi: string; onDone: (e: Excursion) => void }) {
  const [decision, setDecision] = useState<"acceptable" | "reject" | "">("");
  const [reason, setReason] = useState("");
  const [signing, setSigning] = useState(false);
  const ready = decision !== "" && reason.trim().length >= 3;
  return (
    <form className="action-panel disposition" aria-label={`Disposition of excursion ${excursion.id}`} onSubmit={(e) => { e.preventDefault(); if (ready) setSigning(true); }}>
      <fieldset>
        <legend>Decision</legend>
        <label className="field checkbox">
          <input type="radio" name={`decision-${excursion.id}`} value="acceptable" checked={decision === "acceptable"} onChange={() => setDecision("acceptable")} />
          Acceptable — the product may go on
        </label>
        <label className="field checkbox">
          <input type="radio" name={`decision-${excursion.id}`} value="reject" checked={decision === "reject"} onChange={() => setDecision("reject")} />
          Reject — the product is not to be used
        </label>
      </fieldset>
      <Field label="Reason" hint="At least 3 characters; signed with the decision.">
        <textarea required minLength={3} maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} />
      </Field>
      <div className="buttons">
        <button type="submit" className={decision === "reject" ? "danger" : "primary"} disabled={!ready}>Sign the disposition…</button>
      </div>
      {signing && decision ? (
        <ESignDialog meaning={DISPOSITION_MEANING[decision]}
          action={`Disposition of excursion ${excursion.id} (${ruleText(excursion.rule)}, ${formatDateTime(excursion.started_at)}, extreme ${excursion.extreme_c} °C) for case ${coi}: ${decision}`}
          onSign={async (pw) => { const out = await dispose(excursion.id, decision, reason, pw); setSigning(false); onDone(out); }}
          onClose={() => setSigning(false)}>
          <p className="esign-reason">Reason: {reason}</p>
        </ESignDialog>
      ) : null}
    </form>
  );
}
